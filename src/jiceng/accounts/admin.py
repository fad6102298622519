from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from jiceng.accounts.models import Department, Membership, User


class MembershipInline(admin.TabularInline):
    model = Membership
    fk_name = "user"
    extra = 0
    fields = ["role", "region_code", "is_active"]


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ["username", "full_name", "region_code", "is_active", "is_superuser"]
    search_fields = ["username", "full_name"]
    fieldsets = [
        *BaseUserAdmin.fieldsets,
        (
            "基层治理",
            {"fields": ["full_name", "region_code", "phone", "department", "locked_until"]},
        ),
    ]
    inlines = [MembershipInline]


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "region_code"]
    list_filter = ["kind"]
