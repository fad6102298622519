"""Every change to activities, teams, venues, needs and sign-ups. A step of the declared
process runs on the one process runner (core.process) with the table of
activities.workflow: it locks the activity row, checks its status and the actor's right,
changes it with a conditional update (the iCalendar SEQUENCE grows in the database, never
from a stale read), and appends an ActivityEvent and an audit record. Every service takes
the typed actor (core.actors.Actor) first: staff, or the resident who signs up, checks
in, or leads the team."""

import hashlib
import hmac
import secrets
import time
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone

from jiceng.activities.models import (
    Activity,
    Need,
    ServiceType,
    SignUp,
    TeamMember,
    Venue,
    VolunteerTeam,
)
from jiceng.activities.workflow import (
    ATTENDANCE,
    CHECK_IN,
    CHECK_IN_EARLY,
    LEADER,
    PROCESS,
    SIGNUP_OPEN,
    WITHDRAWABLE,
    leader_label,
)
from jiceng.core import audit, outbox
from jiceng.core.access import has_permission, require
from jiceng.core.actors import Actor
from jiceng.core.errors import DomainError, NotFound
from jiceng.core.process import actor_required
from jiceng.core.region_codes import COMMUNITY, GRID, level_of, town_of
from jiceng.points.services import Award, points_award, team_account
from jiceng.residents.services import is_self, own_resident_id

A = Activity.Status
Attendance = SignUp.Attendance
CODE_SECONDS = 20  # the check-in code shown by the leader changes this often
# From opening the check-in page with a fresh code to tapping 确认签到: the tap may come
# this much later (seconds), in the session that opened it.
SCAN_GRACE = 120


def _resident(actor) -> "Actor":
    """The actor of a resident's own action (a sign-up, a check-in)."""
    actor = actor_required(actor)
    if not actor.is_resident:
        raise NotFound()
    return actor


def _leader_or_staff(actor: Actor, activity: Activity) -> None:
    if LEADER(actor, activity) or has_permission(actor, "activities.manage", activity.region_code):
        return
    raise NotFound()


# --- venues, teams, needs ------------------------------------------------------------------


@transaction.atomic
def venue_create(
    *,
    actor: Actor,
    region_code: str,
    name: str,
    kind: str,
    capacity: int,
    opens_at,
    closes_at,
    address: str = "",
) -> Venue:
    require(actor, "activities.manage", region_code)
    if (
        kind not in Venue.Kind.values
        or not 1 <= capacity <= 100_000
        or closes_at <= opens_at
        or not name.strip()
    ):
        raise DomainError("请完整填写阵地名称、类型、容纳人数和开放时间。", code="venue_invalid")
    venue = Venue.objects.create(
        region_code=region_code,
        name=name.strip()[:64],
        kind=kind,
        capacity=capacity,
        opens_at=opens_at,
        closes_at=closes_at,
        address=address[:200],
    )
    audit.record(actor=actor, action="venue.create", obj=venue)
    return venue


@transaction.atomic
def team_create(
    *, actor: Actor, region_code: str, name: str, leader, service_types=(), description: str = ""
) -> VolunteerTeam:
    require(actor, "activities.manage", region_code)
    if not name.strip():
        raise DomainError("请填写队伍名称。", code="name_required", field="name")
    try:
        with transaction.atomic():
            team = VolunteerTeam.objects.create(
                region_code=region_code,
                name=name.strip()[:64],
                leader=leader,
                description=description[:300],
            )
    except IntegrityError:
        raise DomainError("本社区已有同名队伍。", code="team_name_taken") from None
    team.service_types.set(service_types)
    TeamMember.objects.create(team=team, resident=leader)
    team_account(team, region_code)
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


