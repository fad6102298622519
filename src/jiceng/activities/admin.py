"""Configuration: the "1+3+5+N" service types."""

from django.contrib import admin

from jiceng.activities.models import ServiceType
from jiceng.core.admin import AuditedAdmin


@admin.register(ServiceType)
class ServiceTypeAdmin(AuditedAdmin):
    list_display = ["code", "name", "sort_order", "is_active"]
    list_editable = ["sort_order", "is_active"]
