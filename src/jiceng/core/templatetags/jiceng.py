"""Template filters: masked personal data (the same helpers the API and exports use),
tap-to-call phone numbers, and QR codes."""

import segno
from django import template
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from jiceng.core import masking, phones

register = template.Library()

register.filter("mask_id", masking.mask_id_number)
register.filter("mask_phone", masking.mask_phone)
register.filter("mask_name", masking.mask_name)
register.filter("mask_text", masking.mask_text)
register.filter("age_band", masking.age_band)


@register.filter
def tel_link(text) -> str:
    """A phone number shown in full (a published work phone, or one just revealed) as a
    `tel:` link a phone dials with one tap; anything else (a mask, a note) as text. A
    sealed value prints its mask, so this never dials, or shows, a clear value by mistake."""
    shown = str(text or "")
    number = phones.phone(shown)
    if number is None:
        return shown
    return format_html('<a href="tel:{}" class="tel">{}</a>', number.replace("-", ""), shown)


@register.filter
def qr(text: str) -> str:
    """An inline SVG QR code of `text` (a URL or a code), drawn here: no outside service."""
    svg = segno.make(text, error="m").svg_inline(omitsize=True, border=2)
    return mark_safe(svg.replace("<svg ", '<svg class="qr" role="img" aria-label="二维码" ', 1))  # noqa: S308  (generated markup)


@register.simple_tag(takes_context=True)
def page_url(context, number: int) -> str:
    """This page's address with the same filters, at page `number`."""
    query = context["request"].GET.copy()
    query["page"] = number
    return f"?{query.urlencode()}"


@register.filter
def total(paginator) -> str:
    """A list's total for its pager: "1万+" above core.pagination.COUNT_CAP."""
    return getattr(paginator, "total_label", None) or str(paginator.count)
