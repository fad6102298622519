"""What residents see of activities, without staff login: the monthly preview (月度活动预告)
of a county, town or community as a phone page, an iCalendar feed and an RSS feed; one
activity with sign-up; and check-in by the code the team leader shows."""

import datetime
import time

import icalendar
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.contrib.syndication.views import Feed
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from jiceng.activities import selectors, services
from jiceng.activities.models import Activity, SignUp
from jiceng.activities.workflow import PUBLIC
from jiceng.core.actors import Actor
from jiceng.core.errors import DomainError
from jiceng.core.region_codes import COUNTY, community_of, is_above, town_of
from jiceng.places.models import Region
from jiceng.residents.decorators import resident_required
from jiceng.residents.services import current_resident

A = Activity.Status


def _region(code: str) -> Region:
    region = Region.objects.filter(code=code).exclude(level=Region.Level.GRID).first()
    if region is None or is_above(code, COUNTY):
        raise Http404("未找到该区划。")
    return region


@login_not_required
@require_GET
def index(request):
    """Choose a town or community: those with activities this month or next come first."""
    resident = current_resident(request)
    if resident and resident.region_code:
        return redirect("calendar:month", code=community_of(resident.region_code))
    _, start, _ = selectors.month_bounds(None)
    codes = set(
        Activity.objects.filter(status__in=PUBLIC, starts_at__gte=start)
        .values_list("region_code", flat=True)
        .distinct()[:2000]
    )
    towns = {town_of(code) for code in codes}
    regions = Region.objects.filter(code__in=codes | towns).order_by("code")
    return render(request, "activities/public/index.html", {"regions": regions})


@login_not_required
@require_GET
def month(request, code: str):
    region = _region(code)
    first, _, _ = selectors.month_bounds(request.GET.get("month"))
    activities = list(selectors.public_activities(region_code=code, month=f"{first:%Y-%m}"))
    days: dict[datetime.date, list[Activity]] = {}
    for activity in activities:
        days.setdefault(timezone.localtime(activity.starts_at).date(), []).append(activity)
    previous = (first - datetime.timedelta(days=1)).replace(day=1)
    following = (first + datetime.timedelta(days=32)).replace(day=1)
    return render(
        request,
        "activities/public/month.html",
        {
            "region": region,
            "first": first,
            "days": sorted(days.items()),
            "previous": previous,
            "following": following,
            "holidays": sorted({a.holiday_tag for a in activities if a.holiday_tag}),
        },
    )


