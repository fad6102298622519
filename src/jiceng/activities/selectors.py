"""Reading activities: staff lists within scope, the public monthly preview, what a
resident or a team leader sees, and the activity figures."""

import datetime
from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import Substr
from django.urls import reverse
from django.utils import timezone

from jiceng.activities.models import Activity, Need, VolunteerTeam
from jiceng.activities.workflow import LEADER
from jiceng.core.access import Assignment, has_permission, require, scope_filter
from jiceng.core.errors import NotFound
from jiceng.core.region_codes import COUNTY, TOWN, child_length_of, is_above, level_of, town_of
from jiceng.gatherings.kinds import Note
from jiceng.gatherings.models import Gathering, SignUp
from jiceng.gatherings.selectors import attended, in_period, month_bounds
from jiceng.places.models import Region
from jiceng.points.selectors import points_figures

A = Activity.Status
HELD = (A.HELD, A.COMPLETED, A.SETTLED)
RELATED = ("gathering__venue", "service_type", "team")
SIGNED_UP = Count(
    "gathering__signups", filter=Q(gathering__signups__status=SignUp.Status.CONFIRMED)
)


def activity_list(
    *, user, region_code: str | None = None, month: str | None = None, status: str = ""
) -> QuerySet:
    activities = scope_filter(Activity.objects.all(), user, "activities.view")
    if region_code:
        activities = activities.filter(region_code__within=region_code)
    if month:
        _, start, end = month_bounds(month)
        activities = activities.filter(
            gathering__starts_at__gte=start, gathering__starts_at__lt=end
        )
    if status in A.values:
        activities = activities.filter(status=status)
    return activities.select_related(*RELATED).annotate(signed_up=SIGNED_UP)


def activity_get(*, user, pk: int) -> Activity:
    activity = Activity.objects.select_related(*RELATED, "team__leader").filter(pk=pk).first()
    if activity is None:
        raise NotFound()
    require(user, "activities.view", activity.region_code)
    return activity


def need_list(*, user, region_code: str | None = None, open_only: bool = False) -> QuerySet:
    needs = scope_filter(Need.objects.all(), user, "activities.view")
    if region_code:
        needs = needs.filter(region_code__within=region_code)
    if open_only:
        needs = needs.filter(activity__isnull=True)
    return needs.select_related("service_type", "recorded_by", "activity")


def team_list(*, user, region_code: str | None = None) -> QuerySet:
    teams = scope_filter(VolunteerTeam.objects.all(), user, "activities.view")
    if region_code:
        teams = teams.filter(region_code__within=region_code)
    return (
        teams.select_related("leader__person", "parent", "led_by")
        .annotate(member_count=Count("members"))
        .order_by("region_code", "name")
    )


def team_get(*, user, pk: int) -> VolunteerTeam:
    team = VolunteerTeam.objects.select_related("leader__person").filter(pk=pk).first()
    if team is None or not has_permission(user, "activities.view", team.region_code):
        raise NotFound()
    return team


# --- team leaders ----------------------------------------------------------------------


def led_teams(resident) -> list[VolunteerTeam]:
    return list(resident.led_teams.filter(is_active=True).order_by("name"))


def team_reach(team: VolunteerTeam) -> str:
    """Where a team takes activities: its town, for a community's or a town's team; all
    under its node, for a team above a town (a county's corps)."""
    return team.region_code if is_above(team.region_code, TOWN) else town_of(team.region_code)


def claimable(team: VolunteerTeam) -> QuerySet:
    """抢单: activities published where the team reaches that no team has yet."""
    return (
        Activity.objects.filter(
            status=A.PUBLISHED,
            region_code__within=team_reach(team),
            gathering__starts_at__gt=timezone.now(),
        )
        .select_related(*RELATED)
        .order_by("gathering__starts_at")
    )


def team_activities(team: VolunteerTeam) -> QuerySet:
    return (
        team.activities.exclude(status=A.CANCELLED)
        .select_related(*RELATED)
        .annotate(signed_up=SIGNED_UP)
        .order_by("-gathering__starts_at")
    )


def led_activity(resident, pk: int) -> Activity:
    """An activity of a team the resident leads (or nothing: 404)."""
    activity = (
        Activity.objects.select_related(*RELATED)
        .filter(pk=pk, team__leader=resident, team__is_active=True)
        .first()
    )
    if activity is None:
        raise NotFound()
    return activity


# --- figures ------------------------------------------------------------------------------


@dataclass
class ActivityFigures:
    """活动统计 for one region and period (activities that started in it)."""

    region_code: str
    start: datetime.date
    end: datetime.date
    held: int
    cancelled: int
    participations: int
    people: int
    hours: float
    points_issued: int
    points_spent: int
    by_type: list
    by_region: list
    by_branch: list  # (party organization, teams it leads, activities its teams held)


