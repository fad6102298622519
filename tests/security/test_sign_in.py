"""Staff sign-in (M10): one answer and one password hash for every failure, a lock that
holds per account and address, a limit per address, and an account under attack slowed
down and reported — never locked out for everyone."""

import datetime
import re

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.db import connection
from django.test import Client, RequestFactory
from django.utils import timezone

from jiceng.accounts import services
from jiceng.accounts.models import User
from jiceng.core import audit
from jiceng.core.actors import Actor
from jiceng.core.errors import DomainError
from jiceng.core.models import AuditEvent
from tests.factories import PASSWORD, staff

TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="[^"]+"|"X-CSRFToken": "[^"]+"')


def attempt(username, password, address="10.0.0.1"):
    return Client(REMOTE_ADDR=address).post(
        "/accounts/login/", {"username": username, "password": password}
    )


@pytest.fixture
def hashes(monkeypatch):
    """Counts password hashes computed (a check is one hash of the password tried)."""
    calls = []
    encode = PBKDF2PasswordHasher.encode

    def counting(self, password, salt, iterations=None):
        calls.append(password)
        return encode(self, password, salt, iterations)

    monkeypatch.setattr(PBKDF2PasswordHasher, "encode", counting)
    return calls


def test_every_failure_gets_the_same_answer_after_the_same_work(world, hashes):
    worker = world.a("grid_worker")
    inactive = world.b("grid_worker")
    User.objects.filter(pk=inactive.pk).update(is_active=False)
    locked = world.a("community_worker")
    for _ in range(settings.JICENG_LOGIN_MAX_FAILURES):
        attempt(locked.username, "wrong")
    answers, work = {}, {}
    for name, username, password in [
        ("unknown", "nobody-here", "wrong"),
        ("wrong password", worker.username, "wrong"),
        ("locked, right password", locked.username, PASSWORD),
        ("deactivated, right password", inactive.username, PASSWORD),
    ]:
        hashes.clear()
        response = attempt(username, password)
        body = TOKEN.sub("", response.content.decode()).replace(f'value="{username}"', "")
        answers[name] = (response.status_code, body)
        work[name] = len(hashes)
    assert len(set(answers.values())) == 1, "an answer tells one failure from another"
    assert set(work.values()) == {1}, work
    reasons = AuditEvent.objects.filter(action="auth.login", outcome="failure")
    assert {"credentials", "locked", "inactive"} <= set(
        reasons.values_list("detail__reason", flat=True)
    )


def test_a_stranger_cannot_lock_a_worker_out(world):
    """The lock holds for the account from the address that failed; the worker's own
    phone, elsewhere, still signs in."""
    worker = world.a("grid_worker")
    for _ in range(settings.JICENG_LOGIN_MAX_FAILURES + 3):
        attempt(worker.username, "wrong", address="203.0.113.9")
    assert attempt(worker.username, PASSWORD, address="203.0.113.9").status_code == 200
    assert attempt(worker.username, PASSWORD, address="10.1.2.3").status_code == 302


def test_one_address_may_fail_only_so_often(world, settings):
    settings.JICENG_LOGIN_FAILURES_PER_HOUR_ADDRESS = 6
    for number in range(6):
        attempt(f"guess{number}", "wrong", address="198.51.100.7")
    worker = world.a("grid_worker")
    assert attempt(worker.username, PASSWORD, address="198.51.100.7").status_code == 200
    assert attempt(worker.username, PASSWORD, address="198.51.100.8").status_code == 302
    last = AuditEvent.objects.filter(action="auth.login", outcome="failure").first()
    assert last.detail["reason"] == "address"


def test_an_account_under_attack_is_slowed_down_and_reported_once(world, settings):
    """Past the threshold, one try on the name is checked every so many seconds and the
    rest are refused at once: no thread waits (a sleep would let anyone tie the server
    up), and an unknown name is slowed the same way (no oracle)."""
    settings.JICENG_LOGIN_ACCOUNT_ALERT = 4
    settings.JICENG_LOGIN_SLOWDOWN_SECONDS = 10
    worker = world.a("grid_worker")
    start = timezone.now()
    for name in (worker.username, "nobody-at-all"):
        with time_machine.travel(start, tick=False):
            for number in range(4):
                attempt(name, "wrong", address=f"192.0.2.{number}")
            attempt(name, "wrong", address="192.0.2.50")  # checked: the first slow try
            refused = attempt(name, PASSWORD, address="192.0.2.51")
        assert refused.status_code == 200  # even the right password, within the 10 s
    reasons = list(
        AuditEvent.objects.filter(action="auth.login", outcome="failure")
        .order_by("id")
        .values_list("detail__username", "detail__name_digest", "detail__reason")
    )
    unknown = (None, audit.name_digest("nobody-at-all"), "slowed")  # the name is not kept
    assert reasons.count((worker.username, None, "slowed")) == reasons.count(unknown) == 1
    alerts = AuditEvent.objects.filter(action="alert.login_attack")
    assert alerts.count() == 1 and alerts.get().region_code == "370829"  # the account's county
    with time_machine.travel(start + datetime.timedelta(seconds=11), tick=False):
        assert attempt(worker.username, PASSWORD, address="192.0.2.200").status_code == 302


def test_an_ipv6_host_counts_as_its_whole_64(world, settings):
    settings.JICENG_LOGIN_FAILURES_PER_HOUR_ADDRESS = 3
    for number in range(3):
        attempt(f"guess{number}", "wrong", address=f"2001:db8:1:2::{number + 1}")
    worker = world.a("grid_worker")
    assert attempt(worker.username, PASSWORD, address="2001:db8:1:2::ff").status_code == 200
    assert attempt(worker.username, PASSWORD, address="2001:db8:1:3::1").status_code == 302


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL")
def test_tries_sent_all_at_once_pass_the_lock_no_more_than_one_at_a_time(transactional_db):
    """40 wrong passwords for one account from one address at once: each try is counted
    before its password is checked, so no more than JICENG_LOGIN_MAX_FAILURES of them are
    answered on the password, the rest as locked — and the right one after them too."""
    from tests.points.test_concurrency import race

    worker = staff("grid_worker", "370829001001001", username="raced")
    request = RequestFactory().post("/accounts/login/", REMOTE_ADDR="10.9.9.9")
    results = race(
        [
            (
                lambda: services.login_check(
                    actor=Actor.public(), request=request, username="raced", password="wrong"
                )
            )
            for _ in range(40)
        ]
    )
    assert all(isinstance(r, DomainError) for r in results)
    reasons = list(
        AuditEvent.objects.filter(action="auth.login", outcome="failure").values_list(
            "detail__reason", flat=True
        )
    )
    assert len(reasons) == 40
    assert reasons.count("credentials") <= settings.JICENG_LOGIN_MAX_FAILURES
    with pytest.raises(DomainError):
        services.login_check(
            actor=Actor.public(), request=request, username=worker.username, password=PASSWORD
        )