@login_not_required
@require_GET
def ical(request, code: str):
    """The region's activities from last month on, as iCalendar (RFC 5545): a phone's
    calendar subscribes once and follows changes (SEQUENCE) and cancellations."""
    region = _region(code)
    since = timezone.now() - datetime.timedelta(days=31)
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//Jiceng//基层治理 活动预告//ZH")
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", f"{region.name}活动预告")
    calendar.add("x-wr-timezone", "Asia/Shanghai")
    host = request.get_host().split(":")[0]
    activities = selectors.public_activities(region_code=code).filter(ends_at__gte=since)[:1000]
    for activity in activities:
        event = icalendar.Event()
        event.add("uid", f"activity-{activity.pk}@{host}")
        event.add("dtstamp", activity.updated_at)
        event.add("dtstart", activity.starts_at)
        event.add("dtend", activity.ends_at)
        event.add("sequence", activity.sequence)
        event.add("summary", activity.title)
        event.add("location", _place(activity))
        event.add("description", activity.description)
        event.add(
            "url", request.build_absolute_uri(reverse("calendar:activity", args=[activity.pk]))
        )
        event.add("status", "CANCELLED" if activity.status == A.CANCELLED else "CONFIRMED")
        event.add(
            "categories", [t for t in (activity.service_type.name, activity.holiday_tag) if t]
        )
        calendar.add_component(event)
    response = HttpResponse(calendar.to_ical(), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'inline; filename="activities-{code}.ics"'
    return response


def _place(activity: Activity) -> str:
    return " ".join(p for p in (activity.venue.name if activity.venue else "", activity.place) if p)


class MonthFeed(Feed):
    """RSS 2.0: the region's newest published activities."""

    def get_object(self, request, code: str):
        return _region(code)

    def title(self, region):
        return f"{region.name}活动预告"

    def link(self, region):
        return reverse("calendar:month", args=[region.code])

    def description(self, region):
        return f"{region.name}的志愿服务和居民活动"

    def items(self, region):
        return selectors.public_activities(region_code=region.code).order_by("-created_at")[:50]

    def item_title(self, activity):
        prefix = "【已取消】" if activity.status == A.CANCELLED else ""
        tag = f"【{activity.holiday_tag}】" if activity.holiday_tag else ""
        return f"{prefix}{tag}{activity.title}"

    def item_description(self, activity):
        when = timezone.localtime(activity.starts_at)
        return f"{when:%Y-%m-%d %H:%M} {_place(activity)}\n{activity.description}"

    def item_link(self, activity):
        return reverse("calendar:activity", args=[activity.pk])

    def item_pubdate(self, activity):
        return activity.created_at

    def item_updateddate(self, activity):
        return activity.updated_at


feed = login_not_required(MonthFeed())


@login_not_required
@require_GET
def activity(request, pk: int):
    item = selectors.public_activity(pk)
    resident = current_resident(request)
    signup = (
        SignUp.objects.filter(activity=item, resident=resident)
        .exclude(status=SignUp.Status.CANCELLED)
        .first()
        if resident
        else None
    )
    return render(
        request,
        "activities/public/activity.html",
        {
            "activity": item,
            "signup": signup,
            "taken": selectors.confirmed_count(item),
            "open": item.status == A.SIGNUP and item.starts_at > timezone.now(),
            # Tapped 报名 while signed out: the sign-in brings the resident back here, one
            # tap from the sign-up (a GET changes nothing by itself).
            "intent": resident is not None and request.GET.get("intent") == "signup",
            "back": f"{reverse('calendar:activity', args=[item.pk])}?intent=signup",
        },
    )


def _refusal(request, refusal: DomainError, pk: int):
    messages.error(request, refusal.message)
    return redirect("calendar:activity", pk=pk)


@resident_required
@require_POST
def signup(request, pk: int):
    item = selectors.public_activity(pk)
    try:
        made = services.signup_create(actor=Actor.of(request), activity=item)
    except DomainError as refusal:
        return _refusal(request, refusal, pk)
    if made.status == SignUp.Status.CONFIRMED:
        messages.success(request, "报名成功，请按时参加。")
    else:
        messages.success(request, "名额已满，您在候补名单中，有人取消时会自动递补并短信通知您。")
    return redirect("calendar:activity", pk=pk)


@resident_required
@require_POST
def signup_cancel(request, pk: int):
    item = selectors.public_activity(pk)
    mine = SignUp.objects.filter(activity=item, resident=request.resident).first()
    try:
        if mine is None:
            raise DomainError("您没有报名这个活动。", code="not_signed_up")
        services.signup_cancel(actor=Actor.of(request), signup=mine)
    except DomainError as refusal:
        return _refusal(request, refusal, pk)
    messages.success(request, "已取消报名。")
    return redirect("calendar:activity", pk=pk)


def _scan_key(activity: Activity) -> str:
    return f"activity_check_in:{activity.pk}"


@resident_required
@require_http_methods(["GET", "POST"])
def check_in(request, pk: int, code: str):
    """The leader's screen shows a QR code of this address. Opening it checks the code is
    fresh and keeps the moment in this resident's session; the tap on 确认签到 counts
    from that scan, in this session only. The check-in is a claim until the leader
    confirms it."""
    item = selectors.public_activity(pk)
    key = _scan_key(item)
    if request.method == "POST":
        scan = request.session.get(key)
        try:
            services.signup_check_in(
                actor=Actor.of(request),
                activity=item,
                code=code,
                scanned_at=scan[1] if scan and scan[0] == code else None,
            )
        except DomainError as refusal:
            return _refusal(request, refusal, pk)
        request.session.pop(key, None)
        messages.success(request, "签到成功！请队长确认出勤；活动结束时别忘了签退。")
        return redirect("calendar:activity", pk=pk)
    try:
        services.check_in_scan(activity=item, code=code)
    except DomainError as refusal:
        return _refusal(request, refusal, pk)
    request.session[key] = [code, time.time()]
    return render(request, "activities/public/check_in.html", {"activity": item, "code": code})


@resident_required
@require_POST
def check_out(request, pk: int):
    item = selectors.public_activity(pk)
    try:
        done = services.signup_check_out(actor=Actor.of(request), activity=item)
    except DomainError as refusal:
        return _refusal(request, refusal, pk)
    messages.success(request, f"签退成功，本次服务 {done.hours} 小时。")
    return redirect("calendar:activity", pk=pk)
