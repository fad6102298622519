"""Races, on PostgreSQL with real concurrent transactions: 200 residents confirming
redemptions for the last 10 items, 100 teams claiming one activity, and a leader's and
staff's confirmations of the same attendances, over 40 connections at once."""

import datetime
import threading

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from jiceng.activities import services as activity_services
from jiceng.activities.models import Activity, ServiceType
from jiceng.core.actors import Actor
from jiceng.core.errors import DomainError
from jiceng.core.models import Approval, AuditEvent
from jiceng.gatherings import services as gatherings
from jiceng.gatherings.models import SignUp
from jiceng.points import services
from jiceng.points.ledger import account_for, ledger_for, post, verify
from jiceng.points.models import Account, Good, JournalEntry, Redemption
from tests.factories import resident, staff

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL"),
]


CONNECTIONS = 40  # PostgreSQL allows 100 by default; a server's pool would be smaller


def race(jobs) -> list:
    """Run the jobs at once on CONNECTIONS threads, each with its own database connection
    (as a server's workers would), all released together; return their results in order."""
    barrier = threading.Barrier(CONNECTIONS)
    results = [None] * len(jobs)
    queue = list(enumerate(jobs))
    lock = threading.Lock()

    def worker():
        barrier.wait()
        try:
            while True:
                with lock:
                    if not queue:
                        return
                    index, job = queue.pop(0)
                try:
                    results[index] = job()
                except DomainError as error:
                    results[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(CONNECTIONS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_200_redemptions_for_the_last_10_items(reference_data, world):
    manager = world.a("community_worker")
    store = services.store_create(
        actor=Actor.staff(manager), region_code="370829001001", name="文明超市"
    )
    clerk = staff("store_clerk", "370829001001", username="clerk")
    services.store_add_clerk(actor=Actor.staff(manager), store=store, clerk=clerk)
    good = services.good_create(
        actor=Actor.staff(manager), store=store, name="洗衣液", price=30, stock=10
    )
    ledger = ledger_for("370829001001")
    issuance = account_for(ledger, Account.Kind.ISSUANCE)
    people = [resident() for _ in range(200)]
    for index, person in enumerate(people):
        post(
            ledger=ledger,
            key=f"seed:{index}",
            kind=JournalEntry.Kind.EARN,
            memo="初始积分",
            lines=[(account_for(ledger, Account.Kind.RESIDENT, person), 50), (issuance, -50)],
        )
    orders = [
        services.redemption_open(
            actor=Actor.staff(clerk), store=store, resident=p, items={good.pk: 1}
        )
        for p in people
    ]
    results = race(
        [
            (lambda p=p, o=o: services.redemption_confirm(actor=Actor.of_resident(p), redemption=o))
            for p, o in zip(people, orders, strict=True)
        ]
    )
    won = [r for r in results if isinstance(r, Redemption)]
    lost = [r for r in results if isinstance(r, DomainError)]
    assert len(won) == 10 and len(lost) == 190
    assert {e.code for e in lost} == {"out_of_stock"}
    assert Good.objects.get(pk=good.pk).stock == 0
    balances = sorted(
        Account.objects.filter(kind=Account.Kind.RESIDENT).values_list("balance", flat=True)
    )
    assert balances == [20] * 10 + [50] * 190
    assert account_for(ledger, Account.Kind.STORE, store).balance == 300
    assert Redemption.objects.filter(status=Redemption.Status.CONFIRMED).count() == 10
    assert verify() == (210, [])


def test_100_teams_claim_one_activity(reference_data, world):
    manager = world.a("community_worker")
    activity = activity_services.activity_create(
        actor=manager,
        region_code="370829001001",
        title="敬老院包饺子",
        service_type=ServiceType.objects.get(code="elderly-disabled"),
        starts_at=timezone.now() + datetime.timedelta(days=3),
        ends_at=timezone.now() + datetime.timedelta(days=3, hours=2),
        capacity=20,
    )
    activity = activity_services.activity_publish(actor=manager, activity=activity)
    teams = [
        activity_services.team_create(
            actor=manager, region_code="370829001001", name=f"第{i}志愿队", leader=resident()
        )
        for i in range(100)
    ]
    results = race(
        [
            (lambda t=t: activity_services.activity_claim(
                actor=Actor.of_resident(t.leader), activity=activity, team=t
            ))
            for t in teams
        ]
    )  # fmt: skip
    won = [r for r in results if isinstance(r, Activity)]
    lost = [r for r in results if isinstance(r, DomainError)]
    assert len(won) == 1 and len(lost) == 99
    assert {e.code for e in lost} == {"already_claimed"}
    activity.refresh_from_db()
    assert activity.status == Activity.Status.CLAIMED and activity.team == won[0].team
    assert activity.events.filter(action="claim").count() == 1


def test_confirming_the_same_attendances_at_once_pays_each_once(reference_data, world):
    manager = world.a("community_worker")
    start = timezone.now() + datetime.timedelta(minutes=20)  # check-in opens 30 min before
    activity = activity_services.activity_create(
        actor=manager,
        region_code="370829001001",
        title="楼道清理",
        service_type=ServiceType.objects.get(code="environment"),
        starts_at=start,
        ends_at=start + datetime.timedelta(hours=2),
        capacity=10,
        points=20,
    )
    activity = activity_services.activity_publish(actor=manager, activity=activity)
    team = activity_services.team_create(
        actor=manager, region_code="370829001001", name="红帆志愿队", leader=resident()
    )
    activity = activity_services.activity_assign(actor=manager, activity=activity, team=team)
    activity = activity_services.activity_open_signup(actor=manager, activity=activity)
    people = [resident() for _ in range(5)]
    signups = [
        gatherings.signup_create(actor=Actor.of_resident(p), gathering=activity.gathering)
        for p in people
    ]
    activity = activity_services.activity_hold(actor=manager, activity=activity)
    for person in people:
        gatherings.signup_check_in(
            actor=Actor.of_resident(person),
            gathering=activity.gathering,
            code=gatherings.check_in_code(activity.gathering),
        )
    leader = Actor.of_resident(team.leader)
    jobs = []
    for n in range(60):
        who = leader if n % 2 else manager
        if n % 3 == 0:
            jobs.append(
                lambda who=who: gatherings.attendance_confirm_claims(
                    actor=who, gathering=activity.gathering
                )
            )
        else:
            jobs.append(
                lambda who=who, s=signups[n % 5]: gatherings.attendance_mark(
                    actor=who, signup=s, attended=True
                )
            )
    results = race(jobs)
    assert not [r for r in results if isinstance(r, DomainError)]
    assert set(SignUp.objects.values_list("attendance", flat=True)) == {"confirmed"}
    marks = AuditEvent.objects.filter(action="gathering.attendance")
    assert sorted(marks.values_list("object_id", flat=True)) == sorted(str(s.pk) for s in signups)

    with time_machine.travel(start + datetime.timedelta(hours=3)):
        activity = activity_services.activity_complete(actor=leader, activity=activity)
        settled = race(
            [
                lambda: activity_services.activity_settle(actor=manager, activity=activity)
                for _ in range(10)
            ]
        )
    assert sum(isinstance(r, Activity) for r in settled) == 1
    assert JournalEntry.objects.filter(key__startswith="checkin:").count() == 5
    balances = Account.objects.filter(kind=Account.Kind.RESIDENT).values_list("balance", flat=True)
    assert sorted(balances) == [20] * 5
    assert verify() == (6, [])


def test_one_workers_additions_at_once_share_one_days_cap(reference_data, world, settings):
    """Ten +100 adjustments by one worker at once, with 500 a day: five post and five wait
    for approval (the day's count is read under the lock on the worker)."""
    settings.JICENG_POINTS_ADJUST_MAX_ENTRY = 200
    settings.JICENG_POINTS_ADJUST_MAX_DAY_PER_WORKER = 500
    worker = Actor.staff(world.a("community_worker"))
    someone = resident()
    results = race(
        [
            (
                lambda n=n: services.adjust(
                    actor=worker,
                    resident=someone,
                    region_code="370829001001",
                    amount=100,
                    reason="补录",
                    key=f"k{n}",
                )
            )
            for n in range(10)
        ]
    )
    posted = [r for r in results if isinstance(r, JournalEntry)]
    asked = [r for r in results if isinstance(r, Approval)]
    assert len(posted) == 5 and len(asked) == 5
    assert JournalEntry.objects.filter(kind=JournalEntry.Kind.ADJUST).count() == 5
    ledger = ledger_for("370829001001")
    assert account_for(ledger, Account.Kind.RESIDENT, someone).balance == 500
    assert (
        Approval.objects.filter(kind="points.adjust", status=Approval.Status.PENDING).count() == 5
    )
    assert verify() == (5, [])
