"""Reading gatherings: the roster, a resident's sign-ups, the public calendar of every
public kind, and attendance and hours per person per period — read here only."""

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, F, Q, QuerySet, Sum
from django.utils import timezone

from jiceng.core.access import has_permission, scope_filter, scopes
from jiceng.core.errors import DomainError, NotFound
from jiceng.core.region_codes import ancestors_of
from jiceng.gatherings.kinds import kind_of
from jiceng.gatherings.models import Gathering, SignUp, Venue
from jiceng.residents.models import Resident
from jiceng.residents.services import own_resident_id

RELATED = ("venue",)
P = Gathering.Phase
Attendance = SignUp.Attendance
ATTENDANCE = (P.OPEN, P.UNDER_WAY)  # attendance is marked (gatherings.services)


def month_bounds(month: str | None) -> tuple[datetime.date, datetime.datetime, datetime.datetime]:
    """'2026-12' → (the first day, its start, the next month's start); default: this month."""
    try:
        first = (
            datetime.date.fromisoformat(f"{month}-01")
            if month
            else timezone.localdate().replace(day=1)
        )
    except ValueError:
        raise DomainError("月份格式应为 2026-12。", code="bad_month") from None
    if not 2000 <= first.year <= 2100:
        raise DomainError("月份须在2000年至2100年之间。", code="bad_month")
    following = (first + datetime.timedelta(days=32)).replace(day=1)
    start = timezone.make_aware(datetime.datetime.combine(first, datetime.time.min))
    end = timezone.make_aware(datetime.datetime.combine(following, datetime.time.min))
    return first, start, end


def theirs(resident, prefix: str = "") -> Q:
    """A resident's rows on rosters: those of their account, and those the organizer put
    their person on (an invited branch member whose account checks in later). `prefix`
    reaches the sign-ups through a relation (`signups__` from gatherings)."""
    mine = Q(**{f"{prefix}resident": resident})
    if resident.person_id:
        mine |= Q(**{f"{prefix}resident__isnull": True, f"{prefix}person": resident.person_id})
    return mine


def own_account(actor) -> tuple[int | None, int | None]:
    """The resident account an actor is (see residents.services.own_resident_id) and the
    person it is linked to: what makes a roster row the actor's own."""
    if actor.is_resident:
        return actor.resident.pk, actor.resident.person_id
    own = own_resident_id(actor)
    if own is None:
        return None, None
    return own, Resident.objects.filter(pk=own).values_list("person_id", flat=True).first()


def is_own(signup: SignUp, own: tuple[int | None, int | None]) -> bool:
    resident, person = own
    return (resident is not None and signup.resident_id == resident) or (
        person is not None and signup.resident_id is None and signup.person_id == person
    )


def roster(gathering: Gathering) -> list[SignUp]:
    """Who signed up or was invited (not those who withdrew): confirmed first."""
    return list(
        gathering.signups.exclude(status=SignUp.Status.CANCELLED)
        .select_related("resident__person", "person__resident")
        .order_by("status", "created_at", "id")
    )


def confirmed_count(gathering: Gathering) -> int:
    return gathering.signups.filter(status=SignUp.Status.CONFIRMED).count()


def resident_signup(gathering: Gathering, resident) -> SignUp | None:
    if resident is None:
        return None
    return (
        SignUp.objects.filter(theirs(resident), gathering=gathering)
        .exclude(status=SignUp.Status.CANCELLED)
        .order_by(F("resident").asc(nulls_last=True))
        .first()
    )


def resident_signups(resident, upcoming_only: bool = False) -> QuerySet:
    signups = (
        SignUp.objects.filter(theirs(resident))
        .exclude(status=SignUp.Status.CANCELLED)
        .select_related("gathering__venue")
    )
    if upcoming_only:
        signups = signups.filter(gathering__ends_at__gte=timezone.now())
    return signups.order_by("-gathering__starts_at")


def venue_list(*, user, region_code: str | None = None) -> QuerySet:
    """The venues in the user's scope (to see and to look after)."""
    venues = scope_filter(Venue.objects.all(), user, "gatherings.view")
    if region_code:
        venues = venues.filter(region_code__within=region_code)
    return venues


def venues_bookable(user, permission: str) -> QuerySet:
    """The active venues a gathering the user arranges (holding `permission`) may book:
    those of their nodes and below, and those of the nodes above them (a town's
    党群服务中心, the county's 老年大学)."""
    return venues_around(scopes(user, permission))


def venues_around(codes) -> QuerySet:
    """The active venues of these nodes, below them and above them."""
    above = {code for scope in codes for code in ancestors_of(scope)}
    reach = Q(region_code__in=above)
    for code in codes:
        reach |= Q(region_code__within=code)
    return Venue.objects.filter(reach, is_active=True) if codes else Venue.objects.none()


# --- the public calendar ----------------------------------------------------------------------


