"""Addresses the system prints for residents (QR codes, scan links), and the safe way back
after a step such as signing in."""

from django.conf import settings
from django.utils.http import url_has_allowed_host_and_scheme


def public_base_url(request=None) -> str:
    """Where residents reach the site: JICENG_PUBLIC_URL, or the address of this request."""
    if settings.JICENG_PUBLIC_URL:
        return settings.JICENG_PUBLIC_URL
    if request is None:
        raise ValueError("JICENG_PUBLIC_URL is not set")
    return request.build_absolute_uri("/")


def safe_next(request, target: str | None, default: str) -> str:
    """Where to send someone after a step (signing in): `target` if it is a path or an
    address on this site, else `default` — never another host (an open redirect)."""
    if target and url_has_allowed_host_and_scheme(
        target, {request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default
