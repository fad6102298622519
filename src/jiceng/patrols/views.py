"""Pages for patrols (巡查) and visits (走访): log a round, report a finding in one step,
record visits to households, and see coverage per grid and per worker."""

import datetime

from django import forms
from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from jiceng.cases.catalogue import catalogue_list, category_groups
from jiceng.core.access import has_permission, require
from jiceng.core.actors import Actor
from jiceng.core.errors import DomainError, NotFound
from jiceng.core.intake import new_submission_key
from jiceng.core.numbers import whole_number
from jiceng.core.pagination import page_of
from jiceng.core.photos import clean_photo
from jiceng.core.region_codes import county_of
from jiceng.core.widgets import DateTimeInput
from jiceng.patrols import selectors, services
from jiceng.patrols.models import Visit
from jiceng.places.models import Building, Household, Region
from jiceng.places.ordering import buildings_in_order
from jiceng.places.reports import region_and_period
from jiceng.places.selectors import building_options, region_options


@require_GET
def patrol_list(request):
    user = request.user
    require(user, "patrols.view")
    roots, region, start, end = region_and_period(
        request, "patrols.view", timezone.localdate().replace(day=1)
    )
    rows, workers = selectors.patrol_coverage(user=user, region_code=region, start=start, end=end)
    patrols = page_of(request, selectors.patrol_list(user=user, region_code=region), 30)
    return render(
        request,
        "patrols/list.html",
        {
            "coverage": rows[: selectors.COVERAGE_GRIDS],
            "more_grids": len(rows) > selectors.COVERAGE_GRIDS,
            "workers": workers,
            "patrols": patrols,
            "region": region,
            "roots": roots,
            "start": start,
            "end": end,
            "can_log": has_permission(user, "patrols.log"),
        },
    )


class PatrolForm(forms.Form):
    grid = forms.ChoiceField(label="网格")
    started_at = forms.DateTimeField(label="开始时间", widget=DateTimeInput())
    ended_at = forms.DateTimeField(label="结束时间", widget=DateTimeInput())
    buildings = forms.TypedMultipleChoiceField(
        label="走过的楼栋", coerce=int, required=False, widget=forms.CheckboxSelectMultiple
    )
    checked_facilities = forms.BooleanField(label="区域设施已查清", required=False)
    checked_people = forms.BooleanField(label="人员情况已查清", required=False)
    checked_hazards = forms.BooleanField(label="矛盾隐患已查清", required=False)
    notes = forms.CharField(
        label="巡查记录", required=False, widget=forms.Textarea(attrs={"rows": 3})
    )


@require_http_methods(["GET", "POST"])
def patrol_new(request):
    user = request.user
    require(user, "patrols.log")
    grids = [r for r in region_options(user=user, permission="patrols.log") if r.is_grid]
    now = timezone.localtime().replace(second=0, microsecond=0)
    form = PatrolForm(
        request.POST or None,
        initial={"started_at": now - datetime.timedelta(hours=1), "ended_at": now},
    )
    form.fields["grid"].choices = [(g.code, g.name) for g in grids]
    chosen = request.POST.get("grid") or (grids[0].code if grids else "")
    buildings = {
        b.pk: b
        for b in (
            building_options(user=user, permission="patrols.log", grid_code=chosen)
            if chosen
            else []
        )
    }
    form.fields["buildings"].choices = [(pk, b.name) for pk, b in buildings.items()]
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            patrol = services.patrol_log(
                actor=Actor.of(request),
                grid=Region.objects.get(code=data["grid"]),
                started_at=data["started_at"],
                ended_at=data["ended_at"],
                buildings=[buildings[pk] for pk in data["buildings"]],
                checked_facilities=data["checked_facilities"],
                checked_people=data["checked_people"],
                checked_hazards=data["checked_hazards"],
                notes=data["notes"],
            )
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, "巡查已记录。发现问题可在下面直接上报。")
            return redirect("patrols:detail", pk=patrol.pk)
    return render(request, "patrols/new.html", {"form": form})


@require_GET
def patrol_detail(request, pk: int):
    user = request.user
    patrol = selectors.patrol_get(user=user, pk=pk)
    mine = patrol.worker_id == user.pk
    special = (
        Household.objects.filter(
            region_code=patrol.region_code, members__special_groups__isnull=False
        )
        .distinct()
        .order_by("number")[:200]
    )
    return render(
        request,
        "patrols/detail.html",
        {
            "patrol": patrol,
            "buildings": buildings_in_order(patrol.buildings.all()),
            "findings": list(patrol.findings.select_related("category__parent")),
            "visits": list(patrol.visits.select_related("household")),
            "mine": mine,
            "categories": category_groups(county_of(patrol.region_code)) if mine else [],
            "households": special if mine else [],
            "can_reveal": has_permission(user, "people.view_sensitive", patrol.region_code),
            "submission": new_submission_key(),
        },
    )


@require_POST
def patrol_finding(request, pk: int):
    user = request.user
    patrol = selectors.patrol_get(user=user, pk=pk)
    post = request.POST
    try:
        category_id, building_id = (whole_number(post.get(f)) for f in ("category", "building"))
        category = (
            catalogue_list(county_code=county_of(patrol.region_code)).filter(pk=category_id).first()
            if category_id is not None
            else None
        )
        building = (
            Building.objects.filter(pk=building_id, region_code=patrol.region_code).first()
            if building_id is not None
            else None
        )
        case = services.patrol_finding(
            actor=Actor.of(request),
            patrol=patrol,
            description=post.get("description", ""),
            category=category,
            building=building,
            photos=[clean_photo(f) for f in request.FILES.getlist("photos")[:3]],
            idempotency_key=f"patrol:{patrol.pk}:{post.get('submission', '')[:40]}",
        )
    except DomainError as error:
        if error.status == 404:
            raise
        messages.error(request, error.message)
    else:
        messages.success(request, f"已上报诉求 {case.tracking_code}。")
    return redirect("patrols:detail", pk=patrol.pk)


@require_POST
def patrol_visit(request, pk: int):
    user = request.user
    patrol = selectors.patrol_get(user=user, pk=pk)
    household = Household.objects.filter(
        pk=whole_number(request.POST.get("household")), region_code=patrol.region_code
    ).first()
    try:
        if household is None:
            raise DomainError("请选择走访的户。", code="household_required")
        services.visit_log(
            actor=Actor.of(request),
            household=household,
            notes=request.POST.get("notes", ""),
            patrol=patrol,
        )
    except DomainError as error:
        if error.status == 404:
            raise
        messages.error(request, error.message)
    else:
        messages.success(request, "走访已记录。")
    return redirect("patrols:detail", pk=patrol.pk)


@require_POST
def visit_reveal(request, pk: int):
    visit = Visit.objects.filter(pk=pk).select_related("household").first()
    if visit is None or not has_permission(request.user, "patrols.view", visit.region_code):
        raise NotFound()
    notes = services.visit_reveal(actor=request.user, visit=visit)
    return render(request, "places/_revealed.html", {"value": notes})
