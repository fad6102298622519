from django.contrib import admin

from jiceng.core.admin import AuditedAdmin
from jiceng.core.masking import mask_phone
from jiceng.party.models import FirstSecretary


@admin.register(FirstSecretary)
class FirstSecretaryAdmin(AuditedAdmin):
    list_display = ["name", "level", "sending_unit", "region_code", "term_start", "term_end"]
    list_filter = ["level"]
    exclude = ["phone"]  # personal data: kept by the organization department's pages
    readonly_fields = ["masked_phone"]

    @admin.display(description="联系电话")
    def masked_phone(self, secretary: FirstSecretary) -> str:
        return mask_phone(secretary.phone)