def activity_figures(
    *, user, region_code: str, start: datetime.date, end: datetime.date
) -> ActivityFigures:
    require(user, "activities.view", region_code)
    begin = timezone.make_aware(datetime.datetime.combine(start, datetime.time.min))
    finish = timezone.make_aware(datetime.datetime.combine(end, datetime.time.min)) + (
        datetime.timedelta(days=1)
    )
    activities = Activity.objects.filter(
        region_code__within=region_code,
        gathering__in=in_period(Gathering.objects.all(), start, end),
    )
    held = activities.filter(status__in=HELD)
    totals = attended(held.values("gathering_id")).aggregate(
        n=Count("pk"), people=Count("resident", distinct=True), hours=Sum("hours")
    )
    by_type = list(
        held.values("service_type__name")
        .annotate(n=Count("pk"))
        .order_by("-n", "service_type__name")
    )
    child_length = child_length_of(region_code) if level_of(region_code) in (COUNTY, TOWN) else None
    by_region = []
    if child_length:
        counts = dict(
            held.annotate(child=Substr("region_code", 1, child_length))
            .values("child")
            .annotate(n=Count("pk"))
            .values_list("child", "n")
        )
        names = dict(Region.objects.filter(code__in=counts).values_list("code", "name"))
        by_region = sorted(((names.get(c, c), c, n) for c, n in counts.items()), key=lambda r: r[1])
    issued, spent = points_figures(region_code=region_code, start=begin, end=finish)
    led = dict(
        held.filter(team__led_by__isnull=False)
        .values("team__led_by")
        .annotate(n=Count("pk"))
        .values_list("team__led_by", "n")
    )
    leading = (
        VolunteerTeam.objects.filter(region_code__within=region_code, led_by__isnull=False)
        .values("led_by", "led_by__name")
        .annotate(teams=Count("pk"))
        .order_by("led_by__name")
    )
    by_branch = [(row["led_by__name"], row["teams"], led.get(row["led_by"], 0)) for row in leading]
    return ActivityFigures(
        region_code=region_code,
        start=start,
        end=end,
        held=held.count(),
        cancelled=activities.filter(status=A.CANCELLED).count(),
        participations=totals["n"],
        people=totals["people"],
        hours=float(totals["hours"] or 0),
        points_issued=issued,
        points_spent=spent,
        by_type=[(row["service_type__name"], row["n"]) for row in by_type],
        by_region=by_region,
        by_branch=by_branch,
    )


TEAM = "activities.volunteerteam"


def teams_led(actor) -> list[Assignment]:
    """队长: a resident leads the active teams that name them (core.access assignments)."""
    if not actor.is_resident:
        return []
    return [
        Assignment(
            kind="team_leader",
            object_type=TEAM,
            object_id=pk,
            permissions=frozenset({"activities.lead"}),
            region_code=region_code,
        )
        for pk, region_code in VolunteerTeam.objects.filter(
            leader=actor.resident, is_active=True
        ).values_list("pk", "region_code")
    ]


# --- the activity as a kind of gathering ---------------------------------------------------


def organizes(actor, gathering) -> bool:
    """Who organizes an activity's gathering: the leader of its team, or staff with
    activities.manage in its community."""
    activity = Activity.objects.select_related("team").filter(gathering=gathering).first()
    return activity is not None and (
        LEADER(actor, activity) or has_permission(actor, "activities.manage", activity.region_code)
    )


def notes(gatherings: list) -> dict:
    """What residents see of activities on the calendar and an activity's page."""
    found = {}
    for activity in Activity.objects.filter(gathering__in=gatherings).select_related(
        "service_type", "team"
    ):
        facts = [("类型", activity.service_type.name)]
        if activity.team_id:
            facts.append(("承办", activity.team.name))
        if activity.points:
            facts.append(("积分", f"参加可得 {activity.points} 积分"))
        line = " · ".join(
            name
            for name in (activity.service_type.name, activity.team and activity.team.name)
            if name
        )
        found[activity.gathering_id] = Note(
            status=activity.get_status_display(),
            status_code=activity.status,
            facts=tuple(facts),
            tags=(activity.holiday_tag,) if activity.holiday_tag else (),
            categories=(activity.service_type.name,),
            line=line,
        )
    return found


def manage_url(gathering, actor) -> str:
    """The activity's page for its organizer: the leader's, or the staff page."""
    pk = Activity.objects.filter(gathering=gathering).values_list("pk", flat=True).first()
    if pk is None:
        return ""
    return reverse("leader:activity" if actor.is_resident else "activities:detail", args=[pk])
