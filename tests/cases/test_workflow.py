"""The request process, step by step, on a frozen clock over the 2026 National Day holiday."""

import pytest
from django.test import override_settings

from jiceng.cases import services
from jiceng.cases.models import Case, Event, Notification
from jiceng.core.actors import Actor
from jiceng.core.errors import DomainError, NotFound
from jiceng.core.models import AuditEvent
from tests.cases.conftest import at
from tests.factories import staff

PUBLIC = Actor.public("test")

S = Case.Status


def accepted_and_dispatched(world, case, handler=None):
    worker = world.a("grid_worker")
    case = services.case_accept(actor=worker, case=case)
    return services.case_dispatch(actor=worker, case=case, handler=handler or worker)


def test_the_whole_way_on_time_over_the_holiday(world, submit, clock):
    case = submit()
    assert case.status == S.RECEIVED
    assert case.due_at == at(2026, 9, 30, 15, 30)  # 4 working hours, lunch excluded
    worker = world.a("grid_worker")
    community = world.a("community_worker")

    case = services.case_accept(actor=worker, case=case)
    case = services.case_dispatch(actor=worker, case=case, handler=worker)
    assert case.handle_due_at == at(2026, 10, 13, 23, 59, 59)  # 5 working days
    clock.move_to(at(2026, 10, 9, 15, 0))
    case = services.case_start(actor=worker, case=case)
    case = services.case_handle(actor=worker, case=case, result="已协调楼上住户维修防水层")
    assert case.status == S.HANDLED
    assert case.due_at == at(2026, 10, 10, 23, 59, 59)  # check: 1 working day (make-up Sat)
    case = services.case_check(actor=community, case=case, passed=True, note="现场已不再渗水")
    assert case.status == S.CLOSED
    assert case.closed_on_time is True
    case = services.case_rate(actor=PUBLIC, case=case, rating=5, comment="很快")
    assert (case.status, case.rating) == (S.CLOSED, 5)

    actions = list(case.events.values_list("action", flat=True))
    assert actions == ["submit", "accept", "dispatch", "start", "handle", "check", "rate"]
    labels = list(case.events.values_list("actor_label", flat=True))
    assert labels[0] == "居民" and labels[1].startswith("专职网格员 ")
    assert worker.full_name not in "".join(labels)  # names are masked in the timeline
    assert (
        AuditEvent.objects.filter(action__startswith="case.", object_id=str(case.pk)).count() == 7
    )


def test_a_late_handling_counts_as_not_on_time(world, submit, clock):
    case = accepted_and_dispatched(world, submit())
    worker, community = world.a("grid_worker"), world.a("community_worker")
    clock.move_to(at(2026, 10, 14, 9, 0))
    case = services.case_start(actor=worker, case=case)
    case = services.case_handle(actor=worker, case=case, result="已处理")
    case = services.case_check(actor=community, case=case, passed=True)
    assert case.closed_on_time is False


def test_steps_out_of_order_are_refused_and_change_nothing(world, submit):
    case = submit()
    worker = world.a("grid_worker")
    with pytest.raises(DomainError) as error:
        services.case_handle(actor=worker, case=case, result="x")
    assert error.value.code in ("invalid_transition",) or isinstance(error.value, NotFound)
    with pytest.raises(DomainError) as error:
        services.case_check(actor=world.a("community_worker"), case=case, passed=True)
    assert error.value.code == "invalid_transition"
    case.refresh_from_db()
    assert case.status == S.RECEIVED
    assert case.events.count() == 1


def test_other_grids_cannot_touch_it(world, submit):
    case = submit()
    with pytest.raises(NotFound):
        services.case_accept(actor=world.b("grid_worker"), case=case)
    with pytest.raises(NotFound):
        services.case_void(actor=world.b("community_worker"), case=case, reason="x")
    case.refresh_from_db()
    assert case.status == S.RECEIVED


def test_only_the_assigned_handler_handles(world, submit):
    case = accepted_and_dispatched(world, submit())
    for intruder in (world.a("community_worker"), world.a("specialist_grid_worker")):
        with pytest.raises(NotFound):
            services.case_start(actor=intruder, case=case)