def public_gatherings(*, region_code: str, month: str | None = None) -> QuerySet:
    """月度预告: what residents of a county, town or community may see in a month, of
    every kind published to the public."""
    gatherings = Gathering.objects.filter(region_code__within=region_code, public=True).exclude(
        phase=P.DRAFT
    )
    if month:
        _, start, end = month_bounds(month)
        gatherings = gatherings.filter(starts_at__gte=start, starts_at__lt=end)
    return gatherings.select_related(*RELATED).order_by("starts_at", "id")


def resident_gathering(pk: int, resident) -> Gathering:
    """A gathering as a resident may open it: one published to the public, or one they
    are on the roster of (a branch's meeting they were invited to)."""
    reach = Q(public=True)
    if resident is not None:
        reach |= theirs(resident, "signups__") & ~Q(signups__status=SignUp.Status.CANCELLED)
    gathering = Gathering.objects.select_related(*RELATED).filter(reach, pk=pk).distinct().first()
    if gathering is None or gathering.phase == P.DRAFT:
        raise NotFound("未找到该活动。")
    return gathering


# --- attendance ------------------------------------------------------------------------------


def attended(gatherings: QuerySet) -> QuerySet:
    """The confirmed attendances of these gatherings: what counts as having been there."""
    return SignUp.objects.filter(
        gathering__in=gatherings,
        status=SignUp.Status.CONFIRMED,
        attendance=Attendance.CONFIRMED,
    )


@dataclass
class PersonAttendance:
    """One person's attendance: `person_id` is their register record where known (their
    own, or their account's), `resident_id` their account where they have one."""

    person_id: int | None
    resident_id: int | None
    attended: int = 0
    leave: int = 0
    absent: int = 0
    hours: Decimal = Decimal(0)


def attendance_by_person(gatherings: QuerySet, residents=None) -> list[PersonAttendance]:
    """Attendance and hours per person over some gatherings (a kind, a region, a period,
    chosen by the caller): how often each was there, excused (请假) or absent, and their
    hours. Only gatherings whose attendance is final count. Rows of one person — by their
    account and by their register record — are counted together."""
    rows = SignUp.objects.filter(
        gathering__in=gatherings.filter(phase=P.CLOSED), status=SignUp.Status.CONFIRMED
    )
    if residents is not None:
        rows = rows.filter(resident__in=residents)
    totals = (
        rows.values("person_id", "resident_id", "resident__person_id", "person__resident")
        .annotate(
            attended=Count("pk", filter=Q(attendance=Attendance.CONFIRMED)),
            leave=Count("pk", filter=Q(attendance=Attendance.LEAVE)),
            absent=Count("pk", filter=~Q(attendance__in=(Attendance.CONFIRMED, Attendance.LEAVE))),
            hours=Sum("hours", filter=Q(attendance=Attendance.CONFIRMED)),
        )
        .order_by()
    )
    people: dict[tuple, PersonAttendance] = {}
    for row in totals:
        person = row["person_id"] or row["resident__person_id"]
        key = ("person", person) if person else ("resident", row["resident_id"])
        account = row["resident_id"] or row["person__resident"]
        entry = people.setdefault(key, PersonAttendance(person, account))
        entry.resident_id = entry.resident_id or account
        entry.attended += row["attended"]
        entry.leave += row["leave"]
        entry.absent += row["absent"]
        # SQLite sums decimals as floats: two places, as stored.
        entry.hours += Decimal(row["hours"] or 0).quantize(Decimal("0.01"))
    return sorted(people.values(), key=lambda e: (e.person_id or 0, e.resident_id or 0))


def in_period(gatherings: QuerySet, start: datetime.date, end: datetime.date) -> QuerySet:
    """The gatherings that started between two dates (both days included)."""
    begin = timezone.make_aware(datetime.datetime.combine(start, datetime.time.min))
    finish = timezone.make_aware(datetime.datetime.combine(end, datetime.time.min))
    return gatherings.filter(
        starts_at__gte=begin, starts_at__lt=finish + datetime.timedelta(days=1)
    )


def roster_context(gathering: Gathering, actor, back: str) -> dict:
    """What the roster fragment (gatherings/_roster.html) needs, for any page showing it:
    an owning app's page includes it too."""
    signups = roster(gathering)
    own = own_account(actor)
    organizer = kind_of(gathering).organizes(actor, gathering)
    marking = organizer and gathering.phase in ATTENDANCE
    return {
        "organizer": organizer,
        "sheets": list(gathering.sheets.all()) if organizer else [],
        "gathering": gathering,
        "signups": signups,
        "claims": sum(s.attendance == SignUp.Attendance.CLAIMED for s in signups),
        "marking": marking,
        "own": {s.pk for s in signups if is_own(s, own)},
        # Staff who may search the register put on the roster someone without an account.
        "adding": marking and actor.is_staff and has_permission(actor.user, "people.view"),
        "confirms_organizers": kind_of(gathering).confirms_organizers,
        "back": back,
    }
