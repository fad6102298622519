import pytest

from jiceng.accounts.models import ApiToken, Membership, User
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
    assert user.scope_codes("people.view") == (world.grid_a.code,)
    assert AuditEvent.objects.filter(action="user.grant", outcome="success").exists()


def test_weak_initial_passwords_are_refused(admin):
    with pytest.raises(DomainError) as error:
        user_create(
            actor=admin, username="x", full_name="x", region_code="370829", password="123456"
        )
    assert error.value.code == "weak_password"
    assert not User.objects.filter(username="x").exists()


def test_roles_only_at_their_level(world, admin):
    with pytest.raises(DomainError) as error:
        membership_grant(
            actor=admin, user=world.outsider, role="grid_worker", region_code="370829001"
        )
    assert error.value.code == "role_level"


def test_no_granting_outside_one_scope_or_to_oneself(world, admin):
    with pytest.raises(NotFound):
        membership_grant(
            actor=admin, user=world.outsider, role="county_admin", region_code="370830"
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
    User.objects.filter(pk=worker.pk).update(failed_login_count=3)
    login(admin).post(f"/accounts/users/{worker.pk}/password/", {"password": "Brand-New-Pass1"})
    worker.refresh_from_db()
    assert worker.check_password("Brand-New-Pass1")
    assert worker.failed_login_count == 0
