"""Figures and deadline warnings."""

import datetime

from django.core.management import call_command

from jiceng.cases import selectors, services
from jiceng.cases.models import Notification
from jiceng.core.actors import Actor
from jiceng.core.models import OutboxMessage
from tests.cases.conftest import at

PUBLIC = Actor.public("test")


def close(world, case, rating=None, late=False, clock=None):
    worker, community = world.a("grid_worker"), world.a("community_worker")
    case = services.case_accept(actor=worker, case=case)
    case = services.case_dispatch(actor=worker, case=case, handler=worker)
    case = services.case_start(actor=worker, case=case)
    if late:
        clock.move_to(at(2026, 10, 20, 9, 0))
    case = services.case_handle(actor=worker, case=case, result="已办")
    case = services.case_check(actor=community, case=case, passed=True)
    if rating:
        case = services.case_rate(actor=PUBLIC, case=case, rating=rating)
    return case


def test_the_indicators(world, submit, clock, login):
    close(world, submit(), rating=5)
    close(world, submit(), rating=2)  # dissatisfied: back to rework, open again
    case = submit(category="disputes.noise")
    services.case_void(actor=world.a("community_worker"), case=case, reason="重复")
    submit()  # still waiting to be accepted
    late = close(world, submit(), late=True, clock=clock)
    assert late.closed_on_time is False
    clock.move_to(at(2026, 10, 21, 9, 0))
    figures = selectors.case_figures(
        user=world.a("community_worker"),
        region_code="370829001001",
        start=datetime.date(2026, 9, 1),
        end=datetime.date(2026, 10, 31),
    )
    assert (figures.received, figures.accepted, figures.closed) == (5, 3, 2)
    assert figures.due_to_close == 3  # the reworked one is past its first deadline
    assert figures.closing_rate == round(100 * 2 / 3, 1)
    assert figures.on_time_rate == round(100 * 1 / 3, 1)
    assert figures.satisfaction_rate == 50.0
    assert figures.top_categories[0] == ("邻里纠纷", 4)
    assert figures.average_hours_to_close is not None
    page = login(world.a("community_worker")).get(
        "/cases/figures/", {"region": "370829001001", "start": "2026-09-01", "end": "2026-10-31"}
    )
    assert 'data-figure="received">5<' in page.content.decode()


def test_figures_are_scoped(world, submit):
    import pytest

    from jiceng.core.errors import NotFound

    with pytest.raises(NotFound):
        selectors.case_figures(
            user=world.b("community_worker"),
            region_code="370829001001",
            start=datetime.date(2026, 1, 1),
            end=datetime.date(2026, 12, 31),
        )


def test_deadline_warnings_are_sent_once(world, submit, clock, county_staff):
    case = submit()
    worker = world.a("grid_worker")
    services.case_accept(actor=worker, case=case)
    services.case_dispatch(actor=worker, case=case, handler=worker)  # due Oct 13
    # two thirds of the handling time pass at 09:00 on Oct 12: nothing before
    clock.move_to(at(2026, 10, 12, 8, 59))
    call_command("worker", "--run", "cases.deadline_notices")
    assert not Notification.objects.filter(kind="due_soon").exists()
    clock.move_to(at(2026, 10, 13, 10, 0))
    call_command("worker", "--run", "cases.deadline_notices")
    call_command("worker", "--run", "cases.deadline_notices")
    assert Notification.objects.filter(kind="due_soon", user=worker).count() == 1
    assert OutboxMessage.objects.filter(key__startswith="notice:due_soon:").count() == 1
    clock.move_to(at(2026, 10, 14, 10, 0))
    services.deadline_notices()
    services.deadline_notices()
    assert Notification.objects.filter(kind="overdue", user=worker).count() == 1
    assert Notification.objects.filter(kind="overdue", user=world.a("town_staff")).count() == 1
    assert Notification.objects.filter(kind="overdue", user=county_staff).count() == 1
