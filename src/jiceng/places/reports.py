"""The region and the period a report page asks for in its query string."""

import datetime

from django.utils import timezone

from jiceng.places import selectors


def region_and_period(request, permission: str, default_start: datetime.date):
    """The region (default: the user's own node) and the period (default: from
    `default_start` to today) asked for in a report's query string."""
    roots = selectors.region_options(user=request.user, permission=permission)
    region = request.GET.get("region", "") or (roots[0].code if roots else "")
    try:
        start = datetime.date.fromisoformat(request.GET.get("start", ""))
        end = datetime.date.fromisoformat(request.GET.get("end", ""))
    except ValueError:
        start, end = default_start, timezone.localdate()
    selectors.check_report_scope(region, start, end)
    return roots, region, start, end
