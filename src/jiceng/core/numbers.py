"""Whole numbers read from what a browser sent (an id picked in a form, a count, a
rating): anything that is not one is None, never an exception, so that a hand-made request
gets the form's own error instead of a server error."""

import re

WHOLE = re.compile(r"[0-9]{1,18}")  # ASCII digits only, and small enough for any column


def whole_number(value: object) -> int | None:
    """`value` as a non-negative integer if it is written as one, else None: empty text,
    words, fractions, signs, exponents, superscript or full-width digits, huge numbers."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    return int(text) if WHOLE.fullmatch(text) else None