def test_department_dispatch_any_of_its_staff_takes_it(world, submit, catalogue):
    gas = catalogue["facilities.gas"].default_department
    fitter = staff(
        "specialist_grid_worker", world.grid_a.code, username="gas-fitter", department=gas
    )
    case = submit(category="facilities.gas", answers={"smell": "yes"})
    worker = world.a("grid_worker")
    case = services.case_accept(actor=worker, case=case)
    case = services.case_dispatch(actor=worker, case=case, department=gas)
    assert Notification.objects.filter(user=fitter, case=case, kind="dispatched").exists()
    with pytest.raises(NotFound):
        services.case_start(actor=world.a("specialist_grid_worker"), case=case)  # no department
    case = services.case_start(actor=fitter, case=case)
    assert case.handler == fitter


def test_accept_needs_a_confirmed_category(world, submit, catalogue):
    case = submit(category=None)
    with pytest.raises(DomainError) as error:
        services.case_accept(actor=world.a("grid_worker"), case=case)
    assert error.value.code == "category_required"
    case = services.case_accept(
        actor=world.a("grid_worker"), case=case, category=catalogue["disputes.noise"]
    )
    assert case.category.code == "disputes.noise"


def test_void_needs_a_reason(world, submit):
    with pytest.raises(DomainError):
        services.case_void(actor=world.a("grid_worker"), case=submit(), reason=" ")
    case = services.case_void(actor=world.a("community_worker"), case=submit(), reason="重复测试")
    assert case.status == S.VOIDED


def test_return_within_two_working_days_only(world, submit, clock):
    worker = world.a("grid_worker")
    case = accepted_and_dispatched(world, submit())
    clock.move_to(at(2026, 10, 8, 17, 0))  # 1st working day after dispatch
    case = services.case_return(actor=worker, case=case, reason="属于物业职责")
    assert (case.status, case.handler) == (S.ACCEPTED, None)
    case = services.case_dispatch(actor=worker, case=case, handler=worker)
    clock.move_to(at(2026, 10, 12, 9, 0))  # dispatched Oct 8; Oct 9, 10 were the two days
    with pytest.raises(DomainError) as error:
        services.case_return(actor=worker, case=case, reason="x")
    assert error.value.code == "return_too_late"


def test_extensions_are_approved_and_capped(world, submit, clock):
    worker, community = world.a("grid_worker"), world.a("community_worker")
    case = accepted_and_dispatched(world, submit())  # due Oct 13
    case = services.case_request_extension(actor=worker, case=case, days=3, reason="需等待配件")
    with pytest.raises(DomainError) as error:
        services.case_request_extension(actor=worker, case=case, days=1, reason="再等")
    assert error.value.code == "extension_pending"
    with pytest.raises(NotFound):
        services.case_decide_extension(actor=world.b("community_worker"), case=case, approve=True)
    case = services.case_decide_extension(actor=community, case=case, approve=True)
    assert case.handle_due_at == at(2026, 10, 16, 23, 59, 59)
    assert (case.extension_days, case.extension_requested_days) == (3, 0)
    with pytest.raises(DomainError) as error:
        services.case_request_extension(actor=worker, case=case, days=3, reason="还要等")
    assert error.value.code == "extension_cap"  # 5 + 3 + 3 > 10 working days
    case = services.case_request_extension(actor=worker, case=case, days=2, reason="最后两天")
    case = services.case_decide_extension(actor=community, case=case, approve=False, note="不批")
    assert case.handle_due_at == at(2026, 10, 16, 23, 59, 59)


def test_a_failed_check_is_rework(world, submit):
    worker, community = world.a("grid_worker"), world.a("community_worker")
    case = accepted_and_dispatched(world, submit())
    case = services.case_start(actor=worker, case=case)
    case = services.case_handle(actor=worker, case=case, result="已处理")
    with pytest.raises(DomainError):
        services.case_check(actor=community, case=case, passed=False, note="")
    case = services.case_check(actor=community, case=case, passed=False, note="仍在渗水")
    assert (case.status, case.rework_count, case.handler) == (S.DISPATCHED, 1, worker)
    assert Notification.objects.filter(user=worker, kind="rework").exists()


def closed(world, case):
    worker, community = world.a("grid_worker"), world.a("community_worker")
    if case.status == S.RECEIVED:
        case = accepted_and_dispatched(world, case)
    case = services.case_start(actor=worker, case=case)
    case = services.case_handle(actor=worker, case=case, result="已处理")
    return services.case_check(actor=community, case=case, passed=True)