def _check_venue(
    venue: Venue | None,
    region_code: str,
    starts_at,
    ends_at,
    capacity: int,
    exclude: int | None = None,
) -> None:
    """The venue belongs to the community, is open then, holds everyone, and is free.
    The venue row is locked, so two bookings of it cannot both see it free."""
    if venue is None:
        return
    venue = Venue.objects.select_for_update().get(pk=venue.pk)
    if venue.region_code != region_code or not venue.is_active:
        raise DomainError("阵地不属于本社区或已停用。", code="venue_invalid", field="venue")
    local_start, local_end = timezone.localtime(starts_at), timezone.localtime(ends_at)
    if local_start.date() != local_end.date() or not (
        venue.opens_at <= local_start.time() and local_end.time() <= venue.closes_at
    ):
        raise DomainError(
            f"阵地开放时间为 {venue.opens_at:%H:%M}–{venue.closes_at:%H:%M}。",
            code="venue_closed",
            field="venue",
        )
    if capacity > venue.capacity:
        raise DomainError(
            f"阵地最多容纳 {venue.capacity} 人。", code="venue_too_small", field="capacity"
        )
    clash = (
        Activity.objects.filter(venue=venue, starts_at__lt=ends_at, ends_at__gt=starts_at)
        .exclude(status__in=(A.CANCELLED, A.DRAFT))
        .exclude(pk=exclude)
        .first()
    )
    if clash:
        raise DomainError(
            f"该时段阵地已被“{clash.title}”预约。", code="venue_booked", field="venue"
        )


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
    """A draft activity for next month's plan, optionally answering recorded needs."""
    require(actor, "activities.manage", region_code)
    if level_of(region_code) != COMMUNITY:
        raise DomainError("活动由社区（村）策划。", code="community_required")
    if not title.strip():
        raise DomainError("请填写活动名称。", code="title_required", field="title")
    if ends_at <= starts_at:
        raise DomainError("结束时间须晚于开始时间。", code="times_invalid", field="ends_at")
    if starts_at < timezone.now():
        raise DomainError("不能策划已经开始的活动。", code="times_past", field="starts_at")
    if not 1 <= capacity <= 10_000 or not 0 <= points <= 1000:
        raise DomainError("名额须为1至10000，积分须为0至1000。", code="numbers_invalid")
    _check_venue(venue, region_code, starts_at, ends_at, capacity)
    activity = Activity.objects.create(
        region_code=region_code,
        title=title.strip()[:80],
        description=description[:2000],
        service_type=service_type,
        venue=venue,
        place=place[:200],
        starts_at=starts_at,
        ends_at=ends_at,
        capacity=capacity,
        points=points,
        holiday_tag=holiday_tag[:16],
        created_by=actor_required(actor).user,
        check_in_secret=secrets.token_hex(16),
    )
    Need.objects.filter(pk__in=[n.pk for n in needs], region_code__within=region_code).update(
        activity=activity
    )
    PROCESS.started(activity, actor=actor, action="create")
    return activity


def activity_publish(*, actor: Actor, activity: Activity) -> Activity:
    return PROCESS.run(activity, "publish", actor=actor)


def activity_claim(*, actor: Actor, activity: Activity, team: VolunteerTeam) -> Activity:
    """抢单: the first team's leader to claim wins. The status moves with one conditional
    update, so of any number of simultaneous claims exactly one succeeds."""
    actor = _resident(actor)
    if team.leader_id != actor.resident.pk or not team.is_active:
        raise NotFound()
    if town_of(team.region_code) != town_of(activity.region_code):
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
    """派单: the community gives the activity to a team."""
    if town_of(team.region_code) != town_of(activity.region_code) or not team.is_active:
        raise DomainError("只能派给本街道（乡镇）的队伍。", code="team_far_away")
    return PROCESS.run(activity, "assign", actor=actor, team=team, assigned=True)


def _as_leader(actor: Actor, activity: Activity) -> str:
    """The label of a step the team's leader takes (else the actor's own)."""
    actor = actor_required(actor)
    return leader_label(actor, activity.team) if LEADER(actor, activity) else ""


def activity_open_signup(*, actor: Actor, activity: Activity) -> Activity:
    """By staff, or by the leader of the activity's team."""
    return PROCESS.run(activity, "open_signup", actor=actor, label=_as_leader(actor, activity))


def activity_hold(*, actor: Actor, activity: Activity) -> Activity:
    """活动开始: from half an hour before the start; sign-up closes."""
    return PROCESS.run(activity, "hold", actor=actor, label=_as_leader(actor, activity))


