"""Residents' one-time codes (H1): every try is counted and every refusal audited in writes
that the refusal does not roll back; a code dies after 5 wrong tries, the right one
included; tries are limited strictly per phone and generously per client address, and
code requests per address by the same counter."""

import re
import threading

import pytest
from django.db import connection
from django.test import Client

from jiceng.core.actors import Actor
from jiceng.core.errors import DomainError
from jiceng.core.models import AuditEvent, ThrottleHit
from jiceng.residents import services
from jiceng.residents.models import OneTimeCode, Resident

PHONE = "13900007777"


@pytest.fixture
def send(sms, django_capture_on_commit_callbacks):
    """Request a code for `phone` as a client at `address`; return the code the SMS held."""

    def send(phone: str = PHONE, address: str = "10.0.0.1") -> str:
        with django_capture_on_commit_callbacks(execute=True):
            services.otp_request(actor=Actor.public(), phone=phone, address=address)
        return re.search(r"验证码为 (\d{6})", sms[-1][1]).group(1)

    return send


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


def _failures() -> int:
    return AuditEvent.objects.filter(action="resident.login", outcome=AuditEvent.FAILURE).count()


def _verify(client: Client, code: str, phone: str = PHONE):
    return client.post("/me/login/", {"phone": phone, "code": code, "step": "verify"})


def test_twenty_wrong_codes_are_counted_audited_and_kill_the_code(db, send):
    code = send()
    client = Client()
    for _ in range(20):
        response = _verify(client, _wrong(code))
        assert response.status_code == 200
    otp = OneTimeCode.objects.get(phone=PHONE)
    assert otp.attempts == 5
    assert _failures() == 20
    reasons = AuditEvent.objects.filter(outcome=AuditEvent.FAILURE).values_list(
        "detail__reason", flat=True
    )
    assert sorted(set(reasons)) == ["expired", "limited", "wrong"]
    assert ThrottleHit.objects.filter(scope="otp.verify.phone").count() == 20

    page = _verify(client, code).content.decode()  # the right code, too late
    assert "验证次数过多" in page
    otp.refresh_from_db()
    assert otp.used_at is None and otp.attempts == 5
    assert not Resident.objects.filter(phone=PHONE).exists()
    assert client.get("/me/").status_code == 302  # not signed in


def test_after_five_wrong_codes_the_right_one_fails_too(db, send, settings):
    settings.JICENG_OTP_VERIFY_PER_HOUR_PHONE = 100  # the code's own limit, not the phone's
    code = send()
    for _ in range(5):
        with pytest.raises(DomainError) as refusal:
            services.otp_verify(
                actor=Actor.public(), phone=PHONE, code=_wrong(code), address="10.0.0.1"
            )
        assert refusal.value.code == "otp_wrong"
    with pytest.raises(DomainError) as refusal:
        services.otp_verify(actor=Actor.public(), phone=PHONE, code=code, address="10.0.0.1")
    assert refusal.value.code == "otp_expired"
    otp = OneTimeCode.objects.get(phone=PHONE)
    assert (otp.attempts, otp.used_at) == (5, None)
    assert _failures() == 6


def test_the_right_code_within_five_tries_signs_in_once(db, send):
    code = send()
    for _ in range(4):
        with pytest.raises(DomainError):
            services.otp_verify(
                actor=Actor.public(), phone=PHONE, code=_wrong(code), address="10.0.0.1"
            )
    resident = services.otp_verify(actor=Actor.public(), phone=PHONE, code=code, address="10.0.0.1")
    otp = OneTimeCode.objects.get(phone=PHONE)
    assert otp.attempts == 5 and otp.used_at is not None
    resident.refresh_from_db()
    assert resident.last_login_at is not None
    with pytest.raises(DomainError) as replay:
        services.otp_verify(actor=Actor.public(), phone=PHONE, code=code, address="10.0.0.1")
    assert replay.value.code == "otp_expired"


def test_tries_are_limited_per_phone_across_codes(db, send, settings):
    settings.JICENG_OTP_VERIFY_PER_HOUR_PHONE = 3
    code = send()
    for _ in range(3):
        with pytest.raises(DomainError):
            services.otp_verify(
                actor=Actor.public(), phone=PHONE, code=_wrong(code), address="10.0.0.1"
            )
    OneTimeCode.objects.update(attempts=0)  # even a fresh chance at the code
    with pytest.raises(DomainError) as refusal:
        services.otp_verify(actor=Actor.public(), phone=PHONE, code=code, address="10.0.0.2")
    assert refusal.value.code == "otp_verify_too_many"
    assert OneTimeCode.objects.get().attempts == 0  # refused before the code was counted


def test_tries_are_limited_per_client_address_as_the_page_sees_it(db, send, settings):
    settings.JICENG_OTP_VERIFY_PER_HOUR_ADDRESS = 3
    phones = [f"1390000800{i}" for i in range(5)]
    codes = {phone: send(phone, address=f"10.0.1.{i}") for i, phone in enumerate(phones)}
    venue = Client(REMOTE_ADDR="10.9.9.9")
    for phone in phones[:3]:
        assert _verify(venue, _wrong(codes[phone]), phone).status_code == 200
    refused = _verify(venue, codes[phones[3]], phones[3]).content.decode()
    assert "验证次数过多" in refused
    assert OneTimeCode.objects.get(phone=phones[3]).attempts == 0
    elsewhere = Client(REMOTE_ADDR="10.9.9.10")
    assert _verify(elsewhere, codes[phones[4]], phones[4]).status_code == 302


def test_code_requests_are_limited_per_client_address(db, send):
    for i in range(services.OTP_PER_HOUR_ADDRESS):
        send(f"139000090{i:02d}", address="10.0.2.1")
    with pytest.raises(DomainError) as refusal:
        services.otp_request(actor=Actor.public(), phone="13900009999", address="10.0.2.1")
    assert refusal.value.code == "otp_too_many"
    assert not OneTimeCode.objects.filter(phone="13900009999").exists()
    send("13900009999", address="10.0.2.2")
    assert ThrottleHit.objects.filter(scope="otp.send.address").count() == (
        services.OTP_PER_HOUR_ADDRESS + 2
    )


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL")
def test_of_many_concurrent_guesses_at_most_five_are_compared(
    transactional_db, send, settings, monkeypatch
):
    """200 wrong guesses at one code over 40 connections at once: each is counted before
    it is compared, so only five are ever compared with the code."""
    from tests.points.test_concurrency import race

    settings.JICENG_OTP_VERIFY_PER_HOUR_PHONE = 1000
    settings.JICENG_OTP_VERIFY_PER_HOUR_ADDRESS = 1000
    code = send()
    compared, lock = [], threading.Lock()
    matches = services._matches

    def counting(otp, guess):
        with lock:
            compared.append(guess)
        return matches(otp, guess)

    monkeypatch.setattr(services, "_matches", counting)
    guesses = [f"{(int(code) + n) % 10**6:06d}" for n in range(1, 201)]
    results = race(
        [
            (
                lambda g=g: services.otp_verify(
                    actor=Actor.public(), phone=PHONE, code=g, address="10.0.0.1"
                )
            )
            for g in guesses
        ]
    )
    assert all(isinstance(r, DomainError) for r in results)
    codes = sorted(r.code for r in results)
    assert codes.count("otp_wrong") == 5 and codes.count("otp_expired") == 195
    assert len(compared) == 5
    assert OneTimeCode.objects.get(phone=PHONE).attempts == 5
    assert _failures() == 200
