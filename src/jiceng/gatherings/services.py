"""Every change to venues, gatherings, sign-ups and attendance. The app owning a kind
authorizes its own steps and calls these for the part that is a gathering's: scheduling
it on a venue that is free (authorized by that app alone: there is no gathering yet to
ask), moving it, setting its phase from its own process, cancelling it — each refused
here too unless the actor organizes the gathering, as its kind declares. Residents sign
up, withdraw, check in and out here; the organizer (who the kind says organizes it)
confirms, strikes, marks by hand and records leave here.

A venue row is locked while a booking is checked, and a gathering row while its places
or attendance change, so two bookings of one slot, or two sign-ups for the last place,
cannot both succeed."""

import datetime
import hashlib
import hmac
import secrets
import time
from decimal import Decimal

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from jiceng.core import audit, outbox, personal, phones
from jiceng.core.access import require
from jiceng.core.actors import Actor
from jiceng.core.errors import DomainError, NotFound
from jiceng.core.photos import clean_photo
from jiceng.core.process import actor_required
from jiceng.core.region_codes import is_within
from jiceng.gatherings.kinds import kind_of
from jiceng.gatherings.models import Gathering, Series, SheetPage, SignUp, Venue
from jiceng.gatherings.recurrence import occurrences
from jiceng.gatherings.selectors import ATTENDANCE, is_own, own_account, theirs

P = Gathering.Phase
Attendance = SignUp.Attendance
CODE_SECONDS = 20  # the check-in code shown by the organizer changes this often
# From opening the check-in page with a fresh code to tapping 确认签到: the tap may come
# this much later (seconds), in the session that opened it.
SCAN_GRACE = 120
CHECK_IN_EARLY = datetime.timedelta(minutes=30)  # check-in opens this long before the start
MAX_SHEET_PAGES = 20  # photos of a paper sign-in sheet, per gathering

# What each phase allows: residents sign up while it is open; withdraw until it is under
# way; check in, and are marked present, from the opening of sign-up until attendance is
# final (and only from half an hour before the start).
SIGNUP_OPEN = (P.OPEN,)
WITHDRAWABLE = (P.PLANNED, P.OPEN)
CHECK_IN = ATTENDANCE
CHANGEABLE = (P.DRAFT, P.PLANNED, P.OPEN)
BOOKED = (P.PLANNED, P.OPEN, P.UNDER_WAY, P.CLOSED)  # these hold their venue
SELF_SIGNUP = (Gathering.Audience.OPEN, Gathering.Audience.RESIDENTS)


def resident_actor(actor) -> Actor:
    """The actor of a resident's own action (a sign-up, a check-in)."""
    actor = actor_required(actor)
    if not actor.is_resident:
        raise NotFound()
    return actor


def organizes(actor: Actor, gathering: Gathering) -> bool:
    """Whether the actor organizes the gathering, as its kind declares."""
    return kind_of(gathering).organizes(actor, gathering)


def _organizer(actor: Actor, gathering: Gathering) -> Actor:
    actor = actor_required(actor)
    if not organizes(actor, gathering):
        raise NotFound()
    return actor


# --- venues --------------------------------------------------------------------------------


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
    """A venue at any region node: a community's 红帆驿站, a town's or the county's
    党群服务中心, the 老年大学; gatherings of that node or below book it."""
    require(actor, "gatherings.venues", region_code)
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


def _book(
    venue: Venue | None,
    region_code: str,
    starts_at,
    ends_at,
    capacity: int,
    exclude: int | None = None,
) -> None:
    """The venue serves the gathering's region (its own node or one above), is open then,
    holds everyone, and is free. The venue row is locked, so two bookings of it cannot
    both see it free."""
    if venue is None:
        return
    venue = Venue.objects.select_for_update().get(pk=venue.pk)
    if not is_within(region_code, venue.region_code) or not venue.is_active:
        raise DomainError("阵地不属于本辖区或已停用。", code="venue_invalid", field="venue")
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
            f"“{venue.name}”最多容纳 {venue.capacity} 人，本次需要 {capacity} 个名额，"
            "请选择更大的阵地，或只填写地点说明。",
            code="venue_too_small",
            field="capacity",
        )
    clash = (
        Gathering.objects.filter(
            venue=venue, starts_at__lt=ends_at, ends_at__gt=starts_at, phase__in=BOOKED
        )
        .exclude(pk=exclude)
        .first()
    )
    if clash:
        # A venue shared by several communities names only a booking of the asker's own
        # region or one already announced to the public.
        named = clash.public or clash.region_code == region_code
        raise DomainError(
            f"该时段阵地已被“{clash.title}”预约。" if named else "该时段阵地已被预约。",
            code="venue_booked",
            field="venue",
        )


