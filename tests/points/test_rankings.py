"""张榜公示: rankings by points earned in the period (never by balance), names masked,
with the period's corrections and their reasons."""

import datetime

import time_machine
from django.utils import timezone

from jiceng.core.actors import Actor
from jiceng.places.models import Person
from jiceng.points import selectors, services
from jiceng.points.ledger import account_for, ledger_for, post
from jiceng.points.models import Account, JournalEntry
from tests.factories import resident


def _at(month, day=5):
    return time_machine.travel(
        timezone.make_aware(datetime.datetime(2026, month, day, 10)), tick=False
    )


def test_ranking_counts_earning_in_the_period_not_balance(world, award):
    rich = resident(person=world.person_a)  # 甲测试人 → 甲**人
    busy = resident(display_name="李小红")
    with _at(10):
        award(rich, 500)
    with _at(11):
        award(rich, 10)
        award(busy, 30)
        award(busy, 5)
    november = selectors.Period.parse("2026-11")
    ranks = selectors.ranking(region_code="370829001001", kind="resident", period=november)
    assert [(r.place, r.name, r.earned) for r in ranks] == [(1, "李*红", 35), (2, "甲**人", 10)]
    year = selectors.ranking(
        region_code="370829", kind="resident", period=selectors.Period.parse("2026")
    )
    assert [(r.name, r.earned) for r in year] == [("甲**人", 510), ("李*红", 35)]
    assert "甲测试人" not in repr(year)


def test_equal_points_share_a_place(world, award):
    with _at(11):
        for amount in (20, 20, 10):
            award(resident(), amount)
    ranks = selectors.ranking(
        region_code="370829001001", kind="resident", period=selectors.Period(2026, 11)
    )
    assert [r.place for r in ranks] == [1, 1, 3]


def test_households_rank_with_their_members(world, award):
    head = world.household_a.head
    partner = Person.objects.filter(household=world.household_a).exclude(pk=head.pk).get()
    ledger = ledger_for("370829001001")
    with _at(11):
        award(resident(person=head), 10)
        award(resident(person=partner), 15)
        post(
            ledger=ledger,
            key="household:award",
            kind=JournalEntry.Kind.EARN,
            memo="美丽庭院",
            lines=[
                (account_for(ledger, Account.Kind.HOUSEHOLD, world.household_a), 5),
                (account_for(ledger, Account.Kind.ISSUANCE), -5),
            ],
        )
    ranks = selectors.ranking(
        region_code="370829001001", kind="household", period=selectors.Period(2026, 11)
    )
    assert [(r.name, r.earned) for r in ranks] == [("甲**人家", 30)]


def test_corrections_are_shown_with_reasons(world, award, someone):
    manager = world.a("community_worker")
    with _at(11):
        entry = award(someone, 10)
        services.adjust(
            actor=Actor.staff(manager), resident=someone, region_code="370829001001", amount=3,
            reason="补录漏签到", key="k",
        )  # fmt: skip
        services.reverse(actor=Actor.staff(manager), entry=entry, reason="活动未实际举行")
    shown = selectors.corrections(region_code="370829001001", period=selectors.Period(2026, 11))
    assert [(c.name, c.amount, c.kind) for c in shown] == [
        ("甲**人", 3, "调整"),
        ("甲**人", -10, "冲正"),
    ]
    assert "补录漏签到" in shown[0].reason
    ranks = selectors.ranking(
        region_code="370829001001", kind="resident", period=selectors.Period(2026, 11)
    )
    assert [(r.name, r.earned) for r in ranks] == [("甲**人", 3)]  # 10 + 3 − 10


def test_period_parsing():
    assert selectors.Period.parse("2026-02").months == (
        datetime.date(2026, 2, 1),
        datetime.date(2026, 2, 1),
    )
    assert str(selectors.Period.parse("2026")) == "2026年"
    for bad in ("2026-13", "abc", "1900"):
        try:
            selectors.Period.parse(bad)
        except Exception as error:
            assert error.code == "bad_period"
        else:
            raise AssertionError(bad)
