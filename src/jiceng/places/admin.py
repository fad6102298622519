from django.contrib import admin

from jiceng.core.admin import AuditedAdmin
from jiceng.places.models import Region, SpecialGroup


@admin.register(Region)
class RegionAdmin(AuditedAdmin):
    list_display = ["code", "name", "level", "grid_kind", "is_statutory"]
    list_filter = ["level", "grid_kind", "is_statutory"]
    search_fields = ["code", "name"]
    raw_id_fields = ["parent", "leader"]


@admin.register(SpecialGroup)
class SpecialGroupAdmin(AuditedAdmin):
    list_display = ["code", "name"]
