"""Writes to the region tree and 一标三实, and the audited reveal of personal data."""

from django.db import transaction
from django.utils import timezone

from jiceng.core import audit, personal
from jiceng.core.access import has_permission, require
from jiceng.core.actors import Actor
from jiceng.core.errors import DomainError
from jiceng.core.masking import full_years
from jiceng.core.region_codes import is_within, level_of
from jiceng.places.imports import import_job_create  # noqa: F401  the pipeline's entry, for other apps
from jiceng.places.models import Building, BuildingUnit, Household, MoveCheck, Person, Region
from jiceng.places.selectors import CAPTAIN_MIN_AGE

REVEALABLE_FIELDS = {"id_number": "身份证号", "phone": "联系电话", "special_groups": "特殊人群"}


def person_reveal(*, actor: Actor, person: Person, field: str) -> str:
    """The unmasked value of one personal field. Each reveal, allowed or not, is audited."""
    if field not in REVEALABLE_FIELDS:
        raise DomainError("该字段不可查看。", code="unknown_field")

    def value() -> str:
        if field == "special_groups":
            return "、".join(g.name for g in person.special_groups.all()) or "无"
        return getattr(person, field)

    return personal.reveal(
        actor=actor,
        allowed=has_permission(actor, "people.view_sensitive", person.region_code),
        action="person.reveal",
        obj=person,
        value=value,
        detail={"field": field},
    )


def _validate_boundary(boundary) -> None:
    if boundary in (None, ""):
        return
    if not isinstance(boundary, dict) or boundary.get("type") not in ("Polygon", "MultiPolygon"):
        raise DomainError("边界须为 GeoJSON Polygon 或 MultiPolygon。", code="boundary_type")
    polygons = (
        [boundary.get("coordinates")]
        if boundary["type"] == "Polygon"
        else boundary.get("coordinates")
    )
    try:
        for polygon in polygons:
            for ring in polygon:
                if len(ring) < 4 or ring[0] != ring[-1]:
                    raise DomainError("边界的每个环至少4个点且首尾相同。", code="boundary_ring")
                for lon, lat in ring:
                    if not (-180 <= float(lon) <= 180 and -90 <= float(lat) <= 90):
                        raise DomainError("边界坐标超出经纬度范围。", code="boundary_range")
    except (TypeError, ValueError):
        raise DomainError("边界坐标格式不正确。", code="boundary_format") from None


@transaction.atomic
def region_create(
    *,
    actor: Actor,
    parent: Region,
    code: str,
    name: str,
    grid_kind: str = "",
    is_statutory: bool = True,
    is_rural: bool | None = None,
    boundary=None,
) -> Region:
    """Add a child node (town, community or grid) under `parent`."""
    require(actor, "regions.manage", parent.code)
    level = Region.CHILD_LEVEL.get(parent.level)
    if level is None:
        raise DomainError("网格下不能再设下级。", code="region_leaf")
    code = code.strip()
    if not is_within(code, parent.code) or level_of(code) != level:
        suffix = Region.CODE_LENGTHS[level] - len(parent.code)
        raise DomainError(
            f"编码应为上级编码{parent.code}后加{suffix}位数字。", code="region_code_shape"
        )
    if not code.isdigit():
        raise DomainError("编码只能由数字组成。", code="region_code_shape")
    if Region.objects.filter(code=code).exists():
        raise DomainError("该编码已存在。", code="region_code_taken")
    name = name.strip()
    if not name:
        raise DomainError("请填写名称。", code="name_required")
    if level == Region.Level.GRID:
        if grid_kind not in Region.GridKind.values:
            raise DomainError("请选择网格类型。", code="grid_kind")
    else:
        grid_kind = ""
        if boundary:
            raise DomainError("只有网格可以设置边界。", code="boundary_not_grid")
    _validate_boundary(boundary)
    region = Region.objects.create(
        code=code,
        name=name,
        level=level,
        parent=parent,
        is_statutory=is_statutory,
        is_rural=parent.is_rural if is_rural is None else is_rural,
        grid_kind=grid_kind,
        boundary=boundary or None,
    )
    audit.record(actor=actor, action="region.create", obj=region)
    return region


