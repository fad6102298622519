"""The staff's steps on a request, dispatched once: the page and the API both parse their
input into `StepInput` and call `case_act`, which finds what the parameters name (in the
actor's reach) and calls the step's service. Which actions exist is the table below; who
may take them is the process table (cases.workflow)."""

from collections.abc import Callable
from dataclasses import dataclass, field

from jiceng.accounts.models import Department, User
from jiceng.cases import selectors, services
from jiceng.cases.catalogue import catalogue_list
from jiceng.cases.models import Case
from jiceng.cases.workflow import STEPS
from jiceng.core.actors import Actor
from jiceng.core.errors import DomainError, NotFound
from jiceng.core.photos import CleanPhoto
from jiceng.core.process import actor_required
from jiceng.core.region_codes import county_of
from jiceng.places.models import Region


@dataclass
class StepInput:
    """What a staff member sent with a step, parsed but not yet looked up."""

    note: str = ""
    category_id: int | None = None  # the page sends the category's id
    category_code: str | None = None  # the API its code (facilities.gas)
    grid: str = ""
    handler_id: int | None = None
    department_id: int | None = None
    into: str = ""  # the tracking code of the request to merge into
    days: int = 0
    approve: bool = False
    passed: bool = False
    result: str = ""
    reply: str = ""  # 答复: the public's part of 办结反馈
    photos: list[CleanPhoto] = field(default_factory=list)


def _category(case: Case, given: StepInput):
    categories = catalogue_list(county_code=county_of(case.region_code))
    if given.category_id is not None:
        return categories.filter(pk=given.category_id).first()
    if given.category_code:
        return categories.filter(code=given.category_code).first()
    return None


def _accept(actor, case, given):
    grid = Region.objects.filter(code=given.grid).first() if given.grid.isdigit() else None
    return services.case_accept(
        actor=actor, case=case, category=_category(case, given), grid=grid, note=given.note
    )


def _merge(actor, case, given):
    # Typed with or without the hyphen a resident's slip shows; only a request the actor
    # sees is found.
    code = given.into.strip().upper().replace("-", "")
    into = Case.objects.filter(selectors.visible_q(actor.user), tracking_code=code).first()
    if not code or into is None:
        raise DomainError("未找到要合并到的诉求。", code="merge_target")
    return services.case_merge(actor=actor, case=case, into=into, note=given.note)


def _dispatch(actor, case, given):
    handler = department = None
    if given.handler_id is not None:
        handler = User.objects.filter(pk=given.handler_id).first()
    if given.department_id is not None:
        department = Department.objects.filter(pk=given.department_id).first()
    if (given.handler_id is not None and handler is None) or (
        given.department_id is not None and department is None
    ):
        raise NotFound("未找到该承办人或部门。")
    return services.case_dispatch(
        actor=actor, case=case, handler=handler, department=department, note=given.note
    )


ACTIONS: dict[str, Callable[[Actor, Case, StepInput], Case]] = {
    "confirm_genuine": lambda actor, case, given: services.case_confirm_genuine(
        actor=actor, case=case, note=given.note
    ),
    "accept": _accept,
    "void": lambda actor, case, given: services.case_void(
        actor=actor, case=case, reason=given.note
    ),
    "merge": _merge,
    "dispatch": _dispatch,
    "start": lambda actor, case, given: services.case_start(actor=actor, case=case),
    "return": lambda actor, case, given: services.case_return(
        actor=actor, case=case, reason=given.note
    ),
    "request_extension": lambda actor, case, given: services.case_request_extension(
        actor=actor, case=case, days=given.days, reason=given.note
    ),
    "decide_extension": lambda actor, case, given: services.case_decide_extension(
        actor=actor, case=case, approve=given.approve, note=given.note
    ),
    "handle": lambda actor, case, given: services.case_handle(
        actor=actor, case=case, result=given.result, reply=given.reply, photos=given.photos
    ),
    "check": lambda actor, case, given: services.case_check(
        actor=actor, case=case, passed=given.passed, note=given.note
    ),
    "supervise": lambda actor, case, given: services.case_supervise(
        actor=actor, case=case, note=given.note
    ),
    "note": lambda actor, case, given: services.case_note(actor=actor, case=case, note=given.note),
}


def case_act(*, actor: Actor, case: Case, action: str, given: StepInput) -> Case:
    """Take one staff step on `case` (already found in the actor's reach)."""
    actor = actor_required(actor)
    if action not in ACTIONS:
        raise DomainError("未知操作。", code="unknown_action")
    return ACTIONS[action](actor, case, given)


def label(action: str) -> str:
    return STEPS[action].label
