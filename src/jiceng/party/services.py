"""Every change to the party register: organizations (created under a parent of an allowed
kind, renamed, re-elected, closed — never deleted), their committees (persons appointed to
posts for the term, the secretary's post carrying the branch by assignment), twinning,
and members (entered, corrected, linked to the register's person, made full, ended).

The organization department and a town's organization member hold `party.manage` over
their region; a branch's secretary and organization member hold `party.branch` over their
branch alone (by assignment), and keep its members. Each write is one transaction."""

import datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from jiceng.accounts.models import User
from jiceng.accounts.roles import ADMINISTRATOR_ROLES
from jiceng.accounts.selectors import held_roles
from jiceng.accounts.services import assignment_end, assignment_grant
from jiceng.core import audit, outbox, refusals, throttle
from jiceng.core.access import has_permission, require
from jiceng.core.actors import Actor
from jiceng.core.calendar import DAY, WorkCalendar
from jiceng.core.errors import DomainError, NotFound
from jiceng.core.idnumber import parse_id_number
from jiceng.core.models import AuditEvent
from jiceng.core.personal import clear
from jiceng.core.phones import mobile
from jiceng.core.process import actor_required
from jiceng.core.region_codes import community_of, county_of, is_within, level_of
from jiceng.gatherings.models import Gathering
from jiceng.gatherings.selectors import venues_around
from jiceng.gatherings.services import (
    CHECK_IN_EARLY,
    attendance_close,
    gathering_cancel,
    gathering_phase,
    gathering_schedule,
    signup_invite,
    tell_signed_up,
)
from jiceng.party.models import (
    Appointment,
    DualEvaluation,
    DualReport,
    Meeting,
    MonthlyTheme,
    PartyMember,
    PartyOrganization,
    Transfer,
    Twinning,
    term_years,
)
from jiceng.party.selectors import member_list, probation_due_q
from jiceng.party.workflow import PROCESS
from jiceng.places.models import Person, Region
from jiceng.places.selectors import person_get, region_get_any

K = PartyOrganization.Kind
NAME_MAX = 100
REASON_MAX = 200


def _text(value: str, *, label: str, field: str, limit: int, required: bool = True) -> str:
    value = " ".join((value or "").split())
    if required and not value:
        raise DomainError(f"请填写{label}。", code=f"{field}_missing", field=field)
    if len(value) > limit:
        raise DomainError(f"{label}不能超过{limit}字。", code=f"{field}_too_long", field=field)
    return value


def _not_after_today(day: datetime.date | None, label: str, field: str) -> None:
    if day is not None and day > timezone.localdate():
        raise DomainError(f"{label}不能晚于今天。", code=f"{field}_future", field=field)


def _locked(organization: PartyOrganization) -> PartyOrganization:
    return PartyOrganization.objects.select_for_update().get(pk=organization.pk)


def _open(organization: PartyOrganization) -> None:
    if not organization.is_open:
        raise DomainError(
            f"“{organization.name}”已于{organization.closed_on:%Y-%m-%d}撤销。",
            code="organization_closed",
        )


def _check_place(kind: str, region_code: str, parent: PartyOrganization | None) -> None:
    """The kind's parent kinds and level (STANDARDS), and the region within the parent's."""
    allowed = PartyOrganization.PARENT_KINDS[kind]
    label = K(kind).label
    if parent is None:
        if allowed:
            names = "、".join(K(k).label for k in allowed)
            raise DomainError(
                f"“{label}”须设在上级党组织（{names}）之下。",
                code="parent_required",
                field="parent",
            )
    else:
        _open(parent)
        if parent.kind not in allowed:
            raise DomainError(
                f"“{label}”不能设在“{K(parent.kind).label}”之下。",
                code="parent_kind",
                field="parent",
            )
        if not is_within(region_code, parent.region_code):
            raise DomainError(
                "党组织所在区划须在上级党组织的区划之内。",
                code="region_outside_parent",
                field="region_code",
            )
    level = PartyOrganization.LEVELS.get(kind)
    if level is not None and level_of(region_code) != level:
        region = region_get_any(code=region_code)
        raise DomainError(
            f"“{label}”应设在{dict(region.Level.choices)[level]}一级，而不是{region.name}。",
            code="region_level",
            field="region_code",
        )


def _term_end(kind: str, region_code: str, started_on: datetime.date) -> datetime.date:
    region = region_get_any(code=region_code)
    years = term_years(kind, region.is_rural)
    try:
        return started_on.replace(year=started_on.year + years)
    except ValueError:  # 29 February
        return started_on.replace(year=started_on.year + years, day=28)


@transaction.atomic
def organization_create(
    *,
    actor: Actor,
    kind: str,
    name: str,
    region_code: str,
    parent: PartyOrganization | None = None,
    unit=None,
    building=None,
    founded_on: datetime.date | None = None,
    term_started_on: datetime.date | None = None,
) -> PartyOrganization:
    """成立党组织: a new organization of `kind` at `region_code` under `parent`, whose
    kind must be one the kind may sit under. Its first committee's term, if given, runs
    for the kind's years."""
    actor = actor_required(actor)
    if kind not in K.values:
        raise DomainError("未知党组织类型。", code="kind_unknown", field="kind")
    require(actor, "party.manage", region_code)
    region_get_any(code=region_code)
    if parent is not None:
        parent = _locked(parent)
    _check_place(kind, region_code, parent)
    name = _text(name, label="名称", field="name", limit=NAME_MAX)
    _not_after_today(founded_on, "成立日期", "founded_on")
    if unit is not None and not is_within(unit.region_code, county_of(region_code)):
        raise NotFound()
    if building is not None and not is_within(building.region_code, region_code):
        raise DomainError("楼栋不在该党组织的区划内。", code="building_outside", field="building")
    if (
        kind in PartyOrganization.ONE_PER_REGION
        and PartyOrganization.objects.filter(
            kind=kind, region_code=region_code, closed_on__isnull=True
        ).exists()
    ):
        raise DomainError(f"该区划已有{K(kind).label}。", code="committee_exists", field="kind")
    if PartyOrganization.objects.filter(
        parent=parent, name=name, region_code=region_code, closed_on__isnull=True
    ).exists():
        raise DomainError("同一上级下已有同名党组织。", code="name_taken", field="name")
    organization = PartyOrganization(
        kind=kind,
        name=name,
        region_code=region_code,
        parent=parent,
        unit=unit,
        building=building,
        founded_on=founded_on,
    )
    if term_started_on is not None and kind in PartyOrganization.ELECTED:
        _not_after_today(term_started_on, "任期开始", "term_started_on")
        organization.term_started_on = term_started_on
        organization.term_ends_on = _term_end(kind, region_code, term_started_on)
    organization.save()
    audit.record(
        actor=actor,
        action="party.organization_create",
        obj=organization,
        detail={"kind": kind, "name": name, "parent": parent.pk if parent else None},
    )
    return organization


