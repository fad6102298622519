"""Kernel pages: the health check and the audit trail."""

import datetime

from django.apps import apps
from django.contrib.auth.decorators import login_not_required
from django.core.paginator import Paginator
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from jiceng.core import audit, audit_labels
from jiceng.core.access import require, scope_filter
from jiceng.core.models import AuditEvent


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


def _object_label(object_type: str) -> str:
    """ "accounts.user" as the auditor reads it (账号). A model that moved to another app
    kept its table: events recorded before the move ("cases.patrol") are read by it."""
    if not object_type:
        return ""
    try:
        return str(apps.get_model(object_type)._meta.verbose_name)
    except (LookupError, ValueError):
        pass
    table = object_type.replace(".", "_")
    moved = next((m for m in apps.get_models() if m._meta.db_table == table), None)
    return str(moved._meta.verbose_name) if moved is not None else object_type


@require_GET
def audit_list(request):
    """审计日志 for the auditor: events in their county, newest first, filterable."""
    require(request.user, "audit.view")
    events = scope_filter(AuditEvent.objects.all(), request.user, "audit.view")
    action = request.GET.get("action", "").strip()
    username = request.GET.get("user", "").strip()
    outcome = request.GET.get("outcome", "")
    if action:
        events = events.filter(action__startswith=action)
    if username:
        events = events.filter(actor_username=username)
    if outcome in (AuditEvent.SUCCESS, AuditEvent.FAILURE):
        events = events.filter(outcome=outcome)
    page = Paginator(events, 50).get_page(request.GET.get("page"))
    for entry in page:
        entry.label = audit_labels.label(entry.action)
        entry.details = audit_labels.details(entry.detail)
        entry.object_label = _object_label(entry.object_type)
    alerts = scope_filter(AuditEvent.objects.all(), request.user, "audit.view").filter(
        action__startswith=audit.ALERT_PREFIX,
        at__gte=timezone.now() - datetime.timedelta(days=audit.ALERT_DAYS),
    )[:20]
    return render(
        request,
        "core/audit_list.html",
        {
            "page": page,
            "alerts": alerts,
            "actions": sorted(audit_labels.ACTIONS.items(), key=lambda item: item[0]),
            "action": action,
            "username": username,
            "outcome": outcome,
        },
    )
