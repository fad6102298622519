"""Kernel pages: the health check, the audit trail, approvals and reveal quotas."""

import datetime
import tempfile

from django.apps import apps
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.paginator import Paginator
from django.db import connection
from django.db.models import Q
from django.http import FileResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from jiceng.core import approvals, audit, audit_labels, quota, step_up
from jiceng.core.access import require, scopes
from jiceng.core.actors import Actor
from jiceng.core.errors import DomainError, NotFound
from jiceng.core.models import Approval
from jiceng.core.pagination import page_of
from jiceng.core.region_codes import COMMUNITY, COUNTY, LEVELS, TOWN, ancestors_of, is_above


@login_not_required
@never_cache
@require_GET
def healthz(request):
    """200 when the database answers; 503 otherwise (for load balancers and monitors)."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception:
        return JsonResponse({"status": "unavailable", "database": "down"}, status=503)
    return JsonResponse({"status": "ok", "database": "up"})


def _region_choices(user, selected: str) -> list[tuple[str, str]]:
    """The towns in the auditor's scope (the counties, for an auditor above them), and the
    nodes below the one chosen down to its communities (for the region filter), named."""
    Region = apps.get_model("places", "Region")
    prefixes = scopes(user, "audit.view")
    if not prefixes:
        return []
    top = COUNTY if any(is_above(code, COUNTY) for code in prefixes) else TOWN
    shown = Q(level=top)
    for code in [*ancestors_of(selected), selected] if selected else []:
        if not is_above(code, top) and is_above(code, COMMUNITY):
            shown |= Q(parent_id=code)
    inside = Q()
    for prefix in prefixes:
        inside |= Q(code__within=prefix)
    rows = Region.objects.filter(inside, shown).order_by("code")
    rows = rows.values_list("code", "name", "level")
    depth = LEVELS.index(top)
    return [(code, "　" * (LEVELS.index(level) - depth) + name) for code, name, level in rows]


@require_GET
def audit_list(request):
    """审计日志 for the auditor: events in their county, newest first, filterable by date
    range, event, operator, region and outcome, and exported as .xlsx with the same
    filters."""
    require(request.user, "audit.view")
    filters, errors = audit.filters_from(request.GET, request.user)
    for error in errors:
        messages.error(request, error)
    events = audit.events_for(user=request.user, filters=filters)
    page = Paginator(events, 50).get_page(request.GET.get("page"))
    page.object_list = audit.named(page.object_list)
    alerts = audit.trail(request.user).filter(
        action__startswith=audit.ALERT_PREFIX,
        at__gte=timezone.now() - datetime.timedelta(days=audit.ALERT_DAYS),
    )[:20]
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "core/audit_list.html",
        {
            "page": page,
            "alerts": alerts,
            "actions": sorted(audit_labels.ACTIONS.items(), key=lambda item: item[0]),
            "regions": _region_choices(request.user, filters.region),
            "filters": filters,
            "action": filters.action,
            "username": filters.person,
            "outcome": filters.outcome,
            "query": query.urlencode(),
        },
    )


@require_GET
def audit_export(request):
    """The filtered events as .xlsx (the auditor's right; bounded; itself audited)."""
    require(request.user, "audit.view")
    filters, errors = audit.filters_from(request.GET, request.user)
    if errors:
        for error in errors:
            messages.error(request, error)
        return redirect(f"{reverse('audit_list')}?{request.GET.urlencode()}")
    # On disk, not in memory: FileResponse streams it out and closes it.
    target = tempfile.TemporaryFile()  # noqa: SIM115
    try:
        audit.export(actor=Actor.of(request), filters=filters, target=target)
    except DomainError as refusal:
        target.close()
        messages.error(request, refusal.message)
        return redirect(f"{reverse('audit_list')}?{request.GET.urlencode()}")
    target.seek(0)
    name = f"审计日志-{timezone.localdate():%Y%m%d}.xlsx"
    return FileResponse(
        target,
        as_attachment=True,
        filename=name,
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )


# --- approvals ---------------------------------------------------------------------------


MINE_SHOWN = 50


@require_GET
def approval_list(request):
    """审批: what awaits the signed-in staff member's decision, and what they asked for."""
    actor = Actor.of(request)
    if not actor.is_staff:
        raise NotFound()
    awaiting = page_of(request, approvals.awaiting(actor))
    awaiting.object_list = approvals.labelled(awaiting.object_list)
    mine = Approval.objects.filter(requested_by=request.user).order_by("-requested_at", "-pk")
    return render(
        request,
        "core/approvals.html",
        {"awaiting": awaiting, "mine": approvals.labelled(mine[:MINE_SHOWN])},
    )


@require_GET
def approval_detail(request, pk: int):
    actor = Actor.of(request)
    if not actor.is_staff:
        raise NotFound()
    approval = approvals.get_visible(actor, pk)
    kind = approvals.kind_of(approval)
    actions = approvals.PROCESS.available_actions(actor, approval)
    refusal = None
    if kind.check is not None and actions & set(approvals.DECISIONS):
        refusal = kind.check(approval, actor)
        if refusal is not None:
            actions -= set(approvals.DECISIONS)
    return render(
        request,
        "core/approval.html",
        {
            "approval": approval,
            "kind": kind,
            "link": kind.link(approval) if kind.link else "",
            "details": kind.details(approval) if kind.details else None,
            "actions": [(a, approvals.STEPS[a].label) for a in approvals.STEPS if a in actions],
            "refusal": refusal,
            "events": [
                (event, approvals.event_label(event.action))
                for event in approval.events.order_by("at", "pk")
            ],
            "requester": approvals.actor_label(Actor.staff(approval.requested_by)),
        },
    )


@require_POST
@step_up.step_up
def approval_decide(request, pk: int, action: str):
    actor = Actor.of(request)
    if not actor.is_staff or action not in (*approvals.DECISIONS, "cancel"):
        raise NotFound()
    approval = approvals.get_visible(actor, pk)
    try:
        approvals.decide(
            actor=actor, approval=approval, action=action, note=request.POST.get("note", "")
        )
    except DomainError as refusal:
        if refusal.status == 404:
            raise
        messages.error(request, refusal.message)
    else:
        messages.success(request, f"已{approvals.STEPS[action].label}。")
    return redirect("approval_detail", pk=approval.pk)


# --- reveal quotas -----------------------------------------------------------------------


def _quota_page(request, template: str, form: dict, error: DomainError | None = None):
    if not quota.may_ask(request.user):
        raise NotFound()
    return render(
        request,
        template,
        {
            "standing": quota.standing_of(request.user),
            "extra": quota.extra_of(request.user),
            "form": form,
            "error": error,
            "causes": quota.CAUSES,
            "emergency_extra": settings.JICENG_REVEAL_EMERGENCY_EXTRA,
            "emergency_hours": settings.JICENG_REVEAL_EMERGENCY_HOURS,
            "running": quota.emergency_running(request.user),
            "refusal": quota.emergency_refusal(request.user),
        },
        status=400 if error else 200,
    )


@require_http_methods(["GET", "POST"])
def reveal_more(request):
    """申请增加额度: ask a security administrator for more reveals today."""
    if request.method == "GET":
        return _quota_page(request, "core/reveal_more.html", {})
    form = {
        "extra": request.POST.get("extra", "").strip(),
        "reason": request.POST.get("reason", ""),
    }
    try:
        extra = int(form["extra"]) if form["extra"].isdigit() else 0
        approval = quota.reveal_more_ask(
            actor=Actor.of(request), extra=extra, reason=form["reason"]
        )
    except DomainError as error:
        if error.status == 404:
            raise
        return _quota_page(request, "core/reveal_more.html", form, error)
    messages.success(request, "申请已提交，等待安全管理员审批。")
    return redirect("approval_detail", pk=approval.pk)


@require_http_methods(["GET", "POST"])
def reveal_emergency(request):
    """紧急查看: take the emergency allowance now; a security administrator reviews it."""
    if request.method == "GET":
        return _quota_page(request, "core/reveal_emergency.html", {})
    form = {"cause": request.POST.get("cause", ""), "reason": request.POST.get("reason", "")}
    try:
        approval = quota.reveal_emergency_take(
            actor=Actor.of(request), cause=form["cause"], reason=form["reason"]
        )
    except DomainError as error:
        if error.status == 404:
            raise
        return _quota_page(request, "core/reveal_emergency.html", form, error)
    messages.success(request, "已开启紧急查看额度，事后由安全管理员复核，审计管理员已收到告警。")
    return redirect("approval_detail", pk=approval.pk)
