"""The resident's 居民码 at a store counter: one use, bound to the store whose clerk scans
it first, a minute's life, only its digest stored, and every scan audited."""

import datetime
import re

import time_machine
from django.test import Client
from django.utils import timezone

from jiceng.core.models import AuditEvent
from jiceng.points.models import PersonalCode, Redemption
from tests.conftest import client_for
from tests.test_access_matrix import _entry, _resident, _store


def _resident_page(world) -> Client:
    client = Client()
    session = client.session
    session["resident_id"] = _resident(world).pk
    session.save()
    return client


def _shown_code(phone: Client) -> str:
    page = phone.get("/me/code/").content.decode()
    assert 'hx-trigger="every 45s"' in page  # renewed before its minute is up
    return re.search(r"data-personal-code=\"([^\"]+)\"", page).group(1)


def _scans() -> list:
    return list(
        AuditEvent.objects.filter(action="personal_code.use")
        .order_by("pk")
        .values_list("outcome", "detail__store", "detail__reason")
    )


def test_a_code_is_used_once_by_the_store_that_scans_it(world):
    _entry(world)
    store_a, store_b = _store(world), _store(world, "b")
    code = _shown_code(_resident_page(world))
    row = PersonalCode.objects.get()
    assert code not in row.digest and row.used_at is None  # only a digest is stored

    clerk_a, clerk_b = client_for(world.a("store_clerk")), client_for(world.b("store_clerk"))
    first = clerk_a.get(f"/stores/scan/{code}/", follow=True)
    assert first.status_code == 200 and "data-balance>10<" in first.content.decode()
    row.refresh_from_db()
    assert (row.store_id, row.clerk_id) == (store_a.pk, world.a("store_clerk").pk)
    used_at = row.used_at
    assert used_at is not None

    again_here = clerk_a.get(f"/stores/{store_a.pk}/counter/?code={code}")
    again_there = clerk_b.get(f"/stores/scan/{code}/", follow=True)
    for refused in (again_here, again_there):
        assert refused.status_code == 400
        text = refused.content.decode()
        assert "该居民码已被扫过" in text and "data-balance" not in text
    row.refresh_from_db()
    assert (row.used_at, row.store_id, row.clerk_id) == (
        used_at,
        store_a.pk,
        world.a("store_clerk").pk,
    )
    assert _scans() == [
        ("success", store_a.pk, None),
        ("failure", store_a.pk, "code_used"),
        ("failure", store_b.pk, "code_used"),
    ]

    # The clerk who scanned it serves the resident from that scan; nobody else can.
    scan = re.search(r'name="scan" value="(\d+)"', first.content.decode()).group(1)
    elsewhere = clerk_b.get(f"/stores/{store_b.pk}/counter/?scan={scan}")
    assert "请重新扫描居民码" in elsewhere.content.decode()
    assert "data-balance" not in elsewhere.content.decode()
    soap = store_a.goods.get()
    opened = clerk_a.post(f"/stores/{store_a.pk}/counter/", {"scan": scan, f"qty_{soap.pk}": "1"})
    assert opened.status_code == 302
    assert Redemption.objects.get().resident == _resident(world)
    # One scan, one order: the next order needs a new code from the resident's phone.
    second = clerk_a.post(f"/stores/{store_a.pk}/counter/", {"scan": scan, f"qty_{soap.pk}": "1"})
    assert "请重新扫描居民码" in second.content.decode()
    assert Redemption.objects.count() == 1
    assert PersonalCode.objects.get().redemption == Redemption.objects.get()


def test_a_code_lives_a_minute_and_only_the_live_ones_are_kept(world):
    _store(world)
    phone = _resident_page(world)
    code = _shown_code(phone)
    clerk = client_for(world.a("store_clerk"))
    with time_machine.travel(timezone.now() + datetime.timedelta(seconds=61)):
        late = clerk.get(f"/stores/scan/{code}/", follow=True)
        assert late.status_code == 400 and "居民码已过期" in late.content.decode()
        assert PersonalCode.objects.get().used_at is None
        fresh = _shown_code(phone)  # the expired, unused code is dropped
        assert PersonalCode.objects.count() == 1
        assert clerk.get(f"/stores/scan/{fresh}/", follow=True).status_code == 200
    assert [outcome for outcome, _, _ in _scans()] == ["failure", "success"]


def test_a_made_up_code_is_refused_and_audited(world):
    store = _store(world)
    clerk = client_for(world.a("store_clerk"))
    response = clerk.get(f"/stores/{store.pk}/counter/?code=ABCDEFGHJKLM")
    assert response.status_code == 400 and "无效的居民码" in response.content.decode()
    assert _scans() == [("failure", store.pk, "code_invalid")]
