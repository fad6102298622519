"""Admin for platform configuration. Only superusers (the platform operator) get in;
county staff work through the scoped pages. Personal data is not in the admin at all."""

from django.contrib import admin
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied

from jiceng.core.models import AuditEvent, Holiday


def _operator_only(request) -> bool:
    return request.user.is_active and request.user.is_superuser


def _login(request, extra_context=None):
    # One way in: our login page, with its lockout and audit. Signed-in staff who are not
    # the operator are refused rather than sent round the login page again.
    if request.user.is_authenticated:
        raise PermissionDenied("系统配置仅限平台运维账号。")
    return redirect_to_login(request.get_full_path())


admin.site.has_permission = _operator_only
admin.site.login = _login
admin.site.site_header = admin.site.site_title = "基层治理 · 系统配置"
admin.site.index_title = "配置"


@admin.register(Holiday)
class HolidayAdmin(admin.ModelAdmin):
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


class ReadOnlyAdmin(ReadOnly, admin.ModelAdmin):
    pass


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    """The audit trail cannot be edited or deleted from the application."""

    list_display = ["at", "actor_username", "action", "object_type", "object_id", "outcome"]
    list_filter = ["outcome", "action"]
    search_fields = ["actor_username", "action", "object_id"]
    date_hierarchy = "at"
