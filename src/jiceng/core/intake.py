"""What every form and endpoint that takes submissions from outside shares: a key for a
form (the same form posted twice is one submission) and a non-reversible fingerprint of
an anonymous sender for rate limiting."""

import hashlib
import secrets

from django.conf import settings


def client_fingerprint(ip: str | None, device_id: str = "") -> str:
    """A non-reversible key for rate limiting anonymous intake (the address is not kept)."""
    raw = f"{settings.SECRET_KEY}|{ip or ''}|{device_id}"
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


def new_submission_key() -> str:
    """A fresh key for a form: the same form posted twice creates one submission."""
    return secrets.token_urlsafe(16)