@transaction.atomic
def organization_update(
    *,
    actor: Actor,
    organization: PartyOrganization,
    name: str,
    parent: PartyOrganization | None,
    founded_on: datetime.date | None = None,
) -> PartyOrganization:
    """Rename an organization, or move it under another parent of an allowed kind."""
    actor = actor_required(actor)
    require(actor, "party.manage", organization.region_code)
    locked = _locked(organization)
    _open(locked)
    name = _text(name, label="名称", field="name", limit=NAME_MAX)
    _not_after_today(founded_on, "成立日期", "founded_on")
    if parent is not None:
        if not has_permission(actor, "party.view", obj=parent):
            raise NotFound()
        ancestor = parent
        while ancestor is not None:  # not under itself
            if ancestor.pk == locked.pk:
                raise DomainError(
                    "不能设在本组织或其下级之下。", code="parent_cycle", field="parent"
                )
            ancestor = ancestor.parent
    if (parent.pk if parent else None) != locked.parent_id:
        _check_place(locked.kind, locked.region_code, parent)
    changed = {
        field: value
        for field, value in (
            ("name", name),
            ("parent_id", parent.pk if parent else None),
            ("founded_on", founded_on),
        )
        if getattr(locked, field) != value
    }
    if not changed:
        return locked
    for field, value in changed.items():
        setattr(locked, field, value)
    locked.save(update_fields=[f.removesuffix("_id") for f in changed])
    audit.record(
        actor=actor,
        action="party.organization_update",
        obj=locked,
        detail={k: str(v) if isinstance(v, datetime.date) else v for k, v in changed.items()},
    )
    return locked


@transaction.atomic
def organization_elect(
    *, actor: Actor, organization: PartyOrganization, started_on: datetime.date
) -> PartyOrganization:
    """换届: a new committee elected on `started_on`, serving the kind's years."""
    actor = actor_required(actor)
    require(actor, "party.manage", organization.region_code)
    locked = _locked(organization)
    _open(locked)
    if not locked.is_elected:
        raise DomainError("党小组、党员中心户不实行任期制。", code="not_elected")
    _not_after_today(started_on, "选举日期", "started_on")
    if locked.term_started_on and started_on <= locked.term_started_on:
        raise DomainError("选举日期须晚于本届任期开始。", code="term_order", field="started_on")
    locked.term_started_on = started_on
    locked.term_ends_on = _term_end(locked.kind, locked.region_code, started_on)
    locked.save(update_fields=["term_started_on", "term_ends_on"])
    Appointment.objects.filter(organization=locked, ended_on__isnull=True).update(
        term_ends_on=locked.term_ends_on
    )
    audit.record(
        actor=actor,
        action="party.organization_elect",
        obj=locked,
        detail={"started_on": str(started_on), "ends_on": str(locked.term_ends_on)},
    )
    return locked


@transaction.atomic
def organization_close(
    *, actor: Actor, organization: PartyOrganization, closed_on: datetime.date, reason: str
) -> PartyOrganization:
    """撤销: never deleted. Its members are moved and its organizations below closed first;
    its committee's posts end with it."""
    actor = actor_required(actor)
    require(actor, "party.manage", organization.region_code)
    locked = _locked(organization)
    _open(locked)
    reason = _text(reason, label="撤销原因", field="reason", limit=REASON_MAX)
    _not_after_today(closed_on, "撤销日期", "closed_on")
    if locked.founded_on and closed_on < locked.founded_on:
        raise DomainError("撤销日期早于成立日期。", code="closed_before_founded", field="closed_on")
    members = locked.members.filter(left_on__isnull=True).count()
    if members:
        raise DomainError(
            f"该组织还有 {members} 名党员，请先转接到其他党组织。", code="organization_has_members"
        )
    transfers = Transfer.objects.filter(
        Q(from_organization=locked) | Q(to_organization=locked), status__in=Transfer.OPEN
    ).count()
    if transfers:
        raise DomainError(
            f"该组织还有 {transfers} 件组织关系转接在办理中，请先办结。",
            code="organization_has_transfers",
        )
    children = locked.children.filter(closed_on__isnull=True).count()
    if children:
        raise DomainError(
            f"该组织下还有 {children} 个党组织未撤销。", code="organization_has_children"
        )
    for appointment in locked.appointments.filter(ended_on__isnull=True):
        _end_appointment(actor, appointment, max(closed_on, appointment.started_on), "党组织撤销")
    Twinning.objects.filter(ended_on__isnull=True, first=locked).update(ended_on=closed_on)
    Twinning.objects.filter(ended_on__isnull=True, second=locked).update(ended_on=closed_on)
    locked.closed_on, locked.closed_reason = closed_on, reason
    locked.save(update_fields=["closed_on", "closed_reason"])
    audit.record(
        actor=actor,
        action="party.organization_close",
        obj=locked,
        detail={"closed_on": str(closed_on), "reason": reason},
    )
    return locked


# --- committees ---------------------------------------------------------------------------


def _member_within(person: Person, organization: PartyOrganization) -> bool:
    """Whether `person` is a current member of `organization` or of one below it."""
    member = (
        PartyMember.objects.filter(person=person, left_on__isnull=True)
        .select_related("organization")
        .first()
    )
    if member is None:
        return False
    holder = member.organization
    for _ in range(8):  # the tree is at most seven deep
        if holder is None:
            return False
        if holder.pk == organization.pk:
            return True
        holder = holder.parent
    return False


