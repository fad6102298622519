"""The worker's schedule: jobs that run every so often (deadline notices, points expiry,
and the reminders to come: probation, terms, visits, rollups).

The app that owns a job registers it in its AppConfig.ready with `register`; the first
worker to start writes its row in `ScheduledJob`, where an operator may change its
interval or disable it. A run is claimed with a conditional UPDATE on the row (a lease),
so one worker runs it at a time, and a run lost with a killed worker is taken up again
once its lease ends. Every job must therefore be safe to run twice: each reads its state
from the database and keys what it writes (a notice per deadline, an entry per lot).
A job is called with the keyword `actor`: the system actor of the worker running it.
"""

import datetime
import logging
from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import Q
from django.utils import timezone

from jiceng.core.actors import Actor
from jiceng.core.models import ScheduledJob

logger = logging.getLogger(__name__)
DEFAULT_LEASE = datetime.timedelta(minutes=30)


@dataclass(frozen=True)
class Job:
    name: str
    run: Callable[..., object]  # run(actor=Actor)
    every: datetime.timedelta
    lease: datetime.timedelta  # longer than a run takes; then another worker may start it


JOBS: dict[str, Job] = {}


def register(
    name: str,
    run: Callable[..., object],
    *,
    every: datetime.timedelta,
    lease: datetime.timedelta = DEFAULT_LEASE,
) -> None:
    JOBS[name] = Job(name=name, run=run, every=every, lease=lease)


def sync() -> None:
    """A row for every registered job (a new one runs at once)."""
    existing = set(ScheduledJob.objects.filter(name__in=JOBS).values_list("name", flat=True))
    ScheduledJob.objects.bulk_create(
        [
            ScheduledJob(name=job.name, every_seconds=int(job.every.total_seconds()))
            for job in JOBS.values()
            if job.name not in existing
        ],
        ignore_conflicts=True,
    )


def run_due(*, actor: Actor) -> int:
    """Run every enabled job whose time has come; return how many ran."""
    sync()
    now = timezone.now()
    due = ScheduledJob.objects.filter(
        Q(claimed_until__isnull=True) | Q(claimed_until__lt=now),
        is_enabled=True,
        next_run_at__lte=now,
        name__in=JOBS,
    )
    ran = 0
    for row in list(due):
        job = JOBS[row.name]
        claimed = (
            ScheduledJob.objects.filter(pk=row.pk, next_run_at=row.next_run_at)
            .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
            .update(claimed_until=now + job.lease, last_started_at=now)
        )
        if claimed:
            _run(
                job,
                actor,
                claimed_until=None,
                next_run_at=now + datetime.timedelta(seconds=row.every_seconds),
            )
            ran += 1
    return ran


def run_now(*, actor: Actor, name: str) -> str:
    """Run one job at once, outside its schedule (`jiceng worker --run NAME`)."""
    sync()
    if name not in JOBS:
        raise KeyError(name)
    ScheduledJob.objects.filter(name=name).update(last_started_at=timezone.now())
    return _run(JOBS[name], actor)  # a scheduled run's lease, if one is under way, is left alone


def _run(job: Job, actor: Actor, **after) -> str:
    try:
        result = f"完成：{job.run(actor=actor)}"
    except Exception as error:
        logger.exception("Scheduled job %s failed", job.name)
        result = f"出错：{type(error).__name__}: {error}"
    ScheduledJob.objects.filter(name=job.name).update(
        last_finished_at=timezone.now(), last_result=result[:200], **after
    )
    return result
