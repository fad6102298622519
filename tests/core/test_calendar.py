"""Working days on the real calendar (2025's Spring Festival notice) and past its end."""

import datetime

import pytest

from jiceng.core.calendar import WorkCalendar
from jiceng.core.models import Holiday

D = datetime.date


@pytest.fixture
def calendar(db):
    return WorkCalendar()


def test_spring_festival_2025_and_its_make_up_sunday(calendar):
    assert not calendar.is_workday(D(2025, 1, 28))  # 除夕, holiday
    assert calendar.is_workday(D(2025, 1, 26))  # Sunday, worked in exchange
    assert calendar.add_workdays(D(2025, 1, 24), 1) == D(2025, 1, 26)
    assert calendar.add_workdays(D(2025, 1, 27), 1) == D(2025, 2, 5)


def test_five_working_days_over_a_plain_weekend(calendar):
    assert calendar.add_workdays(D(2025, 3, 7), 5) == D(2025, 3, 14)
    assert calendar.workdays_between(D(2025, 3, 7), D(2025, 3, 14)) == 5
    assert calendar.workdays_between(D(2025, 3, 14), D(2025, 3, 7)) == -5


def test_a_year_nobody_knows_falls_back_to_weekdays_and_says_so(calendar):
    assert not calendar.is_known(2031)
    assert calendar.is_workday(D(2031, 1, 1))  # a Wednesday; the real holiday is unknown
    assert not calendar.is_workday(D(2031, 1, 4))  # Saturday
    assert calendar.add_workdays(D(2031, 1, 3), 1) == D(2031, 1, 6)
    assert "2031" in calendar.provisional_note(D(2031, 1, 6))
    assert calendar.provisional_note(D(2025, 1, 6)) == ""


def test_staff_entries_override_and_make_a_year_known(db):
    Holiday.objects.create(date=D(2031, 1, 1), is_workday=False, name="元旦")
    Holiday.objects.create(date=D(2025, 3, 8), is_workday=True, name="临时调休")
    calendar = WorkCalendar()
    assert calendar.is_known(2031)
    assert not calendar.is_workday(D(2031, 1, 1))
    assert calendar.is_workday(D(2025, 3, 8))
    assert calendar.provisional_note(D(2031, 5, 1)) == ""


def test_negative_spans_are_refused(calendar):
    with pytest.raises(ValueError):
        calendar.add_workdays(D(2025, 3, 7), -1)


def aware(*args):
    from django.utils import timezone

    return timezone.make_aware(datetime.datetime(*args))


def test_five_working_days_from_the_eve_of_national_day_2026(calendar):
    # Oct 1-7 off, Sat Oct 10 worked in exchange, Sun Oct 11 off.
    due = calendar.deadline(aware(2026, 9, 30, 10, 0), 5, "day")
    assert due == aware(2026, 10, 13, 23, 59, 59)


def test_working_hours_skip_lunch_nights_and_holidays(calendar):
    # 16:30 on the last day before the holiday: one hour left that day, then Oct 8.
    due = calendar.deadline(aware(2026, 9, 30, 16, 30), 4, "hour")
    assert due == aware(2026, 10, 8, 11, 30)
    assert calendar.deadline(aware(2026, 10, 8, 11, 30), 1, "hour") == aware(2026, 10, 8, 14, 0)
    # received in the night: the clock starts when the office opens
    assert calendar.deadline(aware(2026, 10, 8, 22, 0), 2, "hour") == aware(2026, 10, 9, 10, 30)


def test_office_time_counts_office_hours_on_working_days_only(calendar):
    """What the yellow card (two thirds of a step's time limit) is measured in: from a
    Wednesday 10:00 before National Day to the morning after the holiday."""
    hours = datetime.timedelta(hours=1)
    assert calendar.office_time(aware(2026, 9, 30, 10, 0), aware(2026, 9, 30, 15, 30)) == 4 * hours
    assert calendar.office_time(aware(2026, 9, 30, 10, 0), aware(2026, 10, 8, 9, 0)) == 6.5 * hours
    assert calendar.after_office_time(aware(2026, 9, 30, 16, 0), 3 * hours) == aware(
        2026, 10, 8, 10, 0
    )
