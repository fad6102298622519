"""Masking of personal data, the same everywhere: pages, exports and the API.

A mask must not leave the value guessable from what is shown beside it: a masked ID
number hides exactly the birth date, so a person's age is shown as a ten-year band,
never the birth year; a special-group flag shows the same placeholder whether or not the
person belongs to one."""

import datetime


def _clear(value):
    # A core.personal.Personal value is masked from its clear value (core.personal
    # imports this module, so it is recognized by its attribute).
    return getattr(value, "_clear", value)


def mask_id_number(value: str | None) -> str:
    value = _clear(value)
    if not value:
        return ""
    if len(value) <= 10:
        return "*" * len(value)
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


def mask_phone(value: str | None) -> str:
    value = _clear(value)
    if not value:
        return ""
    if len(value) <= 7:
        return value[:1] + "*" * (len(value) - 1)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def mask_name(value: str | None) -> str:
    """张三 → 张*, 张三明 → 张*明, 欧阳小明 → 欧**明 (for public rankings and posters)."""
    if not value:
        return ""
    if len(value) == 1:
        return value
    if len(value) == 2:
        return value[0] + "*"
    return value[0] + "*" * (len(value) - 2) + value[-1]


def mask_text(value: str | None) -> str:
    """Sensitive free text (health, special-group notes) shows only that it exists."""
    return "******" if value else ""


SPECIAL_GROUPS_MASK = "******"


def full_years(birth_date: datetime.date, today: datetime.date | None = None) -> int:
    """A person's age in whole years today (or on `today`)."""
    today = today or datetime.date.today()
    before_birthday = (today.month, today.day) < (birth_date.month, birth_date.day)
    return today.year - birth_date.year - before_birthday


def age_band(birth_date: datetime.date | None, today: datetime.date | None = None) -> str:
    """30–39岁 (a ten-year band; under 10 and 80 and over at the ends)."""
    birth_date = _clear(birth_date)
    if birth_date is None:
        return ""
    age = full_years(birth_date, today)
    if age >= 80:
        return "80岁及以上"
    low = max(age, 0) // 10 * 10
    return "10岁以下" if low == 0 else f"{low}–{low + 9}岁"
