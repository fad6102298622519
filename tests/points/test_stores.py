"""Redemption at the counter: balance and stock change together or not at all; each kind
of bad request is refused and changes nothing."""

import pytest
from django.utils import timezone

from jiceng.core.actors import Actor
from jiceng.core.errors import DomainError, NotFound
from jiceng.core.models import AuditEvent
from jiceng.points import selectors, services
from jiceng.points.ledger import account_for, verify
from jiceng.points.models import Account, Good, JournalEntry, Redemption
from tests.factories import resident, staff


def _balance(ledger, who) -> int:
    return account_for(ledger, Account.Kind.RESIDENT, who).balance


def _state(goods):
    return (
        JournalEntry.objects.count(),
        {g.pk: Good.objects.get(pk=g.pk).stock for g in goods.values()},
    )


def test_redemption_moves_points_and_stock_together(ledger_a, award, someone, store_a, goods):
    award(someone, 100)
    order = services.redemption_open(
        actor=Actor.staff(store_a.clerk),
        store=store_a,
        resident=someone,
        items={goods["soap"].pk: 2, goods["oil"].pk: 1},
    )
    assert order.total == 50 and order.status == Redemption.Status.PENDING
    assert _balance(ledger_a, someone) == 100  # nothing moves before the resident confirms
    done = services.redemption_confirm(actor=Actor.of_resident(someone), redemption=order)
    assert done.status == Redemption.Status.CONFIRMED and done.receipt_no
    assert _balance(ledger_a, someone) == 50
    assert Good.objects.get(pk=goods["soap"].pk).stock == 8
    replay = services.redemption_confirm(actor=Actor.of_resident(someone), redemption=order)
    assert replay.entry_id == done.entry_id
    assert _balance(ledger_a, someone) == 50
    assert Good.objects.get(pk=goods["oil"].pk).stock == 1
    assert done.entry.key == f"redeem:{order.pk}"
    report = selectors.daily_report(store=store_a, day=timezone.localdate())
    assert report.total_points == 50
    assert report.goods == [("肥皂", 2, 10), ("食用油", 1, 40)]
    assert verify()[1] == []


def test_more_than_the_balance_or_the_stock_is_refused(ledger_a, award, someone, store_a, goods):
    award(someone, 30)
    before = _state(goods)
    with pytest.raises(DomainError) as poor:
        services.redemption_open(
            actor=Actor.staff(store_a.clerk),
            store=store_a,
            resident=someone,
            items={goods["oil"].pk: 1},
        )
    assert poor.value.code == "insufficient_points"
    with pytest.raises(DomainError) as empty:
        services.redemption_open(
            actor=Actor.staff(store_a.clerk),
            store=store_a,
            resident=someone,
            items={goods["soap"].pk: 11},
        )
    assert empty.value.code == "out_of_stock"
    assert _state(goods) == before and not Redemption.objects.exists()


def test_stock_gone_before_confirming_changes_nothing(ledger_a, award, someone, store_a, goods):
    award(someone, 200)
    other = resident()
    award(other, 200)
    mine = services.redemption_open(
        actor=Actor.staff(store_a.clerk),
        store=store_a,
        resident=someone,
        items={goods["soap"].pk: 1, goods["oil"].pk: 2},
    )
    theirs = services.redemption_open(
        actor=Actor.staff(store_a.clerk), store=store_a, resident=other, items={goods["oil"].pk: 1}
    )
    services.redemption_confirm(actor=Actor.of_resident(other), redemption=theirs)
    before = _state(goods)
    with pytest.raises(DomainError) as gone:
        services.redemption_confirm(actor=Actor.of_resident(someone), redemption=mine)
    assert gone.value.code == "out_of_stock"
    assert _state(goods) == before  # the soap taken first was put back with the rollback
    assert _balance(ledger_a, someone) == 200
    assert Redemption.objects.get(pk=mine.pk).status == Redemption.Status.PENDING


def test_only_the_resident_confirms_their_own(award, someone, store_a, goods):
    award(someone, 100)
    order = services.redemption_open(
        actor=Actor.staff(store_a.clerk),
        store=store_a,
        resident=someone,
        items={goods["soap"].pk: 1},
    )
    with pytest.raises(NotFound):
        services.redemption_confirm(actor=Actor.of_resident(resident()), redemption=order)
    assert Redemption.objects.get(pk=order.pk).status == Redemption.Status.PENDING


