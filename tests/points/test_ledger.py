"""The ledger: balanced entries, idempotency keys, the balance floor in the database,
append-only rows, FIFO expiry, and `points verify` finding any tampering."""

import datetime

import pytest
import time_machine
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from jiceng.core.actors import Actor
from jiceng.core.errors import DomainError
from jiceng.core.history import AppendOnlyError
from jiceng.points import services
from jiceng.points.ledger import account_for, post, verify
from jiceng.points.models import Account, JournalEntry, Lot, MonthlyEarning, Posting


def test_entries_balance_and_keys_are_idempotent(ledger_a, award, someone):
    first = award(someone, 30, key="checkin:1")
    again = award(someone, 30, key="checkin:1")
    assert again.pk == first.pk
    account = account_for(ledger_a, Account.Kind.RESIDENT, someone)
    account.refresh_from_db()
    assert account.balance == 30
    with pytest.raises(DomainError) as unbalanced:
        post(
            ledger=ledger_a,
            key="bad",
            kind=JournalEntry.Kind.EARN,
            memo="x",
            lines=[(account, 5), (account_for(ledger_a, Account.Kind.ISSUANCE), -4)],
        )
    assert unbalanced.value.code == "entry_unbalanced"
    assert verify() == (1, [])


def test_floor_is_kept_by_the_service_and_the_database(ledger_a, award, someone, store_a):
    award(someone, 10)
    account = account_for(ledger_a, Account.Kind.RESIDENT, someone)
    store = account_for(ledger_a, Account.Kind.STORE, store_a)
    with pytest.raises(DomainError) as short:
        post(
            ledger=ledger_a,
            key="redeem:x",
            kind=JournalEntry.Kind.REDEEM,
            memo="兑换",
            lines=[(account, -11), (store, 11)],
        )
    assert short.value.code == "insufficient_points"
    assert not JournalEntry.objects.filter(key="redeem:x").exists()
    with pytest.raises(IntegrityError), transaction.atomic():
        Account.objects.filter(pk=account.pk).update(balance=-1)
    account.refresh_from_db()
    assert account.balance == 10


