"""Working days (工作日): the published calendar, staff corrections, and a safe fallback.

Deadlines are counted in working days. The bundled `chinesecalendar` knows the years the
State Council has announced; the Holiday table (editable by staff) corrects or extends
it. For a year neither knows, Monday to Friday count as working days and `is_known` says
so, so that pages can show that a deadline is provisional.
"""

import datetime
from functools import lru_cache

import chinese_calendar
from django.conf import settings
from django.utils import timezone

from jiceng.core.models import Holiday

DAY = "day"
HOUR = "hour"
UNITS = [(DAY, "工作日"), (HOUR, "工作小时")]


@lru_cache(maxsize=64)
def _bundled_year_known(year: int) -> bool:
    try:
        chinese_calendar.is_workday(datetime.date(year, 6, 1))
    except NotImplementedError:
        return False
    return True


class WorkCalendar:
    """Answers working-day questions; reads the staff overrides once per instance."""

    def __init__(self) -> None:
        self._overrides = dict(Holiday.objects.values_list("date", "is_workday"))
        self._override_years = {day.year for day in self._overrides}

    def is_known(self, year: int) -> bool:
        return _bundled_year_known(year) or year in self._override_years

    def is_workday(self, day: datetime.date) -> bool:
        if day in self._overrides:
            return self._overrides[day]
        if _bundled_year_known(day.year):
            return chinese_calendar.is_workday(day)
        return day.weekday() < 5

    def add_workdays(self, start: datetime.date, days: int) -> datetime.date:
        """The date `days` working days after `start` (start itself does not count)."""
        if days < 0:
            raise ValueError("days must not be negative")
        day = start
        remaining = days
        while remaining:
            day += datetime.timedelta(days=1)
            if self.is_workday(day):
                remaining -= 1
        return day

    def workdays_between(self, start: datetime.date, end: datetime.date) -> int:
        """Working days after `start` up to and including `end` (negative if end < start)."""
        if end < start:
            return -self.workdays_between(end, start)
        count = 0
        day = start
        while day < end:
            day += datetime.timedelta(days=1)
            if self.is_workday(day):
                count += 1
        return count

    def provisional_note(self, day: datetime.date) -> str:
        """What to show beside a deadline counted on an unknown year."""
        if self.is_known(day.year):
            return ""
        return f"{day.year}年节假日安排尚未录入，暂按周一至周五计算工作日。"

    def deadline(self, start: datetime.datetime, amount: int, unit: str) -> datetime.datetime:
        """When a time limit that starts at `start` runs out.

        In working days: the end of the `amount`-th working day after the day of `start`
        (a request received on 30 September 2026 with 5 days is due at the end of
        13 October, after the National Day holiday and its make-up Saturday). In working
        hours: counted within office hours (JICENG_OFFICE_HOURS) on working days.
        """
        local = timezone.localtime(start)
        if unit == DAY:
            day = self.add_workdays(local.date(), amount)
            end = datetime.datetime.combine(day, datetime.time(23, 59, 59))
            return timezone.make_aware(end, local.tzinfo)
        if unit != HOUR:
            raise ValueError(f"unknown unit {unit!r}")
        return self.after_office_time(start, datetime.timedelta(hours=amount))

    def _office_periods(self, local: datetime.datetime):
        """The office periods (opens, closes) of working days from the day of `local` on,
        as naive local times, the first one cut to start no earlier than `local`."""
        day = local.date()
        moment = local.replace(tzinfo=None)
        for _ in range(3660):  # ten years of days: a time limit never runs that long
            if self.is_workday(day):
                for opens, closes in settings.JICENG_OFFICE_HOURS:
                    begin = max(moment, datetime.datetime.combine(day, opens))
                    end = datetime.datetime.combine(day, closes)
                    if begin < end:
                        yield begin, end
            day += datetime.timedelta(days=1)

    def after_office_time(
        self, start: datetime.datetime, amount: datetime.timedelta
    ) -> datetime.datetime:
        """The moment `amount` of office time (JICENG_OFFICE_HOURS on working days) after
        `start`."""
        local = timezone.localtime(start)
        remaining = amount
        for begin, end in self._office_periods(local):
            if end - begin >= remaining:
                return timezone.make_aware(begin + remaining, local.tzinfo)
            remaining -= end - begin
        raise ValueError("no office hours configured")

    def office_time(self, start: datetime.datetime, end: datetime.datetime) -> datetime.timedelta:
        """The office time (JICENG_OFFICE_HOURS on working days) between two moments."""
        local = timezone.localtime(start)
        until = timezone.localtime(end).replace(tzinfo=None)
        total = datetime.timedelta()
        for begin, close in self._office_periods(local):
            if begin >= until:
                break
            total += min(close, until) - begin
        return total
