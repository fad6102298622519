"""Deadlines: the lateness clock for any item with a due time, warn_at, and the one
deadline row per tracked item that the process runner keeps."""

import datetime

import pytest
import time_machine
from django.utils import timezone

from jiceng.cases import services
from jiceng.cases.models import Case
from jiceng.core import deadlines
from jiceng.core.actors import Actor
from jiceng.core.calendar import WorkCalendar
from jiceng.core.deadlines import Clock
from jiceng.core.models import Deadline
from tests.cases.conftest import at

PUBLIC = Actor.public("test")
pytestmark = pytest.mark.django_db


def _row(case) -> Deadline:
    return Deadline.objects.get(kind="case", object_id=case.pk)


def test_one_row_follows_a_request_from_intake_to_closing_and_rework(world, submit, clock):
    worker, community = world.a("grid_worker"), world.a("community_worker")
    case = submit()
    row = _row(case)
    assert (row.due_at, row.closed_at, row.region_code) == (case.due_at, None, case.region_code)
    assert row.warn_at == deadlines.warn_at(case.received_at, case.due_at)
    case = services.case_accept(actor=worker, case=case)
    case = services.case_dispatch(actor=worker, case=case, handler=worker)
    assert _row(case).due_at == case.handle_due_at == at(2026, 10, 13, 23, 59, 59)
    case = services.case_start(actor=worker, case=case)
    case = services.case_handle(actor=worker, case=case, result="已修好")
    assert _row(case).due_at == case.due_at  # the check's time limit
    case = services.case_check(actor=community, case=case, passed=True, note="已修好")
    assert _row(case).closed_at is not None
    case = services.case_rate(actor=PUBLIC, case=case, rating=1, comment="没修好")
    row = _row(case)
    assert case.status == Case.Status.DISPATCHED
    assert (row.closed_at, row.due_at) == (None, case.due_at)
    assert Deadline.objects.count() == 1


def test_voided_and_merged_requests_leave_the_clock(world, submit):
    worker = world.a("community_worker")
    voided = services.case_void(actor=worker, case=submit(), reason="重复")
    into = submit(text="另一件")
    merged = services.case_merge(actor=worker, case=submit(text="同一件"), into=into)
    assert _row(voided).closed_at is not None and _row(merged).closed_at is not None
    assert _row(into).closed_at is None


def test_warn_at_is_where_the_clock_turns_yellow(world):
    """The Clock turns an item yellow at its stored warn_at (two thirds of the step's
    office time), over a weekend and the National Day holiday, and red past its due time."""
    calendar = WorkCalendar()
    for start, due in (
        (at(2026, 9, 30, 10, 0), at(2026, 10, 13, 23, 59, 59)),  # over the holiday
        (at(2026, 10, 9, 16, 0), at(2026, 10, 12, 15, 30)),  # a Friday to a Monday
        (at(2026, 9, 30, 9, 0), at(2026, 9, 30, 15, 30)),
        (at(2026, 10, 9, 9, 0), at(2026, 10, 10, 23, 59, 59)),  # the make-up Saturday
    ):
        turn = deadlines.warn_at(start, due, calendar)
        assert start < turn < due
        with time_machine.travel(turn - datetime.timedelta(seconds=1), tick=False):
            assert Clock.current().lateness_of(due, turn) == ""
        with time_machine.travel(turn, tick=False):
            assert Clock.current().lateness_of(due, turn) == "due_soon"
        with time_machine.travel(due + datetime.timedelta(seconds=1), tick=False):
            assert Clock.current().lateness_of(due, turn) == "overdue"


def test_the_clock_reads_any_item_with_a_due_time():
    class Item:
        is_open = True
        finish_by = timezone.now() - datetime.timedelta(minutes=1)

    clock = Clock.current()
    assert clock.lateness(Item(), "finish_by") == "overdue"
    Item.is_open = False
    assert clock.lateness(Item(), "finish_by") == ""


def test_the_backfill_opens_rows_for_requests_written_without_the_runner(world, submit):
    case = submit()
    Deadline.objects.all().delete()
    assert services.case_deadlines_backfill() == 1
    assert _row(case).due_at == case.due_at
    services.case_deadlines_backfill()
    assert Deadline.objects.count() == 1


def test_the_data_migration_backfills_open_requests(world, submit):
    from importlib import import_module

    from django.apps import apps

    migration = import_module("jiceng.cases.migrations.0004_deadline_rows_for_open_requests")
    case = submit()
    services.case_void(actor=world.a("community_worker"), case=submit(text="作废的"), reason="重复")
    Deadline.objects.all().delete()
    migration.backfill(apps, None)
    assert list(Deadline.objects.values_list("object_id", flat=True)) == [case.pk]


def test_the_supervision_queue_pages_over_deadline_rows(world, submit, clock):
    from jiceng.cases.selectors import supervision_queue

    town = world.a("town_staff")
    case = submit()
    clock.move_to(at(2026, 10, 9, 9, 0))
    assert list(supervision_queue(user=town, clock=Clock.current())) == [case]
    Deadline.objects.filter(object_id=case.pk).update(
        due_at=at(2026, 12, 1, 9, 0), warn_at=at(2026, 11, 25, 9, 0)
    )
    assert list(supervision_queue(user=town, clock=Clock.current())) == []