def _check_times(starts_at, ends_at, capacity: int) -> None:
    if ends_at <= starts_at:
        raise DomainError("结束时间须晚于开始时间。", code="times_invalid", field="ends_at")
    if starts_at < timezone.now():
        raise DomainError("不能安排已经开始的时间。", code="times_past", field="starts_at")
    if not 1 <= capacity <= 10_000:
        raise DomainError("名额须为1至10000。", code="numbers_invalid", field="capacity")


# --- scheduling ----------------------------------------------------------------------------


@transaction.atomic
def gathering_schedule(
    *,
    actor: Actor,
    kind: str,
    region_code: str,
    title: str,
    starts_at,
    ends_at,
    capacity: int,
    venue: Venue | None = None,
    place: str = "",
    description: str = "",
    audience: str = Gathering.Audience.OPEN,
    public: bool = False,
    phase: str = P.DRAFT,
    series=None,
    occurrence=None,
) -> Gathering:
    """A gathering of a declared kind, its venue booked (a draft books nothing yet but
    must fit). The owning app has authorized the actor for its own record."""
    actor = actor_required(actor)
    if not title.strip():
        raise DomainError("请填写名称。", code="title_required", field="title")
    if audience not in Gathering.Audience.values:
        raise DomainError("参加对象无效。", code="audience_invalid", field="audience")
    _check_times(starts_at, ends_at, capacity)
    _book(venue, region_code, starts_at, ends_at, capacity)
    gathering = Gathering.objects.create(
        kind=kind,
        region_code=region_code,
        title=title.strip()[:80],
        description=description[:2000],
        starts_at=starts_at,
        ends_at=ends_at,
        venue=venue,
        place=place[:200],
        capacity=capacity,
        audience=audience,
        public=public,
        phase=phase,
        series=series,
        occurrence=occurrence,
        check_in_secret=secrets.token_hex(16),
    )
    kind_of(gathering)  # a kind nobody declared is a programming error
    audit.record(actor=actor, action="gathering.schedule", obj=gathering)
    return gathering


def _locked(gathering: Gathering) -> Gathering:
    return Gathering.objects.select_for_update().get(pk=gathering.pk)


def _save(gathering: Gathering, fields: list[str]) -> None:
    """Write the fields and grow the iCalendar SEQUENCE in the database (never from a
    stale read)."""
    gathering.updated_at = timezone.now()
    Gathering.objects.filter(pk=gathering.pk).update(
        sequence=F("sequence") + 1,
        updated_at=gathering.updated_at,
        **{name: getattr(gathering, name) for name in fields},
    )
    gathering.refresh_from_db(fields=["sequence"])


# The phases an owning app's process moves a gathering through, forward only (a step may
# stay in its phase, changing only whether it is public). A gathering is closed by
# attendance_close and cancelled by gathering_cancel, which do what those mean.
FORWARD = (P.DRAFT, P.PLANNED, P.OPEN, P.UNDER_WAY)


@transaction.atomic
def gathering_phase(
    *, actor: Actor, gathering: Gathering, phase: str, public: bool | None = None
) -> Gathering:
    """The owning app moves the gathering on with its own process (in that step's
    transaction). Leaving the draft books the venue: two drafts of one slot cannot both
    be fixed."""
    locked = _locked(gathering)
    actor = _organizer(actor, locked)
    if phase not in FORWARD or locked.phase not in FORWARD:
        raise DomainError("活动会议不能进入这一阶段。", code="invalid_transition")
    if FORWARD.index(phase) < FORWARD.index(locked.phase):
        raise DomainError("活动会议不能退回之前的阶段。", code="invalid_transition")
    return _phase(actor, locked, phase, public)


