"""Alerts that mean something: a message is read once its request is opened, nobody is
told of their own step, and a step turns yellow when two thirds of its time limit have
passed (not from its first minute)."""

import pytest
from django.test import override_settings

from jiceng.cases import services
from jiceng.cases.models import Notification
from jiceng.cases.selectors import case_get, supervision_queue
from jiceng.core import deadlines
from jiceng.core.actors import Actor
from jiceng.core.deadlines import Clock
from jiceng.core.models import Deadline
from tests.cases.conftest import at
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def test_opening_a_request_marks_its_messages_read_for_the_viewer(world, submit):
    worker, community = world.a("grid_worker"), world.a("community_worker")
    case, other = submit(), submit(text="路灯不亮")
    assert Notification.objects.filter(user=worker, read_at__isnull=True).count() == 2
    assert client_for(worker).get(f"/cases/{case.pk}/").status_code == 200
    unread = Notification.objects.filter(read_at__isnull=True)
    assert not unread.filter(user=worker, case=case).exists()
    assert unread.filter(user=worker, case=other).exists()  # another request's message
    assert unread.filter(user=community, case=case).exists()  # another viewer's message


def test_nobody_is_told_of_their_own_step(world, submit):
    worker, community = world.a("grid_worker"), world.a("community_worker")
    case = services.case_accept(actor=worker, case=submit())
    case = services.case_dispatch(actor=worker, case=case, handler=worker)
    assert not Notification.objects.filter(user=worker, kind="dispatched").exists()
    case = services.case_start(actor=worker, case=case)
    case = services.case_handle(actor=worker, case=case, result="已修好")
    case = services.case_supervise(actor=community, case=case, note="尽快")
    case = services.case_check(actor=community, case=case, passed=False, note="仍在渗水")
    assert Notification.objects.filter(user=worker, kind="rework").exists()
    assert (
        not Notification.objects.filter(user=community, kind__in=["handled"])
        .filter(text__contains="核查未通过")
        .exists()
    )
    # a request entered by a grid worker tells the community, not the worker who entered it
    entered, _ = services.case_submit(
        actor=Actor.staff(worker),
        channel="staff",
        region_code=world.grid_a.code,
        description="代居民登记：楼道堆物",
        category=case.category,
    )
    told = set(Notification.objects.filter(case=entered).values_list("user_id", flat=True))
    assert community.pk in told and worker.pk not in told


def test_the_town_hears_of_work_its_only_community_worker_handled(world, submit):
    """Nobody checks their own work: with no other community worker, the town is told."""
    community, town = world.a("community_worker"), world.a("town_staff")
    case = services.case_accept(actor=community, case=submit())
    case = services.case_dispatch(actor=community, case=case, handler=community)
    case = services.case_start(actor=community, case=case)
    services.case_handle(actor=community, case=case, result="已修好", reply="已修好。")
    handled = Notification.objects.filter(case=case, kind="handled")
    assert set(handled.values_list("user_id", flat=True)) == {town.pk}


def test_a_four_hour_step_is_not_yellow_at_intake(world, submit, clock):
    """Received at 10:00 on a Wednesday with 4 office hours to accept (due 15:30): yellow
    once two thirds of those hours have passed (14:10, after the lunch break)."""
    case = submit()
    assert case.due_at == at(2026, 9, 30, 15, 30)
    row = Deadline.objects.get(kind="case", object_id=case.pk)
    assert row.warn_at == at(2026, 9, 30, 14, 10)
    town = world.a("town_staff")

    def seen():
        read = case_get(user=world.a("grid_worker"), pk=case.pk)
        return Clock.current().lateness(read), list(
            supervision_queue(user=town, clock=Clock.current())
        )

    assert seen() == ("", [])
    clock.move_to(at(2026, 9, 30, 14, 9, 59))
    assert seen() == ("", [])
    clock.move_to(at(2026, 9, 30, 14, 10))
    assert seen() == ("due_soon", [case])
    clock.move_to(at(2026, 9, 30, 15, 31))
    assert seen() == ("overdue", [case])


def test_the_deadline_sweep_warns_once_two_thirds_have_passed(world, submit, clock):
    case = submit()
    assert services.deadline_notices() == 0
    clock.move_to(at(2026, 9, 30, 14, 10))
    assert services.deadline_notices() > 0
    assert Notification.objects.filter(case=case, kind="due_soon").exists()


@override_settings(JICENG_YELLOW_FRACTION=0.5)
def test_the_yellow_fraction_is_a_setting(world, submit, clock):
    case = submit()
    assert Deadline.objects.get(object_id=case.pk).warn_at == at(2026, 9, 30, 12, 0)


def test_two_thirds_of_working_days_skip_the_holiday(db):
    """Five working days from 10:00 on 30 September 2026 run to the end of 13 October,
    over the National Day holiday: 6 office hours on the 30th and 7.5 on each of 8, 9,
    10 (the make-up Saturday), 12 and 13 October make 43.5; two thirds (29) have passed
    half an hour into the 12th, not on a holiday and not on the last day."""
    start, due = at(2026, 9, 30, 10, 0), at(2026, 10, 13, 23, 59, 59)
    assert deadlines.warn_at(start, due) == at(2026, 10, 12, 9, 0)
    assert deadlines.warn_at(start, due, fraction=0.1) == at(2026, 9, 30, 15, 51)  # 4.35 h


def test_the_data_migration_rewarns_open_rows(world, submit, clock):
    from importlib import import_module

    from django.apps import apps

    migration = import_module(
        "jiceng.cases.migrations.0009_deadline_warn_at_two_thirds_of_the_limit"
    )
    case = submit()
    Deadline.objects.filter(object_id=case.pk).update(warn_at=at(2026, 9, 29, 15, 30))  # old rule
    migration.rewarn(apps, None)
    assert Deadline.objects.get(object_id=case.pk).warn_at == at(2026, 9, 30, 14, 10)
