import datetime

import pytest
import time_machine
from django.conf import settings
from django.utils import timezone

from jiceng.accounts.models import User
from jiceng.accounts.services import login_refused_message
from jiceng.core import throttle
from jiceng.core.models import AuditEvent
from tests.factories import PASSWORD


@pytest.fixture
def worker(world):
    return world.a("grid_worker")


def attempt(client, username, password, **extra):
    return client.post("/accounts/login/", {"username": username, "password": password, **extra})


def test_login_and_its_audit(client, worker):
    response = attempt(client, worker.username, PASSWORD)
    assert response.status_code == 302 and response["Location"] == "/"
    assert AuditEvent.objects.filter(action="auth.login", actor=worker, outcome="success").exists()


def test_wrong_password_is_refused_with_one_message_for_both_cases(client, worker):
    bad_password = attempt(client, worker.username, "wrong")
    unknown_user = attempt(client, "nobody", "wrong")
    for response in (bad_password, unknown_user):
        assert response.status_code == 200
        assert "用户名或密码错误" in response.content.decode()
    assert AuditEvent.objects.filter(action="auth.login", outcome="failure").count() == 2


def _failures(worker, address="127.0.0.1") -> int:
    return throttle.count("login.pair", worker.pk, address, within=datetime.timedelta(hours=1))


def test_lockout_after_repeated_failures_even_with_the_right_password(client, worker):
    for _ in range(settings.JICENG_LOGIN_MAX_FAILURES):
        attempt(client, worker.username, "wrong")
    response = attempt(client, worker.username, PASSWORD)
    assert login_refused_message() in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert _failures(worker) == settings.JICENG_LOGIN_MAX_FAILURES + 1
    last = AuditEvent.objects.filter(action="auth.login", outcome="failure").first()
    assert last.detail["reason"] == "locked"


def test_the_lock_ends_by_itself(client, worker):
    for _ in range(settings.JICENG_LOGIN_MAX_FAILURES):
        attempt(client, worker.username, "wrong")
    later = timezone.now() + datetime.timedelta(minutes=settings.JICENG_LOGIN_LOCK_MINUTES + 1)
    with time_machine.travel(later):
        assert attempt(client, worker.username, PASSWORD).status_code == 302


def test_a_success_resets_the_failure_count(client, worker):
    for _ in range(settings.JICENG_LOGIN_MAX_FAILURES - 1):
        attempt(client, worker.username, "wrong")
    attempt(client, worker.username, PASSWORD)
    assert _failures(worker) == 0


def test_deactivated_accounts_cannot_log_in(client, worker):
    User.objects.filter(pk=worker.pk).update(is_active=False)
    assert attempt(client, worker.username, PASSWORD).status_code == 200


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "javascript:x"])
def test_no_open_redirect_after_login(client, worker, target):
    response = attempt(client, worker.username, PASSWORD, next=target)
    assert response["Location"] == "/"


def test_a_local_next_is_followed(client, worker):
    response = attempt(client, worker.username, PASSWORD, next="/search/?q=1")
    assert response["Location"] == "/search/?q=1"


def test_pages_need_a_login(client, world):
    response = client.get(f"/households/{world.household_a.pk}/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


def test_idle_sessions_expire():
    assert settings.SESSION_COOKIE_AGE == 30 * 60
    assert settings.SESSION_SAVE_EVERY_REQUEST  # the 30 minutes count from the last request


@pytest.mark.parametrize(
    ("password", "ok"),
    [
        ("short1A!", False),
        ("alllowercase", False),
        ("lowerand1234", False),
        ("Good-Passw0rd", True),
    ],
)
def test_password_rules(world, login, password, ok):
    worker = world.a("grid_worker")
    response = login(worker).post(
        "/accounts/password/",
        {"old_password": PASSWORD, "new_password": password, "new_password_again": password},
    )
    worker.refresh_from_db()
    assert worker.check_password(password) is ok
    assert (response.status_code == 302) is ok
