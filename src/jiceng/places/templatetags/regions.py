"""`{{ code|region_name }}`: a region's name where a page would otherwise show its code
(城南社区, not 370829001001). Names are read once and kept a few minutes."""

import time

from django import template

from jiceng.places.models import Region

register = template.Library()
KEEP_SECONDS = 300
_names: dict[str, tuple[float, str]] = {}


@register.filter
def region_name(code: str) -> str:
    if not code:
        return ""
    kept = _names.get(code)
    if kept is not None and time.monotonic() - kept[0] < KEEP_SECONDS:
        return kept[1]
    name = Region.objects.filter(code=code).values_list("name", flat=True).first() or code
    if len(_names) > 50_000:
        _names.clear()
    _names[code] = (time.monotonic(), name)
    return name
