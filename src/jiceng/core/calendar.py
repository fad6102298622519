"""Working days (工作日): the published calendar, staff corrections, and a safe fallback.

Deadlines are counted in working days. The bundled `chinesecalendar` knows the years the
State Council has announced; the Holiday table (editable by staff) corrects or extends
it. For a year neither knows, Monday to Friday count as working days and `is_known` says
so, so that pages can show that a deadline is provisional.
"""

import datetime
from functools import lru_cache

import chinese_calendar

from jiceng.core.models import Holiday


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
