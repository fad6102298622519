"""What residents see of gatherings, without staff login: the monthly preview (月度预告) of
a county, town or community as a phone page, an iCalendar feed and an RSS feed, of every
kind published to the public; one gathering with sign-up; and check-in by the code the
organizer shows."""

import datetime
import time
from urllib.parse import urlsplit

import icalendar
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.contrib.syndication.views import Feed
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from jiceng.core.actors import Actor
from jiceng.core.errors import DomainError
from jiceng.core.links import public_base_url
from jiceng.core.region_codes import COUNTY, community_of, is_above, town_of
from jiceng.gatherings import selectors, services
from jiceng.gatherings.kinds import Note, notes_for
from jiceng.gatherings.models import Gathering, SignUp
from jiceng.gatherings.recurrence import ical_events
from jiceng.places.models import Region
from jiceng.residents.decorators import resident_required
from jiceng.residents.services import current_resident

P = Gathering.Phase


def _region(code: str) -> Region:
    region = Region.objects.filter(code=code).exclude(level=Region.Level.GRID).first()
    if region is None or is_above(code, COUNTY):
        raise Http404("未找到该区划。")
    return region


def _noted(gatherings) -> list[tuple[Gathering, Note]]:
    gatherings = list(gatherings)
    notes = notes_for(gatherings)
    return [(g, notes.get(g.pk, Note())) for g in gatherings]


@login_not_required
@require_GET
def index(request):
    """Choose a town or community: those with gatherings this month or next come first."""
    resident = current_resident(request)
    if resident and resident.region_code:
        return redirect("calendar:month", code=community_of(resident.region_code))
    _, start, _ = selectors.month_bounds(None)
    codes = set(
        Gathering.objects.filter(public=True, starts_at__gte=start)
        .values_list("region_code", flat=True)
        .distinct()[:2000]
    )
    towns = {town_of(code) for code in codes}
    regions = Region.objects.filter(code__in=codes | towns).order_by("code")
    return render(request, "gatherings/public/index.html", {"regions": regions})


@login_not_required
@require_GET
def month(request, code: str):
    region = _region(code)
    first, _, _ = selectors.month_bounds(request.GET.get("month"))
    noted = _noted(selectors.public_gatherings(region_code=code, month=f"{first:%Y-%m}"))
    days: dict[datetime.date, list] = {}
    for gathering, note in noted:
        days.setdefault(timezone.localtime(gathering.starts_at).date(), []).append(
            (gathering, note)
        )
    previous = (first - datetime.timedelta(days=1)).replace(day=1)
    following = (first + datetime.timedelta(days=32)).replace(day=1)
    return render(
        request,
        "gatherings/public/month.html",
        {
            "region": region,
            "first": first,
            "days": sorted(days.items()),
            "previous": previous,
            "following": following,
            "holidays": sorted({tag for _, note in noted for tag in note.tags}),
        },
    )


