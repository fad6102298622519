"""Staff pages for activities: the monthly plan and its activities, each activity's steps,
residents' needs, venues, volunteer teams, and the activity figures."""

import datetime

from django import forms
from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from jiceng.activities import selectors, services
from jiceng.activities.models import Activity, ServiceType, TeamMember
from jiceng.activities.workflow import PROCESS, STEPS
from jiceng.core.access import has_permission, require
from jiceng.core.actors import Actor
from jiceng.core.errors import DomainError, NotFound
from jiceng.core.numbers import whole_number
from jiceng.core.pagination import page_of
from jiceng.core.region_codes import community_of, town_of
from jiceng.core.widgets import DateInput, TimeInput
from jiceng.gatherings.models import Venue
from jiceng.gatherings.selectors import roster_context, venues_bookable
from jiceng.party.selectors import branch_options
from jiceng.places.models import Region
from jiceng.places.reports import region_and_period
from jiceng.places.selectors import community_choices, nodes_under
from jiceng.residents.services import resident_by_phone

A = Activity.Status
LEVELS = (Region.Level.COUNTY, Region.Level.TOWN, Region.Level.COMMUNITY)  # where teams are
STAFF_STEPS = ("publish", "assign", "open_signup", "hold", "complete", "settle", "cancel")


@require_GET
def activity_list(request):
    user = request.user
    require(user, "activities.view")
    month = request.GET.get("month") or f"{timezone.localdate():%Y-%m}"
    status = request.GET.get("status", "")
    activities = selectors.activity_list(
        user=user, month=month, status=status, region_code=request.GET.get("region") or None
    ).order_by("gathering__starts_at", "id")
    first, _, _ = selectors.month_bounds(month)
    page = page_of(request, activities, 50)
    return render(
        request,
        "activities/list.html",
        {
            "page": page,
            "month": first,
            "status": status,
            "statuses": A.choices,
            "may_manage": has_permission(user, "activities.manage"),
            "previous": (first - datetime.timedelta(days=1)).replace(day=1),
            "following": (first + datetime.timedelta(days=32)).replace(day=1),
        },
    )


