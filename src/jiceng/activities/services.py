"""Every change to activities, teams and needs. A step of the declared process runs on
the one process runner (core.process) with the table of activities.workflow: it locks
the activity row, checks its status and the actor's right, changes it with a conditional
update, and appends an ActivityEvent and an audit record. The activity's time, venue,
sign-up, check-in and attendance are its gathering's (gatherings.services): a step moves
the gathering's phase with it, in the same transaction. Every service takes the typed
actor (core.actors.Actor) first: staff, or the resident who leads the team."""

from django.db import IntegrityError, transaction
from django.utils import timezone

from jiceng.activities.models import Activity, Need, ServiceType, TeamMember, VolunteerTeam
from jiceng.activities.selectors import team_reach
from jiceng.activities.workflow import LEADER, PHASE, PROCESS, leader_label
from jiceng.core import audit
from jiceng.core.access import has_permission, require
from jiceng.core.actors import Actor
from jiceng.core.errors import DomainError, NotFound
from jiceng.core.process import actor_required
from jiceng.core.region_codes import (
    COMMUNITY,
    COUNTY,
    GRID,
    TOWN,
    is_within,
    level_of,
)
from jiceng.gatherings import services as gatherings
from jiceng.gatherings.models import SignUp, Venue
from jiceng.points.services import Award, points_award, team_account

A = Activity.Status
KIND = "activity"


# --- teams, needs ------------------------------------------------------------------


@transaction.atomic
def team_create(
    *,
    actor: Actor,
    region_code: str,
    name: str,
    leader,
    service_types=(),
    description: str = "",
    parent: VolunteerTeam | None = None,
    led_by=None,
) -> VolunteerTeam:
    """A volunteer team at a community, a town or the county; a sub-team names its
    parent, a team of its own node or one above (a retirees' corps and its branches). A
    party organization of the team's region (or the one its region lies in) may lead it
    (党组织领办)."""
    require(actor, "activities.manage", region_code)
    if led_by is not None:
        if not has_permission(actor, "party.view", obj=led_by):
            raise NotFound()
        if not led_by.is_open or not (
            is_within(led_by.region_code, region_code) or is_within(region_code, led_by.region_code)
        ):
            raise DomainError(
                "领办党组织须在队伍所属区划内（或其上级），且未撤销。",
                code="led_by_invalid",
                field="led_by",
            )
    if not name.strip():
        raise DomainError("请填写队伍名称。", code="name_required", field="name")
    if level_of(region_code) not in (COMMUNITY, TOWN, COUNTY):
        raise DomainError("队伍设在社区（村）、街道（乡镇）或县。", code="region_invalid")
    if parent is not None and not is_within(region_code, parent.region_code):
        raise DomainError("上级队伍须在本区划或上级区划。", code="parent_invalid")
    try:
        with transaction.atomic():
            team = VolunteerTeam.objects.create(
                region_code=region_code,
                name=name.strip()[:64],
                leader=leader,
                parent=parent,
                led_by=led_by,
                description=description[:300],
            )
    except IntegrityError:
        raise DomainError("本区划已有同名队伍。", code="team_name_taken") from None
    team.service_types.set(service_types)
    TeamMember.objects.create(team=team, resident=leader)
    if level_of(region_code) == COMMUNITY:
        team_account(team, region_code)  # a team above one earns in each activity's ledger
    audit.record(actor=actor, action="team.create", obj=team)
    return team


def team_member_add(
    *, actor: Actor, team: VolunteerTeam, resident, kind: str = TeamMember.Kind.RESIDENT
) -> TeamMember:
    """The team's leader, or community staff, add a member."""
    actor = actor_required(actor)
    if actor.is_resident:
        if team.leader_id != actor.resident.pk:
            raise NotFound()
    else:
        require(actor, "activities.manage", team.region_code)
    if kind not in TeamMember.Kind.values:
        raise DomainError("身份无效。", code="kind_invalid")
    member, created = TeamMember.objects.get_or_create(
        team=team, resident=resident, defaults={"kind": kind}
    )
    if not created:
        raise DomainError("已经是队员了。", code="already_member")
    audit.record(actor=actor, action="team.member_add", obj=team, detail={"resident": resident.pk})
    return member