def _account(actor: Actor, username: str) -> User | None:
    username = (username or "").strip()
    if not username:
        return None
    user = User.objects.filter(username=username, is_active=True, is_superuser=False).first()
    # An administrator's account holds no other role: it is answered as one that is not
    # there, so that the answer does not tell which accounts administer the county.
    if (
        user is None
        or not user.region_code
        or not has_permission(actor, "party.manage", user.region_code)
        or held_roles(user) & set(ADMINISTRATOR_ROLES)
    ):
        raise DomainError(
            "找不到该账号，或该账号不在您的管理范围内。", code="account_unknown", field="account"
        )
    return user


@transaction.atomic
def appointment_create(
    *,
    actor: Actor,
    organization: PartyOrganization,
    member: PartyMember,
    post: str,
    started_on: datetime.date,
    account: str = "",
) -> Appointment:
    """任职: a member of the organization (or of one below it) takes a post of its
    committee until the term ends. The secretary and the organization member may be given
    a staff account, which keeps the branch for as long as the post."""
    actor = actor_required(actor)
    require(actor, "party.manage", organization.region_code)
    locked = _locked(organization)
    _open(locked)
    if post not in Appointment.Post.values:
        raise DomainError("未知职务。", code="post_unknown", field="post")
    if not locked.is_elected and post != Appointment.Post.SECRETARY:
        raise DomainError("党小组、党员中心户只设组长（户主）。", code="post_kind", field="post")
    _not_after_today(started_on, "任职日期", "started_on")
    if member.person_id is None:
        raise DomainError(
            "该党员尚未关联实有人口，请先关联后再任职。",
            code="member_without_person",
            field="member",
        )
    if member.left_on is not None or not _member_within(member.person, locked):
        raise DomainError(
            "班子成员须是本党组织的党员。", code="appointee_not_member", field="member"
        )
    current = locked.appointments.filter(ended_on__isnull=True)
    if current.filter(person_id=member.person_id).exists():
        raise DomainError("该党员已在本组织班子中任职。", code="already_appointed", field="member")
    if post != Appointment.Post.MEMBER and current.filter(post=post).exists():
        label = Appointment.Post(post).label
        raise DomainError(
            f"该党组织已有{label}，请先办理原{label}离任。",
            code="secretary_taken" if post == Appointment.Post.SECRETARY else "post_taken",
            field="post",
        )
    user = _account(actor, account)
    if user is not None and post not in Appointment.ASSIGNED:
        raise DomainError(
            "只有书记、组织委员的任职可以关联工作账号。", code="account_post", field="account"
        )
    appointment = Appointment.objects.create(
        region_code=locked.region_code,
        organization=locked,
        person_id=member.person_id,
        post=post,
        started_on=started_on,
        term_ends_on=locked.term_ends_on,
        account=user,
        appointed_by=actor.user,
    )
    if user is not None:
        assignment_grant(
            actor=actor,
            user=user,
            kind=Appointment.ASSIGNED[post],
            obj=locked,
            valid_from=started_on,
            valid_until=locked.term_ends_on,
        )
    audit.record(
        actor=actor,
        action="party.appoint",
        obj=appointment,
        detail={
            "organization": locked.pk,
            "post": post,
            "member": member.pk,
            "account": user.username if user else "",
        },
    )
    return appointment


def _end_appointment(actor: Actor, appointment: Appointment, on, reason: str) -> None:
    appointment.ended_on, appointment.end_reason = on, reason
    appointment.save(update_fields=["ended_on", "end_reason"])
    if appointment.account_id and appointment.post in Appointment.ASSIGNED:
        assignment_end(
            actor=actor,
            user=appointment.account,
            kind=Appointment.ASSIGNED[appointment.post],
            obj=appointment.organization,
        )
    audit.record(
        actor=actor,
        action="party.appointment_end",
        obj=appointment,
        detail={
            "organization": appointment.organization_id,
            "post": appointment.post,
            "ended_on": str(on),
            "reason": reason,
        },
    )


@transaction.atomic
def appointment_end(
    *, actor: Actor, appointment: Appointment, ended_on: datetime.date, reason: str
) -> Appointment:
    """离任: the post ends (and with it the account's hold on the branch)."""
    actor = actor_required(actor)
    require(actor, "party.manage", appointment.region_code)
    locked = Appointment.objects.select_for_update(of=("self",)).select_related(
        "organization", "account"
    )
    locked = locked.get(pk=appointment.pk)
    if locked.ended_on is not None:
        raise DomainError("该任职已结束。", code="appointment_ended")
    reason = _text(reason, label="离任原因", field="reason", limit=REASON_MAX)
    _not_after_today(ended_on, "离任日期", "ended_on")
    if ended_on < locked.started_on:
        raise DomainError("离任日期早于任职日期。", code="ended_before_started", field="ended_on")
    _end_appointment(actor, locked, ended_on, reason)
    return locked


@transaction.atomic
def twinning_create(
    *,
    actor: Actor,
    first: PartyOrganization,
    second: PartyOrganization,
    started_on: datetime.date,
    note: str = "",
) -> Twinning:
    """联建共建: pair two organizations (a village branch with its sending unit's)."""
    actor = actor_required(actor)
    require(actor, "party.manage", first.region_code)
    if not has_permission(actor, "party.view", obj=second):
        raise NotFound()
    _open(first)
    _open(second)
    if first.pk == second.pk:
        raise DomainError("不能与本组织结对。", code="twinning_self", field="second")
    _not_after_today(started_on, "结对日期", "started_on")
    note = _text(note, label="共建内容", field="note", limit=REASON_MAX, required=False)
    pair = (first.pk, second.pk)
    if Twinning.objects.filter(
        ended_on__isnull=True, first_id__in=pair, second_id__in=pair
    ).exists():
        raise DomainError("两个党组织已经结对。", code="twinning_exists", field="second")
    twinning = Twinning.objects.create(
        region_code=first.region_code,
        first=first,
        second=second,
        started_on=started_on,
        note=note,
        created_by=actor.user,
    )
    audit.record(
        actor=actor, action="party.twinning_create", obj=twinning, detail={"second": second.pk}
    )
    return twinning


# --- members ------------------------------------------------------------------------------


def _require_branch(actor: Actor, organization: PartyOrganization) -> None:
    """Who keeps the members of `organization`: its secretary or organization member (by
    assignment), or the organization department and town above it."""
    require(actor, "party.branch", obj=organization)


