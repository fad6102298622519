"""The resident's sign-in by phone and one-time code (no staff login), and staff linking a
resident to their person record. The resident's other pages belong to what they show:
points in points/resident_views.py, the home page in activities/me.py."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from jiceng.accounts.selectors import staff_at
from jiceng.cases.models import Case
from jiceng.cases.selectors import resident_cases
from jiceng.cases.workflow import resident_status
from jiceng.core import phones
from jiceng.core.access import require
from jiceng.core.actors import Actor
from jiceng.core.errors import DomainError, NotFound
from jiceng.core.links import safe_next
from jiceng.core.masking import mask_name, mask_phone
from jiceng.core.middleware import client_ip
from jiceng.core.pagination import page_of
from jiceng.places.models import Region
from jiceng.places.selectors import building_rooms, person_get, region_breadcrumbs, region_get
from jiceng.residents import selectors, services
from jiceng.residents.decorators import resident_required


def _next(request) -> str:
    target = request.POST.get("next") or request.GET.get("next")
    return safe_next(request, target, reverse("me:home"))


@login_not_required
@require_http_methods(["GET", "POST"])
def login(request):
    """Two steps on one page: the phone number, then the code sent to it."""
    phone, error, code_sent = request.POST.get("phone", "").strip(), "", False
    if request.method == "POST":
        try:
            if request.POST.get("step") == "verify":
                resident = services.otp_verify(
                    actor=Actor.of(request),
                    phone=phone,
                    code=request.POST.get("code", ""),
                    address=client_ip(request),
                )
                services.resident_login(request, resident)
                return redirect(_next(request))
            services.otp_request(actor=Actor.of(request), phone=phone, address=client_ip(request))
            code_sent = True
        except DomainError as refusal:
            error = refusal.message
            code_sent = refusal.code in ("otp_wrong", "otp_too_soon")
    return render(
        request,
        "residents/login.html",
        {
            "phone": phone,
            # As the code was sent: "+86 155 6062 1534" reads 155****1534.
            "phone_shown": mask_phone(phones.mobile(phone) or phone),
            "error": error,
            "code_sent": code_sent,
            "next": _next(request),
        },
    )


@login_not_required
@require_POST
def logout(request):
    services.resident_logout(request)
    return redirect("me:login")


@resident_required
@never_cache  # the resident's own words and private links
@require_http_methods(["GET", "POST"])
def requests(request):
    """我的诉求: the requests made with the resident's phone and those they claimed, each
    with its private tracking link; a request made with another phone is claimed here by
    its 查询码 and that phone's last four digits."""
    resident = request.resident
    error, status = "", 200
    if request.method == "POST":
        try:
            case = services.case_claim(
                actor=Actor.of(request),
                resident=resident,
                # counted per resident, not per address: neighbours on one Wi-Fi
                # do not use up each other's tries
                fingerprint=f"resident:{resident.pk}",
                tracking_code=request.POST.get("code", ""),
                tail=request.POST.get("tail", ""),
            )
        except DomainError as refusal:
            error, status = refusal.message, 429 if refusal.code == "rate_limited" else 400
        else:
            messages.success(request, f"已添加诉求 {case.tracking_code}。")
            return redirect("me:requests")
    cases = resident_cases(
        phone=resident.phone, claimed_ids=resident.claimed_cases.values("case_id")
    )
    page = Paginator(cases, 20).get_page(request.GET.get("page"))
    # Back to intake: the resident's own grid, else the grid of their latest request.
    places = [resident.region_code, *(case.region_code for case in page)]
    grid = (
        Region.objects.filter(code__in=[c for c in places if c], level=Region.Level.GRID)
        .order_by("code")
        .first()
    )
    return render(
        request,
        "residents/requests.html",
        {
            "resident": resident,
            "page": page,
            "rows": [(case, resident_status(case)) for case in page],
            "grid": grid,
            "error": error,
            "code": request.POST.get("code", ""),
        },
        status=status,
    )


