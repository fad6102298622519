"""The resident's points pages (no staff login, under /me/): balances and history, the
personal code shown at a store counter, and confirming a redemption the clerk has opened."""

from django.contrib import messages
from django.db.models import Prefetch
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from jiceng.core.actors import Actor
from jiceng.core.errors import DomainError, NotFound
from jiceng.core.links import public_base_url
from jiceng.core.numbers import whole_number
from jiceng.points import selectors as points_selectors
from jiceng.points import services as points_services
from jiceng.points.models import Good, PersonalCode, Redemption
from jiceng.residents.decorators import resident_required


@resident_required
@require_GET
def points(request):
    """积分明细: each community's balance and the entries that moved it."""
    accounts = [
        (account, points_selectors.account_history(account))
        for account in points_selectors.resident_accounts(request.resident)
    ]
    return render(request, "points/me/points.html", {"accounts": accounts})


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
        return render(request, "points/me/_code.html", context)
    return render(request, "points/me/code.html", context)


@resident_required
@require_GET
def stores(request):
    """文明超市: the stores of the resident's communities, where they are, when they open,
    and what is on the shelf at what price."""
    shelf = Prefetch("goods", queryset=Good.objects.filter(is_active=True).order_by("name"))
    found = points_selectors.resident_stores(request.resident).prefetch_related(shelf)
    return render(request, "points/me/stores.html", {"stores": found})


@resident_required
@require_GET
def code_number(request):
    """数字码: six digits for a counter that cannot scan, issued for one of the resident's
    stores (chosen here when there are several)."""
    stores = list(points_selectors.resident_stores(request.resident))
    wanted = whole_number(request.GET.get("store"))
    store = next((s for s in stores if s.pk == wanted), None)
    if store is None and wanted is None and len(stores) == 1:
        store = stores[0]
    digits = ""
    if store is not None:
        digits = points_services.counter_number_issue(actor=Actor.of(request), store=store)
    return render(
        request,
        "points/me/number.html",
        {
            "stores": stores,
            "store": store,
            "digits": digits,
            "minutes": int(PersonalCode.NUMBER_LIFETIME.total_seconds()) // 60,
            "label": points_selectors.resident_label(request.resident),
        },
    )


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
        request, "points/me/redemption.html", {"redemption": _own_redemption(request, pk)}
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
        points_services.redemption_cancel(actor=Actor.of(request), redemption=order)
        messages.success(request, "已取消兑换。")
    except DomainError as refusal:
        messages.error(request, refusal.message)
    return redirect("me:redemption", pk=pk)