def _check_dates(category: str, joined_on, full_on) -> None:
    if category not in PartyMember.Category.values:
        raise DomainError(
            "党员类别应为正式党员或预备党员。", code="category_unknown", field="category"
        )
    if joined_on is None:
        raise DomainError("请填写入党日期。", code="joined_on_missing", field="joined_on")
    _not_after_today(joined_on, "入党日期", "joined_on")
    _not_after_today(full_on, "转正日期", "full_on")
    if category == PartyMember.Category.PROBATIONARY and full_on is not None:
        raise DomainError("预备党员没有转正日期。", code="full_on_probationary", field="full_on")
    if full_on is not None and full_on < joined_on:
        raise DomainError("转正日期早于入党日期。", code="full_before_joined", field="full_on")


def _check_mobility(mobility: str, place: str) -> str:
    if mobility not in PartyMember.Mobility.values:
        raise DomainError("未知流动情况。", code="mobility_unknown", field="mobility")
    place = _text(
        place,
        label="流出（流入）地",
        field="mobility_place",
        limit=NAME_MAX,
        required=bool(mobility),
    )
    return place if mobility else ""


def _identity(id_number: str, phone: str) -> tuple[str, str]:
    """A member's own ID number (checked) and mobile number, for one without a person."""
    number = parse_id_number(id_number).value if id_number else ""
    if phone and mobile(phone) is None:
        raise DomainError("手机号应为11位数字。", code="phone_invalid", field="phone")
    return number, mobile(phone) if phone else ""


@transaction.atomic
def member_add(
    *,
    actor: Actor,
    organization: PartyOrganization,
    person: Person | None = None,
    name: str = "",
    id_number: str = "",
    phone: str = "",
    category: str = PartyMember.Category.FULL,
    joined_on: datetime.date | None = None,
    full_on: datetime.date | None = None,
    work_unit: str = "",
    mobility: str = "",
    mobility_place: str = "",
) -> PartyMember:
    """登记党员: a person of the register (picked within the actor's scope of people), or
    one who is not in it (outside the county, not yet registered) by name and ID number,
    to be linked later. A person holds one membership: moving it is a transfer."""
    actor = actor_required(actor)
    _require_branch(actor, organization)
    locked = _locked(organization)
    _open(locked)
    if not locked.holds_members:
        raise DomainError(
            f"“{K(locked.kind).label}”不直接管理党员，请登记到其下的党支部。",
            code="organization_holds_no_members",
        )
    _check_dates(category, joined_on, full_on)
    mobility_place = _check_mobility(mobility, mobility_place)
    work_unit = _text(
        work_unit, label="工作单位", field="work_unit", limit=NAME_MAX, required=False
    )
    if person is not None:
        person = person_get(user=actor, pk=person.pk)  # in the actor's scope of people
        if PartyMember.objects.filter(person=person).exists():
            raise DomainError(
                "该人员已登记为党员；如需转到本支部，请办理组织关系转接。",
                code="member_elsewhere",
                field="person",
            )
        name, number, phone = person.name, "", ""
    else:
        name = _text(name, label="姓名", field="name", limit=64)
        number, phone = _identity(id_number, phone)
        if not number:
            raise DomainError("请填写身份证号。", code="id_number_missing", field="id_number")
        if _same_number(locked, number).exists():
            raise DomainError(
                "本组织已登记该身份证号的党员。", code="member_exists", field="id_number"
            )
        check_not_elsewhere(actor, number)
    try:
        with transaction.atomic():
            member = PartyMember.objects.create(
                region_code=locked.region_code,
                organization=locked,
                person=person,
                name=name,
                id_number=number,
                phone=phone,
                category=category,
                joined_on=joined_on,
                full_on=full_on,
                work_unit=work_unit,
                mobility=mobility,
                mobility_place=mobility_place,
            )
    except IntegrityError:  # the same person entered at once elsewhere
        raise DomainError(
            "该人员已登记为党员；如需转到本支部，请办理组织关系转接。", code="member_elsewhere"
        ) from None
    audit.record(
        actor=actor,
        action="party.member_add",
        obj=member,
        detail={"organization": locked.pk, "category": category, "person": bool(person)},
    )
    return member


def check_not_elsewhere(actor: Actor, number: str) -> None:
    """One membership per person: refuse an ID number already held by a current member
    the actor can see. One held outside the actor's sight is not told (the answer would
    say who is a member elsewhere): both records then show in the duplicates list of
    whoever keeps both (selectors.duplicate_members), the county's organization
    department at least."""
    elsewhere = (
        member_list(user=actor)
        .filter(Q(id_number_index=number) | Q(person__id_number_index=number))
        .first()
    )
    if elsewhere is not None:
        raise DomainError(
            f"该身份证号已在“{elsewhere.organization.name}”登记为党员；"
            "如需转到本支部，请办理组织关系转接。",
            code="member_elsewhere",
            field="id_number",
        )


def _same_number(organization: PartyOrganization, number: str):
    """Current members of `organization` with this ID number, their own or their person's."""
    return PartyMember.objects.filter(organization=organization, left_on__isnull=True).filter(
        Q(id_number_index=number) | Q(person__id_number_index=number)
    )


def _locked_member(member: PartyMember) -> PartyMember:
    return (
        PartyMember.objects.select_for_update(of=("self",))
        .select_related("organization")
        .get(pk=member.pk)
    )


@transaction.atomic
def member_update(
    *,
    actor: Actor,
    member: PartyMember,
    category: str,
    joined_on: datetime.date | None,
    full_on: datetime.date | None,
    work_unit: str,
    mobility: str,
    mobility_place: str,
) -> PartyMember:
    """Correct a member's record (its person's own fields are the register's)."""
    actor = actor_required(actor)
    locked = _locked_member(member)
    _require_branch(actor, locked.organization)
    if locked.left_on is not None:
        raise DomainError("该党员已减少，记录不再修改。", code="member_left")
    _check_dates(category, joined_on, full_on)
    values = {
        "category": category,
        "joined_on": joined_on,
        "full_on": full_on,
        "work_unit": _text(
            work_unit, label="工作单位", field="work_unit", limit=NAME_MAX, required=False
        ),
        "mobility": mobility,
        "mobility_place": _check_mobility(mobility, mobility_place),
    }
    changed = {k: v for k, v in values.items() if getattr(locked, k) != v}
    if not changed:
        return locked
    for field, value in changed.items():
        setattr(locked, field, value)
    locked.save(update_fields=[*changed, "updated_at"])
    audit.record(
        actor=actor,
        action="party.member_update",
        obj=locked,
        detail={k: str(v) if isinstance(v, datetime.date) else v for k, v in changed.items()},
    )
    return locked


