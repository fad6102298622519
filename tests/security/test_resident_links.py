"""Linking a resident's account to a person record (M4): a grid worker cannot take over a
resident confirmed as a person outside their scope, and cannot tell such a resident from a
phone that has no account at all."""

import re

from django.utils import timezone

from jiceng.core.models import AuditEvent
from jiceng.residents import services
from jiceng.residents.models import Resident
from tests.conftest import client_for

ELSEWHERE = "13900005555"  # confirmed in another town
UNKNOWN = "13900006666"  # no account


def _without_tokens(html: bytes) -> str:
    """The page without its CSRF tokens (masked afresh on every page)."""
    return re.sub(r"[A-Za-z0-9]{64}", "", html.decode())


def test_a_resident_confirmed_elsewhere_looks_like_no_resident(world):
    resident = Resident.objects.create(
        phone=ELSEWHERE,
        person=world.person_b,
        region_code=world.person_b.region_code,
        confirmed_by=world.b("grid_worker"),
        confirmed_at=timezone.now(),
    )
    before = Resident.objects.values_list("person_id", "region_code", "confirmed_by_id").get(
        pk=resident.pk
    )
    client = client_for(world.a("grid_worker"))
    url = f"/persons/{world.person_a.pk}/resident/"

    taken = client.post(url, {"phone": ELSEWHERE})
    taken_page = client.get(taken["Location"])
    unknown = client.post(url, {"phone": UNKNOWN})
    unknown_page = client.get(unknown["Location"])

    assert (taken.status_code, taken["Location"], taken.content) == (
        unknown.status_code,
        unknown["Location"],
        unknown.content,
    )
    assert "该手机号还没有注册居民账号" in taken_page.content.decode()
    assert _without_tokens(taken_page.content) == _without_tokens(unknown_page.content)

    after = Resident.objects.values_list("person_id", "region_code", "confirmed_by_id").get(
        pk=resident.pk
    )
    assert after == before == (world.person_b.pk, world.person_b.region_code, before[2])
    assert not Resident.objects.filter(person=world.person_a).exists()
    failures = AuditEvent.objects.filter(action="resident.confirm", outcome=AuditEvent.FAILURE)
    assert [(e.actor_id, e.object_type, e.object_id) for e in failures] == [
        (world.a("grid_worker").pk, "places.person", str(world.person_a.pk))
    ] * 2


def test_a_resident_not_yet_confirmed_is_linked(world):
    resident = services.resident_by_phone(UNKNOWN)
    response = client_for(world.a("grid_worker")).post(
        f"/persons/{world.person_a.pk}/resident/", {"phone": UNKNOWN}
    )
    assert response.status_code == 302
    resident.refresh_from_db()
    assert (resident.person_id, resident.confirmed_by_id) == (
        world.person_a.pk,
        world.a("grid_worker").pk,
    )