class ActivityForm(forms.Form):
    region_code = forms.ChoiceField(label="社区")
    title = forms.CharField(label="活动名称", max_length=80)
    service_type = forms.ModelChoiceField(
        label="服务类型", queryset=ServiceType.objects.filter(is_active=True), empty_label="请选择"
    )
    date = forms.DateField(label="日期", widget=DateInput())
    start = forms.TimeField(label="开始", widget=TimeInput())
    end = forms.TimeField(label="结束", widget=TimeInput())
    venue = forms.ModelChoiceField(
        label="阵地", queryset=Venue.objects.none(), required=False, empty_label="不在阵地举办"
    )
    place = forms.CharField(label="地点说明", max_length=200, required=False)
    capacity = forms.IntegerField(label="名额", min_value=1, max_value=10_000, initial=20)
    points = forms.IntegerField(label="每人积分", min_value=0, max_value=1000, initial=10)
    holiday_tag = forms.CharField(label="节日专题", max_length=16, required=False)
    description = forms.CharField(
        label="活动内容", max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    needs = forms.ModelMultipleChoiceField(
        label="对应的居民需求", queryset=None, required=False, widget=forms.CheckboxSelectMultiple
    )


def _whole_numbers(values) -> list[int]:
    return [n for n in (whole_number(v) for v in values[:50]) if n is not None]


@require_http_methods(["GET", "POST"])
def activity_new(request):
    """策划活动: a draft for the monthly plan, optionally answering recorded needs."""
    user = request.user
    require(user, "activities.manage")
    open_needs = selectors.need_list(user=user, open_only=True)
    # 据此策划 opens the form with that need ticked, in its community, with its type.
    wanted = open_needs.filter(pk__in=_whole_numbers(request.GET.getlist("need")))
    initial = {}
    if request.method == "GET" and wanted:
        first = wanted[0]
        initial = {
            "needs": [need.pk for need in wanted],
            "region_code": community_of(first.region_code),
            "service_type": first.service_type_id,
            "title": first.text[:80],
        }
    form = ActivityForm(request.POST or None, initial=initial)
    form.fields["region_code"].choices = community_choices(user, "activities.manage")
    form.fields["venue"].queryset = venues_bookable(user, "activities.manage")
    # Offered: the 50 newest open needs and any asked for; validated against every open
    # need in scope (a sliced queryset cannot be filtered, so every ticked need failed).
    offered = {*open_needs.values_list("pk", flat=True)[:50], *(n.pk for n in wanted)}
    offered |= set(_whole_numbers(request.POST.getlist("needs")))
    form.fields["needs"].queryset = open_needs.filter(pk__in=offered)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        when = [
            timezone.make_aware(datetime.datetime.combine(data["date"], data[t]))
            for t in ("start", "end")
        ]
        try:
            activity = services.activity_create(
                actor=Actor.of(request),
                region_code=data["region_code"],
                title=data["title"],
                service_type=data["service_type"],
                starts_at=when[0],
                ends_at=when[1],
                capacity=data["capacity"],
                points=data["points"],
                venue=data["venue"],
                place=data["place"],
                description=data["description"],
                holiday_tag=data["holiday_tag"],
                needs=list(data["needs"]),
            )
        except DomainError as refusal:
            form.add_error(refusal.field if refusal.field in form.fields else None, refusal.message)
        else:
            messages.success(request, "活动已创建（草稿），发布后志愿队可以认领。")
            return redirect("activities:detail", pk=activity.pk)
    return render(request, "activities/new.html", {"form": form})


@require_GET
def activity_detail(request, pk: int):
    user = request.user
    activity = selectors.activity_get(user=user, pk=pk)
    may_manage = has_permission(user, "activities.manage", activity.region_code)
    allowed = PROCESS.available_actions(Actor.of(request), activity)
    steps = [(name, STEPS[name].label) for name in STAFF_STEPS if name in allowed]
    return render(
        request,
        "activities/detail.html",
        {
            "activity": activity,
            **roster_context(activity.gathering, Actor.of(request), request.get_full_path()),
            "events": [
                (event, STEPS[event.action].label if event.action in STEPS else "改期")
                for event in activity.events.all()
            ],
            "steps": steps,
            "teams": selectors.team_list(
                user=user, region_code=town_of(activity.region_code)
            ).filter(is_active=True)
            if "assign" in dict(steps)
            else [],
            "may_manage": may_manage,
            "may_reschedule": "update" in allowed,
            "needs": activity.needs.all(),
        },
    )


@require_POST
def activity_act(request, pk: int, action: str):
    user = request.user
    activity = selectors.activity_get(user=user, pk=pk)
    if action not in STAFF_STEPS:
        raise NotFound()
    try:
        if action == "assign":
            team_id = whole_number(request.POST.get("team"))
            team = selectors.team_list(user=user).filter(pk=team_id).first()
            if team is None:
                raise DomainError("请选择承办队伍。", code="team_required")
            services.activity_assign(actor=Actor.of(request), activity=activity, team=team)
        elif action == "cancel":
            services.activity_cancel(
                actor=Actor.of(request), activity=activity, reason=request.POST.get("reason", "")
            )
        else:
            getattr(services, f"activity_{action}")(actor=Actor.of(request), activity=activity)
        messages.success(request, f"已{STEPS[action].label}。")
    except DomainError as refusal:
        messages.error(request, refusal.message)
    return redirect("activities:detail", pk=pk)


@require_POST
def reschedule(request, pk: int):
    """改期: a new date and time (those signed up are told by SMS)."""
    user = request.user
    activity = selectors.activity_get(user=user, pk=pk)
    try:
        day = datetime.date.fromisoformat(request.POST.get("date", ""))
        start, end = (
            timezone.make_aware(
                datetime.datetime.combine(day, datetime.time.fromisoformat(request.POST.get(t, "")))
            )
            for t in ("start", "end")
        )
        services.activity_update(
            actor=Actor.of(request), activity=activity, starts_at=start, ends_at=end
        )
        messages.success(request, "已改期，已报名的居民会收到短信。")
    except ValueError:
        messages.error(request, "请填写新的日期和起止时间。")
    except DomainError as refusal:
        messages.error(request, refusal.message)
    return redirect("activities:detail", pk=pk)


# --- needs, teams ---------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def needs(request):
    """居民需求: grid workers record them; the community plans from the open ones."""
    user = request.user
    require(user, "activities.view")
    if request.method == "POST":
        service_type = ServiceType.objects.filter(
            pk=whole_number(request.POST.get("service_type"))
        ).first()
        try:
            services.need_record(
                actor=Actor.of(request),
                region_code=request.POST.get("region_code", ""),
                text=request.POST.get("text", ""),
                service_type=service_type,
            )
            messages.success(request, "需求已登记。")
        except DomainError as refusal:
            messages.error(request, refusal.message)
        return redirect("activities:needs")
    grids = nodes_under(user=user, permission="activities.needs", level=Region.Level.GRID)
    page = page_of(request, selectors.need_list(user=user), 50)
    rows = [
        (need, not need.activity_id and has_permission(user, "activities.manage", need.region_code))
        for need in page
    ]
    return render(
        request,
        "activities/needs.html",
        {
            "page": page,
            "rows": rows,
            "grids": grids,
            "types": ServiceType.objects.filter(is_active=True),
        },
    )


@require_http_methods(["GET", "POST"])
def teams(request):
    user = request.user
    require(user, "activities.view")
    if request.method == "POST":
        try:
            team = services.team_create(
                actor=Actor.of(request),
                region_code=request.POST.get("region_code", ""),
                name=request.POST.get("name", ""),
                leader=resident_by_phone(request.POST.get("leader_phone", "")),
                service_types=ServiceType.objects.filter(
                    pk__in=[
                        pk
                        for v in request.POST.getlist("service_types")
                        if (pk := whole_number(v)) is not None
                    ]
                ),
                description=request.POST.get("description", ""),
                parent=selectors.team_list(user=user)
                .filter(pk=whole_number(request.POST.get("parent")))
                .first(),
                led_by=branch_options(user)
                .filter(pk=whole_number(request.POST.get("led_by")))
                .first(),
            )
        except DomainError as refusal:
            messages.error(request, refusal.message)
            return redirect("activities:teams")
        messages.success(request, "队伍已成立，队长用手机号登录即可认领活动。")
        return redirect("activities:team", pk=team.pk)
    page = page_of(request, selectors.team_list(user=user), 50)
    return render(
        request,
        "activities/teams.html",
        {
            "page": page,
            "communities": [
                (region.code, region.name)
                for region in nodes_under(user=user, permission="activities.manage", level=LEVELS)
            ],
            "parents": selectors.team_list(user=user).filter(is_active=True)[:200],
            "branches": branch_options(user)[:200],
            "types": ServiceType.objects.filter(is_active=True),
        },
    )


@require_GET
def team(request, pk: int):
    own = selectors.team_get(user=request.user, pk=pk)
    return render(
        request,
        "activities/team.html",
        {
            "team": own,
            "members": own.members.select_related("resident__person").order_by("joined_at"),
            "activities": selectors.team_activities(own)[:50],
            "kinds": TeamMember.Kind.choices,
            "may_manage": has_permission(request.user, "activities.manage", own.region_code),
        },
    )


@require_POST
def team_member_add(request, pk: int):
    own = selectors.team_get(user=request.user, pk=pk)
    try:
        services.team_member_add(
            actor=Actor.of(request),
            team=own,
            resident=resident_by_phone(request.POST.get("phone", "")),
            kind=request.POST.get("kind", TeamMember.Kind.RESIDENT),
        )
        messages.success(request, "队员已加入。")
    except DomainError as refusal:
        messages.error(request, refusal.message)
    return redirect("activities:team", pk=pk)


@require_GET
def figures(request):
    """活动统计 for a region and period (the API has the same figures)."""
    user = request.user
    require(user, "activities.view")
    roots, region, start, end = region_and_period(
        request, "activities.view", timezone.localdate().replace(month=1, day=1)
    )
    data = selectors.activity_figures(user=user, region_code=region, start=start, end=end)
    return render(
        request,
        "activities/figures.html",
        {
            "figures": data,
            "roots": roots,
            "region": region,
            "children": Region.objects.filter(parent_id=region).order_by("code"),
        },
    )
