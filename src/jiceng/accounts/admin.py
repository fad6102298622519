"""Accounts in the operator's admin: shown (phones masked), never changed. Accounts, roles
and passwords are managed on the scoped pages, with separation of duties, and on the
server (`jiceng grant`); the platform operator holds no data role."""

from django.contrib import admin
from django.contrib.auth.models import Group

from jiceng.accounts.models import Department, GrantRequest, Membership, User
from jiceng.core.admin import AuditedAdmin, ReadOnly, ReadOnlyAdmin
from jiceng.core.masking import mask_phone

# Roles are ours (accounts.roles), not Django's groups: nothing to configure there.
admin.site.unregister(Group)


class MembershipInline(ReadOnly, admin.TabularInline):
    model = Membership
    fk_name = "user"
    fields = ["role", "region_code", "building", "is_active", "created_at", "created_by"]
    readonly_fields = fields


@admin.register(User)
class UserAdmin(ReadOnlyAdmin):
    list_display = ["username", "full_name", "region_code", "masked_phone", "is_active"]
    list_filter = ["is_active", "is_superuser"]
    search_fields = ["username", "full_name"]
    fields = [
        "username", "full_name", "region_code", "masked_phone", "department", "is_active",
        "is_superuser", "last_login", "date_joined", "password_must_change",
    ]  # fmt: skip
    readonly_fields = fields
    inlines = [MembershipInline]

    @admin.display(description="手机号")
    def masked_phone(self, user: User) -> str:
        return mask_phone(user.phone)


@admin.register(GrantRequest)
class GrantRequestAdmin(ReadOnlyAdmin):
    list_display = ["user", "role", "region_code", "status", "requested_by", "requested_at"]
    list_filter = ["status", "role"]


@admin.register(Department)
class DepartmentAdmin(AuditedAdmin):
    list_display = ["name", "kind", "region_code"]
    list_filter = ["kind"]
