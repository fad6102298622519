"""Region names by code, for pages that would otherwise show a code (城南社区第1网格, not
370829001001001): the names of a whole county are read in one query the first time one of
its codes is asked for, and kept a few minutes in this process (forgotten at once when a
region is saved here), so a list's rows never cost a query each."""

import time

from django.db.models.functions import Length

from jiceng.core.region_codes import CODE_LENGTHS, COUNTY, county_of, is_above
from jiceng.places.models import Region

KEEP_SECONDS = 300
_ABOVE_COUNTIES = ""  # the key of the province and city nodes

# county prefix (or _ABOVE_COUNTIES) -> (read at, {code: name})
_counties: dict[str, tuple[float, dict[str, str]]] = {}


def _key(code: str) -> str:
    return _ABOVE_COUNTIES if is_above(code, COUNTY) else county_of(code)


def _read(key: str) -> dict[str, str]:
    regions = Region.objects.all()
    if key == _ABOVE_COUNTIES:
        regions = regions.annotate(digits=Length("code")).filter(digits__lt=CODE_LENGTHS[COUNTY])
    else:
        regions = regions.filter(code__within=key)
    return dict(regions.values_list("code", "name"))


def _names_of(key: str) -> dict[str, str]:
    kept = _counties.get(key)
    if kept is None or time.monotonic() - kept[0] >= KEEP_SECONDS:
        kept = (time.monotonic(), _read(key))
        _counties[key] = kept
    return kept[1]


def region_name(code: str) -> str:
    """The name of the region `code` (the code itself if there is no such region)."""
    if not code:
        return ""
    code = str(code)
    return _names_of(_key(code)).get(code, code)


def region_names(codes) -> dict[str, str]:
    """{code: name} for `codes` (a region that does not exist keeps its code)."""
    return {code: region_name(code) for code in codes}


def forget(**_ignored) -> None:
    """Drop every kept name (a region was created, renamed or deleted)."""
    _counties.clear()
