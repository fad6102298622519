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