@transaction.atomic
def grid_update(
    *, actor: Actor, grid: Region, name: str, grid_kind: str, leader=None, boundary=None
):
    require(actor, "regions.manage", grid.code)
    if not grid.is_grid:
        raise DomainError("只有网格可以这样修改。", code="not_grid")
    if grid_kind not in Region.GridKind.values:
        raise DomainError("请选择网格类型。", code="grid_kind")
    if not name.strip():
        raise DomainError("请填写名称。", code="name_required")
    if leader is not None and not leader.is_active:
        raise DomainError("网格长账号已停用。", code="leader_inactive")
    _validate_boundary(boundary)
    grid.name = name.strip()
    grid.grid_kind = grid_kind
    grid.leader = leader
    grid.boundary = boundary or None
    grid.save(update_fields=["name", "grid_kind", "leader", "boundary"])
    audit.record(actor=actor, action="grid.update", obj=grid, region_code=grid.code)
    return grid


# --- 楼栋长、单元长、胡同长 -----------------------------------------------------------------


@transaction.atomic
def captain_appoint(
    *, actor: Actor, building: Building, person: Person | None, unit: BuildingUnit | None = None
) -> Building | BuildingUnit:
    """The grid worker or the community names a resident of the grid as the captain of a
    building, a lane (胡同长) or one unit of a block (单元长); `person=None` ends the post.
    The captain signs in as a resident and sees that building, masked, and reports
    requests for it (residents.captains)."""
    require(actor, "places.captains", building.region_code)
    if unit is not None and unit.building_id != building.pk:
        raise DomainError("该单元不在这栋楼。", code="unit_invalid", field="unit")
    if person is not None and person.region_code != building.region_code:
        raise DomainError(
            "楼栋长须是本网格登记的居民。", code="captain_not_in_grid", field="person"
        )
    born = personal.clear(person.birth_date) if person is not None else None
    if born is not None and full_years(born, timezone.localdate()) < CAPTAIN_MIN_AGE:
        raise DomainError(
            f"楼栋长、单元长须年满{CAPTAIN_MIN_AGE}周岁。", code="captain_minor", field="person"
        )
    post = unit or building
    if post.captain_id == (person.pk if person else None):
        return post
    before = post.captain_id
    post.captain = person
    post.save(update_fields=["captain"])
    audit.record(
        actor=actor,
        action="unit.captain" if unit else "building.captain",
        obj=post,
        region_code=building.region_code,
        detail={"person": person.pk if person else None, "before": before},
    )
    return post


# --- 迁入迁出核实 ----------------------------------------------------------------------

# What a move changes in the person's one record: where and with whom they live. Their
# name, phone and the rest stay as their grid registered them (a file may be blank, wrong,
# or changed after the check was opened); special groups the file names are added.
MOVED_FIELDS = ["region_code", "household", "relation_to_head", "residence_type"]
NOTE_MAX = 200


def _locked_check(check: MoveCheck, statuses) -> MoveCheck:
    locked = MoveCheck.objects.select_for_update(of=("self",)).get(pk=check.pk)
    if locked.status not in statuses:
        raise DomainError("该核实已办结或已转乡镇（街道）裁决。", code="move_check_decided")
    return locked


def _note(text: str, code: str, missing: str) -> str:
    text = (text or "").strip()
    if not text:
        raise DomainError(missing, code=code, field="reason")
    if len(text) > NOTE_MAX:
        raise DomainError(f"理由不能超过{NOTE_MAX}字。", code=f"{code}_too_long", field="reason")
    return text


def _repoint(source: Person, target: Person) -> None:
    """What points at `source` (captain posts, a resident account, a party record …) now
    points at `target`, except a one-to-one that `target` already holds."""
    for relation in Person._meta.get_fields(include_hidden=True):
        if not (relation.auto_created and not relation.concrete) or relation.many_to_many:
            continue
        model, name = relation.related_model, relation.field.name
        if model is MoveCheck or model._meta.auto_created:
            continue
        if relation.one_to_one and model._base_manager.filter(**{name: target}).exists():
            continue
        model._base_manager.filter(**{name: source}).update(**{name: target})