def _phase(actor: Actor, locked: Gathering, phase: str, public: bool | None = None) -> Gathering:
    if locked.phase not in BOOKED and phase in BOOKED:
        _book(locked.venue, locked.region_code, locked.starts_at, locked.ends_at,
              locked.capacity, exclude=locked.pk)  # fmt: skip
    before = locked.phase
    locked.phase = phase
    if public is not None:
        locked.public = public
    _save(locked, ["phase", "public"])
    audit.record(
        actor=actor, action="gathering.phase", obj=locked, detail={"from": before, "to": phase}
    )
    return locked


def tell_signed_up(gathering: Gathering, template: str, cause: str, expires_at, **params) -> None:
    """An SMS to everyone signed up or waiting, queued in the change's transaction (and
    sent by the worker once it commits); `cause` names the change in each message's key."""
    signups = gathering.signups.exclude(status=SignUp.Status.CANCELLED).values_list(
        "pk", "resident__phone", "person__phone"
    )
    outbox.put(
        outbox.sms(
            phone=phone,
            template=template,
            params={"title": gathering.title, **params},
            key=f"gathering:{gathering.pk}:{cause}:signup:{signup_pk}",
            expires_at=expires_at,
        )
        for signup_pk, account, register in signups
        # Someone on the roster by their register record is told at its phone, if any.
        if (phone := account or phones.mobile(personal.clear(register) or ""))
    )


@transaction.atomic
def gathering_cancel(*, actor: Actor, gathering: Gathering, reason: str) -> Gathering:
    """取消: the venue is free again; those signed up or waiting are told by SMS."""
    reason = reason.strip()
    if not reason:
        raise DomainError("取消须说明原因。", code="reason_required", field="reason")
    locked = _locked(gathering)
    actor = _organizer(actor, locked)
    if locked.phase in (P.UNDER_WAY, P.CLOSED, P.CANCELLED):
        raise DomainError("已开始或已取消，不能取消。", code="invalid_transition")
    locked.phase, locked.cancel_reason = P.CANCELLED, reason[:200]
    _save(locked, ["phase", "cancel_reason"])
    tell_signed_up(
        locked, "activity_cancelled", "cancel", expires_at=locked.ends_at, reason=reason[:40]
    )
    audit.record(actor=actor, action="gathering.cancel", obj=locked, detail={"reason": reason})
    return locked


@transaction.atomic
def gathering_update(
    *,
    actor: Actor,
    gathering: Gathering,
    starts_at=None,
    ends_at=None,
    venue=None,
    place: str | None = None,
    capacity: int | None = None,
) -> Gathering:
    """Reschedule or move a gathering that has not started: its venue is booked again,
    its iCalendar SEQUENCE grows, and those signed up are told of a new time."""
    locked = _locked(gathering)
    actor = _organizer(actor, locked)
    if locked.phase not in CHANGEABLE:
        raise DomainError("已开始或已取消，不能修改。", code="invalid_transition")
    starts, ends = starts_at or locked.starts_at, ends_at or locked.ends_at
    places = locked.capacity if capacity is None else capacity
    _check_times(starts, ends, places)
    if places < locked.signups.filter(status=SignUp.Status.CONFIRMED).count():
        raise DomainError("名额不能少于已报名人数。", code="capacity_below_signups")
    where = venue if venue is not None else locked.venue
    _book(where, locked.region_code, starts, ends, places, exclude=locked.pk)
    moved = (starts, ends) != (locked.starts_at, locked.ends_at)
    locked.starts_at, locked.ends_at, locked.capacity, locked.venue = starts, ends, places, where
    if place is not None:
        locked.place = place[:200]
    _save(locked, ["starts_at", "ends_at", "capacity", "venue", "place"])
    _promote(actor, locked)  # more places: the waitlist moves up in its order
    if moved:
        tell_signed_up(
            locked,
            "activity_moved",
            f"moved:{locked.sequence}",
            expires_at=locked.starts_at,
            starts=f"{timezone.localtime(locked.starts_at):%m月%d日 %H:%M}",
        )
    audit.record(
        actor=actor,
        action="gathering.update",
        obj=locked,
        detail={"starts_at": starts.isoformat(), "moved": moved},
    )
    return locked


# --- sign-up --------------------------------------------------------------------------------


