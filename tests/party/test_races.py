"""The register's one-at-a-time rules under concurrent requests, on PostgreSQL with real
transactions: one secretary per branch, one open transfer per member, one membership per
person."""

import datetime

import pytest
from django.db import connection

from jiceng.core.actors import Actor
from jiceng.core.errors import DomainError
from jiceng.party import services
from jiceng.party.models import Appointment, PartyMember, PartyOrganization, Transfer
from tests.factories import PersonFactory
from tests.points.test_concurrency import race

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL"),
]
TODAY = datetime.date.today()
K = PartyOrganization.Kind


def _members(branch, count):
    return [
        PartyMember.objects.create(
            region_code=branch.region_code,
            organization=branch,
            name=f"党员{n}",
            person=PersonFactory(region_code=branch.region_code),
            joined_on="2001-07-01",
        )
        for n in range(count)
    ]


def test_eight_secretaries_at_once_leave_one(reference_data, world):
    department = Actor.staff(world.a("org_department"))
    branch = world.branch_a2
    members = _members(branch, 8)
    results = race(
        [
            lambda m=m: services.appointment_create(
                actor=department,
                organization=branch,
                member=m,
                post="secretary",
                started_on=TODAY,
            )
            for m in members
        ]
    )
    assert sum(isinstance(r, Appointment) for r in results) == 1
    assert {r.code for r in results if isinstance(r, DomainError)} == {"secretary_taken"}
    assert Appointment.objects.filter(organization=branch, post="secretary").count() == 1


def test_one_open_transfer_per_member(reference_data, world):
    department = Actor.staff(world.a("org_department"))
    (member,) = _members(world.branch_a, 1)
    results = race(
        [
            lambda: services.transfer_request(
                actor=department, member=member, to_organization=world.branch_a2, reason="搬家"
            )
            for _ in range(6)
        ]
    )
    assert sum(isinstance(r, Transfer) for r in results) == 1
    assert all(isinstance(r, Transfer | DomainError) for r in results), results
    assert Transfer.objects.filter(member=member).count() == 1


def test_one_person_entered_in_two_branches_at_once_is_one_member(reference_data, world):
    department = Actor.staff(world.a("org_department"))
    person = PersonFactory(region_code=world.grid_a.code)
    results = race(
        [
            lambda b=b: services.member_add(
                actor=department, organization=b, person=person, joined_on=TODAY
            )
            for b in (world.branch_a, world.branch_a2) * 3
        ]
    )
    assert sum(isinstance(r, PartyMember) for r in results) == 1
    assert PartyMember.objects.filter(person=person).count() == 1
