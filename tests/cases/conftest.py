import datetime

import pytest
import time_machine
from django.utils import timezone

from jiceng.accounts.models import Department
from jiceng.cases.catalogue import catalogue_seed
from jiceng.cases.models import Category
from jiceng.cases.services import case_submit
from jiceng.core.actors import Actor
from tests.factories import staff

PUBLIC = Actor.public("test")


def at(*args) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime(*args))


@pytest.fixture
def clock():
    """A frozen clock that tests move on: clock.move_to(at(2026, 10, 8, 9))."""
    with time_machine.travel(at(2026, 9, 30, 10, 0), tick=False) as traveller:
        yield traveller


@pytest.fixture
def catalogue(world):
    Department.objects.create(region_code="370829", name="县燃气公司", kind="utility")
    Department.objects.create(region_code="370829", name="县公安局", kind="department")
    catalogue_seed(county_code="370829")
    return {c.code: c for c in Category.objects.filter(region_code="370829")}


@pytest.fixture
def county_staff(world):
    return staff("county_staff", "370829", username="a-county_staff")


@pytest.fixture
def submit(world, catalogue):
    def make(category="disputes.neighbour", text="楼上漏水到我家厨房", **fields):
        case, _ = case_submit(
            actor=PUBLIC,
            channel="qr",
            region_code=fields.pop("region_code", world.grid_a.code),
            description=text,
            category=catalogue[category] if category else None,
            **fields,
        )
        return case

    return make