def test_a_clerk_serves_only_their_own_store(world, award, someone, store_a, goods):
    award(someone, 100)
    manager_b = world.b("community_worker")
    store_b = services.store_create(
        actor=Actor.staff(manager_b), region_code="370829002001", name="卧龙山超市"
    )
    clerk_b = world.b("store_clerk")
    services.store_add_clerk(actor=Actor.staff(manager_b), store=store_b, clerk=clerk_b)
    with pytest.raises(NotFound):
        services.redemption_open(
            actor=Actor.staff(clerk_b), store=store_a, resident=someone, items={goods["soap"].pk: 1}
        )
    unlisted = staff("store_clerk", "370829001001", username="a-other_clerk")
    with pytest.raises(NotFound):
        services.redemption_open(
            actor=Actor.staff(unlisted),
            store=store_a,
            resident=someone,
            items={goods["soap"].pk: 1},
        )
    with pytest.raises(DomainError):  # a B clerk cannot be put on A's counter either
        services.store_add_clerk(
            actor=Actor.staff(world.a("community_worker")), store=store_a, clerk=clerk_b
        )
    with pytest.raises(DomainError) as foreign:  # goods of another store
        other_good = services.good_create(
            actor=Actor.staff(manager_b), store=store_b, name="牙膏", price=1
        )
        services.redemption_open(
            actor=Actor.staff(store_a.clerk),
            store=store_a,
            resident=someone,
            items={other_good.pk: 1},
        )
    assert foreign.value.code == "good_invalid"
    assert not Redemption.objects.exists()


def test_cancelled_redemption_cannot_be_confirmed(award, someone, store_a, goods):
    award(someone, 100)
    order = services.redemption_open(
        actor=Actor.staff(store_a.clerk),
        store=store_a,
        resident=someone,
        items={goods["soap"].pk: 1},
    )
    services.redemption_cancel(actor=Actor.of_resident(someone), redemption=order)
    with pytest.raises(DomainError) as cancelled:
        services.redemption_confirm(actor=Actor.of_resident(someone), redemption=order)
    assert cancelled.value.code == "redemption_cancelled"


def test_restock_is_recorded(world, store_a, goods):
    good = services.good_restock(
        actor=Actor.staff(world.a("community_worker")), good=goods["oil"], quantity=5
    )
    assert good.stock == 7
    with pytest.raises(DomainError):
        services.good_restock(
            actor=Actor.staff(world.a("community_worker")), good=goods["oil"], quantity=0
        )
    with pytest.raises(NotFound):
        services.good_restock(
            actor=Actor.staff(world.b("community_worker")), good=goods["oil"], quantity=5
        )
    report = selectors.daily_report(store=store_a, day=timezone.localdate())
    assert [(r.good.name, r.quantity) for r in report.restocks] == [("食用油", 5)]


def test_an_order_not_confirmed_in_time_lapses(award, someone, store_a, goods):
    import datetime

    import time_machine

    award(someone, 100)
    order = services.redemption_open(
        actor=Actor.staff(store_a.clerk),
        store=store_a,
        resident=someone,
        items={goods["soap"].pk: 1},
    )
    with time_machine.travel(timezone.now() + datetime.timedelta(minutes=16)):
        with pytest.raises(DomainError) as lapsed:
            services.redemption_confirm(actor=Actor.of_resident(someone), redemption=order)
        assert lapsed.value.code == "redemption_lapsed"
        assert Redemption.objects.get(pk=order.pk).lapsed
    assert Good.objects.get(pk=goods["soap"].pk).stock == 10


def test_a_redemption_is_cancelled_only_by_its_resident_or_its_clerk(
    world, award, someone, store_a, goods
):
    """Finding 4: a call naming nobody, or an actor with no right to the order, used to
    cancel it; now the actor is required and such calls change nothing."""
    award(someone, 100)
    order = services.redemption_open(
        actor=Actor.staff(store_a.clerk),
        store=store_a,
        resident=someone,
        items={goods["soap"].pk: 1},
    )
    with pytest.raises(TypeError):
        services.redemption_cancel(redemption=order)
    with pytest.raises(TypeError):
        services.redemption_cancel(actor=None, redemption=order)
    refused = [
        Actor.public("test"),
        Actor.system("test"),
        Actor.of_resident(resident()),  # another resident
        Actor.staff(world.a("community_worker")),  # staff, not a clerk of this store
        Actor.staff(staff("store_clerk", "370829001001", username="a-unlisted_clerk")),
    ]
    for actor in refused:
        with pytest.raises(DomainError):
            services.redemption_cancel(actor=actor, redemption=order)
    order.refresh_from_db()
    assert order.status == Redemption.Status.PENDING
    assert not AuditEvent.objects.filter(action="redemption.cancel").exists()
    services.redemption_cancel(actor=Actor.staff(store_a.clerk), redemption=order)
    order.refresh_from_db()
    assert order.status == Redemption.Status.CANCELLED
    event = AuditEvent.objects.get(action="redemption.cancel")
    assert event.actor_kind == "staff" and event.actor == store_a.clerk


def test_a_residents_cancellation_is_audited_as_theirs(award, someone, store_a, goods):
    award(someone, 100)
    order = services.redemption_open(
        actor=Actor.staff(store_a.clerk),
        store=store_a,
        resident=someone,
        items={goods["soap"].pk: 1},
    )
    services.redemption_cancel(actor=Actor.of_resident(someone), redemption=order)
    event = AuditEvent.objects.get(action="redemption.cancel")
    assert (event.actor_kind, event.actor_username) == ("resident", f"resident:{someone.pk}")
