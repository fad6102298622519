"""文明超市 pages: stores, goods and restocking for community staff; the counter where a
clerk scans a resident's code and opens a redemption for them to confirm; receipts and the
daily report."""

import datetime

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from jiceng.accounts.models import User
from jiceng.core.access import has_permission, require
from jiceng.core.actors import Actor
from jiceng.core.errors import DomainError, NotFound
from jiceng.core.numbers import whole_number
from jiceng.core.pagination import page_of
from jiceng.places.selectors import community_choices
from jiceng.points import selectors, services
from jiceng.points.ledger import account_for, ledger_for
from jiceng.points.models import Account, Good, Redemption


@require_http_methods(["GET", "POST"])
def store_list(request):
    user = request.user
    if not (has_permission(user, "stores.manage") or has_permission(user, "stores.serve")):
        require(user, "stores.manage")
    if request.method == "POST":
        try:
            store = services.store_create(
                actor=Actor.of(request),
                region_code=request.POST.get("region_code", ""),
                name=request.POST.get("name", ""),
                address=request.POST.get("address", ""),
                hours=request.POST.get("hours", ""),
            )
        except DomainError as refusal:
            messages.error(request, refusal.message)
            return redirect("stores:list")
        return redirect("stores:detail", pk=store.pk)
    managed = selectors.store_list(user=user)
    served = (
        list(user.stores.filter(is_active=True)) if has_permission(user, "stores.serve") else []
    )
    return render(
        request,
        "points/stores.html",
        {
            "page": page_of(request, managed, 50),
            "served": served,
            "remembered": _remembered(request, served),
            "communities": community_choices(user, "stores.manage"),
        },
    )


@require_GET
def store_detail(request, pk: int):
    user = request.user
    store = selectors.store_get(user=user, pk=pk)
    may_manage = has_permission(user, "stores.manage", store.region_code)
    return render(
        request,
        "points/store.html",
        {
            "store": store,
            "goods": store.goods.order_by("-is_active", "name"),
            "clerks": store.clerks.all(),
            "may_manage": may_manage,
            "may_serve": store.clerks.filter(pk=user.pk).exists(),
            "balance": account_for(ledger_for(store.region_code), Account.Kind.STORE, store),
        },
    )


def _managed(request, pk: int):
    store = selectors.store_get(user=request.user, pk=pk)
    require(request.user, "stores.manage", store.region_code)
    return store


@require_POST
def good_create(request, pk: int):
    store = _managed(request, pk)
    try:
        services.good_create(
            actor=Actor.of(request),
            store=store,
            name=request.POST.get("name", ""),
            price=int(request.POST.get("price") or 0),
            stock=int(request.POST.get("stock") or 0),
        )
        messages.success(request, "商品已上架。")
    except ValueError:
        messages.error(request, "积分价格和库存须为整数。")
    except DomainError as refusal:
        messages.error(request, refusal.message)
    return redirect("stores:detail", pk=pk)


@require_POST
def good_restock(request, pk: int, good_pk: int):
    store = _managed(request, pk)
    good = Good.objects.filter(pk=good_pk, store=store).first()
    if good is None:
        raise NotFound()
    try:
        services.good_restock(
            actor=Actor.of(request), good=good, quantity=int(request.POST.get("quantity") or 0)
        )
        messages.success(request, f"“{good.name}”已补货。")
    except ValueError:
        messages.error(request, "补货数量须为整数。")
    except DomainError as refusal:
        messages.error(request, refusal.message)
    return redirect("stores:detail", pk=pk)


GOOD_EDITS = {"stock", "price", "delist", "relist"}


@require_POST
def good_edit(request, pk: int, good_pk: int):
    """盘点更正 (stock down, with a reason), 调价, 下架 and 重新上架 of one good."""
    store = _managed(request, pk)
    good = Good.objects.filter(pk=good_pk, store=store).select_related("store").first()
    action = request.POST.get("action", "")
    if good is None or action not in GOOD_EDITS:
        raise NotFound()
    actor = Actor.of(request)
    try:
        if action == "stock":
            stock = whole_number(request.POST.get("stock"))
            if stock is None:
                raise DomainError("库存须为整数。", code="stock_invalid", field="stock")
            services.good_correct_stock(
                actor=actor, good=good, stock=stock, reason=request.POST.get("reason", "")
            )
            messages.success(request, f"“{good.name}”库存已更正为 {stock}。")
        elif action == "price":
            price = whole_number(request.POST.get("price"))
            if price is None:
                raise DomainError("积分价格须为整数。", code="price_invalid", field="price")
            services.good_reprice(actor=actor, good=good, price=price)
            messages.success(request, f"“{good.name}”已调价为 {price} 积分。")
        else:
            services.good_set_listed(actor=actor, good=good, listed=action == "relist")
            messages.success(
                request, f"“{good.name}”已{'重新上架' if action == 'relist' else '下架'}。"
            )
    except DomainError as refusal:
        messages.error(request, refusal.message)
    return redirect("stores:detail", pk=pk)


@require_POST
def store_update(request, pk: int):
    store = _managed(request, pk)
    services.store_update(
        actor=Actor.of(request),
        store=store,
        address=request.POST.get("address", ""),
        hours=request.POST.get("hours", ""),
    )
    messages.success(request, "地址和营业时间已保存，居民可在“文明超市”页看到。")
    return redirect("stores:detail", pk=pk)