def test_posted_rows_cannot_be_changed(award, someone):
    entry = award(someone, 10)
    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        JournalEntry.objects.filter(pk=entry.pk).update(memo="改")
    with pytest.raises(AppendOnlyError):
        entry.postings.first().delete()
    with (
        pytest.raises(Exception, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("UPDATE points_posting SET amount = 1000 WHERE entry_id = %s", [entry.pk])
    assert sorted(entry.postings.values_list("amount", flat=True)) == [-10, 10]


def test_posted_rows_cannot_be_deleted_even_in_sql(award, someone):
    entry = award(someone, 10)
    with (
        pytest.raises(Exception, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("DELETE FROM points_posting WHERE entry_id = %s", [entry.pk])


def _tamper(sql: str, params) -> None:
    """Change a posted row behind the application's back, as an intruder with database
    access would: triggers off for this one statement."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = replica")
            cursor.execute(sql, params)
            cursor.execute("SET LOCAL session_replication_role = origin")
        else:
            cursor.execute("DROP TRIGGER points_journalentry_history_no_update")
            cursor.execute(sql, params)


def test_verify_finds_an_edited_entry(award, someone):
    award(someone, 10)
    entry = award(someone, 20)
    award(someone, 5)
    assert verify()[1] == []
    _tamper("UPDATE points_journalentry SET memo = %s WHERE id = %s", ["改过的摘要", entry.pk])
    problems = verify()[1]
    assert [p.where for p in problems] == [entry.key]
    assert "改动" in problems[0].what


def test_verify_finds_a_balance_that_disagrees(ledger_a, award, someone):
    award(someone, 10)
    account = account_for(ledger_a, Account.Kind.RESIDENT, someone)
    Account.objects.filter(pk=account.pk).update(balance=50)
    whats = {p.what for p in verify()[1]}
    assert "余额与过账合计不符" in whats


def test_points_verify_command(award, someone, capsys):
    award(someone, 10)
    call_command("points", "verify")
    assert "1 条分录" in capsys.readouterr().out
    MonthlyEarning.objects.update(earned=99)
    with pytest.raises(SystemExit) as failed:
        call_command("points", "verify")
    assert failed.value.code == 1


def test_lots_expire_oldest_first(ledger_a, award, someone, store_a, goods):
    ledger_a.expiry_months = 12
    ledger_a.save()
    with time_machine.travel(timezone.make_aware(datetime.datetime(2025, 1, 5)), tick=False):
        award(someone, 30)
    with time_machine.travel(timezone.make_aware(datetime.datetime(2025, 6, 5)), tick=False):
        award(someone, 20)
    with time_machine.travel(timezone.make_aware(datetime.datetime(2025, 7, 1)), tick=False):
        order = services.redemption_open(
            actor=Actor.staff(store_a.clerk),
            store=store_a,
            resident=someone,
            items={goods["soap"].pk: 5},
        )
        services.redemption_confirm(
            actor=Actor.of_resident(someone), redemption=order
        )  # 25 from the oldest lot
    with time_machine.travel(timezone.make_aware(datetime.datetime(2026, 1, 1)), tick=False):
        assert services.expire_lots(actor=Actor.system("points expire")) == 1
        call_command("points", "expire")  # again, from the command line: nothing left to do
    assert JournalEntry.objects.filter(kind="expire").count() == 1
    account = account_for(ledger_a, Account.Kind.RESIDENT, someone)
    account.refresh_from_db()
    assert account.balance == 20
    assert list(Lot.objects.filter(account=account).values_list("remaining", flat=True)) == [0, 20]
    assert verify()[1] == []


def test_reversal_instead_of_edit(world, ledger_a, award, someone):
    entry = award(someone, 10)
    manager = world.a("community_worker")
    with pytest.raises(DomainError):
        services.reverse(actor=Actor.staff(manager), entry=entry, reason="")
    reversal = services.reverse(actor=Actor.staff(manager), entry=entry, reason="重复登记")
    assert reversal.reverses == entry
    assert (
        services.reverse(actor=Actor.staff(manager), entry=entry, reason="再来一次").pk
        == reversal.pk
    )
    account = account_for(ledger_a, Account.Kind.RESIDENT, someone)
    account.refresh_from_db()
    assert account.balance == 0
    assert Posting.objects.filter(entry=entry).count() == 2  # the original stays as posted
    month = MonthlyEarning.objects.get(account=account)
    assert month.earned == 0  # the reversal takes it off the ranking
    assert verify()[1] == []


def test_adjustments_need_a_reason_and_rights(world, someone):
    manager = world.a("community_worker")
    with pytest.raises(DomainError):
        services.adjust(
            actor=Actor.staff(manager), resident=someone, region_code="370829001001", amount=5,
            reason="", key="k1",
        )  # fmt: skip
    from jiceng.core.errors import NotFound

    with pytest.raises(NotFound):
        services.adjust(
            actor=Actor.staff(world.b("community_worker")), resident=someone,
            region_code="370829001001", amount=5, reason="补录", key="k1",
        )  # fmt: skip
    entry = services.adjust(
        actor=Actor.staff(manager), resident=someone, region_code="370829001001", amount=5,
        reason="补录签到", key="k1",
    )  # fmt: skip
    assert entry.memo == "补录签到" and entry.actor == manager


def test_deeds_need_a_second_person(world, ledger_a, someone):
    from jiceng.points.models import EarningRule

    rule = EarningRule.objects.create(
        ledger=ledger_a, name="环保卫士", kind=EarningRule.Kind.DEED, points=5
    )
    proposer, approver = world.a("community_worker"), world.a("town_staff")
    claim = services.deed_propose(
        actor=Actor.staff(proposer), rule=rule, resident=someone, description="清理楼道杂物"
    )
    with pytest.raises(DomainError) as own:
        services.deed_decide(actor=Actor.staff(proposer), claim=claim, approve=True)
    assert own.value.code == "self_approval"
    services.deed_decide(actor=Actor.staff(approver), claim=claim, approve=True)
    with pytest.raises(DomainError) as twice:
        services.deed_decide(actor=Actor.staff(approver), claim=claim, approve=True)
    assert twice.value.code == "already_decided"
    account = account_for(ledger_a, Account.Kind.RESIDENT, someone)
    account.refresh_from_db()
    assert account.balance == 5


def test_the_operator_cannot_change_an_entry_in_the_admin(world, award, someone):
    from tests.conftest import client_for

    entry = award(someone, 10)
    operator = client_for(world.operator)
    page = f"/admin/points/journalentry/{entry.pk}/change/"
    assert operator.get(page).status_code == 200  # shown, read-only
    assert operator.post(page, {"memo": "改过"}).status_code == 403
    assert operator.post(f"/admin/points/journalentry/{entry.pk}/delete/").status_code == 403
    assert operator.get("/admin/points/journalentry/add/").status_code == 403
    entry.refresh_from_db()
    assert entry.memo == "参加活动"
