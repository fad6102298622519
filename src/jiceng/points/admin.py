"""Configuration of each community's points (name, expiry) and a read-only view of the
journal: nobody changes a posted entry, the operator included — corrections are reversal
entries made by community staff, and the database refuses edits anyway."""

from django.contrib import admin

from jiceng.core.admin import AuditedAdmin, ReadOnly, ReadOnlyAdmin
from jiceng.points.models import JournalEntry, Ledger, Posting


@admin.register(Ledger)
class LedgerAdmin(AuditedAdmin):
    list_display = ["region_code", "name", "expiry_months", "entry_count"]
    fields = ["region_code", "name", "expiry_months", "entry_count", "last_hash"]
    readonly_fields = ["region_code", "entry_count", "last_hash"]
    search_fields = ["region_code"]

    def has_add_permission(self, request):
        return False  # a community's ledger is opened by its first points

    def has_delete_permission(self, request, obj=None):
        return False


class PostingInline(ReadOnly, admin.TabularInline):
    model = Posting
    fields = ["account", "amount"]


@admin.register(JournalEntry)
class JournalEntryAdmin(ReadOnlyAdmin):
    list_display = ["at", "ledger", "kind", "key", "memo"]
    list_filter = ["kind"]
    search_fields = ["key", "ledger__region_code"]
    date_hierarchy = "at"
    inlines = [PostingInline]
