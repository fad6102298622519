"""Admin for platform configuration. Only superusers (the platform operator) get in — to
anyone else /admin/ does not exist (core.middleware.OperatorAdminMiddleware); county staff
work through the scoped pages. Accounts and roles are shown, never changed here, and every
change the operator makes is copied to the audit trail."""

from django.contrib import admin
from django.http import Http404
from django.shortcuts import redirect

from jiceng.core import audit
from jiceng.core.models import AuditEvent, Holiday, OutboxMessage, ScheduledJob


def _operator_only(request) -> bool:
    return request.user.is_active and request.user.is_superuser


def _login(request, extra_context=None):
    # One way in: our login page, with its lockout and audit.
    raise Http404


def _password_change(request, extra_context=None):
    # The operator changes its password where everyone does: audited, tokens revoked.
    return redirect("accounts:password")


admin.site.has_permission = _operator_only
admin.site.login = _login
admin.site.password_change = _password_change
admin.site.site_header = admin.site.site_title = "基层治理 · 系统配置"
admin.site.index_title = "配置"


class AuditedAdmin(admin.ModelAdmin):
    """Every admin: what the operator adds, changes or deletes goes to the audit trail,
    beside Django's own LogEntry: who, which object, and the names of the fields and
    related rows changed — never their values (a phone, a name typed in)."""

    def _audit(self, request, action: str, obj, message=()) -> None:
        fields, related = _changed(message)
        audit.record(
            actor=request.user,
            action=f"admin.{action}",
            obj=obj,
            detail={"object": str(obj)[:200], "fields": fields, "related": related},
        )

    def log_addition(self, request, obj, message):
        self._audit(request, "add", obj, message)
        return super().log_addition(request, obj, message)

    def log_change(self, request, obj, message):
        self._audit(request, "change", obj, message)
        return super().log_change(request, obj, message)

    def log_deletions(self, request, queryset):
        for obj in queryset:
            self._audit(request, "delete", obj)
        return super().log_deletions(request, queryset)


def _changed(message) -> tuple[list[str], list[str]]:
    """The names of the fields changed, and of the kinds of related rows added, changed or
    deleted, in an admin change message (ModelAdmin.construct_change_message: a list of
    {"changed": {"fields": [...]}} and, for inline rows, {"added": {"name": ...,
    "object": ...}}); the related rows' own names are left out, they may be personal."""
    fields: list[str] = []
    related: list[str] = []
    for part in message if isinstance(message, list) else ():
        for verb, about in part.items():
            about = about or {}
            if "name" in about:
                related.append(f"{_VERBS.get(verb, verb)}{about['name']}")
            else:
                fields += [str(name) for name in about.get("fields", ())]
    return fields, related


_VERBS = {"added": "新增", "changed": "修改", "deleted": "删除"}


@admin.register(Holiday)
class HolidayAdmin(AuditedAdmin):
    list_display = ["date", "is_workday", "name"]
    list_filter = ["is_workday"]
    date_hierarchy = "date"


class ReadOnly:
    """Rows the application never changes (the audit trail, posted points): shown, not
    added, changed or deleted, whoever asks."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyAdmin(ReadOnly, AuditedAdmin):
    pass


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    """The audit trail cannot be edited or deleted from the application."""

    list_display = ["at", "actor_username", "action", "object_type", "object_id", "outcome"]
    list_filter = ["outcome", "action"]
    search_fields = ["actor_username", "action", "object_id"]
    date_hierarchy = "at"


@admin.register(OutboxMessage)
class OutboxMessageAdmin(ReadOnlyAdmin):
    """What was sent, is waiting or failed, and why; never its payload (phones, codes)."""

    list_display = ["created_at", "channel", "template", "status", "attempts", "sent_at"]
    list_filter = ["status", "channel", "template"]
    search_fields = ["key"]
    date_hierarchy = "created_at"
    exclude = ["payload", "recipient"]


@admin.register(ScheduledJob)
class ScheduledJobAdmin(AuditedAdmin):
    """The worker's jobs: the operator may change how often one runs, or stop it."""

    list_display = ["name", "every_seconds", "is_enabled", "next_run_at", "last_result"]
    fields = ["name", "every_seconds", "is_enabled", "next_run_at"]
    readonly_fields = ["name"]

    def has_add_permission(self, request, obj=None):
        return False  # jobs are registered in code

    def has_delete_permission(self, request, obj=None):
        return False
