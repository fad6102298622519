"""REST API for activities: scoped lists, one activity and the activity figures — the same
selectors, scope and masking as the pages (the rankings are in points/api.py)."""

import datetime

from ninja import Field, Router, Schema
from ninja.pagination import paginate

from jiceng.activities import selectors
from jiceng.gatherings.selectors import confirmed_count
from jiceng.places.selectors import check_report_scope

router = Router(tags=["服务活动与积分"])


class ActivityOut(Schema):
    id: int
    region_code: str
    title: str = Field(alias="gathering.title")
    gathering: int = Field(alias="gathering_id", description="时间地点与报名（/gatherings）")
    status: str
    status_label: str = Field(alias="get_status_display")
    service_type: str = Field(alias="service_type.name")
    starts_at: datetime.datetime = Field(alias="gathering.starts_at")
    ends_at: datetime.datetime = Field(alias="gathering.ends_at")
    venue: str | None = None
    place: str = Field(alias="gathering.place")
    capacity: int = Field(alias="gathering.capacity")
    signed_up: int = 0
    points: int
    holiday_tag: str
    team: str | None = None

    @staticmethod
    def resolve_venue(obj):
        return obj.gathering.venue.name if obj.gathering.venue_id else None

    @staticmethod
    def resolve_team(obj):
        return obj.team.name if obj.team_id else None


@router.get("/activities", response=list[ActivityOut], summary="服务活动（本人辖区）")
@paginate
def activity_list(request, region: str | None = None, month: str | None = None, status: str = ""):
    return selectors.activity_list(
        user=request.user, region_code=region, month=month, status=status
    ).order_by("gathering__starts_at", "id")


class FiguresOut(Schema):
    region_code: str
    start: datetime.date
    end: datetime.date
    held: int = Field(description="开展活动场次")
    cancelled: int
    participations: int = Field(description="参与人次")
    people: int = Field(description="参与人数")
    hours: float = Field(description="服务时长（小时）")
    points_issued: int
    points_spent: int
    by_type: list[tuple[str, int]]


@router.get("/activities/figures", response=FiguresOut, summary="活动统计（按区划与时段）")
def figures(request, region: str, start: datetime.date, end: datetime.date):
    check_report_scope(region, start, end)
    return selectors.activity_figures(user=request.user, region_code=region, start=start, end=end)


@router.get("/activities/{activity_id}", response=ActivityOut, summary="一项活动")
def activity_detail(request, activity_id: int):
    activity = selectors.activity_get(user=request.user, pk=activity_id)
    activity.signed_up = confirmed_count(activity.gathering)
    return activity