@require_POST
def clerk_add(request, pk: int):
    store = _managed(request, pk)
    clerk = User.objects.filter(username=request.POST.get("username", "").strip()).first()
    try:
        if clerk is None:
            raise DomainError("没有这个账号。", code="user_unknown")
        services.store_add_clerk(actor=Actor.of(request), store=store, clerk=clerk)
        messages.success(request, "店员已添加。")
    except DomainError as refusal:
        messages.error(request, refusal.message)
    return redirect("stores:detail", pk=pk)


@require_GET
def report(request, pk: int):
    """日报: one day's redemptions, goods given out, and restocking."""
    store = selectors.store_get(user=request.user, pk=pk)
    try:
        day = datetime.date.fromisoformat(request.GET.get("date", ""))
    except ValueError:
        day = timezone.localdate()
    return render(
        request,
        "points/report.html",
        {
            "report": selectors.daily_report(store=store, day=day),
            "previous": day - datetime.timedelta(days=1),
            "following": day + datetime.timedelta(days=1),
        },
    )


# --- the counter ------------------------------------------------------------------------


def _code_of(text: str) -> str:
    """The resident's code, whether a scanner typed the whole address or just the code."""
    text = (text or "").strip().rstrip("/")
    return text.rsplit("/", 1)[-1]


# The counter a clerk last worked at, kept in their session: scanning and the store list
# take them back to it instead of asking again.
COUNTER_SESSION_KEY = "stores.counter"


def _remembered(request, stores):
    wanted = request.session.get(COUNTER_SESSION_KEY)
    return next((s for s in stores if s.pk == wanted), None)


@require_GET
def scan(request, token: str):
    """The resident's QR code leads here: a clerk of one store, or one who has worked at a
    counter this session, goes straight to it; a clerk of several chooses once."""
    stores = list(request.user.stores.filter(is_active=True))
    stores = [s for s in stores if has_permission(request.user, "stores.serve", s.region_code)]
    if not stores:
        raise NotFound("您不是文明超市的店员。")
    store = stores[0] if len(stores) == 1 else _remembered(request, stores)
    if store is not None:
        response = redirect("stores:counter", pk=store.pk)
        response["Location"] += f"?code={token}"
        return response
    return render(request, "points/scan.html", {"stores": stores, "token": token})


@require_http_methods(["GET", "POST"])
def counter(request, pk: int):
    """收银台: identify the resident by their code, pick goods, open the redemption. A code
    is scanned once (?code=): the counter then works from that scan (?scan=)."""
    store = selectors.counter_store(user=request.user, pk=pk)
    if request.session.get(COUNTER_SESSION_KEY) != store.pk:
        request.session[COUNTER_SESSION_KEY] = store.pk
    code = _code_of(request.GET.get("code", ""))
    error = ""
    if code:
        try:
            scan = services.personal_code_use(actor=Actor.of(request), store=store, code=code)
        except DomainError as refusal:
            error = refusal.message
        else:
            return redirect(f"{reverse('stores:counter', args=[store.pk])}?scan={scan.pk}")
    scan_id = whole_number(request.POST.get("scan") or request.GET.get("scan"))
    scan = selectors.counter_scan(user=request.user, store=store, pk=scan_id)
    if scan_id is not None and scan is None:
        error = "请重新扫描居民码。"
    resident = scan.resident if scan else None
    goods = list(store.goods.filter(is_active=True).order_by("name"))
    if request.method == "POST" and resident is not None:
        items = {}
        for good in goods:
            raw = request.POST.get(f"qty_{good.pk}", "").strip()
            if raw:
                quantity = whole_number(raw)
                items[good.pk] = -1 if quantity is None else quantity
        try:
            order = services.redemption_open(
                actor=Actor.of(request), store=store, resident=resident, items=items, scan=scan
            )
        except DomainError as refusal:
            error = refusal.message
        else:
            return redirect("stores:order", pk=pk, order_pk=order.pk)
    return render(
        request,
        "points/counter.html",
        {
            "store": store,
            "code": code,
            "scan": scan,
            "resident": resident,
            "label": selectors.resident_label(resident),
            "balance": account_for(ledger_for(store.region_code), Account.Kind.RESIDENT, resident)
            if resident
            else None,
            "goods": goods,
            "error": error,
        },
        status=400 if error else 200,
    )


def _order(request, pk: int, order_pk: int) -> Redemption:
    store = selectors.counter_store(user=request.user, pk=pk)
    order = (
        Redemption.objects.filter(pk=order_pk, store=store)
        .select_related("store", "resident__person")
        .prefetch_related("lines__good")
        .first()
    )
    if order is None:
        raise NotFound()
    return order


@require_GET
def order(request, pk: int, order_pk: int):
    """The clerk waits here while the resident confirms on their phone (the page checks
    every few seconds), then prints or shows the receipt."""
    found = _order(request, pk, order_pk)
    context = {"order": found, "label": selectors.resident_label(found.resident)}
    if request.htmx:
        return render(request, "points/_order.html", context)
    return render(request, "points/order.html", context)


@require_POST
def order_cancel(request, pk: int, order_pk: int):
    found = _order(request, pk, order_pk)
    try:
        services.redemption_cancel(actor=Actor.of(request), redemption=found)
        messages.success(request, "兑换单已取消。")
    except DomainError as refusal:
        messages.error(request, refusal.message)
    return redirect("stores:order", pk=pk, order_pk=order_pk)
