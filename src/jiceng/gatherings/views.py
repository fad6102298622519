"""Staff pages of the gatherings kernel: the venues (阵地) of every region node."""

import datetime

from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from jiceng.core.access import require
from jiceng.core.actors import Actor
from jiceng.core.errors import DomainError
from jiceng.core.pagination import page_of
from jiceng.gatherings import selectors, services
from jiceng.gatherings.models import Venue
from jiceng.places.models import Region
from jiceng.places.selectors import nodes_under

LEVELS = (Region.Level.COUNTY, Region.Level.TOWN, Region.Level.COMMUNITY)


def _node_choices(user) -> list[tuple[str, str]]:
    """The county, towns and communities where the user looks after venues."""
    nodes = nodes_under(user=user, permission="gatherings.venues", level=LEVELS)
    return [(r.code, r.name) for r in nodes]


@require_http_methods(["GET", "POST"])
def venues(request):
    """阵地: 红帆驿站, 红色议事厅, squares, a town's or the county's 党群服务中心 … with
    capacity and opening hours."""
    user = request.user
    require(user, "gatherings.view")
    if request.method == "POST":
        try:
            opens, closes = (
                datetime.time.fromisoformat(request.POST.get(name, ""))
                for name in ("opens_at", "closes_at")
            )
            services.venue_create(
                actor=Actor.of(request),
                region_code=request.POST.get("region_code", ""),
                name=request.POST.get("name", ""),
                kind=request.POST.get("kind", ""),
                capacity=int(request.POST.get("capacity") or 0),
                opens_at=opens,
                closes_at=closes,
                address=request.POST.get("address", ""),
            )
            messages.success(request, "阵地已添加。")
        except ValueError:
            messages.error(request, "请完整填写阵地名称、类型、容纳人数和开放时间。")
        except DomainError as refusal:
            messages.error(request, refusal.message)
        return redirect("gatherings:venues")
    return render(
        request,
        "gatherings/venues.html",
        {
            "venues": page_of(
                request, selectors.venue_list(user=user).order_by("region_code", "pk")
            ),
            "nodes": _node_choices(user),
            "kinds": Venue.Kind.choices,
        },
    )
