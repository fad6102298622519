"""REST API for gatherings, of every kind: the scoped list and one gathering, its roster
for whoever organizes it (names masked), and attendance and hours per person for a
region and period — the same selectors, scope and masking as the pages."""

import datetime
from decimal import Decimal

from django.db.models import Count, Q
from ninja import Field, Router, Schema
from ninja.pagination import paginate

from jiceng.core.access import require, scope_filter
from jiceng.core.actors import Actor
from jiceng.core.errors import NotFound
from jiceng.gatherings import selectors, services
from jiceng.gatherings.models import Gathering, SignUp
from jiceng.places.selectors import check_report_scope

router = Router(tags=["聚会、阵地与出勤"])


class GatheringOut(Schema):
    id: int
    kind: str
    region_code: str
    title: str
    starts_at: datetime.datetime
    ends_at: datetime.datetime
    venue: str | None = None
    place: str
    capacity: int
    audience: str
    phase: str
    phase_label: str = Field(alias="get_phase_display")
    public: bool
    series: int | None = Field(None, alias="series_id")
    signed_up: int = 0

    @staticmethod
    def resolve_venue(obj):
        return obj.venue.name if obj.venue_id else None


def _scoped(request):
    """What the asker may read: in their scope, and announced (a draft is its owner's)."""
    gatherings = scope_filter(Gathering.objects.all(), request.user, "gatherings.view")
    return gatherings.exclude(phase=Gathering.Phase.DRAFT)


@router.get("/gatherings", response=list[GatheringOut], summary="活动与会议（本人辖区，各类）")
@paginate
def gathering_list(request, region: str | None = None, month: str | None = None, kind: str = ""):
    gatherings = _scoped(request).annotate(
        signed_up=Count("signups", filter=Q(signups__status=SignUp.Status.CONFIRMED))
    )
    if region:
        gatherings = gatherings.filter(region_code__within=region)
    if month:
        _, start, end = selectors.month_bounds(month)
        gatherings = gatherings.filter(starts_at__gte=start, starts_at__lt=end)
    if kind:
        gatherings = gatherings.filter(kind=kind)
    return gatherings.select_related("venue").order_by("starts_at", "id")


class AttendanceOut(Schema):
    person_id: int | None = Field(description="实有人口记录（已关联时）")
    resident_id: int | None = Field(description="居民账号（有账号时）")
    attended: int = Field(description="出勤次数")
    leave: int = Field(description="请假次数")
    absent: int = Field(description="缺席次数")
    hours: Decimal = Field(description="时长（小时）")


@router.get(
    "/gatherings/attendance", response=list[AttendanceOut], summary="出勤与时长（按人，区划与时段）"
)
def attendance(request, region: str, start: datetime.date, end: datetime.date, kind: str = ""):
    check_report_scope(region, start, end)
    require(request.user, "gatherings.view", region)
    gatherings = Gathering.objects.filter(region_code__within=region)
    if kind:
        gatherings = gatherings.filter(kind=kind)
    return selectors.attendance_by_person(selectors.in_period(gatherings, start, end))


def _gathering(request, gathering_id: int) -> Gathering:
    gathering = _scoped(request).select_related("venue").filter(pk=gathering_id).first()
    if gathering is None:
        raise NotFound()
    return gathering


@router.get("/gatherings/{gathering_id}", response=GatheringOut, summary="一次活动或会议")
def gathering_detail(request, gathering_id: int):
    gathering = _gathering(request, gathering_id)
    gathering.signed_up = selectors.confirmed_count(gathering)
    return gathering


class SignUpOut(Schema):
    id: int
    name: str = Field(description="姓名（脱敏）或手机尾号")
    status: str
    attendance: str
    reason: str
    checked_in_at: datetime.datetime | None
    checked_out_at: datetime.datetime | None
    hours: Decimal

    @staticmethod
    def resolve_name(obj):
        return obj.label


@router.get(
    "/gatherings/{gathering_id}/signups", response=list[SignUpOut], summary="报名与出勤名单"
)
def gathering_signups(request, gathering_id: int):
    """The roster, for the organizer only (as the kind declares)."""
    gathering = _gathering(request, gathering_id)
    if not services.organizes(Actor.staff(request.user), gathering):
        raise NotFound()
    return selectors.roster(gathering)