def _move(check: MoveCheck) -> None:
    """The person moved: their one record takes the incoming registration's grid and
    household, and the pending registration goes."""
    person = Person.objects.select_for_update(of=("self",)).get(pk=check.person_id)
    incoming = Person.objects.select_for_update(of=("self",)).filter(pk=check.incoming_id).first()
    if incoming is None:
        raise DomainError("迁入登记已不存在，无法办理迁入。", code="move_incoming_gone")
    groups = set(person.special_groups.all()) | set(incoming.special_groups.all())
    Household.objects.filter(head=person).exclude(pk=incoming.household_id).update(head=None)
    _repoint(incoming, person)
    for name in MOVED_FIELDS:
        setattr(person, name, getattr(incoming, name))
    incoming.delete()
    person.save()
    person.special_groups.set(groups)
    # Other imports of the same person are now for its new grid to check.
    MoveCheck.objects.filter(person=person, status__in=MoveCheck.OPEN_STATUSES).exclude(
        pk=check.pk
    ).update(region_code=person.region_code)


def _stay(check: MoveCheck) -> None:
    """The person did not move: the pending registration goes."""
    incoming = Person.objects.filter(pk=check.incoming_id).first()
    if incoming is None:
        return
    Household.objects.filter(head=incoming).update(head=None)
    incoming.delete()
    # A household the import made for this person alone goes with them.
    Household.objects.filter(pk=incoming.household_id, members__isnull=True).delete()


def _decide(check: MoveCheck, actor: Actor, status: str, action: str, **detail) -> MoveCheck:
    check.status = status
    check.decided_by = actor.user
    check.decided_at = timezone.now()
    check.incoming = None  # gone either way
    check.save(update_fields=["status", "decided_by", "decided_at", "incoming", "decision"])
    audit.record(
        actor=actor,
        action=action,
        obj=check,
        detail={"to": check.to_region_code, "person": check.person_id, **detail},
    )
    return check


@transaction.atomic
def move_confirm(*, actor: Actor, check: MoveCheck) -> MoveCheck:
    """The grid holding the registration confirms that the person moved out."""
    require(actor, "people.verify_move", check.region_code)
    locked = _locked_check(check, (MoveCheck.Status.OPEN,))
    _move(locked)
    return _decide(locked, actor, MoveCheck.Status.MOVED, "move.confirm")


@transaction.atomic
def move_dispute(*, actor: Actor, check: MoveCheck, reason: str) -> MoveCheck:
    """The grid says the person still lives here: the town settles."""
    require(actor, "people.verify_move", check.region_code)
    reason = _note(reason, "dispute_reason", "请写明异议理由。")
    locked = _locked_check(check, (MoveCheck.Status.OPEN,))
    locked.dispute = reason
    locked.disputed_by = actor.user
    locked.status = MoveCheck.Status.DISPUTED
    locked.save(update_fields=["status", "dispute", "disputed_by"])
    audit.record(actor=actor, action="move.dispute", obj=locked, detail={"reason": reason})
    return locked


@transaction.atomic
def move_settle(*, actor: Actor, check: MoveCheck, moved: bool, reason: str) -> MoveCheck:
    """The town decides a check, disputed or not: the person moved, or stays. Whoever
    disputed it does not settle it."""
    require(actor, "people.settle_move", check.region_code)
    reason = _note(reason, "decision_reason", "请写明裁决理由。")
    locked = _locked_check(check, MoveCheck.OPEN_STATUSES)
    if locked.disputed_by_id == actor.user_id:
        raise DomainError("提出异议的人不能再裁决同一核实。", code="settle_own_dispute")
    locked.decision = reason
    if moved:
        _move(locked)
    else:
        _stay(locked)
    status = MoveCheck.Status.MOVED if moved else MoveCheck.Status.STAYED
    return _decide(locked, actor, status, "move.settle", moved=moved, reason=reason)
