"""History tables (audit, ledger entries and postings, request and activity events) are
append-only in the database itself, on SQLite as on PostgreSQL: UPDATE and DELETE are
refused with one exception, the triggers are there after every migrate (a SQLite table
rebuild drops them), and only the test runner's flush gets past them."""

import datetime
import threading
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.color import no_style
from django.db import connection, connections, transaction
from django.utils import timezone

from jiceng.activities import services as activities
from jiceng.activities.models import ServiceType
from jiceng.cases.models import Case
from jiceng.cases.services import case_submit
from jiceng.core import approvals, audit, history
from jiceng.core.actors import Actor
from jiceng.core.history import AppendOnlyError, append_only_models, missing_guards
from jiceng.core.models import AuditEvent
from jiceng.points.ledger import account_for, ledger_for, post
from jiceng.points.models import Account, JournalEntry
from tests.factories import resident

PUBLIC = Actor.public("test")

HISTORY = {
    "core.AuditEvent",
    "points.JournalEntry",
    "points.Posting",
    "cases.Event",
    "activities.ActivityEvent",
    "core.ApprovalEvent",
}
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def rows(world):
    """One row of each history table, made the way the application makes them."""
    ledger = ledger_for("370829001001")
    entry = post(
        ledger=ledger, key="history-test", kind=JournalEntry.Kind.EARN, memo="活动",
        lines=[(account_for(ledger, Account.Kind.RESIDENT, resident()), 5),
               (account_for(ledger, Account.Kind.ISSUANCE), -5)],
    )  # fmt: skip
    case, _ = case_submit(
        actor=PUBLIC, channel="qr", region_code=world.grid_a.code, description="路灯不亮"
    )
    start = timezone.now() + datetime.timedelta(days=7)
    activity = activities.activity_create(
        actor=world.a("community_worker"), region_code="370829001001", title="义诊进社区",
        service_type=ServiceType.objects.get(code="health"),
        starts_at=start, ends_at=start + datetime.timedelta(hours=2), capacity=10,
    )  # fmt: skip
    approvals.register(
        approvals.Kind(name="test.history", label="测试", permission="points.manage")
    )
    approval = approvals.ask(
        actor=world.a("community_worker"), kind="test.history", region_code="370829001001",
        summary="测试审批",
    )  # fmt: skip
    made = {
        "core.ApprovalEvent": approval.events.get(),
        "core.AuditEvent": audit.record(
            actor=Actor.system("test"), action="test.event", region_code="370829"
        ),
        "points.JournalEntry": entry,
        "points.Posting": entry.postings.first(),
        "cases.Event": case.events.get(),
        "activities.ActivityEvent": activity.events.get(),
    }
    assert set(made) == HISTORY
    return made


def _persisted(row) -> dict:
    return type(row).objects.filter(pk=row.pk).values().get()


def _execute(sql: str, params=()) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)


def test_every_history_table_has_the_append_only_base():
    assert {model._meta.label for model in append_only_models()} == HISTORY


@pytest.mark.parametrize("label", sorted(HISTORY))
def test_the_database_refuses_updating_and_deleting_history(rows, label):
    row = rows[label]
    table = type(row)._meta.db_table
    before = _persisted(row)
    with pytest.raises(AppendOnlyError, match="UPDATE"):
        _execute(f'UPDATE "{table}" SET id = id WHERE id = %s', [row.pk])  # noqa: S608
    with pytest.raises(AppendOnlyError, match="DELETE"):
        _execute(f'DELETE FROM "{table}" WHERE id = %s', [row.pk])  # noqa: S608
    assert _persisted(row) == before


@pytest.mark.parametrize("label", sorted(HISTORY))
def test_the_orm_refuses_before_the_database_is_asked(rows, label):
    row = rows[label]
    model = type(row)
    before = _persisted(row)
    with pytest.raises(AppendOnlyError):
        row.save()
    with pytest.raises(AppendOnlyError):
        row.delete()
    with pytest.raises(AppendOnlyError):
        model.objects.filter(pk=row.pk).update(id=row.pk)
    with pytest.raises(AppendOnlyError):
        model.objects.filter(pk=row.pk).delete()
    assert _persisted(row) == before  # and the transaction is still usable


