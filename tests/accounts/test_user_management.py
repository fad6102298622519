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
from jiceng.core.errors import DomainError, NotFound
from jiceng.core.models import AuditEvent


@pytest.fixture
def admin(world):
    return world.a("county_admin")


def test_the_county_admin_creates_an_account_and_gives_it_a_grid(world, admin, login):
    """The system administrator creates the account and asks for the grid; a grid worker
    reveals personal data, so two security administrators sign before it takes effect."""
    client = login(admin)
    response = client.post(
        "/accounts/users/",
        {
            "username": "newworker",
            "full_name": "新网格员",
            "phone": "13800000000",
            "region_code": "370829",
            "password": "Strong-Passw0rd",
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


def test_weak_initial_passwords_are_refused(admin):
    with pytest.raises(DomainError) as error:
        user_create(
            actor=admin, username="xy", full_name="x", region_code="370829", password="123456"
        )
    assert error.value.code == "weak_password"
    assert not User.objects.filter(username="xy").exists()


@pytest.mark.parametrize("username", ["AUDITOR", "аuditor", "a-auditor ", "x", "-dash", "王五"])
def test_new_usernames_are_lowercase_ascii_and_no_look_alikes(world, admin, username):
    with pytest.raises(DomainError) as error:
        user_create(
            actor=admin, username=username, full_name="x", region_code="370829",
            password="Strong-Passw0rd",
        )  # fmt: skip
    assert error.value.code in ("username_invalid", "username_taken")
    assert not User.objects.filter(username=username).exists()


def test_roles_only_at_their_level(world, admin):
    with pytest.raises(DomainError) as error:
        membership_grant(
            actor=admin, user=world.outsider, role="grid_worker", region_code="370829001"
        )
    assert error.value.code == "role_level"


def test_no_granting_outside_one_scope_or_to_oneself(world, admin):
    with pytest.raises(NotFound):
        membership_grant(
            actor=admin, user=world.outsider, role="store_clerk", region_code="370830001001"
        )
    with pytest.raises(DomainError) as error:
        membership_grant(actor=admin, user=admin, role="grid_worker", region_code=world.grid_a.code)
    assert error.value.code == "self_grant"
    assert not Membership.objects.filter(user=admin, role="grid_worker").exists()


def test_others_cannot_manage_accounts(world):
    with pytest.raises(NotFound):
        user_set_active(actor=world.b("county_admin"), user=world.a("grid_worker"), is_active=False)
    with pytest.raises(NotFound):
        user_set_active(
            actor=world.a("community_worker"), user=world.a("grid_worker"), is_active=False
        )


def test_deactivating_revokes_tokens(world, admin):
    worker = world.a("grid_worker")
    api_token_issue(user=worker)
    user_set_active(actor=admin, user=worker, is_active=False)
    worker.refresh_from_db()
    assert not worker.is_active
    assert not ApiToken.objects.filter(user=worker, revoked_at__isnull=True).exists()


def test_password_reset_unlocks(world, admin, login):
    worker = world.a("grid_worker")
    for _ in range(settings.JICENG_LOGIN_MAX_FAILURES):
        Client().post("/accounts/login/", {"username": worker.username, "password": "wrong"})
    login(admin).post(f"/accounts/users/{worker.pk}/password/", {"password": "Brand-New-Pass1"})
    worker.refresh_from_db()
    assert worker.check_password("Brand-New-Pass1")
    assert worker.password_must_change
    response = Client().post(
        "/accounts/login/", {"username": worker.username, "password": "Brand-New-Pass1"}
    )
    assert response.status_code == 302
    # The administrator knows that password: the account must choose its own first.
    client = Client()
    client.force_login(worker)
    assert client.get("/search/?q=1")["Location"] == "/accounts/password/"