def signup_create(*, actor: Actor, gathering: Gathering) -> SignUp:
    """报名: a place if there is one, otherwise the waitlist. The gathering row is locked,
    so two sign-ups for the last place cannot both get it. A gathering for a branch, for
    representatives or for invited people takes no sign-ups: its organizer invites."""
    actor = resident_actor(actor)
    resident = actor.resident
    with transaction.atomic():
        locked = _locked(gathering)
        if locked.phase not in SIGNUP_OPEN:
            raise DomainError("现在不接受报名。", code="signup_closed")
        if locked.starts_at <= timezone.now():
            raise DomainError("已经开始，不能报名。", code="signup_closed")
        if locked.audience not in SELF_SIGNUP or (
            locked.audience == Gathering.Audience.RESIDENTS
            and not is_within(resident.region_code or "", locked.region_code)
        ):
            raise DomainError("本次只限受邀或本辖区登记的居民参加。", code="not_invited")
        existing = (
            SignUp.objects.filter(theirs(resident), gathering=locked)
            .order_by(F("resident").asc(nulls_last=True))
            .first()
        )
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
            signup = SignUp.objects.create(gathering=locked, resident=resident, status=status)
        audit.record(
            actor=actor,
            action="gathering.signup",
            obj=signup,
            region_code=locked.region_code,
            detail={"status": status},
        )
    return signup


@transaction.atomic
def signup_invite(*, actor: Actor, gathering: Gathering, residents=(), persons=()) -> int:
    """邀请: the organizer puts people on the roster (a branch's members, the
    representatives, someone there without a phone account): resident accounts, or
    persons of the register, whose own account (once linked) finds the row as its own.
    They hold a place whatever the capacity. Returns how many were added or given their
    place back (those already on it are left as they are). The caller has found the
    persons in its actor's scope."""
    locked = _locked(gathering)
    actor = _organizer(actor, locked)
    if locked.phase in (P.CLOSED, P.CANCELLED):
        raise DomainError("已结束或已取消，不能邀请。", code="invalid_transition")
    residents = {r.pk: r for r in residents}
    persons = {p.pk: p for p in persons}
    rows = list(
        SignUp.objects.select_for_update(of=("self",))
        .filter(gathering=locked)
        .values_list("pk", "status", "resident_id", "resident__person_id", "person_id")
    )
    on_roster = {}
    for pk, status, resident, account_person, person in rows:
        for key in (("r", resident), ("p", account_person), ("p", person)):
            if key[1] is not None:
                on_roster.setdefault(key, (pk, status))
    wanted = [("r", pk) for pk in residents] + [("p", pk) for pk in persons]
    for r in residents.values():
        if r.person_id and ("p", r.person_id) in on_roster:
            on_roster.setdefault(("r", r.pk), on_roster[("p", r.person_id)])
    new = [key for key in wanted if key not in on_roster]
    SignUp.objects.bulk_create(
        SignUp(
            gathering=locked,
            status=SignUp.Status.CONFIRMED,
            **({"resident": residents[pk]} if kind == "r" else {"person": persons[pk]}),
        )
        for kind, pk in new
    )
    # Those who withdrew or were waiting hold a place once invited.
    again = {
        on_roster[key][0]
        for key in wanted
        if key in on_roster and on_roster[key][1] != SignUp.Status.CONFIRMED
    }
    SignUp.objects.filter(pk__in=again).update(status=SignUp.Status.CONFIRMED)
    if not new and not again:
        return 0  # everyone was on the roster already: nothing changed, nothing to record
    audit.record(
        actor=actor,
        action="gathering.invite",
        obj=locked,
        detail={"residents": sorted(residents), "persons": sorted(persons)},
    )
    return len(new) + len(again)


def _promote(actor: Actor, gathering: Gathering) -> None:
    """候补递补: the first on the waitlist, in the order they signed up, take the places
    free on a locked gathering (none while invitees hold more than its capacity), and
    each is told by SMS."""
    free = gathering.capacity - gathering.signups.filter(status=SignUp.Status.CONFIRMED).count()
    if free <= 0:
        return
    promoted = list(
        gathering.signups.filter(status=SignUp.Status.WAITLISTED)
        .select_related("resident")  # a sign-up, so a resident's
        .order_by("created_at", "id")[:free]
    )
    SignUp.objects.filter(pk__in=[s.pk for s in promoted]).update(status=SignUp.Status.CONFIRMED)
    outbox.put(
        outbox.sms(
            phone=signup.resident.phone,
            template="waitlist_promoted",
            params={"title": gathering.title},
            key=f"signup:{signup.pk}:promoted:{signup.created_at.isoformat()}",
            expires_at=gathering.starts_at,
        )
        for signup in promoted
    )
    audit.record_all(
        [
            audit.event(
                actor=actor,
                action="gathering.signup_promoted",
                obj=signup,
                region_code=gathering.region_code,
            )
            for signup in promoted
        ]
    )