@transaction.atomic
def member_make_full(*, actor: Actor, member: PartyMember, on: datetime.date) -> PartyMember:
    """转正: the branch assembly admits a probationary member to full membership at the
    end of the year (or later, if it extended the probation)."""
    actor = actor_required(actor)
    locked = _locked_member(member)
    _require_branch(actor, locked.organization)
    if locked.category != PartyMember.Category.PROBATIONARY or locked.left_on is not None:
        raise DomainError("只有预备党员可以转正。", code="not_probationary")
    _not_after_today(on, "转正日期", "on")
    ends = locked.probation_ends_on
    if ends is not None and on < ends:
        raise DomainError(
            f"预备期一年，{ends:%Y-%m-%d}期满后方可转正。", code="probation_not_over", field="on"
        )
    locked.category, locked.full_on = PartyMember.Category.FULL, on
    locked.save(update_fields=["category", "full_on", "updated_at"])
    audit.record(actor=actor, action="party.member_full", obj=locked, detail={"on": str(on)})
    return locked


LINK_SCOPE = "party.member_link"
LINK_WINDOW = datetime.timedelta(days=1)


@refusals.atomic
def member_link(*, actor: Actor, member: PartyMember, person: Person) -> PartyMember:
    """关联实有人口: a member entered without a person is linked to the register's, found by
    staff who may see it. Their own ID number must agree with the person's. Since the one
    linking may see the person's number only masked, each disagreement is counted and
    audited, and a few a day are all an account gets: the check cannot be used to guess
    a number."""
    actor = actor_required(actor)
    locked = _locked_member(member)
    require(actor, "party.manage", locked.region_code)
    if locked.person_id is not None:
        raise DomainError("该党员已关联实有人口。", code="member_linked")
    try:
        person = person_get(user=actor, pk=person.pk)
    except NotFound:
        raise NotFound() from None
    limit = settings.JICENG_PARTY_LINK_MISMATCHES_PER_DAY
    if (
        throttle.count(
            LINK_SCOPE, actor.user.pk, within=datetime.timedelta(days=1), limit=limit + 1
        )
        >= limit
    ):
        raise DomainError(
            f"今天已有 {limit} 次身份证号核对不一致，请明天再试，"
            "或请有权查看身份证号的工作人员核实。",
            code="link_locked",
        )
    own = Person._meta.get_field("id_number_index").digest(locked.id_number)
    if own and own != person.id_number_index:
        throttle.hit(LINK_SCOPE, actor.user.pk)
        refusals.refuse(
            DomainError("身份证号与该人员不一致。", code="id_number_mismatch", field="person"),
            record=lambda: audit.record(
                actor=actor,
                action="party.member_link",
                obj=member,
                outcome=AuditEvent.FAILURE,
                detail={"person": person.pk, "reason": "id_number_mismatch"},
            ),
        )
    if PartyMember.objects.filter(person=person).exists():
        raise DomainError("该人员已关联其他党员记录。", code="member_elsewhere", field="person")
    locked.person, locked.name, locked.id_number, locked.phone = person, person.name, "", ""
    locked.save(
        update_fields=["person", "name", "id_number", "id_number_index", "phone", "updated_at"]
    )
    audit.record(actor=actor, action="party.member_link", obj=locked, detail={"person": person.pk})
    return locked


# --- membership transfers ------------------------------------------------------------------


def _end_posts(actor: Actor, member: PartyMember, on: datetime.date, reason: str) -> None:
    """A member who leaves a branch leaves its committee (and those above it) too."""
    if member.person_id is None:
        return
    for appointment in Appointment.objects.filter(
        person_id=member.person_id, ended_on__isnull=True
    ).select_related("organization", "account"):
        _end_appointment(actor, appointment, max(on, appointment.started_on), reason)


@transaction.atomic
def transfer_request(
    *, actor: Actor, member: PartyMember, to_organization: PartyOrganization, reason: str
) -> Transfer:
    """申请组织关系转接 to another branch of the county, asked by a keeper of the branch
    the member is in; due in JICENG_PARTY_TRANSFER_DAYS working days."""
    actor = actor_required(actor)
    locked = _locked_member(member)
    _require_branch(actor, locked.organization)
    if locked.left_on is not None:
        raise DomainError("该党员已减少。", code="member_left")
    target = _locked(to_organization)
    if county_of(target.region_code) != county_of(locked.region_code):
        raise NotFound()
    if not target.is_open:
        raise DomainError(
            f"接收党组织“{target.name}”已撤销，不能转入。",
            code="organization_closed",
            field="to_organization",
        )
    if target.pk == locked.organization_id:
        raise DomainError(
            "接收党组织与所在党组织相同。", code="transfer_same", field="to_organization"
        )
    if not target.holds_members:
        raise DomainError(
            f"“{K(target.kind).label}”不直接接收党员，请选择党支部。",
            code="organization_holds_no_members",
            field="to_organization",
        )
    if Transfer.objects.filter(member=locked, status__in=Transfer.OPEN).exists():
        raise DomainError("该党员已有一件转接正在办理。", code="transfer_open")
    reason = _text(reason, label="转接原因", field="reason", limit=REASON_MAX)
    now = timezone.now()
    transfer = Transfer.objects.create(
        region_code=locked.region_code,
        member=locked,
        from_organization=locked.organization,
        to_organization=target,
        to_region_code=target.region_code,
        reason=reason,
        requested_at=now,
        due_at=WorkCalendar().deadline(now, settings.JICENG_PARTY_TRANSFER_DAYS, DAY),
        requested_by=actor.user,
    )
    PROCESS.started(
        transfer,
        actor=actor,
        action="request",
        note=reason,
        detail={"member": locked.pk, "to": target.pk},
    )
    return transfer


def transfer_release(*, actor: Actor, transfer: Transfer) -> Transfer:
    """同意转出: the branch the member leaves lets them go."""
    return PROCESS.run(transfer, "release", actor=actor)