def test_deleting_a_request_cannot_take_its_history_with_it(rows):
    case = rows["cases.Event"].case
    with pytest.raises(AppendOnlyError), transaction.atomic():
        case.delete()  # the ORM cascades to the events; the database refuses
    assert Case.objects.filter(pk=case.pk).exists()
    assert case.events.count() == 1


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite has no TRUNCATE")
def test_postgresql_refuses_truncating_history(rows):
    _execute("SET CONSTRAINTS ALL IMMEDIATE")  # no foreign-key checks pending from the rows
    with pytest.raises(AppendOnlyError, match="TRUNCATE"):
        _execute("TRUNCATE core_auditevent")
    assert AuditEvent.objects.filter(pk=rows["core.AuditEvent"].pk).exists()


def test_audit_events_past_their_six_months_may_be_purged_and_no_sooner(db):
    now = timezone.now()
    old = AuditEvent.objects.create(action="old", at=now - datetime.timedelta(days=184))
    recent = AuditEvent.objects.create(action="recent", at=now - datetime.timedelta(days=182))
    _execute("DELETE FROM core_auditevent WHERE id = %s", [old.pk])
    with pytest.raises(AppendOnlyError):
        _execute("DELETE FROM core_auditevent WHERE id = %s", [recent.pk])
    with pytest.raises(AppendOnlyError):
        _execute("UPDATE core_auditevent SET action = 'x' WHERE id = %s", [recent.pk])
    assert list(AuditEvent.objects.values_list("action", flat=True)) == ["recent"]


def test_a_flush_by_anyone_but_the_test_runner_is_refused(rows):
    tables = connection.introspection.django_table_names(only_existing=True)
    statements = connection.ops.sql_flush(no_style(), tables)
    _execute("SET CONSTRAINTS ALL IMMEDIATE" if connection.vendor == "postgresql" else "SELECT 1")
    with pytest.raises(AppendOnlyError), transaction.atomic(), connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)
    assert all(_persisted(row) for row in rows.values())


def test_emptying_lets_deletes_through_on_its_connection_until_it_ends(rows):
    event, entry = rows["core.AuditEvent"], rows["points.JournalEntry"]
    with history.emptying(connection):
        with pytest.raises(AppendOnlyError):  # never an UPDATE
            _execute("UPDATE core_auditevent SET action = 'x' WHERE id = %s", [event.pk])
        _execute("DELETE FROM core_auditevent WHERE id = %s", [event.pk])
    with pytest.raises(AppendOnlyError):
        _execute("DELETE FROM points_posting WHERE entry_id = %s", [entry.pk])
    assert not AuditEvent.objects.filter(pk=event.pk).exists()
    assert entry.postings.count() == 2


@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs a second connection")
@pytest.mark.django_db(transaction=True)
def test_no_other_connection_sees_the_bypass():
    event = audit.record(actor=Actor.system("test"), action="test.event", region_code="370829")
    refused = []

    def delete_elsewhere():
        try:
            with connections["default"].cursor() as cursor:
                cursor.execute("DELETE FROM core_auditevent WHERE id = %s", [event.pk])
        except AppendOnlyError as error:
            refused.append(error)
        finally:
            connections["default"].close()

    with history.emptying(connection):
        other = threading.Thread(target=delete_elsewhere)
        other.start()
        other.join()
    assert len(refused) == 1
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_every_history_table_has_its_triggers_after_migrate(db):
    assert missing_guards(connection) == []
    triggers = history.present_guards(connection)
    for model in append_only_models():
        names = {name for table, name in triggers if table == model._meta.db_table}
        assert {"update", "delete"} <= {name.rsplit("_", 1)[-1] for name in names}, model


@pytest.mark.django_db(transaction=True)
def test_a_table_rebuild_loses_the_triggers_and_migrate_puts_them_back():
    if connection.vendor == "sqlite":
        with connection.schema_editor() as editor:
            editor._remake_table(AuditEvent)  # what most AlterFields do on SQLite
    else:
        _execute("DROP TRIGGER core_auditevent_history_no_delete ON core_auditevent")
    assert [table for table, _ in missing_guards(connection)] != []
    call_command("migrate", verbosity=0)
    assert missing_guards(connection) == []
    event = audit.record(actor=Actor.system("test"), action="test.event", region_code="370829")
    with pytest.raises(AppendOnlyError):
        _execute("DELETE FROM core_auditevent WHERE id = %s", [event.pk])


def test_only_the_test_runners_flush_opens_the_bypass():
    naming = {
        str(path.relative_to(ROOT))
        for folder in ("src", "tests", "bench")
        for path in (ROOT / folder).rglob("*.py")
        if "emptying(" in (text := path.read_text(encoding="utf-8")) or history.BYPASS_TABLE in text
    }
    assert naming == {
        "src/jiceng/core/history.py",
        "tests/conftest.py",
        "tests/core/test_history.py",
    }