def _hours(start, end, activity: Activity) -> Decimal:
    start, end = max(start, activity.starts_at), min(end, activity.ends_at)
    return Decimal(max(0, (end - start).total_seconds()) / 3600).quantize(Decimal("0.01"))


def _attendance_hours(signup: SignUp, activity: Activity, *, final: bool = False) -> Decimal:
    """The service hours of an attendance: none unless confirmed; from check-in to
    check-out; the whole activity for someone the leader confirmed without a check-in (no
    phone). Once attendance is final, whoever has not checked out is counted to the end,
    or to this moment if the leader closes attendance before the end."""
    if signup.attendance != Attendance.CONFIRMED:
        return Decimal(0)
    end = min(timezone.now(), activity.ends_at) if final else activity.ends_at
    if signup.checked_in_at is None:
        return _hours(activity.starts_at, end, activity)
    end = signup.checked_out_at or (end if final else None)
    return _hours(signup.checked_in_at, end, activity) if end else Decimal(0)


def _no_claims_left(activity: Activity) -> None:
    """Attendance is final only when every check-in has been confirmed or struck out: a
    check-in alone is a claim, never paid."""
    pending = activity.signups.filter(
        status=SignUp.Status.CONFIRMED, attendance=Attendance.CLAIMED
    ).count()
    if pending:
        raise DomainError(
            f"还有 {pending} 人已签到待确认，请先确认出勤或划去。", code="attendance_pending"
        )


def activity_complete(*, actor: Actor, activity: Activity) -> Activity:
    """确认出勤: attendance is final once no check-in waits for the leader; those confirmed
    but not checked out are counted to the end (to now, closed before the end)."""

    def count_the_rest(completed: Activity) -> None:
        for signup in completed.signups.filter(
            status=SignUp.Status.CONFIRMED,
            attendance=Attendance.CONFIRMED,
            checked_out_at__isnull=True,
        ):
            signup.hours = _attendance_hours(signup, completed, final=True)
            signup.save(update_fields=["hours"])

    return PROCESS.run(
        activity,
        "complete",
        actor=actor,
        check=_no_claims_left,
        effects=count_the_rest,
        label=_as_leader(actor, activity),
    )


def activity_settle(*, actor: Actor, activity: Activity) -> Activity:
    """结算: post the activity's points to each confirmed attendance (key
    checkin:<sign-up>; a check-in the leader did not confirm is paid nothing) and to the
    team; then the activity is settled. Settling twice posts nothing twice."""
    actor = actor_required(actor)
    with transaction.atomic():
        activity = PROCESS.run(activity, "settle", actor=actor)
        attended = list(
            activity.signups.filter(
                status=SignUp.Status.CONFIRMED, attendance=Attendance.CONFIRMED
            ).select_related("resident")
        )
        if activity.points:
            awards = [
                Award(
                    key=f"checkin:{signup.pk}",
                    memo=f"参加活动：{activity.title}",
                    points=activity.points,
                    resident=signup.resident,
                )
                for signup in attended
            ]
            if activity.team_id and attended:
                awards.append(
                    Award(
                        key=f"activity:{activity.pk}:team",
                        memo=f"承办活动：{activity.title}",
                        points=activity.points,
                        team=activity.team,
                    )
                )
            points_award(actor=actor, region_code=activity.region_code, awards=awards)
    return activity


def _tell_signed_up(activity: Activity, template: str, cause: str, expires_at, **params) -> None:
    """An SMS to everyone signed up or waiting, queued in the change's transaction (and
    sent by the worker once it commits); `cause` names the change in each message's key."""
    signups = activity.signups.exclude(status=SignUp.Status.CANCELLED).values_list(
        "pk", "resident__phone"
    )
    outbox.put(
        outbox.sms(
            phone=phone,
            template=template,
            params={"title": activity.title, **params},
            key=f"activity:{activity.pk}:{cause}:signup:{signup_pk}",
            expires_at=expires_at,
        )
        for signup_pk, phone in signups
    )


