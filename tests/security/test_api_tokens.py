"""API tokens (M1): they die with a password change or reset and when left unused, and
their holder sees and revokes them on a page."""

import datetime

import time_machine
from django.test import Client
from django.utils import timezone

from jiceng.accounts.models import ApiToken, User
from jiceng.accounts.services import api_token_issue
from jiceng.core.actors import Actor
from tests.factories import PASSWORD


def _works(raw: str) -> bool:
    return (
        Client(headers={"Authorization": f"Bearer {raw}"}).get("/api/v1/grids").status_code == 200
    )


def test_a_password_change_kills_every_token(world, login):
    worker = world.a("grid_worker")
    raw, _ = api_token_issue(actor=Actor.staff(worker))
    assert _works(raw)
    login(worker).post(
        "/accounts/password/",
        {
            "old_password": PASSWORD,
            "new_password": "Other-Passw0rd!",
            "new_password_again": "Other-Passw0rd!",
        },
    )
    assert not _works(raw)
    assert not ApiToken.objects.filter(user=worker, revoked_at__isnull=True).exists()


def test_a_reset_by_the_administrator_kills_every_token(world, login, sms):
    worker = world.a("grid_worker")
    User.objects.filter(pk=worker.pk).update(phone="13905378888")
    raw, _ = api_token_issue(actor=Actor.staff(worker))
    login(world.a("county_admin")).post(f"/accounts/users/{worker.pk}/password/")
    assert not _works(raw)
    assert not ApiToken.objects.filter(user=worker, revoked_at__isnull=True).exists()


def test_an_unused_token_dies(world, settings):
    settings.JICENG_API_TOKEN_IDLE_DAYS = 7
    raw, _ = api_token_issue(actor=Actor.staff(world.a("grid_worker")))
    with time_machine.travel(timezone.now() + datetime.timedelta(days=6)):
        assert _works(raw)  # and is used: the idle days count again from here
    with time_machine.travel(timezone.now() + datetime.timedelta(days=12)):
        assert _works(raw)
    with time_machine.travel(timezone.now() + datetime.timedelta(days=20)):
        assert not _works(raw)


def test_ones_tokens_are_listed_and_revoked_on_a_page(world, login):
    worker = world.a("grid_worker")
    raw, token = api_token_issue(actor=Actor.staff(worker), name="巡查App")
    api_token_issue(actor=Actor.staff(world.b("grid_worker")), name="别人的令牌")
    client = login(worker)
    page = client.get("/accounts/tokens/").content.decode()
    assert "巡查App" in page and "别人的令牌" not in page
    assert client.post(f"/accounts/tokens/{token.pk}/revoke/").status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None and not _works(raw)
