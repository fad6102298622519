import datetime

import pytest
import time_machine
from django.utils import timezone

from jiceng.activities import services
from jiceng.activities.models import ServiceType
from tests.factories import resident

COMMUNITY_A = "370829001001"


def at(*args) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime(*args))


@pytest.fixture
def clock():
    """A frozen clock: 2026-11-02 09:00 (a Monday); tests move it with clock.move_to."""
    with time_machine.travel(at(2026, 11, 2, 9, 0), tick=False) as traveller:
        yield traveller


@pytest.fixture
def staff_a(world):
    return world.a("community_worker")


@pytest.fixture
def leader(world):
    return resident(person=world.person_a)


@pytest.fixture
def team(world, staff_a, leader):
    return services.team_create(
        actor=staff_a, region_code=COMMUNITY_A, name="红帆志愿服务队", leader=leader
    )


@pytest.fixture
def make_activity(world, staff_a, clock):
    """An activity in community A on 2026-11-10 09:00–11:00, taken to `status`."""

    def make(status="draft", team=None, capacity=20, points=10, **fields):
        activity = services.activity_create(
            actor=staff_a,
            region_code=COMMUNITY_A,
            title=fields.pop("title", "义诊进社区"),
            service_type=ServiceType.objects.get(code="health"),
            starts_at=fields.pop("starts_at", at(2026, 11, 10, 9)),
            ends_at=fields.pop("ends_at", at(2026, 11, 10, 11)),
            capacity=capacity,
            points=points,
            **fields,
        )
        steps = ["publish", "assign", "open_signup", "hold"]
        target = {"draft": 0, "published": 1, "claimed": 2, "signup": 3, "held": 4}[status]
        for step in steps[:target]:
            if step == "publish":
                activity = services.activity_publish(actor=staff_a, activity=activity)
            elif step == "assign":
                activity = services.activity_assign(actor=staff_a, activity=activity, team=team)
            elif step == "open_signup":
                activity = services.activity_open_signup(actor=staff_a, activity=activity)
            else:
                clock.move_to(activity.gathering.starts_at)
                activity = services.activity_hold(actor=staff_a, activity=activity)
        return activity

    return make