def test_dissatisfied_twice_escalates_to_the_town(world, submit, county_staff):
    town = world.a("town_staff")
    case = closed(world, submit())
    case = services.case_rate(actor=PUBLIC, case=case, rating=2, comment="没修好")
    assert (case.status, case.rework_count, case.dissatisfied_count) == (S.DISPATCHED, 1, 1)
    assert case.supervised_region_code == ""
    with pytest.raises(DomainError):
        services.case_rate(actor=PUBLIC, case=case, rating=5)  # not closed now
    case = closed(world, case)
    case = services.case_rate(actor=PUBLIC, case=case, rating=1, comment="还是漏")
    assert (case.status, case.dissatisfied_count) == (S.DISPATCHED, 2)
    assert case.supervised_region_code == "370829001"
    assert Notification.objects.filter(user=town, case=case, kind="supervised").exists()
    assert Notification.objects.filter(user=county_staff, case=case, kind="supervised").exists()


@pytest.mark.parametrize("rating", [5, 2], ids=["rated well", "dissatisfied once"])
def test_a_request_supervised_before_is_not_escalated_by_one_rating(world, submit, rating):
    town = world.a("town_staff")
    case = accepted_and_dispatched(world, submit())
    case = services.case_supervise(actor=world.a("community_worker"), case=case, note="尽快")
    case = closed(world, case)
    Notification.objects.filter(kind="supervised").delete()
    services.case_rate(actor=PUBLIC, case=case, rating=rating)
    assert not Notification.objects.filter(user=town, kind="supervised").exists()


def test_one_rating_per_closing(world, submit):
    case = services.case_rate(actor=PUBLIC, case=closed(world, submit()), rating=4)
    with pytest.raises(DomainError) as error:
        services.case_rate(actor=PUBLIC, case=case, rating=1)
    assert error.value.code == "already_rated"


@override_settings(JICENG_REOPEN_DAYS=7)
def test_reopen_only_within_the_set_time(world, submit, clock):
    case = closed(world, submit())
    clock.move_to(at(2026, 10, 6, 10, 0))
    case = services.case_reopen(actor=PUBLIC, case=case, reason="又坏了")
    assert (case.status, case.rework_count) == (S.DISPATCHED, 1)
    case = closed(world, case)
    clock.move_to(at(2026, 10, 20, 10, 0))
    with pytest.raises(DomainError) as error:
        services.case_reopen(actor=PUBLIC, case=case, reason="又坏了")
    assert error.value.code == "reopen_too_late"


def test_duplicates_merge_and_their_reporters_follow(world, submit):
    worker = world.a("community_worker")
    first, second = submit(text="3号楼路灯不亮"), submit(text="3号楼门口路灯坏了")
    merged = services.case_merge(actor=worker, case=second, into=first)
    assert (merged.status, merged.merged_into) == (S.MERGED, first)
    assert Event.objects.filter(case=first, action="merged_in").exists()
    with pytest.raises(DomainError):
        services.case_merge(actor=worker, case=first, into=merged)


def test_supervision_is_recorded_at_the_supervisors_level(world, submit):
    case = accepted_and_dispatched(world, submit())
    case = services.case_supervise(actor=world.a("town_staff"), case=case, note="请加快办理")
    assert case.supervised_region_code == "370829001"
    assert Notification.objects.filter(user=world.a("grid_worker"), kind="supervised").exists()


def test_cross_grid_dispatch_stays_within_the_dispatchers_scope(world, submit):
    case = services.case_accept(actor=world.a("town_staff"), case=submit())
    other_grid_worker = world.b("grid_worker")  # another town
    with pytest.raises(DomainError) as error:
        services.case_dispatch(actor=world.a("town_staff"), case=case, handler=other_grid_worker)
    assert error.value.code == "handler_invalid"
    neighbour = staff("grid_worker", "370829001001002", username="neighbour-grid")
    case = services.case_dispatch(actor=world.a("town_staff"), case=case, handler=neighbour)
    case = services.case_start(actor=neighbour, case=case)  # outside the case's grid, assigned
    assert case.status == S.IN_PROGRESS