@login_not_required
@require_GET
def ical(request, code: str):
    """The region's gatherings from last month on, as iCalendar (RFC 5545): a phone's
    calendar subscribes once and follows changes (SEQUENCE) and cancellations; a series
    is one event with its RRULE, its cancelled occurrences as EXDATE and its moved ones
    as events of their own (RECURRENCE-ID)."""
    region = _region(code)
    since = timezone.now() - datetime.timedelta(days=31)
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//Jiceng//基层治理 活动预告//ZH")
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", f"{region.name}活动预告")
    calendar.add("x-wr-timezone", "Asia/Shanghai")
    # UIDs stay the same whichever name the site was reached by.
    host = urlsplit(public_base_url(request)).hostname
    gatherings = selectors.public_gatherings(region_code=code).filter(ends_at__gte=since)[:1000]
    for event in ical_events(_noted(gatherings), host, request.build_absolute_uri):
        calendar.add_component(event)
    calendar.add_missing_timezones()  # the VTIMEZONE of the events' TZID
    response = HttpResponse(calendar.to_ical(), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'inline; filename="activities-{code}.ics"'
    return response


class MonthFeed(Feed):
    """RSS 2.0: the region's newest published gatherings."""

    def get_object(self, request, code: str):
        return _region(code)

    def title(self, region):
        return f"{region.name}活动预告"

    def link(self, region):
        return reverse("calendar:month", args=[region.code])

    def description(self, region):
        return f"{region.name}的志愿服务和居民活动"

    def items(self, region):
        newest = selectors.public_gatherings(region_code=region.code).order_by("-created_at")
        return _noted(newest[:50])

    def item_title(self, item):
        gathering, note = item
        prefix = "【已取消】" if gathering.phase == P.CANCELLED else ""
        tags = "".join(f"【{tag}】" for tag in note.tags)
        return f"{prefix}{tags}{gathering.title}"

    def item_description(self, item):
        gathering, _ = item
        when = timezone.localtime(gathering.starts_at)
        return f"{when:%Y-%m-%d %H:%M} {gathering.where}\n{gathering.description}"

    def item_link(self, item):
        return reverse("calendar:gathering", args=[item[0].pk])

    def item_guid(self, item):
        return reverse("calendar:gathering", args=[item[0].pk])

    def item_pubdate(self, item):
        return item[0].created_at

    def item_updateddate(self, item):
        return item[0].updated_at


feed = login_not_required(MonthFeed())


def _may_sign_up(gathering: Gathering) -> bool:
    return (
        gathering.phase in services.SIGNUP_OPEN
        and gathering.starts_at > timezone.now()
        and gathering.audience in services.SELF_SIGNUP
    )


@login_not_required
@require_GET
def gathering(request, pk: int):
    resident = current_resident(request)
    item = selectors.resident_gathering(pk, resident)
    note = notes_for([item]).get(item.pk, Note())
    return render(
        request,
        "gatherings/public/gathering.html",
        {
            "gathering": item,
            "note": note,
            "signup": selectors.resident_signup(item, resident),
            "taken": selectors.confirmed_count(item),
            "open": _may_sign_up(item),
            "withdrawable": item.phase in services.WITHDRAWABLE,
            # Tapped 报名 while signed out: the sign-in brings the resident back here, one
            # tap from the sign-up (a GET changes nothing by itself).
            "intent": resident is not None and request.GET.get("intent") == "signup",
            "back": f"{reverse('calendar:gathering', args=[item.pk])}?intent=signup",
        },
    )


def _refusal(request, refusal: DomainError, pk: int):
    messages.error(request, refusal.message)
    return redirect("calendar:gathering", pk=pk)


@resident_required
@require_POST
def signup(request, pk: int):
    item = selectors.resident_gathering(pk, request.resident)
    try:
        made = services.signup_create(actor=Actor.of(request), gathering=item)
    except DomainError as refusal:
        return _refusal(request, refusal, pk)
    if made.status == SignUp.Status.CONFIRMED:
        messages.success(request, "报名成功，请按时参加。")
    else:
        messages.success(request, "名额已满，您在候补名单中，有人取消时会自动递补并短信通知您。")
    return redirect("calendar:gathering", pk=pk)


@resident_required
@require_POST
def signup_cancel(request, pk: int):
    item = selectors.resident_gathering(pk, request.resident)
    mine = selectors.resident_signup(item, request.resident)
    try:
        if mine is None:
            raise DomainError("您没有报名。", code="not_signed_up")
        services.signup_cancel(actor=Actor.of(request), signup=mine)
    except DomainError as refusal:
        return _refusal(request, refusal, pk)
    messages.success(request, "已取消报名。")
    return redirect("calendar:gathering", pk=pk)


def _scan_key(pk: int) -> str:
    return f"gathering_check_in:{pk}"


@login_not_required
@require_http_methods(["GET", "POST"])
def check_in(request, pk: int, code: str):
    """The organizer's screen shows a QR code of this address. Opening it checks the code
    is fresh and keeps the moment in this resident's session; the tap on 确认签到 counts
    from that scan, in this session only. Someone not yet signed in keeps the moment of
    the scan through signing in (the code has moved on by then). The check-in is a claim
    until the organizer confirms it."""
    key = _scan_key(pk)
    request.resident = current_resident(request)
    if request.resident is None:
        if request.method == "GET":  # nothing is looked up before signing in
            request.session[key] = [code, time.time()]
        return resident_required(check_in)(request, pk=pk, code=code)
    item = selectors.resident_gathering(pk, request.resident)
    scan = request.session.get(key)
    scanned_at = scan[1] if scan and scan[0] == code else None
    if request.method == "POST":
        try:
            services.signup_check_in(
                actor=Actor.of(request), gathering=item, code=code, scanned_at=scanned_at
            )
        except DomainError as refusal:
            return _refusal(request, refusal, pk)
        request.session.pop(key, None)
        messages.success(request, "签到成功！请等待组织者确认出勤；结束时别忘了签退。")
        return redirect("calendar:gathering", pk=pk)
    fresh = scanned_at is not None and time.time() - scanned_at <= services.SCAN_GRACE
    mine = selectors.resident_signup(item, request.resident)
    try:
        if mine is None or mine.status != SignUp.Status.CONFIRMED:
            raise DomainError("您没有这次的名额，请先报名。", code="not_signed_up")
        services.check_in_scan(gathering=item, code=code, at=scanned_at if fresh else None)
    except DomainError as refusal:
        return _refusal(request, refusal, pk)
    if not fresh:
        request.session[key] = [code, time.time()]
    return render(request, "gatherings/public/check_in.html", {"gathering": item, "code": code})


@resident_required
@require_POST
def check_out(request, pk: int):
    item = selectors.resident_gathering(pk, request.resident)
    try:
        done = services.signup_check_out(actor=Actor.of(request), gathering=item)
    except DomainError as refusal:
        return _refusal(request, refusal, pk)
    messages.success(request, f"签退成功，本次 {done.hours} 小时。")
    return redirect("calendar:gathering", pk=pk)