def signup_cancel(*, actor: Actor, signup: SignUp) -> SignUp:
    """Withdraw; the first on the waitlist takes the place (and is told)."""
    actor = resident_actor(actor)
    if not is_own(signup, (actor.resident.pk, actor.resident.person_id)):
        raise NotFound()
    with transaction.atomic():
        gathering = Gathering.objects.select_for_update().get(pk=signup.gathering_id)
        if gathering.phase not in WITHDRAWABLE:
            raise DomainError("已开始或已结束，不能取消报名。", code="signup_closed")
        signup = SignUp.objects.select_for_update().get(pk=signup.pk)
        if signup.status == SignUp.Status.CANCELLED:
            return signup
        was_confirmed = signup.status == SignUp.Status.CONFIRMED
        signup.status = SignUp.Status.CANCELLED
        signup.save(update_fields=["status"])
        if was_confirmed:
            _promote(actor, gathering)
        audit.record(
            actor=actor,
            action="gathering.signup_cancel",
            obj=signup,
            region_code=gathering.region_code,
        )
    return signup


# --- check-in -------------------------------------------------------------------------------


def check_in_step(at: float | None = None) -> int:
    """The number of the CODE_SECONDS step a moment falls in (a check-in records it)."""
    return int((time.time() if at is None else at) // CODE_SECONDS)


def _code(gathering: Gathering, step: int) -> str:
    digest = hmac.new(gathering.check_in_secret.encode(), str(step).encode(), hashlib.sha256)
    return digest.hexdigest()[:10]


def check_in_code(gathering: Gathering, at: float | None = None) -> str:
    """The code the organizer shows now; it changes every CODE_SECONDS seconds."""
    return _code(gathering, check_in_step(at))


def check_in_scan(*, gathering: Gathering, code: str, at: float | None = None) -> int:
    """The step of a code opened at `at` (now): the current or the previous step only, so
    a photo or a link sent to a chat is stale well within a minute."""
    now = check_in_step(at)
    for step in (now, now - 1):
        if hmac.compare_digest(code or "", _code(gathering, step)):
            return step
    raise DomainError("签到码已过期，请扫描现场屏幕上最新的签到码。", code="code_stale")


def signup_check_in(
    *, actor: Actor, gathering: Gathering, code: str, scanned_at: float | None = None
) -> SignUp:
    """签到: claims attendance with the organizer's code; the organizer then confirms or
    strikes it (only confirmed attendance counts). The code must have been fresh when
    this resident's phone opened it: `scanned_at`, kept in their session by the check-in
    page so that the tap may follow a little later (at most SCAN_GRACE), else now. The
    step of the code used is recorded with the check-in."""
    actor = resident_actor(actor)
    resident = actor.resident
    now = time.time()
    opened = scanned_at if scanned_at is not None and 0 <= now - scanned_at <= SCAN_GRACE else now
    step = check_in_scan(gathering=gathering, code=code, at=opened)
    with transaction.atomic():
        gathering = _locked(gathering)
        moment = timezone.now()
        if gathering.phase not in CHECK_IN or not (
            gathering.starts_at - CHECK_IN_EARLY <= moment <= gathering.ends_at
        ):
            raise DomainError("现在不在签到时间内。", code="checkin_closed")
        signup = (
            SignUp.objects.filter(
                theirs(resident), gathering=gathering, status=SignUp.Status.CONFIRMED
            )
            .order_by(F("resident").asc(nulls_last=True))
            .first()
        )
        if signup is None:
            if gathering.audience not in SELF_SIGNUP:  # a branch's members, the invited
                raise DomainError("您不在这次的参加名单中。", code="not_on_roster")
            raise DomainError("您没有这次的名额，请先报名。", code="not_signed_up")
        if signup.checked_in_at or signup.attendance == Attendance.CONFIRMED:
            raise DomainError("您已经签到过了。", code="already_checked_in")
        signup.checked_in_at = moment
        signup.check_in_step = step
        signup.attendance = Attendance.CLAIMED
        signup.save(update_fields=["checked_in_at", "check_in_step", "attendance"])
        audit.record(
            actor=actor,
            action="gathering.check_in",
            obj=signup,
            region_code=gathering.region_code,
            detail={"step": step},
        )
    return signup


def _hours(start, end, gathering: Gathering) -> Decimal:
    start, end = max(start, gathering.starts_at), min(end, gathering.ends_at)
    return Decimal(max(0, (end - start).total_seconds()) / 3600).quantize(Decimal("0.01"))


@transaction.atomic
def signup_check_out(*, actor: Actor, gathering: Gathering) -> SignUp:
    """签退: the hours are the time between check-in and now, within the gathering."""
    actor = resident_actor(actor)
    resident = actor.resident
    # The gathering first, then the sign-up: the order attendance is marked in.
    gathering = _locked(gathering)
    if gathering.phase not in CHECK_IN:
        # Once attendance is final the hours are final: they are paid from them.
        raise DomainError("出勤已确认，不能再签退。", code="attendance_closed")
    if timezone.now() < gathering.starts_at:  # a check-out then would count nothing
        when = f"{timezone.localtime(gathering.starts_at):%H:%M}"
        raise DomainError(f"{when} 开始后才能签退。", code="checkout_early")
    signup = (
        SignUp.objects.select_for_update()
        .filter(
            theirs(resident),
            gathering=gathering,
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
    signup.hours = _hours(signup.checked_in_at, now, gathering)
    signup.save(update_fields=["checked_out_at", "hours"])
    audit.record(
        actor=actor, action="gathering.check_out", obj=signup, region_code=gathering.region_code
    )
    return signup


# --- the paper sheet ------------------------------------------------------------------------


@transaction.atomic
def sheet_attach(*, actor: Actor, gathering: Gathering, upload) -> SheetPage:
    """纸质签到表: the organizer adds a photo of a page of the paper sheet signed by
    those without a phone, the evidence of the marks made by hand. It is re-encoded (no
    location, no camera data) and kept sealed; pages are added, never replaced."""
    locked = _locked(gathering)
    actor = _organizer(actor, locked)
    if locked.phase in (P.DRAFT, P.CANCELLED):
        raise DomainError("还没有开始或已取消，不能上传签到表。", code="invalid_transition")
    if locked.sheets.count() >= MAX_SHEET_PAGES:
        raise DomainError(f"签到表最多 {MAX_SHEET_PAGES} 页。", code="sheet_pages")
    photo = clean_photo(upload)
    page = SheetPage(gathering=locked)
    # Written, sealed, before its row (a rollback leaves an unnamed sealed file, no row).
    page.photo.save(f"{locked.pk}-{secrets.token_hex(8)}.jpg", photo.content)
    audit.record(actor=actor, action="gathering.sheet", obj=locked, detail={"page": page.pk})
    return page


def sheet_open(*, actor: Actor, gathering: Gathering, page_pk: int):
    """A page of the sheet for its organizer; each look is recorded (it shows names)."""
    actor = _organizer(actor, gathering)
    page = gathering.sheets.filter(pk=page_pk).first()
    if page is None:
        raise NotFound()
    audit.record(
        actor=actor, action="gathering.sheet_view", obj=gathering, detail={"page": page.pk}
    )
    return page.photo.open("rb")


# --- attendance -----------------------------------------------------------------------------


def _attendance_hours(signup: SignUp, gathering: Gathering, *, final: bool = False) -> Decimal:
    """The hours of an attendance: none unless confirmed; from check-in to check-out; the
    whole gathering for someone the organizer confirmed without a check-in (no phone).
    Once attendance is final, whoever has not checked out is counted to the end, or to
    this moment if the organizer closes attendance before the end."""
    if signup.attendance != Attendance.CONFIRMED:
        return Decimal(0)
    end = min(timezone.now(), gathering.ends_at) if final else gathering.ends_at
    if signup.checked_in_at is None:
        return _hours(gathering.starts_at, end, gathering)
    end = signup.checked_out_at or (end if final else None)
    return _hours(signup.checked_in_at, end, gathering) if end else Decimal(0)


def _attendance_open(actor: Actor, gathering: Gathering) -> Actor:
    """The organizer, while attendance is open: from half an hour before the start
    (nobody can have attended before) until it is final."""
    actor = _organizer(actor, gathering)
    if gathering.phase not in ATTENDANCE:
        raise DomainError("现在不能确认出勤。", code="attendance_closed")
    if timezone.now() < gathering.starts_at - CHECK_IN_EARLY:
        opens = timezone.localtime(gathering.starts_at - CHECK_IN_EARLY)
        raise DomainError(
            f"开始前半小时起才能确认出勤（{opens:%m月%d日 %H:%M} 起）。", code="attendance_closed"
        )
    return actor


def _mark(actor: Actor, gathering: Gathering, signups: list[SignUp], to: str, reason="") -> None:
    """Set the attendance of locked sign-ups; those already so are left as they are
    (confirming twice records, and so pays, once)."""
    changed = [s for s in signups if s.attendance != to or s.reason != reason]
    for signup in changed:
        signup.attendance = to
        signup.reason = reason
        signup.hours = _attendance_hours(signup, gathering)
        signup.save(update_fields=["attendance", "reason", "hours"])
    audit.record_all(
        [
            audit.event(
                actor=actor,
                action="gathering.attendance",
                obj=signup,
                region_code=gathering.region_code,
                detail={
                    "attended": to == Attendance.CONFIRMED,
                    "attendance": to,
                    "checked_in": signup.checked_in_at is not None,
                    **({"reason": reason} if reason else {}),
                },
            )
            for signup in changed
        ]
    )


def _own_roster_row(actor: Actor, gathering: Gathering, signup: SignUp) -> None:
    if is_own(signup, own_account(actor)):
        who = kind_of(gathering).confirms_organizers
        raise DomainError(f"不能确认或划掉本人的出勤，请由{who}确认。", code="own_attendance")


@transaction.atomic
def attendance_mark(*, actor: Actor, signup: SignUp, attended: bool, reason: str = "") -> SignUp:
    """The organizer confirms one attendance (a check-in, or someone there without a
    phone, counted for the whole gathering) or strikes it out (a check-in by someone who
    was not there: a link forwarded to a chat), with the reason if one is given."""
    # Locked, so that attendance cannot change while it is being made final.
    gathering = _locked(Gathering(pk=signup.gathering_id))
    actor = _attendance_open(actor, gathering)
    signup = SignUp.objects.select_for_update().get(pk=signup.pk)
    if signup.status != SignUp.Status.CONFIRMED:
        raise DomainError("该居民没有这次的名额。", code="attendance_closed")
    _own_roster_row(actor, gathering, signup)
    if attended and signup.checked_in_at is None and not gathering.sheets.exists():
        # A hand mark pays like a check-in: the paper sheet is its evidence, kept sealed
        # with the gathering for whoever settles or audits it.
        raise DomainError(
            "没有扫码签到的人须凭纸质签到表确认出勤：请先上传签到表照片。", code="sheet_required"
        )
    to = Attendance.CONFIRMED if attended else Attendance.STRUCK
    _mark(actor, gathering, [signup], to, "" if attended else reason.strip()[:200])
    return signup


@transaction.atomic
def attendance_leave(*, actor: Actor, signup: SignUp, reason: str) -> SignUp:
    """请假: the organizer records that someone asked to be excused, and why; any time
    before attendance is final. Leave is not attendance: it counts no hours."""
    gathering = _locked(Gathering(pk=signup.gathering_id))
    actor = _organizer(actor, gathering)
    reason = reason.strip()
    if not reason:
        raise DomainError("请假须写明事由。", code="reason_required", field="reason")
    if gathering.phase in (P.CLOSED, P.CANCELLED):
        raise DomainError("出勤已确认，不能再请假。", code="attendance_closed")
    signup = SignUp.objects.select_for_update().get(pk=signup.pk)
    if signup.status != SignUp.Status.CONFIRMED:
        raise DomainError("该居民没有这次的名额。", code="attendance_closed")
    _own_roster_row(actor, gathering, signup)
    if signup.checked_in_at:
        raise DomainError("已签到的人不能请假。", code="already_checked_in")
    if signup.attended:  # confirmed hours are not undone by a leave: strike them first
        raise DomainError("已确认出勤的人不能请假；如确未到场，请先划去。", code="already_attended")
    _mark(actor, gathering, [signup], Attendance.LEAVE, reason[:200])
    return signup


@transaction.atomic
def attendance_confirm_claims(*, actor: Actor, gathering: Gathering) -> int:
    """全部确认: the organizer confirms every check-in still waiting, at once, but their
    own (which another organizer confirms); returns how many."""
    gathering = _locked(gathering)
    actor = _attendance_open(actor, gathering)
    claims = list(
        SignUp.objects.select_for_update()
        .filter(gathering=gathering, status=SignUp.Status.CONFIRMED, attendance=Attendance.CLAIMED)
        .order_by("pk")
    )
    own = own_account(actor)
    claims = [claim for claim in claims if not is_own(claim, own)]
    _mark(actor, gathering, claims, Attendance.CONFIRMED)
    return len(claims)


def attendance_close(*, actor: Actor, gathering: Gathering) -> Gathering:
    """确认出勤: attendance is final once no check-in waits for the organizer (a check-in
    alone is a claim, never counted); those confirmed but not checked out are counted
    to the end (to now, if closed before the end). Called in the owning app's step."""
    with transaction.atomic():
        locked = _locked(gathering)
        actor = _organizer(actor, locked)
        if locked.phase not in ATTENDANCE:
            raise DomainError("还没有开始或已经结束。", code="invalid_transition")
        pending = locked.signups.filter(
            status=SignUp.Status.CONFIRMED, attendance=Attendance.CLAIMED
        ).count()
        if pending:
            raise DomainError(
                f"还有 {pending} 人已签到待确认，请先确认出勤或划去。", code="attendance_pending"
            )
        for signup in locked.signups.filter(
            status=SignUp.Status.CONFIRMED,
            attendance=Attendance.CONFIRMED,
            checked_out_at__isnull=True,
        ):
            signup.hours = _attendance_hours(signup, locked, final=True)
            signup.save(update_fields=["hours"])
        return _phase(actor, locked, P.CLOSED)


@transaction.atomic
def series_schedule(
    *,
    actor: Actor,
    kind: str,
    region_code: str,
    title: str,
    rule: str,
    first_starts_at,
    duration: datetime.timedelta,
    until: datetime.date,
    capacity: int,
    venue: Venue | None = None,
    place: str = "",
    description: str = "",
    audience: str = Gathering.Audience.OPEN,
    public: bool = False,
    phase: str = P.PLANNED,
) -> list[Gathering]:
    """A recurring gathering (every Tuesday afternoon, the first Friday of the month): one
    gathering per occurrence up to `until`, each booked on the venue, each then moved or
    cancelled on its own. One clash refuses the whole series."""
    actor = actor_required(actor)
    if not datetime.timedelta(minutes=10) <= duration <= datetime.timedelta(hours=12):
        raise DomainError("每次时长须在10分钟至12小时之间。", code="times_invalid")
    starts = occurrences(rule, first_starts_at, until)
    series = Series.objects.create(
        kind=kind,
        region_code=region_code,
        rule=rule,
        first_starts_at=starts[0],
        duration=duration,
        # The last occurrence made (there are at most MAX_OCCURRENCES): the feed's rule
        # ends there, not at a date the series never reaches.
        until=timezone.localdate(starts[-1]),
    )
    made = []
    for start in starts:
        try:
            made.append(
                gathering_schedule(
                    actor=actor,
                    kind=kind,
                    region_code=region_code,
                    title=title,
                    starts_at=start,
                    ends_at=start + duration,
                    capacity=capacity,
                    venue=venue,
                    place=place,
                    description=description,
                    audience=audience,
                    public=public,
                    phase=phase,
                    series=series,
                    occurrence=start,
                )
            )
        except DomainError as refusal:
            when = f"{timezone.localtime(start):%m月%d日}"
            raise DomainError(f"{when}：{refusal.message}", code=refusal.code) from None
    audit.record(
        actor=actor, action="gathering.series", obj=series, detail={"occurrences": len(made)}
    )
    return made
