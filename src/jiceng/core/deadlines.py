"""Deadlines of any process: the lateness clock, and the one deadline row per tracked item.

A due time is stored (worked out in working days or hours when a step starts); lateness
is derived when read: red (overdue) once the due time has passed, yellow (due soon) from
one working day before it. The process runner keeps a `core.models.Deadline` row per
item whose process declares a due-time field, so one supervision queue pages over every
process with one index.
"""

import datetime
from dataclasses import dataclass

from django.db.models import Q
from django.utils import timezone

from jiceng.core.calendar import WorkCalendar
from jiceng.core.models import Deadline

OVERDUE = "overdue"
DUE_SOON = "due_soon"


@dataclass(frozen=True)
class Clock:
    """Now and the yellow-card horizon, worked out once per request."""

    now: datetime.datetime
    horizon: datetime.datetime

    @classmethod
    def current(cls) -> "Clock":
        now = timezone.now()
        return cls(now, WorkCalendar().warning_horizon(now))

    def lateness_of(self, due_at: datetime.datetime | None) -> str:
        """ "overdue", "due_soon" or "" for a due time (None: not on the clock)."""
        if due_at is None:
            return ""
        if due_at < self.now:
            return OVERDUE
        if due_at <= self.horizon:
            return DUE_SOON
        return ""

    def lateness(self, item, due_field: str = "due_at") -> str:
        """The lateness of any item with a due time; an item that says it is not open
        (`is_open` False) is never late."""
        if not getattr(item, "is_open", True):
            return ""
        return self.lateness_of(getattr(item, due_field))

    def late_q(self, field: str = "due_at") -> Q:
        """Rows due soon or overdue now."""
        return Q(**{f"{field}__lte": self.horizon})


def warn_at(due_at: datetime.datetime, calendar: WorkCalendar | None = None) -> datetime.datetime:
    """When an item due at `due_at` turns yellow: the first moment whose warning horizon
    (one working day ahead, WorkCalendar.warning_horizon) reaches the due time."""
    calendar = calendar or WorkCalendar()
    local = timezone.localtime(due_at)
    day = local.date() - datetime.timedelta(days=1)
    for _ in range(60):  # the last working day before the due date
        if calendar.is_workday(day):
            break
        day -= datetime.timedelta(days=1)
    if calendar.add_workdays(day, 1) > local.date():
        moment = datetime.datetime.combine(day, datetime.time.min)
    else:
        moment = datetime.datetime.combine(day, local.time())
    return timezone.make_aware(moment, local.tzinfo)


def keep(*, kind: str, object_id: int, region_code: str, due_at, closed: bool,
         now: datetime.datetime | None = None) -> None:  # fmt: skip
    """Bring the item's deadline row in line with its due time: open with that due time,
    or closed (an item without a due time, or one that left the clock)."""
    now = now or timezone.now()
    row = Deadline.objects.filter(kind=kind, object_id=object_id).first()
    if closed or due_at is None:
        if row is not None and row.closed_at is None:
            Deadline.objects.filter(pk=row.pk).update(closed_at=now, region_code=region_code)
        return
    values = {
        "region_code": region_code,
        "due_at": due_at,
        "warn_at": warn_at(due_at),
        "closed_at": None,
    }
    if row is None:
        Deadline.objects.create(kind=kind, object_id=object_id, **values)
    elif (row.region_code, row.due_at, row.closed_at) != (region_code, due_at, None):
        Deadline.objects.filter(pk=row.pk).update(**values)


def open_deadlines(kind: str | None = None):
    rows = Deadline.objects.filter(closed_at__isnull=True)
    return rows.filter(kind=kind) if kind else rows


def backfill(kind: str, items, model=Deadline, batch: int = 1000) -> int:
    """Open deadline rows for items that have none: `items` yields (object id, region
    code, due time). For data written in bulk (a migration, the demo). Returns how many
    items were given; an item that already has its row keeps it."""
    calendar = WorkCalendar()
    rows, count = [], 0
    for object_id, region_code, due_at in items:
        rows.append(
            model(
                kind=kind,
                object_id=object_id,
                region_code=region_code,
                due_at=due_at,
                warn_at=warn_at(due_at, calendar),
            )
        )
        count += 1
        if len(rows) >= batch:
            model.objects.bulk_create(rows, ignore_conflicts=True)
            rows = []
    model.objects.bulk_create(rows, ignore_conflicts=True)
    return count
