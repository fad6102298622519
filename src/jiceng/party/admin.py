from django.contrib import admin

from jiceng.core.admin import AuditedAdmin
from jiceng.party.models import FirstSecretary


@admin.register(FirstSecretary)
class FirstSecretaryAdmin(AuditedAdmin):
    list_display = ["name", "level", "sending_unit", "region_code", "term_start", "term_end"]
    list_filter = ["level"]
