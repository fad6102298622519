"""Races on PostgreSQL with real concurrent transactions: sixty residents signing up for
the last ten places, and twenty gatherings booking one venue slot at once."""

import datetime

import pytest
from django.db import connection
from django.utils import timezone

from jiceng.core.actors import Actor
from jiceng.core.errors import DomainError
from jiceng.core.models import AuditEvent
from jiceng.gatherings import services
from jiceng.gatherings.models import Gathering, SignUp
from tests.factories import resident
from tests.gatherings.reception import CODE
from tests.points.test_concurrency import race

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL"),
]
COMMUNITY_A = "370829001001"
P = Gathering.Phase


def _tomorrow(hour: int) -> datetime.datetime:
    day = timezone.localdate() + datetime.timedelta(days=1)
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour)))


def test_sixty_sign_ups_for_ten_places(reference_data, world):
    meeting = services.gathering_schedule(
        actor=world.a("community_worker"), kind=CODE, region_code=COMMUNITY_A, title="讲座",
        starts_at=_tomorrow(9), ends_at=_tomorrow(10), capacity=10, phase=P.OPEN, public=True,
    )  # fmt: skip
    people = [resident(region_code=COMMUNITY_A) for _ in range(60)]
    results = race(
        [
            lambda p=p: services.signup_create(actor=Actor.of_resident(p), gathering=meeting)
            for p in people
        ]
    )
    assert not [r for r in results if isinstance(r, DomainError)]
    statuses = list(SignUp.objects.values_list("status", flat=True))
    assert statuses.count("confirmed") == 10 and statuses.count("waitlisted") == 50
    assert AuditEvent.objects.filter(action="gathering.signup").count() == 60


def test_twenty_gatherings_for_one_venue_slot(reference_data, world):
    staff = world.a("community_worker")
    hall = services.venue_create(
        actor=world.a("town_staff"), region_code="370829001", name="街道党群服务中心",
        kind="centre", capacity=80, opens_at=datetime.time(8), closes_at=datetime.time(18),
    )  # fmt: skip
    results = race(
        [
            lambda n=n: services.gathering_schedule(
                actor=staff,
                kind=CODE,
                region_code=COMMUNITY_A,
                title=f"会议{n}",
                starts_at=_tomorrow(9),
                ends_at=_tomorrow(11),
                capacity=10,
                venue=hall,
                phase=P.PLANNED,
            )
            for n in range(20)
        ]
    )
    refused = [r for r in results if isinstance(r, DomainError)]
    assert len(refused) == 19 and {r.code for r in refused} == {"venue_booked"}
    assert Gathering.objects.filter(venue=hall).count() == 1
