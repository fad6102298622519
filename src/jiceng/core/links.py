"""Addresses the system prints for residents (QR codes, scan links)."""

from django.conf import settings


def public_base_url(request=None) -> str:
    """Where residents reach the site: JICENG_PUBLIC_URL, or the address of this request."""
    if settings.JICENG_PUBLIC_URL:
        return settings.JICENG_PUBLIC_URL
    if request is None:
        raise ValueError("JICENG_PUBLIC_URL is not set")
    return request.build_absolute_uri("/")