@transaction.atomic
def need_record(
    *, actor: Actor, region_code: str, text: str, service_type: ServiceType | None = None
) -> Need:
    """A resident's need, as a grid worker heard it."""
    actor = actor_required(actor)
    require(actor, "activities.needs", region_code)
    if level_of(region_code) != GRID:
        raise DomainError("需求登记到网格。", code="grid_required")
    if not text.strip():
        raise DomainError("请填写需求。", code="text_required", field="text")
    need = Need.objects.create(
        region_code=region_code,
        text=text.strip()[:300],
        service_type=service_type,
        recorded_by=actor.user,
    )
    audit.record(actor=actor, action="need.record", obj=need)
    return need


# --- planning ------------------------------------------------------------------------------


@transaction.atomic
def activity_create(
    *,
    actor: Actor,
    region_code: str,
    title: str,
    service_type: ServiceType,
    starts_at,
    ends_at,
    capacity: int,
    points: int = 0,
    venue: Venue | None = None,
    place: str = "",
    description: str = "",
    holiday_tag: str = "",
    needs=(),
) -> Activity:
    """A draft activity for next month's plan, optionally answering recorded needs; its
    gathering is scheduled with it (a draft books no venue yet, but must fit)."""
    require(actor, "activities.manage", region_code)
    if level_of(region_code) != COMMUNITY:
        raise DomainError("活动由社区（村）策划。", code="community_required")
    if not title.strip():
        raise DomainError("请填写活动名称。", code="title_required", field="title")
    if not 0 <= points <= 1000:  # the times and places are the gathering's to check
        raise DomainError("积分须为0至1000。", code="numbers_invalid", field="points")
    gathering = gatherings.gathering_schedule(
        actor=actor,
        kind=KIND,
        region_code=region_code,
        title=title,
        starts_at=starts_at,
        ends_at=ends_at,
        capacity=capacity,
        venue=venue,
        place=place,
        description=description,
    )
    activity = Activity.objects.create(
        region_code=region_code,
        gathering=gathering,
        service_type=service_type,
        points=points,
        holiday_tag=holiday_tag[:16],
        created_by=actor_required(actor).user,
    )
    Need.objects.filter(pk__in=[n.pk for n in needs], region_code__within=region_code).update(
        activity=activity
    )
    PROCESS.started(activity, actor=actor, action="create")
    return activity


def _moves_gathering(actor: Actor, **extra):
    """The effect of a step on the activity's gathering: the phase of its new state."""

    def effect(activity: Activity) -> None:
        gatherings.gathering_phase(
            actor=actor, gathering=activity.gathering, phase=PHASE[activity.status], **extra
        )

    return effect


def activity_publish(*, actor: Actor, activity: Activity) -> Activity:
    """发布: the activity is on the public calendar and holds its venue from now on."""
    return PROCESS.run(
        activity, "publish", actor=actor, effects=_moves_gathering(actor, public=True)
    )


def activity_claim(*, actor: Actor, activity: Activity, team: VolunteerTeam) -> Activity:
    """抢单: the first team's leader to claim wins. The status moves with one conditional
    update, so of any number of simultaneous claims exactly one succeeds."""
    actor = gatherings.resident_actor(actor)
    if team.leader_id != actor.resident.pk or not team.is_active:
        raise NotFound()
    if not is_within(activity.region_code, team_reach(team)):
        raise DomainError("只能认领本街道（乡镇）的活动。", code="team_far_away")

    def taken(current: Activity) -> DomainError:
        if current.team_id:
            return DomainError("来晚了，该活动已被其他队伍认领。", code="already_claimed")
        return DomainError("该活动现在不能认领。", code="invalid_transition")

    return PROCESS.run(
        activity,
        "claim",
        actor=actor,
        wrong_state=taken,
        label=leader_label(actor, team),
        detail={"team": team.pk},
        team=team,
        assigned=False,
    )


def activity_assign(*, actor: Actor, activity: Activity, team: VolunteerTeam) -> Activity:
    """派单: the community gives the activity to a team (a draft is published with it)."""
    if not is_within(activity.region_code, team_reach(team)) or not team.is_active:
        raise DomainError("只能派给本街道（乡镇）的队伍。", code="team_far_away")
    return PROCESS.run(
        activity,
        "assign",
        actor=actor,
        team=team,
        assigned=True,
        effects=_moves_gathering(actor, public=True),
    )


