"""The resident's own pages (no staff login): sign-in by phone and one-time code, the home
page with points and sign-ups, the personal code shown at a store counter, and confirming
a redemption the clerk has opened. Staff link a resident to their person record."""

from functools import wraps
from urllib.parse import quote

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from jiceng.activities import selectors as activity_selectors
from jiceng.cases.posters import public_base_url
from jiceng.core.actors import Actor
from jiceng.core.errors import DomainError, NotFound
from jiceng.core.middleware import client_ip
from jiceng.places.selectors import person_get
from jiceng.points import selectors as points_selectors
from jiceng.points import services as points_services
from jiceng.points.models import PersonalCode, Redemption
from jiceng.residents import services


def resident_required(view):
    """The page is the signed-in resident's: others are sent to sign in first."""

    @login_not_required
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        resident = services.current_resident(request)
        if resident is None:  # after signing in, back to this page (or the one posted from)
            back = request.get_full_path() if request.method == "GET" else _referer(request)
            return redirect(f"{reverse('me:login')}?next={quote(back)}")
        request.resident = resident
        return view(request, *args, **kwargs)

    return wrapped


def _referer(request) -> str:
    referer = request.headers.get("referer", "")
    if url_has_allowed_host_and_scheme(referer, {request.get_host()}, request.is_secure()):
        return referer
    return reverse("me:home")


def _next(request) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return reverse("me:home")


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
        {"phone": phone, "error": error, "code_sent": code_sent, "next": _next(request)},
    )


@login_not_required
@require_POST
def logout(request):
    services.resident_logout(request)
    return redirect("me:login")


@resident_required
@require_GET
def home(request):
    resident = request.resident
    return render(
        request,
        "residents/home.html",
        {
            "resident": resident,
            "accounts": points_selectors.resident_accounts(resident),
            "signups": activity_selectors.resident_signups(resident, upcoming_only=True)[:20],
            "teams": activity_selectors.led_teams(resident),
            "pending": resident.redemptions.filter(
                status=Redemption.Status.PENDING,
                created_at__gte=timezone.now() - Redemption.PENDING_FOR,
            )
            .select_related("store")
            .prefetch_related("lines__good"),
            "label": points_selectors.resident_label(resident),
        },
    )


@resident_required
@require_GET
def points(request):
    """积分明细: each community's balance and the entries that moved it."""
    accounts = [
        (account, points_selectors.account_history(account))
        for account in points_selectors.resident_accounts(request.resident)
    ]
    return render(request, "residents/points.html", {"accounts": accounts})


@resident_required
@require_GET
def code(request):
    """居民码: a QR code that names this resident for one scan within a minute (the page
    renews it before it expires)."""
    token = points_services.personal_code_issue(actor=Actor.of(request))
    scan_url = f"{public_base_url(request).rstrip('/')}{reverse('stores:scan', args=[token])}"
    lifetime = int(PersonalCode.LIFETIME.total_seconds())
    context = {
        "token": token,
        "scan_url": scan_url,
        "seconds": lifetime,
        "renew_seconds": lifetime * 3 // 4,
        "label": points_selectors.resident_label(request.resident),
    }
    if request.htmx:
        return render(request, "residents/_code.html", context)
    return render(request, "residents/code.html", context)


def _own_redemption(request, pk: int) -> Redemption:
    redemption = (
        Redemption.objects.select_related("store")
        .prefetch_related("lines__good")
        .filter(pk=pk, resident=request.resident)
        .first()
    )
    if redemption is None:
        raise NotFound()
    return redemption


@resident_required
@require_GET
def redemption(request, pk: int):
    """The clerk's order waiting for the resident's confirmation, or its receipt."""
    return render(
        request, "residents/redemption.html", {"redemption": _own_redemption(request, pk)}
    )


@resident_required
@require_POST
def redemption_confirm(request, pk: int):
    order = _own_redemption(request, pk)
    try:
        points_services.redemption_confirm(actor=Actor.of(request), redemption=order)
        messages.success(request, "兑换成功。")
    except DomainError as refusal:
        messages.error(request, refusal.message)
    return redirect("me:redemption", pk=pk)


@resident_required
@require_POST
def redemption_cancel(request, pk: int):
    order = _own_redemption(request, pk)
    try:
        points_services.redemption_cancel(resident=request.resident, redemption=order)
        messages.success(request, "已取消兑换。")
    except DomainError as refusal:
        messages.error(request, refusal.message)
    return redirect("me:redemption", pk=pk)


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
