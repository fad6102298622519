"""Cells of the workbooks the system writes (rosters, error lists, the audit export):
text that a spreadsheet would run as a formula is written so that it is shown."""

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value) -> object:
    """Defuse spreadsheet formulas: text starting with = + - @ is shown, not run."""
    if isinstance(value, str) and value[:1] in FORMULA_STARTS:
        return "'" + value
    return value


def unguard(text: str) -> str:
    """What safe_cell wrote, read back: an exported roster imports unchanged."""
    return text[1:] if text[:1] == "'" and text[1:2] in FORMULA_STARTS else text