def _as_leader(actor: Actor, activity: Activity) -> str:
    """The label of a step the team's leader takes (else the actor's own)."""
    actor = actor_required(actor)
    return leader_label(actor, activity.team) if LEADER(actor, activity) else ""


def activity_open_signup(*, actor: Actor, activity: Activity) -> Activity:
    """By staff, or by the leader of the activity's team."""
    return PROCESS.run(
        activity,
        "open_signup",
        actor=actor,
        label=_as_leader(actor, activity),
        effects=_moves_gathering(actor),
    )


def activity_hold(*, actor: Actor, activity: Activity) -> Activity:
    """活动开始: from half an hour before the start; sign-up closes, check-in stays open."""
    return PROCESS.run(
        activity,
        "hold",
        actor=actor,
        label=_as_leader(actor, activity),
        effects=_moves_gathering(actor),
    )


def activity_complete(*, actor: Actor, activity: Activity) -> Activity:
    """确认出勤: attendance is final once no check-in waits for the leader (the
    gathering's attendance_close counts the rest and refuses while one does)."""
    return PROCESS.run(
        activity,
        "complete",
        actor=actor,
        effects=lambda completed: gatherings.attendance_close(
            actor=actor, gathering=completed.gathering
        ),
        label=_as_leader(actor, activity),
    )


def activity_settle(*, actor: Actor, activity: Activity) -> Activity:
    """结算: post the activity's points to each confirmed attendance (key
    checkin:<sign-up>; a check-in the leader did not confirm is paid nothing) and to the
    team, in the ledger of the activity's community; then the activity is settled.
    Someone on the roster by their register record is paid in their account if they have
    one (points are held by accounts). Settling twice posts nothing twice."""
    actor = actor_required(actor)
    with transaction.atomic():
        activity = PROCESS.run(activity, "settle", actor=actor)
        attended = list(
            SignUp.objects.filter(
                gathering_id=activity.gathering_id,
                status=SignUp.Status.CONFIRMED,
                attendance=SignUp.Attendance.CONFIRMED,
            ).select_related("resident", "person__resident")
        )
        title = activity.gathering.title
        if activity.points:
            awards = [
                Award(
                    key=f"checkin:{signup.pk}",
                    memo=f"参加活动：{title}",
                    points=activity.points,
                    resident=resident,
                )
                for signup in attended
                if (resident := signup.account)
            ]
            if activity.team_id and attended:
                awards.append(
                    Award(
                        key=f"activity:{activity.pk}:team",
                        memo=f"承办活动：{title}",
                        points=activity.points,
                        team=activity.team,
                    )
                )
            points_award(actor=actor, region_code=activity.region_code, awards=awards)
    return activity


def activity_cancel(*, actor: Actor, activity: Activity, reason: str) -> Activity:
    """取消: the venue is free again; signed-up residents are told by SMS (queued with the
    cancellation)."""
    if not reason.strip():
        raise DomainError("取消活动须说明原因。", code="reason_required", field="reason")
    return PROCESS.run(
        activity,
        "cancel",
        actor=actor,
        note=reason[:300],
        effects=lambda cancelled: gatherings.gathering_cancel(
            actor=actor, gathering=cancelled.gathering, reason=reason
        ),
    )


def activity_update(
    *,
    actor: Actor,
    activity: Activity,
    starts_at=None,
    ends_at=None,
    venue=None,
    place: str | None = None,
    capacity: int | None = None,
) -> Activity:
    """Reschedule or move an activity that has not started: its gathering is booked
    again and those signed up are told of a new time."""
    moved = False

    def move(locked: Activity) -> None:
        nonlocal moved
        before = (locked.gathering.starts_at, locked.gathering.ends_at)
        changed = gatherings.gathering_update(
            actor=actor,
            gathering=locked.gathering,
            starts_at=starts_at,
            ends_at=ends_at,
            venue=venue,
            place=place,
            capacity=capacity,
        )
        moved = (changed.starts_at, changed.ends_at) != before
        locked.gathering = changed

    return PROCESS.run(
        activity,
        "update",
        actor=actor,
        check=move,
        note=lambda updated: (
            f"改为 {timezone.localtime(updated.gathering.starts_at):%m月%d日 %H:%M}"
            if moved
            else ""
        ),
    )