def activity_cancel(*, actor: Actor, activity: Activity, reason: str) -> Activity:
    """取消: signed-up residents are told by SMS (queued with the cancellation)."""
    if not reason.strip():
        raise DomainError("取消活动须说明原因。", code="reason_required", field="reason")
    return PROCESS.run(
        activity,
        "cancel",
        actor=actor,
        note=reason[:300],
        cancel_reason=reason.strip()[:200],
        effects=lambda cancelled: _tell_signed_up(
            cancelled,
            "activity_cancelled",
            cause="cancel",
            expires_at=cancelled.ends_at,
            reason=reason.strip()[:40],
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
    """Reschedule or move an activity that has not started; its iCalendar SEQUENCE grows
    and those signed up are told of a new time."""
    moved = False

    def changes(locked: Activity) -> dict:
        nonlocal moved
        starts, ends = starts_at or locked.starts_at, ends_at or locked.ends_at
        places = capacity or locked.capacity
        if ends <= starts:
            raise DomainError("结束时间须晚于开始时间。", code="times_invalid")
        if starts < timezone.now():
            raise DomainError("不能改到已经过去的时间。", code="times_past")
        if places < locked.signups.filter(status=SignUp.Status.CONFIRMED).count():
            raise DomainError("名额不能少于已报名人数。", code="capacity_below_signups")
        where = venue if venue is not None else locked.venue
        _check_venue(where, locked.region_code, starts, ends, places, exclude=locked.pk)
        moved = (starts, ends) != (locked.starts_at, locked.ends_at)
        new = {"starts_at": starts, "ends_at": ends, "capacity": places, "venue": where}
        if place is not None:
            new["place"] = place[:200]
        return new

    def tell(updated: Activity) -> None:
        if moved:
            _tell_signed_up(
                updated,
                "activity_moved",
                cause=f"moved:{updated.sequence}",
                expires_at=updated.starts_at,
                starts=f"{timezone.localtime(updated.starts_at):%m月%d日 %H:%M}",
            )

    return PROCESS.run(
        activity,
        "update",
        actor=actor,
        derive=changes,
        note=lambda updated: (
            f"改为 {timezone.localtime(updated.starts_at):%m月%d日 %H:%M}" if moved else ""
        ),
        effects=tell,
    )


# --- sign-up, check-in, attendance ----------------------------------------------------------


def signup_create(*, actor: Actor, activity: Activity) -> SignUp:
    """报名: a place if there is one, otherwise the waitlist. The activity row is locked,
    so two sign-ups for the last place cannot both get it."""
    actor = _resident(actor)
    resident = actor.resident
    with transaction.atomic():
        locked = Activity.objects.select_for_update().get(pk=activity.pk)
        if locked.status not in SIGNUP_OPEN:
            raise DomainError("该活动现在不接受报名。", code="signup_closed")
        if locked.starts_at <= timezone.now():
            raise DomainError("活动已经开始，不能报名。", code="signup_closed")
        existing = SignUp.objects.filter(activity=locked, resident=resident).first()
        if existing and existing.status != SignUp.Status.CANCELLED:
            raise DomainError("您已经报过名了。", code="already_signed_up")
        confirmed = locked.signups.filter(status=SignUp.Status.CONFIRMED).count()
        status = (
            SignUp.Status.CONFIRMED if confirmed < locked.capacity else SignUp.Status.WAITLISTED
        )
        if existing:
            existing.status = status
            existing.created_at = timezone.now()
            existing.save(update_fields=["status", "created_at"])
            signup = existing
        else:
            signup = SignUp.objects.create(activity=locked, resident=resident, status=status)
        audit.record(
            actor=actor,
            action="activity.signup",
            obj=signup,
            region_code=locked.region_code,
            detail={"status": status},
        )
    return signup


def signup_cancel(*, actor: Actor, signup: SignUp) -> SignUp:
    """Withdraw; the first on the waitlist takes the place (and is told)."""
    actor = _resident(actor)
    if signup.resident_id != actor.resident.pk:
        raise NotFound()
    with transaction.atomic():
        activity = Activity.objects.select_for_update().get(pk=signup.activity_id)
        if activity.status not in WITHDRAWABLE:
            raise DomainError("活动已开始或已结束，不能取消报名。", code="signup_closed")
        signup = SignUp.objects.select_for_update().get(pk=signup.pk)
        if signup.status == SignUp.Status.CANCELLED:
            return signup
        was_confirmed = signup.status == SignUp.Status.CONFIRMED
        signup.status = SignUp.Status.CANCELLED
        signup.save(update_fields=["status"])
        if was_confirmed:
            first = (
                activity.signups.filter(status=SignUp.Status.WAITLISTED)
                .order_by("created_at", "id")
                .first()
            )
            if first:
                first.status = SignUp.Status.CONFIRMED
                first.save(update_fields=["status"])
                outbox.put(
                    [
                        outbox.sms(
                            phone=first.resident.phone,
                            template="waitlist_promoted",
                            params={"title": activity.title},
                            key=f"signup:{first.pk}:promoted:{first.created_at.isoformat()}",
                            expires_at=activity.starts_at,
                        )
                    ]
                )
        audit.record(
            actor=actor,
            action="activity.signup_cancel",
            obj=signup,
            region_code=activity.region_code,
        )
    return signup


def check_in_step(at: float | None = None) -> int:
    """The number of the CODE_SECONDS step a moment falls in (a check-in records it)."""
    return int((time.time() if at is None else at) // CODE_SECONDS)


def _code(activity: Activity, step: int) -> str:
    digest = hmac.new(activity.check_in_secret.encode(), str(step).encode(), hashlib.sha256)
    return digest.hexdigest()[:10]


def check_in_code(activity: Activity, at: float | None = None) -> str:
    """The code the leader shows now; it changes every CODE_SECONDS seconds."""
    return _code(activity, check_in_step(at))


def check_in_scan(*, activity: Activity, code: str, at: float | None = None) -> int:
    """The step of a code opened at `at` (now): the current or the previous step only, so
    a photo or a link sent to a chat is stale well within a minute."""
    now = check_in_step(at)
    for step in (now, now - 1):
        if hmac.compare_digest(code or "", _code(activity, step)):
            return step
    raise DomainError("签到码已过期，请扫描现场屏幕上最新的签到码。", code="code_stale")


def signup_check_in(
    *, actor: Actor, activity: Activity, code: str, scanned_at: float | None = None
) -> SignUp:
    """签到: claims attendance with the leader's code; the leader then confirms or strikes
    it (only confirmed attendance is paid). The code must have been fresh when this
    resident's phone opened it: `scanned_at`, kept in their session by the check-in page
    so that the tap may follow a little later (at most SCAN_GRACE), else now. The step of
    the code used is recorded with the check-in."""
    actor = _resident(actor)
    resident = actor.resident
    now = time.time()
    opened = scanned_at if scanned_at is not None and 0 <= now - scanned_at <= SCAN_GRACE else now
    step = check_in_scan(activity=activity, code=code, at=opened)
    with transaction.atomic():
        activity = Activity.objects.select_for_update().get(pk=activity.pk)
        moment = timezone.now()
        if activity.status not in CHECK_IN or not (
            activity.starts_at - CHECK_IN_EARLY <= moment <= activity.ends_at
        ):
            raise DomainError("现在不在签到时间内。", code="checkin_closed")
        signup = SignUp.objects.filter(
            activity=activity, resident=resident, status=SignUp.Status.CONFIRMED
        ).first()
        if signup is None:
            raise DomainError("您没有这个活动的名额，请先报名。", code="not_signed_up")
        if signup.checked_in_at or signup.attendance == Attendance.CONFIRMED:
            raise DomainError("您已经签到过了。", code="already_checked_in")
        signup.checked_in_at = moment
        signup.check_in_step = step
        signup.attendance = Attendance.CLAIMED
        signup.save(update_fields=["checked_in_at", "check_in_step", "attendance"])
        audit.record(
            actor=actor,
            action="activity.check_in",
            obj=signup,
            region_code=activity.region_code,
            detail={"step": step},
        )
    return signup


@transaction.atomic
def signup_check_out(*, actor: Actor, activity: Activity) -> SignUp:
    """签退: the service hours are the time between check-in and now, within the activity."""
    actor = _resident(actor)
    resident = actor.resident
    # The activity first, then the sign-up: the order attendance is marked in.
    if Activity.objects.select_for_update().get(pk=activity.pk).status not in CHECK_IN:
        # Once attendance is confirmed the hours are final: they are paid from them.
        raise DomainError("活动已确认出勤，不能再签退。", code="attendance_closed")
    signup = (
        SignUp.objects.select_for_update()
        .filter(
            activity=activity,
            resident=resident,
            checked_in_at__isnull=False,
            checked_out_at__isnull=True,
        )
        .exclude(attendance=Attendance.STRUCK)
        .first()
    )
    if signup is None:
        raise DomainError("您还没有签到，或已经签退了。", code="not_checked_in")
    now = timezone.now()
    signup.checked_out_at = now
    signup.hours = _hours(signup.checked_in_at, now, activity)
    signup.save(update_fields=["checked_out_at", "hours"])
    audit.record(
        actor=actor, action="activity.check_out", obj=signup, region_code=activity.region_code
    )
    return signup


def _attendance_open(actor: Actor, activity: Activity) -> None:
    """The leader of the activity's team, or staff, while attendance is open: from half
    an hour before the start (nobody can have attended before) until it is final."""
    _leader_or_staff(actor, activity)
    if activity.status not in ATTENDANCE or timezone.now() < activity.starts_at - CHECK_IN_EARLY:
        raise DomainError("现在不能确认出勤。", code="attendance_closed")


def _mark(actor: Actor, activity: Activity, signups: list[SignUp], attended: bool) -> None:
    """Confirm or strike locked sign-ups; those already so are left as they are (confirming
    twice records, and so pays, once)."""
    to = Attendance.CONFIRMED if attended else Attendance.STRUCK
    changed = [s for s in signups if s.attendance != to]
    for signup in changed:
        signup.attendance = to
        signup.hours = _attendance_hours(signup, activity)
        signup.save(update_fields=["attendance", "hours"])
    audit.record_all(
        [
            audit.event(
                actor=actor,
                action="activity.attendance",
                obj=signup,
                region_code=activity.region_code,
                detail={"attended": attended, "checked_in": signup.checked_in_at is not None},
            )
            for signup in changed
        ]
    )


@transaction.atomic
def attendance_mark(*, actor: Actor, signup: SignUp, attended: bool) -> SignUp:
    """The leader (or staff) confirms one attendance (a check-in, or someone there without
    a phone, counted for the whole activity) or strikes it out (a check-in by someone who
    was not there: a link forwarded to a chat)."""
    actor = actor_required(actor)
    # Locked, so that attendance cannot change while it is being confirmed (complete).
    activity = Activity.objects.select_for_update().get(pk=signup.activity_id)
    _attendance_open(actor, activity)
    signup = SignUp.objects.select_for_update().get(pk=signup.pk)
    if signup.status != SignUp.Status.CONFIRMED:
        raise DomainError("该居民没有这个活动的名额。", code="attendance_closed")
    if is_self(actor, signup.resident_id):
        raise DomainError("不能确认或划掉本人的出勤，请由社区工作人员确认。", code="own_attendance")
    _mark(actor, activity, [signup], attended)
    return signup


@transaction.atomic
def attendance_confirm_claims(*, actor: Actor, activity: Activity) -> int:
    """全部确认: the leader confirms every check-in still waiting, at once, but their own
    (which staff confirm); returns how many."""
    actor = actor_required(actor)
    activity = Activity.objects.select_for_update().get(pk=activity.pk)
    _attendance_open(actor, activity)
    claims = list(
        SignUp.objects.select_for_update()
        .filter(activity=activity, status=SignUp.Status.CONFIRMED, attendance=Attendance.CLAIMED)
        .order_by("pk")
    )
    own = own_resident_id(actor)
    claims = [claim for claim in claims if claim.resident_id != own]
    _mark(actor, activity, claims, True)
    return len(claims)
