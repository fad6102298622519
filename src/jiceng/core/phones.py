"""Phone numbers as people type them — with spaces, dashes, +86 or 0086 in front, in
full-width digits — read the same way on every form and in every import."""

import re
import unicodedata

MOBILE = re.compile(r"1[3-9]\d{9}")
LANDLINE = re.compile(r"0\d{2,3}-?\d{7,8}|\d{7,8}")  # with its area code, or a local one


def _tidy(text: str) -> str:
    text = unicodedata.normalize("NFKC", text or "").strip()
    return re.sub(r"[\s()（）]", "", text)


def mobile(text: str) -> str | None:
    """The 11-digit mobile number written in `text`, or None."""
    digits = _tidy(text).replace("-", "")
    for prefix in ("+86", "0086"):
        digits = digits.removeprefix(prefix)
    if len(digits) == 13 and digits.startswith("86"):
        digits = digits[2:]
    return digits if MOBILE.fullmatch(digits) else None


def phone(text: str) -> str | None:
    """A mobile number, or a landline (0537-1234567, or local 1234567), or None."""
    number = mobile(text)
    if number:
        return number
    tidy = _tidy(text)
    return tidy if LANDLINE.fullmatch(tidy) else None


AREA_LANDLINE = re.compile(r"0\d{2,3}-?\d{7,8}")


def reachable(text: str) -> str | None:
    """A number someone can be called back on from anywhere: a mobile, or a landline with
    its area code; None for a bare local number (seven digits are as often a mobile
    number typed short) and anything else."""
    number = mobile(text)
    if number:
        return number
    tidy = _tidy(text)
    return tidy if AREA_LANDLINE.fullmatch(tidy) else None
