"""Region codes read as paths: each level's code length, declared once, and the helpers
that find a code's level, its ancestors and whether it lies inside another node.

A code is the path of digits from the province down: 37 → 3708 → 370829 → 370829001 →
370829001001 → 370829001001001 (province, city, county, town, community, grid; the first
twelve digits are the statistical division code without its trailing zeros, a grid adds a
three-digit serial). No other module cuts a code or counts its digits: a test finds them.
"""

PROVINCE = "province"
CITY = "city"
COUNTY = "county"
TOWN = "town"
COMMUNITY = "community"
GRID = "grid"

# Levels top first, with the length of their codes (the model's Region.Level names).
CODE_LENGTHS = {PROVINCE: 2, CITY: 4, COUNTY: 6, TOWN: 9, COMMUNITY: 12, GRID: 15}
LEVELS = tuple(CODE_LENGTHS)
MAX_LENGTH = 24  # room below the grid; the column's width
STATISTICAL_LENGTH = CODE_LENGTHS[COMMUNITY]  # the 12-digit statistical division code

_LEVEL_BY_LENGTH = {length: level for level, length in CODE_LENGTHS.items()}


def level_of(code: str) -> str | None:
    """The level whose codes have this many digits, or None for any other length."""
    return _LEVEL_BY_LENGTH.get(len(code))


def cut(code: str, level: str) -> str:
    """The code of the node at `level` that `code` lies in; a code at or above that
    level is returned whole."""
    return code[: CODE_LENGTHS[level]]


def county_of(code: str) -> str:
    """The county (县市区) a code lies in: its first six digits."""
    return cut(code, COUNTY)


def town_of(code: str) -> str:
    """The town or street (乡镇街道) a code lies in: its first nine digits."""
    return cut(code, TOWN)


def community_of(code: str) -> str:
    """The community or village (社区村) a code lies in: its first twelve digits."""
    return cut(code, COMMUNITY)


def grid_of(code: str) -> str:
    """The grid (网格) a code lies in: its first fifteen digits."""
    return cut(code, GRID)


def is_within(code: str, ancestor: str) -> bool:
    """Whether `code` is the node `ancestor` or lies under it."""
    return code.startswith(ancestor)


def is_above(code: str, level: str) -> bool:
    """Whether `code` is a node above `level` (shorter than that level's codes)."""
    return len(code) < CODE_LENGTHS[level]


def ancestors_of(code: str) -> list[str]:
    """The codes of the levels above `code`, top first (read from the code, no queries)."""
    return [code[:length] for length in CODE_LENGTHS.values() if length < len(code)]


def common_ancestor(codes) -> str:
    """The narrowest node at or above every one of `codes` (a county for two towns of it,
    the city for two of its counties); "" when they share no province, or for none."""
    codes = list(codes)
    if not codes:
        return ""
    shared = codes[0]
    for code in codes[1:]:
        while not is_within(code, shared):
            shared = parent_of(shared) or ""
    return shared


def parent_of(code: str) -> str | None:
    """The code of the node right above `code`, or None for a province."""
    ancestors = ancestors_of(code)
    return ancestors[-1] if ancestors else None


def child_length_of(code: str) -> int | None:
    """The length of the codes one level below `code`, or None below the grid level."""
    level = level_of(code)
    below = LEVELS.index(level) + 1 if level is not None else len(LEVELS)
    return CODE_LENGTHS[LEVELS[below]] if below < len(LEVELS) else None


def serial_of(code: str) -> str:
    """The digits a node adds below its parent (a town's three, a grid's serial)."""
    return code[len(parent_of(code) or "") :]


def statistical_code(code: str) -> str:
    """The 12-digit statistical division code of a province-to-community node."""
    return code[:STATISTICAL_LENGTH].ljust(STATISTICAL_LENGTH, "0")
