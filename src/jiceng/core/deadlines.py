"""Deadlines of any process: the lateness clock, and the one deadline row per tracked item.

A due time is stored (worked out in working days or hours when a step starts), and so is
when the item turns yellow (黄牌, `warn_at`): once JICENG_YELLOW_FRACTION (two thirds) of
the step's time limit, counted in office time, has passed. Both are computed here, once,
when the step's due time is set, for every process. Lateness is derived when read: red
(overdue) once the due time has passed, yellow from `warn_at`. The process runner keeps a
`core.models.Deadline` row per item whose process declares a due-time field, so one
supervision queue pages over every process with one index.
"""

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from jiceng.core.calendar import WorkCalendar
from jiceng.core.models import Deadline

OVERDUE = "overdue"
DUE_SOON = "due_soon"


@dataclass(frozen=True)
class Clock:
    """Now, read once per request, so that every row of a page is judged at one moment."""

    now: datetime.datetime

    @classmethod
    def current(cls) -> "Clock":
        return cls(timezone.now())

    def lateness_of(self, due_at: datetime.datetime | None, warn_at=None) -> str:
        """ "overdue", "due_soon" or "" for a due time (None: not on the clock) and the
        moment it turns yellow."""
        if due_at is None:
            return ""
        if due_at < self.now:
            return OVERDUE
        if warn_at is not None and warn_at <= self.now:
            return DUE_SOON
        return ""

    def lateness(self, item, due_field: str = "due_at", kind: str | None = None) -> str:
        """The lateness of any item with a due time; an item that says it is not open
        (`is_open` False) is never late. Its `warn_at` is read from the item (annotated by
        `with_warn_at`), else from its deadline row when `kind` names its process."""
        if not getattr(item, "is_open", True):
            return ""
        due_at = getattr(item, due_field)
        if hasattr(item, "warn_at"):
            warning = item.warn_at
        elif kind and due_at is not None:
            warning = (
                open_deadlines(kind).filter(object_id=item.pk).values_list("warn_at", flat=True)
            ).first()
        else:
            warning = None
        return self.lateness_of(due_at, warning)

    def late_q(self) -> Q:
        """Deadline rows yellow or red now."""
        return Q(warn_at__lte=self.now)


def warn_at(
    started_at: datetime.datetime,
    due_at: datetime.datetime,
    calendar: WorkCalendar | None = None,
    fraction: float | None = None,
) -> datetime.datetime:
    """When a step that started at `started_at` and is due at `due_at` turns yellow: once
    `fraction` (JICENG_YELLOW_FRACTION) of the office time between them has passed. A
    limit with no office time in it (set outside office hours, due before they open) is
    divided in clock time."""
    fraction = settings.JICENG_YELLOW_FRACTION if fraction is None else fraction
    if due_at <= started_at:
        return due_at
    calendar = calendar or WorkCalendar()
    limit = calendar.office_time(started_at, due_at)
    if not limit:
        elapsed = round((due_at - started_at).total_seconds() * fraction)
        return started_at + datetime.timedelta(seconds=elapsed)
    elapsed = datetime.timedelta(seconds=round(limit.total_seconds() * fraction))
    return min(calendar.after_office_time(started_at, elapsed), due_at)


def with_warn_at(queryset: QuerySet, kind: str) -> QuerySet:
    """Items annotated with when their open deadline row turns yellow (for Clock.lateness,
    without a query per row)."""
    rows = open_deadlines(kind).filter(object_id=OuterRef("pk")).values("warn_at")[:1]
    return queryset.annotate(warn_at=Subquery(rows))


def keep(*, kind: str, object_id: int, region_code: str, due_at, closed: bool,
         now: datetime.datetime | None = None) -> None:  # fmt: skip
    """Bring the item's deadline row in line with its due time: open with that due time,
    or closed (an item without a due time, or one that left the clock). A new due time
    starts a new time limit now, and with it a new `warn_at`."""
    now = now or timezone.now()
    row = Deadline.objects.filter(kind=kind, object_id=object_id).first()
    if closed or due_at is None:
        if row is not None and row.closed_at is None:
            Deadline.objects.filter(pk=row.pk).update(closed_at=now, region_code=region_code)
        return
    if row is not None and (row.due_at, row.closed_at) == (due_at, None):
        if row.region_code != region_code:
            Deadline.objects.filter(pk=row.pk).update(region_code=region_code)
        return
    values = {
        "region_code": region_code,
        "due_at": due_at,
        "warn_at": warn_at(now, due_at),
        "closed_at": None,
    }
    if row is None:
        Deadline.objects.create(kind=kind, object_id=object_id, **values)
    else:
        Deadline.objects.filter(pk=row.pk).update(**values)


def open_deadlines(kind: str | None = None):
    rows = Deadline.objects.filter(closed_at__isnull=True)
    return rows.filter(kind=kind) if kind else rows


def backfill(kind: str, items, model=Deadline, batch: int = 1000) -> int:
    """Open deadline rows for items that have none: `items` yields (object id, region
    code, when the current step started, due time). For data written in bulk (a
    migration, the demo). Returns how many items were given; an item that already has its
    row keeps it."""
    calendar = WorkCalendar()
    rows, count = [], 0
    for object_id, region_code, started_at, due_at in items:
        rows.append(
            model(
                kind=kind,
                object_id=object_id,
                region_code=region_code,
                due_at=due_at,
                warn_at=warn_at(started_at, due_at, calendar),
            )
        )
        count += 1
        if len(rows) >= batch:
            model.objects.bulk_create(rows, ignore_conflicts=True)
            rows = []
    model.objects.bulk_create(rows, ignore_conflicts=True)
    return count
