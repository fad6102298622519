"""The natural order of buildings, units and rooms (1号楼 before 10号楼, room 101 before
1001): one key, used by every list of them, the same on PostgreSQL and SQLite.

The lists it orders are bounded by one grid (its buildings) or one building (its rooms), so
they are read whole and sorted here rather than by a collation the two databases do not
share; a list paginated in the database never orders by a building's name.
"""

import re
import unicodedata
from collections.abc import Iterable
from typing import TypeVar

_DIGITS = re.compile(r"(\d+)")
T = TypeVar("T")


def natural_key(text: str | None) -> tuple:
    """A sort key reading each run of digits as a number: "2单元" < "10单元", "101" < "1001",
    "1号楼" < "1号楼A" < "2号楼". Full-width digits count as digits (NFKC); names that start
    with a number come before those that do not; equal numbers written differently ("01",
    "1") are ordered by their text last, so the order is total."""
    text = unicodedata.normalize("NFKC", text or "").strip()
    # Splitting on a captured group alternates text, number, text …: the parts at odd
    # places are numbers, so two keys always compare like with like.
    parts = _DIGITS.split(text)
    numbered = tuple(int(part) if index % 2 else part for index, part in enumerate(parts))
    return (numbered, text)


def building_key(building) -> tuple:
    return (natural_key(building.name), building.pk or 0)


def dwelling_key(dwelling) -> tuple:
    """Building, unit number, then room (the unit and building are read if not joined)."""
    return (
        building_key(dwelling.building),
        dwelling.unit.number,
        natural_key(dwelling.room),
        dwelling.pk or 0,
    )


def buildings_in_order(buildings: Iterable[T]) -> list[T]:
    return sorted(buildings, key=building_key)


def dwellings_in_order(dwellings: Iterable[T]) -> list[T]:
    return sorted(dwellings, key=dwelling_key)


def floor_of(room: str) -> int | None:
    """The floor a room number names by the usual numbering (101 → 1, 1502 → 15, 2-301 → 3):
    its last run of three or more digits less the last two. None for a room that does not
    say (东户, 12)."""
    runs = _DIGITS.findall(unicodedata.normalize("NFKC", room or ""))
    if not runs or len(runs[-1]) < 3:
        return None
    return int(runs[-1][:-2])