@resident_required
@never_cache  # names and rooms of the captain's neighbours
@require_GET
def building(request):
    """我的楼栋: the building a captain (楼栋长、单元长、胡同长) serves, room by room, with
    who lives there masked; and the way to report a request for it."""
    resident = request.resident
    actor = Actor.of_resident(resident)
    buildings = []
    for each in selectors.captain_buildings(resident):
        units = building_rooms(user=actor, building=each)
        if each.units_held is not None:  # a 单元长 sees their own units
            units = [unit for unit in units if unit.number in each.units_held]
        for unit in units:
            for floor in unit.floors:
                for dwelling in floor.dwellings:
                    for household in dwelling.households_here:
                        household.head_shown = (
                            mask_name(household.head.name) if household.head_id else ""
                        )
        buildings.append((each, units))
    return render(
        request, "residents/building.html", {"resident": resident, "buildings": buildings}
    )


# --- staff ---------------------------------------------------------------------------------


class RiderForm(forms.Form):
    phone = forms.CharField(label="骑手手机号（已用它登录过居民服务）", max_length=20)
    platform = forms.CharField(label="所属平台或单位", max_length=32)
    paired_with = forms.TypedChoiceField(label="结对网格员", coerce=int)


@require_http_methods(["GET", "POST"])
def riders(request, code: str):
    """红骑手: the riders registered in a region, each paired with a grid worker, and how
    many requests they reported; in a grid, the form that registers one."""
    user = request.user
    region = region_get(user=user, code=code)
    require(user, "residents.riders", code)
    form = None
    if region.is_grid:
        form = RiderForm(request.POST or None)
        form.fields["paired_with"].choices = [
            (worker.pk, worker.full_name or worker.username)
            for worker in staff_at(roles=["grid_worker"], region_codes=[code])
        ]
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                services.rider_register(
                    actor=Actor.of(request),
                    phone=data["phone"],
                    grid_code=code,
                    platform=data["platform"],
                    paired_with=staff_at(roles=["grid_worker"], region_codes=[code])
                    .filter(pk=data["paired_with"])
                    .first(),
                )
            except DomainError as refusal:
                form.add_error(
                    refusal.field if refusal.field in form.fields else None, refusal.message
                )
            else:
                messages.success(request, "已登记红骑手。")
                return redirect("residents:riders", code=code)
    elif request.method == "POST":
        raise NotFound()
    listed = selectors.rider_list(actor=user, region_code=code)
    if request.GET.get("all") != "1":
        listed = listed.filter(ended_on__isnull=True)
    return render(
        request,
        "residents/riders.html",
        {
            "region": region,
            "crumbs": region_breadcrumbs(user=user, region=region),
            "form": form,
            "page": page_of(request, listed, 50),
            "reported": Case.objects.filter(
                region_code__within=code, reported_as=Case.ReportedAs.RIDER
            ).count(),
            "show_all": request.GET.get("all") == "1",
        },
        status=400 if form is not None and form.errors else 200,
    )


@require_POST
def rider_end(request, pk: int):
    rider = selectors.rider_list(actor=request.user).filter(pk=pk).first()
    if rider is None:
        raise NotFound()
    try:
        services.rider_end(
            actor=Actor.of(request), rider=rider, reason=request.POST.get("reason", "")
        )
        messages.success(request, "已办理退出。")
    except DomainError as refusal:
        messages.error(request, refusal.message)
    return redirect("residents:riders", code=rider.region_code)


@require_POST
def confirm(request, pk: int):
    """Staff link the resident who signed in with a phone number to this person record."""
    person = person_get(user=request.user, pk=pk)
    try:
        services.resident_confirm(
            actor=Actor.of(request), person=person, phone=request.POST.get("phone", "")
        )
        messages.success(request, "已核实，居民账号与本人信息关联。")
    except DomainError as refusal:
        messages.error(request, refusal.message)
    return redirect("places:person", pk=person.pk)
