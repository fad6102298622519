"""Template filters for masked personal data (the same helpers the API and exports use)."""

from django import template

from jiceng.core import masking

register = template.Library()

register.filter("mask_id", masking.mask_id_number)
register.filter("mask_phone", masking.mask_phone)
register.filter("mask_name", masking.mask_name)
register.filter("mask_text", masking.mask_text)
