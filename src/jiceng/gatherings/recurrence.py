"""Recurrence (iCalendar RRULE, RFC 5545 §3.3.10): the occurrences of a series, and a
series as the feed shows it — one event with its rule, the occurrences cancelled one by
one as EXDATE, and those moved as events of their own with a RECURRENCE-ID."""

import datetime
import re

import icalendar
from dateutil import rrule
from django.urls import reverse
from django.utils import timezone

from jiceng.core.errors import DomainError

MAX_OCCURRENCES = 60  # a year of weekly meetings, five of monthly ones a year apart
# The rules a county's staff choose from (物业经理接待日, 主题党日 …); any other RRULE
# that parses is accepted too.
EVERY = {
    "weekly": "每周",
    "biweekly": "每两周",
    "monthly_first": "每月第一个",
    "monthly_last": "每月最后一个",
}
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


def rule_of(every: str, weekday: int) -> str:
    """The RRULE of a choice on the form: every Tuesday, the first Friday of the month."""
    day = WEEKDAYS[weekday]
    return {
        "weekly": f"FREQ=WEEKLY;BYDAY={day}",
        "biweekly": f"FREQ=WEEKLY;INTERVAL=2;BYDAY={day}",
        "monthly_first": f"FREQ=MONTHLY;BYDAY=1{day}",
        "monthly_last": f"FREQ=MONTHLY;BYDAY=-1{day}",
    }[every]


def occurrences(rule: str, first: datetime.datetime, until: datetime.date) -> list:
    """The starts of a series from its first (included when it matches the rule) to the
    end of `until`, in local time; at most MAX_OCCURRENCES."""
    if "UNTIL" in rule.upper() or "COUNT" in rule.upper():
        raise DomainError("重复规则不含截止条件，截止日期另填。", code="rule_invalid")
    # The rule's value only (what the feed writes after RRULE:), nothing around it.
    if not re.fullmatch(r"[A-Za-z0-9=;,+-]+", rule):
        raise DomainError("重复规则无效。", code="rule_invalid")
    local = timezone.localtime(first).replace(tzinfo=None)
    end = datetime.datetime.combine(until, datetime.time.max)
    try:
        starts = rrule.rrulestr(rule, dtstart=local)
        icalendar.vRecur.from_ical(rule)
    except (ValueError, TypeError):
        raise DomainError("重复规则无效。", code="rule_invalid") from None
    found = []
    for start in starts.xafter(local - datetime.timedelta(seconds=1), inc=True):
        if start > end or len(found) == MAX_OCCURRENCES:
            break
        found.append(timezone.make_aware(start))
    if not found:
        raise DomainError("截止日期前没有一次符合重复规则。", code="rule_empty")
    return found


def _local(moment: datetime.datetime) -> datetime.datetime:
    """A time as the feed writes it: local, with its TZID. A rule's BYDAY is read in the
    time zone of DTSTART, so a 07:00 Tuesday written in UTC would fall on Monday."""
    return timezone.localtime(moment)


def _event(gathering, note, uid: str, absolute) -> icalendar.Event:
    event = icalendar.Event()
    event.add("uid", uid)
    event.add("dtstamp", gathering.updated_at)
    event.add("dtstart", _local(gathering.starts_at))
    event.add("dtend", _local(gathering.ends_at))
    event.add("sequence", gathering.sequence)
    event.add("summary", gathering.title)
    event.add("location", gathering.where)
    event.add("description", gathering.description)
    event.add("url", absolute(reverse("calendar:gathering", args=[gathering.pk])))
    cancelled = gathering.phase == gathering.Phase.CANCELLED
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    categories = [t for t in (*note.categories, *note.tags) if t]
    if categories:
        event.add("categories", categories)
    return event


def ical_events(noted, host: str, absolute) -> list[icalendar.Event]:
    """The events of some (gathering, note) pairs. A gathering alone is one event; the
    occurrences of a series listed here are one event with the series' rule, EXDATE for
    those cancelled, and an event with RECURRENCE-ID for each moved from its slot."""
    events, series = [], {}
    for gathering, note in noted:
        if gathering.series_id is None:
            events.append(
                _event(gathering, note, f"{gathering.kind}-{gathering.pk}@{host}", absolute)
            )
        else:
            series.setdefault(gathering.series_id, []).append((gathering, note))
    for series_id, members in series.items():
        members.sort(key=lambda pair: pair[0].occurrence)
        head, note = members[0]
        owner = head.series
        uid = f"series-{series_id}@{host}"
        master = _event(head, note, uid, absolute)
        for name in ("dtstart", "dtend", "status", "sequence", "dtstamp"):
            master.pop(name)
        master.add("dtstart", _local(owner.first_starts_at))
        master.add("dtend", _local(owner.first_starts_at + owner.duration))
        master.add("status", "CONFIRMED")
        # A change to any occurrence (one cancelled: a new EXDATE) is a change of the
        # series: it never goes back as occurrences leave the window.
        master.add("sequence", max(g.sequence for g, _ in members))
        master.add("dtstamp", max(g.updated_at for g, _ in members))
        last = timezone.make_aware(datetime.datetime.combine(owner.until, datetime.time.max))
        until = f"{last.astimezone(datetime.UTC):%Y%m%dT%H%M%SZ}"
        master.add("rrule", icalendar.vRecur.from_ical(f"{owner.rule};UNTIL={until}"))
        for gathering, _ in members:
            if gathering.phase == gathering.Phase.CANCELLED:
                master.add("exdate", _local(gathering.occurrence))
        events.append(master)
        for gathering, note in members:
            if gathering.phase != gathering.Phase.CANCELLED and (
                gathering.starts_at != gathering.occurrence
            ):
                moved = _event(gathering, note, uid, absolute)
                moved.add("recurrence-id", _local(gathering.occurrence))
                events.append(moved)
    return events