@transaction.atomic
def transfer_accept(*, actor: Actor, transfer: Transfer) -> Transfer:
    """接收: the membership moves to the branch it joins; the member leaves the posts they
    held in the committee of the branch they left."""
    now = timezone.now()

    def refuse(locked: Transfer) -> None:
        if not locked.to_organization.is_open:
            raise DomainError("接收党组织已撤销，请退回后重新申请。", code="organization_closed")
        member = locked.member
        number = clear(member.known_id_number)
        if number and _same_number(locked.to_organization, number).exclude(pk=member.pk).exists():
            raise DomainError(
                "接收党组织已登记该身份证号的党员，请核实后退回，或先减少重复的记录。",
                code="member_exists",
            )

    done = PROCESS.run(
        transfer, "accept", actor=actor, check=refuse, derive=lambda t: {"closed_at": now}
    )
    member = _locked_member(done.member)
    _end_posts(actor_required(actor), member, timezone.localdate(), "组织关系转出")
    member.organization_id, member.region_code = done.to_organization_id, done.to_region_code
    member.save(update_fields=["organization", "region_code", "updated_at"])
    return done


def transfer_return(*, actor: Actor, transfer: Transfer, reason: str) -> Transfer:
    """退回: the branch it would join gives it back, saying why."""
    reason = _text(reason, label="退回原因", field="reason", limit=REASON_MAX)
    return PROCESS.run(
        transfer,
        "return",
        actor=actor,
        note=reason,
        return_reason=reason,
        closed_at=timezone.now(),
    )


def transfer_cancel(*, actor: Actor, transfer: Transfer) -> Transfer:
    """撤回: the branch the member is in withdraws the request."""
    return PROCESS.run(transfer, "cancel", actor=actor, closed_at=timezone.now())


@transaction.atomic
def transfer_out_of_county(
    *, actor: Actor, member: PartyMember, destination: str, reason: str, on: datetime.date
) -> Transfer:
    """转出县外: recorded, not tracked — the member leaves the register on `on`."""
    actor = actor_required(actor)
    locked = _locked_member(member)
    _require_branch(actor, locked.organization)
    if locked.left_on is not None:
        raise DomainError("该党员已减少。", code="member_left")
    if Transfer.objects.filter(member=locked, status__in=Transfer.OPEN).exists():
        raise DomainError("该党员已有一件转接正在办理。", code="transfer_open")
    destination = _text(destination, label="转往党组织", field="destination", limit=REASON_MAX)
    reason = _text(reason, label="转接原因", field="reason", limit=REASON_MAX)
    _not_after_today(on, "转出日期", "on")
    now = timezone.now()
    transfer = Transfer.objects.create(
        region_code=locked.region_code,
        member=locked,
        from_organization=locked.organization,
        destination=destination,
        reason=reason,
        status=Transfer.Status.LEFT,
        requested_at=now,
        closed_at=now,
        requested_by=actor.user,
    )
    PROCESS.started(
        transfer, actor=actor, action="leave", note=destination, detail={"member": locked.pk}
    )
    _end_posts(actor, locked, on, "组织关系转出县外")
    locked.left_on, locked.left_reason = on, f"转出县外：{destination}"[:REASON_MAX]
    locked.save(update_fields=["left_on", "left_reason", "updated_at"])
    return transfer


# --- organization life ---------------------------------------------------------------------

M = Meeting.Kind
MEETING_KIND = "party_meeting"  # the gatherings kind (declared in PartyConfig.ready)


def has_committee(organization: PartyOrganization) -> bool:
    """A committee exists where posts besides the secretary are filled."""
    return (
        organization.appointments.filter(ended_on__isnull=True)
        .exclude(post=Appointment.Post.SECRETARY)
        .exists()
    )


def has_groups(organization: PartyOrganization) -> bool:
    return organization.children.filter(kind=K.BUILDING_GROUP, closed_on__isnull=True).exists()


def month_theme(region_code: str, day: datetime.date) -> MonthlyTheme | None:
    """The county's theme for the month of `day`."""
    return MonthlyTheme.objects.filter(
        region_code=county_of(region_code), month=day.replace(day=1)
    ).first()


@transaction.atomic
def meeting_schedule(
    *,
    actor: Actor,
    organization: PartyOrganization,
    kind: str,
    starts_at: datetime.datetime,
    ends_at: datetime.datetime,
    title: str = "",
    venue=None,
    place: str = "",
    agenda: str = "",
) -> Meeting:
    """安排组织生活: a gathering of the organization's members, each put on its roster
    (those with a person of the register) and sent the notice by SMS. A theme day takes
    up the county's theme of its month."""
    actor = actor_required(actor)
    _require_branch(actor, organization)
    locked = _locked(organization)
    _open(locked)
    if not locked.holds_members:
        raise DomainError("请在党支部安排组织生活。", code="organization_holds_no_members")
    if kind not in M.values:
        raise DomainError("未知会议类型。", code="meeting_kind", field="kind")
    if kind == M.COMMITTEE and not has_committee(locked):
        raise DomainError("本支部未设支部委员会，不召开支委会。", code="no_committee", field="kind")
    if kind == M.GROUP and not has_groups(locked):
        raise DomainError("本支部未设党小组。", code="no_groups", field="kind")
    day = timezone.localtime(starts_at).date()
    theme = month_theme(locked.region_code, day) if kind == M.THEME_DAY else None
    title = _text(title or (theme.title if theme else ""), label="会议主题", field="title",
                  limit=80)  # fmt: skip
    agenda = _text(agenda, label="议程", field="agenda", limit=2000, required=False)
    members = list(
        PartyMember.objects.filter(
            organization=locked, left_on__isnull=True, person__isnull=False
        ).select_related("person")
    )
    if venue is not None and not venues_around([locked.region_code]).filter(pk=venue.pk).exists():
        raise NotFound()
    gathering = gathering_schedule(
        actor=actor,
        kind=MEETING_KIND,
        region_code=locked.region_code,
        title=title,
        starts_at=starts_at,
        ends_at=ends_at,
        capacity=max(1, len(members)),
        venue=venue,
        place=place,
        description=agenda,
        audience=Gathering.Audience.BRANCH,
        phase=Gathering.Phase.PLANNED,
    )
    meeting = Meeting.objects.create(
        region_code=locked.region_code,
        organization=locked,
        gathering=gathering,
        kind=kind,
        theme=theme,
        held_on=day,
        agenda=agenda,
        created_by=actor.user,
    )
    signup_invite(actor=actor, gathering=gathering, persons=[m.person for m in members])
    tell_signed_up(
        gathering, "party_meeting_notice", "notice", expires_at=starts_at,
        organization=locked.name[:20], kind=M(kind).label,
        starts=f"{timezone.localtime(starts_at):%-m月%-d日 %H:%M}",
        place=(venue.name if venue else place or "支部活动场所")[:20],
    )  # fmt: skip
    audit.record(
        actor=actor,
        action="party.meeting_schedule",
        obj=meeting,
        detail={"organization": locked.pk, "kind": kind, "invited": len(members)},
    )
    return meeting


