"""The resident's sign-in by phone and one-time code (no staff login), and staff linking a
resident to their person record. The resident's other pages belong to what they show:
points in points/resident_views.py, the home page in activities/me.py."""

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from jiceng.cases.selectors import resident_cases
from jiceng.cases.workflow import resident_status
from jiceng.core import phones
from jiceng.core.actors import Actor
from jiceng.core.errors import DomainError
from jiceng.core.links import safe_next
from jiceng.core.masking import mask_phone
from jiceng.core.middleware import client_ip
from jiceng.places.models import Region
from jiceng.places.selectors import person_get
from jiceng.residents import services
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


# --- staff ---------------------------------------------------------------------------------


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
