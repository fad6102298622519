"""Resident ID numbers (居民身份证号码, GB 11643-1999): check, and what they tell."""

import datetime
import operator
from dataclasses import dataclass

from jiceng.core.errors import DomainError

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARACTERS = "10X98765432"
DIGITS = frozenset("0123456789")


@dataclass(frozen=True)
class IdNumber:
    value: str
    birth_date: datetime.date
    gender: str  # "M" or "F": odd sequence digit is male


def check_character(first17: str) -> str:
    return CHECK_CHARACTERS[sum(map(operator.mul, map(int, first17), WEIGHTS)) % 11]


def parse_id_number(raw: str, *, today: datetime.date | None = None) -> IdNumber:
    """Validate an 18-character ID number and derive birth date and gender.

    The address part is not checked against current division codes: retired codes live on
    in the numbers of everyone born before the change.
    """
    value = (raw or "").strip().upper()
    if len(value) != 18:
        raise DomainError("身份证号应为18位。", code="id_number_length")
    if not set(value[:17]) <= DIGITS or not (value[17] in DIGITS or value[17] == "X"):
        raise DomainError("身份证号只能由数字和末位X组成。", code="id_number_characters")
    try:
        birth = datetime.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        raise DomainError("身份证号中的出生日期无效。", code="id_number_birth_date") from None
    today = today or datetime.date.today()
    if birth > today or birth.year < 1880:
        raise DomainError("身份证号中的出生日期无效。", code="id_number_birth_date")
    if check_character(value[:17]) != value[17]:
        raise DomainError("身份证号校验位不正确。", code="id_number_check_digit")
    return IdNumber(value=value, birth_date=birth, gender="M" if int(value[16]) % 2 else "F")
