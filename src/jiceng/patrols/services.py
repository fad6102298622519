"""Every write to patrols and visits: a round logged, a finding filed as a request (through
the requests' own intake), a call on a household, and the audited reveal of its notes."""

import datetime

from django.db import transaction
from django.utils import timezone

from jiceng.cases.models import Case
from jiceng.cases.services import case_submit
from jiceng.core import audit, personal
from jiceng.core.access import has_permission, require
from jiceng.core.actors import Actor
from jiceng.core.errors import DomainError, NotFound
from jiceng.core.process import actor_required
from jiceng.patrols.models import Patrol, Visit
from jiceng.places.models import Region


def patrol_log(
    *, actor: Actor, grid: Region, started_at, ended_at, buildings=(), checked_facilities=False,
    checked_people=False, checked_hazards=False, notes: str = "",
):  # fmt: skip
    """Record one patrol round of a grid (三必清: facilities, people, hazards)."""
    actor = actor_required(actor)
    require(actor, "patrols.log", grid.code)
    if not grid.is_grid:
        raise DomainError("巡查须在网格内。", code="grid_required")
    if ended_at < started_at:
        raise DomainError("结束时间不能早于开始时间。", code="patrol_times")
    if started_at > timezone.now() + datetime.timedelta(minutes=5):
        raise DomainError("不能登记将来的巡查。", code="patrol_future")
    if ended_at - started_at > datetime.timedelta(hours=12):
        raise DomainError("一次巡查不超过12小时。", code="patrol_too_long")
    buildings = list(buildings)
    if any(b.region_code != grid.code for b in buildings):
        raise DomainError("楼栋不在该网格内。", code="building_invalid")
    with transaction.atomic():
        patrol = Patrol.objects.create(
            region_code=grid.code,
            worker=actor.user,
            started_at=started_at,
            ended_at=ended_at,
            checked_facilities=checked_facilities,
            checked_people=checked_people,
            checked_hazards=checked_hazards,
            notes=notes.strip()[:2000],
        )
        patrol.buildings.set(buildings)
        audit.record(actor=actor, action="patrol.log", obj=patrol)
    return patrol


def patrol_finding(*, actor: Actor, patrol, description: str, category=None, building=None,
                   photos=(), idempotency_key: str | None = None) -> Case:  # fmt: skip
    """Turn something seen on patrol into a request, in one step."""
    actor = actor_required(actor)
    if patrol.worker_id != getattr(actor.user, "pk", None):
        raise NotFound()
    case, _ = case_submit(
        actor=actor,
        channel=Case.Channel.PATROL,
        region_code=patrol.region_code,
        description=description,
        category=category,
        building=building,
        photos=list(photos),
        patrol=patrol,
        idempotency_key=idempotency_key,
    )
    return case


def visit_log(*, actor: Actor, household, notes: str, patrol=None):
    """Record a call on a household (走访); the notes are sensitive."""
    actor = actor_required(actor)
    require(actor, "patrols.log", household.region_code)
    notes = notes.strip()
    if not notes:
        raise DomainError("请填写走访情况。", code="notes_required", field="notes")
    if patrol is not None and (
        patrol.worker_id != getattr(actor.user, "pk", None)
        or patrol.region_code != household.region_code
    ):
        raise DomainError("这次走访不属于该巡查。", code="patrol_invalid")
    with transaction.atomic():
        visit = Visit.objects.create(
            region_code=household.region_code,
            household=household,
            worker=actor.user,
            patrol=patrol,
            at=timezone.now(),
            notes=notes[:2000],
        )
        audit.record(actor=actor, action="visit.log", obj=visit)
    return visit


def visit_reveal(*, actor, visit) -> str:
    """The notes of a visit, for those who may see sensitive data there; audited."""
    return personal.reveal(
        actor=actor,
        allowed=has_permission(actor, "people.view_sensitive", visit.region_code),
        action="visit.reveal",
        obj=visit,
        value=lambda: visit.notes,
    )