def _meeting_keeper(actor, meeting: Meeting) -> Actor:
    actor = actor_required(actor)
    _require_branch(actor, meeting.organization)
    return actor


def meeting_begin(*, actor: Actor, meeting: Meeting) -> Meeting:
    """开始签到: from half an hour before the start, the rotating code is shown."""
    actor = _meeting_keeper(actor, meeting)
    if timezone.now() < meeting.gathering.starts_at - CHECK_IN_EARLY:
        raise DomainError("会议开始前半小时内才能开始签到。", code="too_early")
    gathering_phase(actor=actor, gathering=meeting.gathering, phase=Gathering.Phase.UNDER_WAY)
    return meeting


def meeting_close(*, actor: Actor, meeting: Meeting) -> Meeting:
    """结束并确认出勤: attendance is final (check-ins confirmed, absences on leave)."""
    actor = _meeting_keeper(actor, meeting)
    attendance_close(actor=actor, gathering=meeting.gathering)
    return meeting


def meeting_cancel(*, actor: Actor, meeting: Meeting, reason: str) -> Meeting:
    actor = _meeting_keeper(actor, meeting)
    gathering_cancel(actor=actor, gathering=meeting.gathering, reason=reason)
    return meeting


@transaction.atomic
def meeting_minutes(*, actor: Actor, meeting: Meeting, minutes: str, resolutions: str) -> Meeting:
    """会议记录归档: once attendance is final, the minutes and resolutions are filed (once:
    a filed record is not rewritten), and the meeting counts as held."""
    actor = _meeting_keeper(actor, meeting)
    locked = Meeting.objects.select_for_update(of=("self",)).select_related("gathering")
    locked = locked.get(pk=meeting.pk)
    if locked.minutes_filed_at is not None:
        raise DomainError("会议记录已归档，不能修改。", code="minutes_filed")
    if locked.gathering.phase != Gathering.Phase.CLOSED:
        raise DomainError("请先结束会议、确认出勤，再归档会议记录。", code="meeting_not_closed")
    locked.minutes = _text(minutes, label="会议记录", field="minutes", limit=10000)
    locked.resolutions = _text(resolutions, label="决议事项", field="resolutions", limit=2000,
                               required=False)  # fmt: skip
    locked.minutes_filed_at, locked.minutes_filed_by = timezone.now(), actor.user
    locked.save(update_fields=["minutes", "resolutions", "minutes_filed_at", "minutes_filed_by"])
    audit.record(actor=actor, action="party.meeting_minutes", obj=locked,
                 detail={"organization": locked.organization_id})  # fmt: skip
    return locked


@transaction.atomic
def theme_set(
    *, actor: Actor, region_code: str, month: datetime.date, title: str, note: str = ""
) -> MonthlyTheme:
    """一月一主题: the county's theme of a month, set (or reworded) by its organization
    department before the month's theme days take it up."""
    actor = actor_required(actor)
    if level_of(region_code) != "county":
        raise DomainError("月度主题由县级组织部发布。", code="theme_county", field="region_code")
    require(actor, "party.manage", region_code)
    title = _text(title, label="主题", field="title", limit=80)
    note = _text(note, label="说明", field="note", limit=500, required=False)
    month = month.replace(day=1)
    theme, created = MonthlyTheme.objects.select_for_update().get_or_create(
        region_code=region_code, month=month,
        defaults={"title": title, "note": note, "created_by": actor.user},
    )  # fmt: skip
    before = "" if created else theme.title
    if not created:
        if theme.meetings.exists() and theme.title != title:
            raise DomainError("已有支部按此主题安排了主题党日，主题不能再改。", code="theme_in_use")
        theme.title, theme.note = title, note
        theme.save(update_fields=["title", "note"])
    audit.record(actor=actor, action="party.theme_set", obj=theme,
                 detail={"month": f"{month:%Y-%m}", "title": title, "before": before})  # fmt: skip
    return theme


# --- 双报到 ---------------------------------------------------------------------------------


def _community(code: str, county: str) -> Region:
    community = Region.objects.filter(code=code, level=Region.Level.COMMUNITY).first()
    if community is None or not is_within(code, county):
        raise DomainError("请选择本县的社区（村）。", code="community_unknown", field="community")
    return community


@transaction.atomic
def unit_report(
    *,
    actor: Actor,
    organization: PartyOrganization,
    community_code: str,
    reported_on: datetime.date,
    commitments: str = "",
) -> DualReport:
    """单位报到: the party organization of an organ, institution or enterprise reports to
    a community of the county, with what it commits to do there."""
    actor = actor_required(actor)
    _require_branch(actor, organization)
    locked = _locked(organization)
    _open(locked)
    if locked.kind not in PartyOrganization.UNITS:
        raise DomainError(
            "只有机关、事业单位和企业的党组织向社区报到。", code="not_a_unit", field="organization"
        )
    community = _community(community_code, county_of(locked.region_code))
    _not_after_today(reported_on, "报到日期", "reported_on")
    current = locked.dual_reports.filter(ended_on__isnull=True).first()
    if current is not None:
        raise DomainError(
            f"本单位已向{region_get_any(code=current.region_code).name}报到。",
            code="already_reported",
        )
    report = DualReport.objects.create(
        kind=DualReport.Kind.UNIT,
        region_code=community.code,
        organization=locked,
        reported_on=reported_on,
        commitments=_text(
            commitments, label="服务承诺", field="commitments", limit=500, required=False
        ),
        registered_by=actor.user,
    )
    audit.record(
        actor=actor,
        action="party.dual_report",
        obj=report,
        detail={"kind": "unit", "organization": locked.pk, "community": community.code},
    )
    return report


