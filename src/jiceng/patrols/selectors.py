"""Scoped reads of patrols and visits, and coverage (巡查覆盖) per grid and per worker."""

import datetime
from dataclasses import dataclass

from django.db.models import Count
from django.db.models.functions import TruncDate
from django.utils import timezone

from jiceng.core.access import require, scope_filter
from jiceng.core.calendar import WorkCalendar
from jiceng.core.errors import NotFound
from jiceng.patrols.models import Patrol, Visit
from jiceng.places.models import Building, Person, Region


def patrol_list(*, user, region_code: str | None = None):
    patrols = scope_filter(Patrol.objects.all(), user, "patrols.view")
    if region_code:
        patrols = patrols.filter(region_code__within=region_code)
    return patrols.select_related("worker").order_by("-started_at")


def patrol_get(*, user, pk: int):
    patrol = patrol_list(user=user).filter(pk=pk).first()
    if patrol is None:
        raise NotFound()
    return patrol


@dataclass
class Coverage:
    """巡查覆盖: how well a grid was walked in a period."""

    grid: object
    patrols: int = 0
    days_patrolled: int = 0
    working_days: int = 0
    buildings_walked: int = 0
    buildings: int = 0
    households_visited: int = 0
    special_households: int = 0
    special_visited: int = 0

    @property
    def day_rate(self) -> int:
        return round(100 * self.days_patrolled / self.working_days) if self.working_days else 0

    @property
    def building_rate(self) -> int:
        return round(100 * self.buildings_walked / self.buildings) if self.buildings else 0

    @property
    def special_rate(self) -> int:
        if not self.special_households:
            return 0
        return round(100 * self.special_visited / self.special_households)


COVERAGE_GRIDS = 500  # grids in one coverage table; past it the page asks to narrow down


def patrol_coverage(*, user, region_code: str, start: datetime.date, end: datetime.date):
    """Per grid under `region_code`: patrols, share of working days with a patrol, share of
    buildings walked, and share of special-group households visited, in [start, end]."""
    require(user, "patrols.view", region_code)
    grids = list(
        Region.objects.filter(level=Region.Level.GRID, code__within=region_code).order_by("code")[
            : COVERAGE_GRIDS + 1
        ]  # one more than the page shows: it says when there are more
    )
    codes = [g.code for g in grids]
    calendar = WorkCalendar()
    working_days = sum(
        calendar.is_workday(start + datetime.timedelta(days=i))
        for i in range((end - start).days + 1)
    )
    begin = timezone.make_aware(datetime.datetime.combine(start, datetime.time.min))
    finish = timezone.make_aware(datetime.datetime.combine(end, datetime.time.max))
    rows = {g.code: Coverage(grid=g, working_days=working_days) for g in grids}
    patrols = Patrol.objects.filter(region_code__in=codes, started_at__range=(begin, finish))
    for code, count, days in (
        patrols.values("region_code")
        .annotate(n=Count("id"), days=Count(TruncDate("started_at"), distinct=True))
        .values_list("region_code", "n", "days")
    ):
        rows[code].patrols, rows[code].days_patrolled = count, days
    for code, walked in (
        patrols.values("region_code")
        .annotate(n=Count("buildings", distinct=True))
        .values_list("region_code", "n")
    ):
        rows[code].buildings_walked = walked
    for code, count in (
        Building.objects.filter(region_code__in=codes)
        .values("region_code")
        .annotate(n=Count("id"))
        .values_list("region_code", "n")
    ):
        rows[code].buildings = count
    special = set(
        Person.objects.filter(region_code__in=codes, special_groups__isnull=False)
        .values_list("region_code", "household_id")
        .distinct()
    )
    visited = set(
        Visit.objects.filter(region_code__in=codes, at__range=(begin, finish))
        .values_list("region_code", "household_id")
        .distinct()
    )
    for code, _ in special:
        rows[code].special_households += 1
    for code, household in visited:
        rows[code].households_visited += 1
        rows[code].special_visited += (code, household) in special
    workers = list(
        patrols.values("worker__full_name", "worker__username")
        .annotate(n=Count("id"), days=Count(TruncDate("started_at"), distinct=True))
        .order_by("-n")
    )
    return list(rows.values()), workers
