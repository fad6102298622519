"""数字码: when the counter cannot scan, six digits the resident reads out, issued for one
store, valid a few minutes, used once, only their digest stored, and a counter that stops
taking them after a few wrong entries."""

import datetime
import re

import time_machine
from django.test import Client
from django.utils import timezone

from jiceng.core.models import AuditEvent, ThrottleHit
from jiceng.points import services
from jiceng.points.models import PersonalCode, Redemption
from tests.conftest import client_for
from tests.test_access_matrix import _entry, _resident, _store


def _phone(world, side: str = "a") -> Client:
    client = Client()
    session = client.session
    session["resident_id"] = _resident(world, side).pk
    session.save()
    return client


def _digits(page) -> str:
    return re.search(r'data-counter-number="(\d+)"', page.content.decode()).group(1)


def test_the_code_page_offers_six_digits_for_the_residents_store(world):
    _entry(world)
    store = _store(world)
    _store(world, "b")  # another community's store is not offered
    qr_page = _phone(world).get("/me/code/").content.decode()
    assert "/me/code/number/" in qr_page
    # No long token to type on the page any more: only the QR code and the way to digits.
    assert "店员也可输入" not in qr_page

    page = _phone(world).get("/me/code/number/")
    assert page.status_code == 200
    digits = _digits(page)
    assert len(digits) == 6 and digits.isdigit()
    row = PersonalCode.objects.get(issued_store=store)
    assert digits not in row.number_digest and row.digest is None  # only a digest is kept
    assert row.expires_at - timezone.now() <= PersonalCode.NUMBER_LIFETIME
    assert "b文明超市" not in page.content.decode()


def test_six_digits_serve_once_and_only_at_their_store(world):
    _entry(world)
    store_a, store_b = _store(world), _store(world, "b")
    digits = _digits(_phone(world).get("/me/code/number/"))
    clerk_a, clerk_b = client_for(world.a("store_clerk")), client_for(world.b("store_clerk"))

    elsewhere = clerk_b.get(f"/stores/{store_b.pk}/counter/?code={digits}")
    assert elsewhere.status_code == 400 and "data-balance" not in elsewhere.content.decode()
    assert PersonalCode.objects.get(issued_store=store_a).used_at is None

    first = clerk_a.get(f"/stores/{store_a.pk}/counter/?code={digits}", follow=True)
    assert first.status_code == 200 and "data-balance>10<" in first.content.decode()
    row = PersonalCode.objects.get(issued_store=store_a)
    assert (row.store_id, row.clerk_id) == (store_a.pk, world.a("store_clerk").pk)

    again = clerk_a.get(f"/stores/{store_a.pk}/counter/?code={digits}")
    assert again.status_code == 400 and "已被扫过" in again.content.decode()

    scan = re.search(r'name="scan" value="(\d+)"', first.content.decode()).group(1)
    soap = store_a.goods.get()
    opened = clerk_a.post(f"/stores/{store_a.pk}/counter/", {"scan": scan, f"qty_{soap.pk}": "1"})
    assert opened.status_code == 302
    assert Redemption.objects.get().resident == _resident(world)


def test_six_digits_expire(world):
    _entry(world)
    store = _store(world)
    digits = _digits(_phone(world).get("/me/code/number/"))
    later = timezone.now() + PersonalCode.NUMBER_LIFETIME + datetime.timedelta(seconds=1)
    with time_machine.travel(later):
        late = client_for(world.a("store_clerk")).get(f"/stores/{store.pk}/counter/?code={digits}")
    assert late.status_code == 400 and "已过期" in late.content.decode()
    assert PersonalCode.objects.get().used_at is None


def test_a_counter_stops_taking_digits_after_a_few_wrong_ones(world):
    _entry(world)
    store = _store(world)
    digits = _digits(_phone(world).get("/me/code/number/"))
    wrong = f"{(int(digits) + 1) % 1_000_000:06d}"
    clerk = client_for(world.a("store_clerk"))
    for _ in range(services.COUNTER_NUMBER_TRIES):
        refused = clerk.get(f"/stores/{store.pk}/counter/?code={wrong}")
        assert refused.status_code == 400 and "无效" in refused.content.decode()
    assert ThrottleHit.objects.filter(scope=services.COUNTER_NUMBER_SCOPE).count() == 5

    # Now even the right digits are refused at this counter, and nothing is used.
    locked = clerk.get(f"/stores/{store.pk}/counter/?code={digits}")
    assert locked.status_code == 400 and "输错次数过多" in locked.content.decode()
    assert PersonalCode.objects.get().used_at is None
    assert AuditEvent.objects.filter(
        action="personal_code.use", detail__reason="counter_locked"
    ).exists()

    # After the lock, the right digits work again (a fresh code: the first one has expired).
    with time_machine.travel(timezone.now() + services.COUNTER_NUMBER_LOCK):
        fresh = _digits(_phone(world).get("/me/code/number/"))
        served = clerk.get(f"/stores/{store.pk}/counter/?code={fresh}", follow=True)
    assert "data-balance>10<" in served.content.decode()


def test_a_store_of_another_community_gives_no_digits(world):
    _entry(world)
    _store(world)
    store_b = _store(world, "b")
    page = _phone(world).get(f"/me/code/number/?store={store_b.pk}")
    assert "data-counter-number" not in page.content.decode()
    assert not PersonalCode.objects.filter(issued_store=store_b).exists()


def test_six_digits_typed_as_shown_or_full_width_are_read(world):
    """The page groups the digits ("816 603"); a Chinese input method types full width."""
    _entry(world)
    store = _store(world)
    clerk = client_for(world.a("store_clerk"))
    digits = _digits(_phone(world).get("/me/code/number/"))
    spaced = f"{digits[:3]} {digits[3:]}"
    first = clerk.get(f"/stores/{store.pk}/counter/", {"code": spaced}, follow=True)
    assert first.status_code == 200 and "data-balance>10<" in first.content.decode()
    assert PersonalCode.objects.get(issued_store=store).used_at is not None
    digits = _digits(_phone(world).get("/me/code/number/"))
    wide = "".join(chr(ord(d) + 0xFEE0) for d in digits)  # ０–９
    assert clerk.get(f"/stores/{store.pk}/counter/", {"code": wide}).status_code == 302  # scanned
    assert not PersonalCode.objects.filter(issued_store=store, used_at__isnull=True).exists()


def test_a_new_code_replaces_the_one_shown_before(world):
    _entry(world)
    store = _store(world)
    phone = _phone(world)
    old = _digits(phone.get("/me/code/number/"))
    new = _digits(phone.get("/me/code/number/"))
    assert PersonalCode.objects.filter(issued_store=store, used_at__isnull=True).count() == 1
    clerk = client_for(world.a("store_clerk"))
    if old != new:
        assert clerk.get(f"/stores/{store.pk}/counter/", {"code": old}).status_code == 400
    assert clerk.get(f"/stores/{store.pk}/counter/", {"code": new}).status_code == 302  # scanned