@transaction.atomic
def member_report(
    *,
    actor: Actor,
    member: PartyMember,
    community_code: str = "",
    reported_on: datetime.date | None = None,
) -> DualReport:
    """个人报到: an in-service member of a unit's party organization reports to the
    community where they live — by themselves, signed in as a resident linked to their
    person, or entered by whoever keeps their branch. Where their person lives decides the
    community; a member without a person names it."""
    actor = actor_required(actor)
    locked = _locked_member(member)
    if actor.is_resident:
        if not actor.resident.person_id or actor.resident.person_id != locked.person_id:
            raise NotFound()
    else:
        _require_branch(actor, locked.organization)
    if locked.left_on is not None:
        raise DomainError("该党员已减少。", code="member_left")
    if locked.organization.kind not in PartyOrganization.UNITS:
        raise DomainError(
            "向居住地社区报到的是机关、事业单位和企业的在职党员。", code="not_in_service"
        )
    if locked.person_id:
        community_code = community_of(locked.person.region_code)
    community = _community(community_code, county_of(locked.region_code))
    reported_on = reported_on or timezone.localdate()
    _not_after_today(reported_on, "报到日期", "reported_on")
    current = locked.dual_reports.filter(ended_on__isnull=True).first()
    if current is not None:
        raise DomainError(
            f"已向{region_get_any(code=current.region_code).name}报到。", code="already_reported"
        )
    report = DualReport.objects.create(
        kind=DualReport.Kind.MEMBER,
        region_code=community.code,
        member=locked,
        reported_on=reported_on,
        registered_by=actor.user,
    )
    audit.record(
        actor=actor,
        action="party.dual_report",
        obj=report,
        detail={"kind": "member", "member": locked.pk, "community": community.code},
    )
    return report


def _report_keeper(actor: Actor, report: DualReport) -> None:
    """Who may end a report: the community it is made to, or who keeps the reporter."""
    if has_permission(actor, "party.dual", report.region_code):
        return
    _require_branch(actor, report.unit)


@transaction.atomic
def dual_report_end(*, actor: Actor, report: DualReport, reason: str) -> DualReport:
    actor = actor_required(actor)
    _report_keeper(actor, report)
    locked = DualReport.objects.select_for_update().get(pk=report.pk)
    if locked.ended_on is not None:
        raise DomainError("该报到已结束。", code="report_ended")
    locked.ended_on = timezone.localdate()
    locked.end_reason = _text(reason, label="结束原因", field="reason", limit=REASON_MAX)
    locked.save(update_fields=["ended_on", "end_reason"])
    audit.record(actor=actor, action="party.dual_end", obj=locked, detail={"reason": reason})
    return locked


@transaction.atomic
def dual_evaluate(
    *, actor: Actor, report: DualReport, year: int, grade: str, comment: str = ""
) -> DualEvaluation:
    """The community's evaluation of a unit or member reported to it, for a year that has
    begun and in which the report was in force (a report ended in March is still rated
    for that year, at its end or later); given again the same year, it replaces the first
    (the audit trail keeps what it replaced)."""
    actor = actor_required(actor)
    require(actor, "party.dual", report.region_code)
    locked = DualReport.objects.select_for_update().get(pk=report.pk)
    if locked.ended_on is not None and year > locked.ended_on.year:
        raise DomainError("该报到已于此前结束，不能评价这一年度。", code="report_ended")
    if grade not in DualEvaluation.Grade.values:
        raise DomainError("请选择评价等次。", code="grade_unknown", field="grade")
    if not locked.reported_on.year <= year <= timezone.localdate().year:
        raise DomainError("评价年度应在报到之后、不晚于今年。", code="year_invalid", field="year")
    comment = _text(comment, label="评语", field="comment", limit=500, required=False)
    evaluation, created = DualEvaluation.objects.select_for_update().get_or_create(
        report=locked,
        year=year,
        defaults={
            "grade": grade,
            "comment": comment,
            "evaluated_by": actor.user,
            "evaluated_at": timezone.now(),
        },
    )
    before = None if created else {"grade": evaluation.grade, "comment": evaluation.comment}
    if not created:
        evaluation.grade, evaluation.comment = grade, comment
        evaluation.evaluated_by, evaluation.evaluated_at = actor.user, timezone.now()
        evaluation.save()
    audit.record(
        actor=actor,
        action="party.dual_evaluate",
        obj=locked,
        detail={"year": year, "grade": grade, "comment": comment, "before": before},
    )
    return evaluation


# --- reminders (the worker's schedule) -----------------------------------------------------


def probation_reminders(*, actor: Actor) -> int:
    """预备期满提醒: a month before a probationary member's year ends, the secretary (and
    organization member) whose post carries an account is texted once, by the outbox, to
    hold the assembly that decides on 转正; each reminder is audited on the member. Keyed
    by member, date and recipient: safe to run twice, and a probation extended is reminded
    again. Returns the messages queued."""
    from jiceng.core.models import OutboxMessage

    today = timezone.localdate()
    due = PartyMember.objects.filter(probation_due_q(today), left_on__isnull=True).select_related(
        "organization"
    )
    keepers: dict[int, list[User]] = {}
    for appointment in Appointment.objects.filter(
        organization__in=due.values("organization"),
        ended_on__isnull=True,
        post__in=list(Appointment.ASSIGNED),
        account__isnull=False,
        account__is_active=True,
    ).select_related("account"):
        keepers.setdefault(appointment.organization_id, []).append(appointment.account)
    planned: list[tuple[PartyMember, outbox.Message]] = []
    for member in due:
        ends = member.probation_ends_on
        for user in keepers.get(member.organization_id, []):
            if clear(user.phone):
                message = outbox.sms(
                    phone=user.phone,
                    template="party_probation_due",
                    params={
                        "organization": member.organization.name[:20],
                        "name": member.name[:10],
                        "ends": f"{ends:%-m月%-d日}",
                    },
                    key=f"party:probation:{member.pk}:{ends}:{user.pk}",
                )
                planned.append((member, message))
    sent = set(
        OutboxMessage.objects.filter(key__in=[m.key for _, m in planned]).values_list(
            "key", flat=True
        )
    )
    planned = [(member, m) for member, m in planned if m.key not in sent]
    with transaction.atomic():
        outbox.put([m for _, m in planned])
        for member in {member.pk: member for member, _ in planned}.values():
            audit.record(
                actor=actor,
                action="party.probation_remind",
                obj=member,
                detail={"ends": str(member.probation_ends_on)},
            )
    return len(planned)
