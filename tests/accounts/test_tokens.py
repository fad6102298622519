import datetime

from django.test import Client
from django.utils import timezone

from jiceng.accounts.models import ApiToken, User
from jiceng.accounts.services import api_token_issue
from jiceng.core.actors import Actor
from jiceng.core.models import AuditEvent
from tests.factories import PASSWORD


def get_token(client, username, password=PASSWORD):
    return client.post(
        "/api/v1/auth/token",
        {"username": username, "password": password},
        content_type="application/json",
    )


def me(client, token):
    return client.get("/api/v1/regions", headers={"Authorization": f"Bearer {token}"})


def test_token_for_username_and_password(world):
    client = Client()
    response = get_token(client, "a-grid_worker")
    assert response.status_code == 200
    token = response.json()["token"]
    assert token.startswith("jct_")
    assert not ApiToken.objects.filter(digest=token).exists()  # only the digest is kept
    assert me(client, token).status_code == 200


def test_bad_credentials_get_a_stable_error_code(world):
    response = get_token(Client(), "a-grid_worker", "wrong")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_credentials"


def test_the_api_honours_the_lockout(world, settings):
    client = Client()
    for _ in range(settings.JICENG_LOGIN_MAX_FAILURES):
        get_token(client, "a-grid_worker", "wrong")
    response = get_token(client, "a-grid_worker")
    # Locked or wrong: one answer, so that nobody learns which accounts exist or are locked.
    assert response.json()["code"] == "invalid_credentials"
    assert not ApiToken.objects.exists()
    last = AuditEvent.objects.filter(action="auth.login", outcome="failure").first()
    assert last.detail["reason"] == "locked"


def test_tokens_stop_working_when_expired_revoked_or_the_user_is_deactivated(world):
    user = world.a("grid_worker")
    client = Client()
    raw, token = api_token_issue(actor=Actor.staff(user))
    assert me(client, raw).status_code == 200
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - datetime.timedelta(1))
    assert me(client, raw).status_code == 401

    raw, token = api_token_issue(actor=Actor.staff(user))
    ApiToken.objects.filter(pk=token.pk).update(revoked_at=timezone.now())
    assert me(client, raw).status_code == 401

    raw, _ = api_token_issue(actor=Actor.staff(user))
    User.objects.filter(pk=user.pk).update(is_active=False)
    response = me(client, raw)
    assert response.status_code == 401
    assert response.json()["code"] == "unauthorized"


def test_garbage_tokens_are_refused(world):
    for value in ["", "jct_", "jct_" + "x" * 40, "Basic abc"]:
        assert me(Client(), value).status_code == 401
