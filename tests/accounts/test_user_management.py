import pytest
from django.conf import settings
from django.test import Client

from jiceng.accounts.models import ApiToken, GrantRequest, Membership, User
from jiceng.accounts.services import (
    api_token_issue,
    membership_grant,
    user_create,
    user_set_active,
)
from jiceng.core.actors import Actor
from jiceng.core.errors import DomainError, NotFound
from jiceng.core.models import AuditEvent
from tests.conftest import first_password


@pytest.fixture
def admin(world):
    return world.a("county_admin")


def test_the_county_admin_creates_an_account_and_gives_it_a_grid(world, admin, login, sms):
    """The system administrator creates the account and asks for the grid; a grid worker
    reveals personal data, so two security administrators sign before it takes effect."""
    client = login(admin)
    response = client.post(
        "/accounts/users/",
        {
            "username": "newworker",
            "full_name": "新网格员",
            "phone": "138 0000 0000",
            "region_code": "370829",
        },
    )
    assert response.status_code == 302
    user = User.objects.get(username="newworker")
    client.post(
        f"/accounts/users/{user.pk}/grant/",
        {"role": "grid_worker", "region_code": world.grid_a.code},
    )
    assert user.scope_codes("people.view") == ()
    grant = GrantRequest.objects.get(user=user)
    for security_admin in (world.a("security_admin"), world.a("security_admin_2")):
        login(security_admin).post(f"/accounts/grants/{grant.pk}/sign/")
    user = User.objects.get(pk=user.pk)
    assert user.scope_codes("people.view") == (world.grid_a.code,)
    assert AuditEvent.objects.filter(action="user.grant", outcome="success").exists()


def test_the_first_password_goes_to_the_holders_phone_only(
    admin, login, sms, django_capture_on_commit_callbacks
):
    """No administrator sees it, so none can sign in as an account it made."""
    with django_capture_on_commit_callbacks(execute=True):
        response = login(admin).post(
            "/accounts/users/",
            {
                "username": "xy",
                "full_name": "新人",
                "phone": "+86 139 0537 1234",
                "region_code": "370829",
            },
            follow=True,
        )
    user = User.objects.get(username="xy")
    password = first_password(sms, "13905371234")
    assert user.check_password(password) and user.password_must_change
    assert password not in response.content.decode()
    assert password not in str(AuditEvent.objects.values_list("detail", flat=True))
    with pytest.raises(DomainError) as error:
        user_create(
            actor=Actor.staff(admin),
            username="yz",
            full_name="x",
            region_code="370829",
            phone="123",
        )
    assert error.value.code == "phone_invalid"
    assert not User.objects.filter(username="yz").exists()


@pytest.mark.parametrize("username", ["AUDITOR", "аuditor", "a-auditor ", "x", "-dash", "王五"])
def test_new_usernames_are_lowercase_ascii_and_no_look_alikes(world, admin, username):
    with pytest.raises(DomainError) as error:
        user_create(
            actor=Actor.staff(admin), username=username, full_name="x", region_code="370829",
            phone="13905371234",
        )  # fmt: skip
    assert error.value.code in ("username_invalid", "username_taken")
    assert not User.objects.filter(username=username).exists()


def test_roles_only_at_their_level(world, admin):
    with pytest.raises(DomainError) as error:
        membership_grant(
            actor=Actor.staff(admin),
            user=world.outsider,
            role="grid_worker",
            region_code="370829001",
        )
    assert error.value.code == "role_level"


def test_no_granting_outside_one_scope_or_to_oneself(world, admin):
    with pytest.raises(NotFound):
        membership_grant(
            actor=Actor.staff(admin),
            user=world.outsider,
            role="store_clerk",
            region_code="370830001001",
        )
    with pytest.raises(DomainError) as error:
        membership_grant(
            actor=Actor.staff(admin), user=admin, role="grid_worker", region_code=world.grid_a.code
        )
    assert error.value.code == "self_grant"
    assert not Membership.objects.filter(user=admin, role="grid_worker").exists()


def test_others_cannot_manage_accounts(world):
    with pytest.raises(NotFound):
        user_set_active(
            actor=Actor.staff(world.b("county_admin")), user=world.a("grid_worker"), is_active=False
        )
    with pytest.raises(NotFound):
        user_set_active(
            actor=Actor.staff(world.a("community_worker")),
            user=world.a("grid_worker"),
            is_active=False,
        )


def test_deactivating_revokes_tokens(world, admin):
    worker = world.a("grid_worker")
    api_token_issue(actor=Actor.staff(worker))
    user_set_active(actor=Actor.staff(admin), user=worker, is_active=False)
    worker.refresh_from_db()
    assert not worker.is_active
    assert not ApiToken.objects.filter(user=worker, revoked_at__isnull=True).exists()


def test_password_reset_unlocks(world, admin, login, sms, django_capture_on_commit_callbacks):
    worker = world.a("grid_worker")
    User.objects.filter(pk=worker.pk).update(phone="13905379999")
    for _ in range(settings.JICENG_LOGIN_MAX_FAILURES):
        Client().post("/accounts/login/", {"username": worker.username, "password": "wrong"})
    with django_capture_on_commit_callbacks(execute=True):
        page = login(admin).post(f"/accounts/users/{worker.pk}/password/", follow=True)
    new_password = first_password(sms, "13905379999")
    assert new_password not in page.content.decode()  # the administrator never sees it
    worker.refresh_from_db()
    assert worker.check_password(new_password)
    assert worker.password_must_change
    response = Client().post(
        "/accounts/login/", {"username": worker.username, "password": new_password}
    )
    assert response.status_code == 302
    # The administrator knows that password: the account must choose its own first.
    client = Client()
    client.force_login(worker)
    assert client.get("/search/?q=1")["Location"] == "/accounts/password/"
