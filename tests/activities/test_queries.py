"""List pages read a fixed number of queries, however many rows they show."""

import pytest
from django.test import Client

from jiceng.activities import services
from jiceng.core.actors import Actor
from jiceng.gatherings import services as gatherings
from jiceng.points import services as points_services
from jiceng.points.ledger import account_for, ledger_for, post
from jiceng.points.models import Account, JournalEntry
from tests.activities.conftest import COMMUNITY_A
from tests.conftest import client_for
from tests.factories import resident


@pytest.fixture
def busy_community(world, staff_a, team, make_activity, clock):
    """Several activities with sign-ups, teams, stores and ledger entries."""
    ledger = ledger_for(COMMUNITY_A)
    for n in range(6):
        activity = make_activity("signup", team=team, title=f"活动{n}")
        for _ in range(3):
            person = resident()
            gatherings.signup_create(actor=Actor.of_resident(person), gathering=activity.gathering)
            post(
                ledger=ledger,
                key=f"q:{activity.pk}:{person.pk}",
                kind=JournalEntry.Kind.EARN,
                memo="参加活动",
                lines=[
                    (account_for(ledger, Account.Kind.RESIDENT, person), 5),
                    (account_for(ledger, Account.Kind.ISSUANCE), -5),
                ],
            )
        services.team_create(
            actor=staff_a, region_code=COMMUNITY_A, name=f"队伍{n}", leader=resident()
        )
        points_services.store_create(
            actor=Actor.staff(staff_a), region_code=COMMUNITY_A, name=f"超市{n}"
        )


@pytest.mark.parametrize(
    ("url", "queries"),
    [
        # + 1 on a cold cache: the county's region names, read once for every row
        ("/activities/?month=2026-11", 10),
        ("/activities/teams/", 14),  # with the teams a new one may sit under, the branches
        ("/activities/needs/", 10),
        # with the holders, amounts and balances of the page's entries, and the large
        # adjustments awaiting approval
        ("/points/", 16),
        ("/stores/", 11),
    ],
)
def test_staff_lists(busy_community, world, staff_a, django_assert_max_num_queries, url, queries):
    client = client_for(staff_a)
    with django_assert_max_num_queries(queries):
        assert client.get(url).status_code == 200


@pytest.mark.parametrize(
    ("url", "queries"),
    [
        # the region, the month's gatherings, and what each kind present says of its own
        (f"/calendar/{COMMUNITY_A}/?month=2026-11", 3),
        (f"/rank/{COMMUNITY_A}/?period=2026-11", 5),
    ],
)
def test_public_pages(busy_community, django_assert_max_num_queries, url, queries):
    with django_assert_max_num_queries(queries):
        assert Client().get(url).status_code == 200
