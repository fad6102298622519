"""Four eyes on a request: who handled it does not pass its check, and who asked for more
time does not grant it, even holding every right of the community (the attack: one
community worker took a request from intake to 结案 alone)."""

import pytest

from jiceng.cases import services
from jiceng.cases.models import Case, Event
from jiceng.cases.workflow import PROCESS
from jiceng.core.errors import DomainError
from jiceng.core.models import AuditEvent
from tests.factories import staff

S = Case.Status


@pytest.fixture
def alone(world, submit):
    """A request the community worker accepted, dispatched to themselves and started."""
    worker = world.a("community_worker")
    case = services.case_accept(actor=worker, case=submit())
    case = services.case_dispatch(actor=worker, case=case, handler=worker)
    return worker, services.case_start(actor=worker, case=case)


def test_who_handled_a_request_does_not_pass_its_check(world, alone):
    worker, case = alone
    case = services.case_handle(actor=worker, case=case, result="已处理")
    assert "check" not in PROCESS.available_actions(worker, case)
    with pytest.raises(DomainError) as refused:
        services.case_check(actor=worker, case=case, passed=True)
    assert refused.value.code == "second_person_required"
    assert Case.objects.get(pk=case.pk).status == S.HANDLED
    assert not Event.objects.filter(case=case, action="check").exists()
    assert not AuditEvent.objects.filter(action="case.check").exists()

    colleague = staff(
        "community_worker",
        world.a("community_worker").memberships.first().region_code,
        username="cw-second",
    )
    assert services.case_check(actor=colleague, case=case, passed=True).status == S.CLOSED


def test_who_asked_for_more_time_does_not_grant_it(world, alone):
    worker, case = alone
    case = services.case_request_extension(actor=worker, case=case, days=2, reason="等配件")
    with pytest.raises(DomainError) as refused:
        services.case_decide_extension(actor=worker, case=case, approve=True)
    assert refused.value.code == "second_person_required"
    assert Case.objects.get(pk=case.pk).extension_requested_days == 2
    town = world.a("town_staff")
    case = services.case_decide_extension(actor=town, case=case, approve=True)
    assert (case.extension_days, case.extension_requested_days) == (2, 0)
