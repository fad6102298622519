"""What every form and endpoint that takes submissions from outside shares: a key for a
form (the same form posted twice is one submission), the device token the server issues
to an anonymous sender, and who sent a submission as far as the server knows it (for the
limits on how often one may send)."""

import datetime
import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.core import signing

from jiceng.core.throttle import address_key

DEVICE_COOKIE = "jiceng_device"
DEVICE_SALT = "jiceng.core.intake.device"
DEVICE_MAX_AGE = datetime.timedelta(days=365)


def client_fingerprint(ip: str | None, device_id: str = "") -> str:
    """A non-reversible key for rate limiting anonymous intake (the address is not kept)."""
    raw = f"{settings.SECRET_KEY}|{ip or ''}|{device_id}"
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


def new_submission_key() -> str:
    """A fresh key for a form: the same form posted twice creates one submission."""
    return secrets.token_urlsafe(16)


def device_token_new() -> str:
    """A token naming a new device, signed by the server (kept in an HttpOnly cookie)."""
    return signing.dumps(secrets.token_urlsafe(16), salt=DEVICE_SALT)


def device_of(token: str | None) -> str:
    """The device a token was issued to; "" for no token, an expired or a forged one.
    A sender can choose the text of a cookie, never the device it names: a limit counted
    per device counts only what the server issued."""
    if not token:
        return ""
    try:
        device = signing.loads(token, salt=DEVICE_SALT, max_age=DEVICE_MAX_AGE.total_seconds())
    except signing.BadSignature:
        return ""
    return device if isinstance(device, str) else ""


@dataclass(frozen=True)
class Sender:
    """Who sent an anonymous submission, as the server knows them: the network its
    address lies in (core.throttle.address_key), the device of a valid token, or the
    registered client app (Open311) that passed it on. Nothing the sender chose."""

    address: str = ""
    device: str = ""
    client: int | None = None

    @classmethod
    def of(cls, ip: str | None, token: str | None = None) -> "Sender":
        return cls(address=address_key(ip or ""), device=device_of(token))

    @property
    def fingerprint(self) -> str:
        """What the request row keeps of its sender: a digest, never the address."""
        return client_fingerprint(self.address, f"{self.client or ''}|{self.device}")


# What a signed-in resident reports as (a captain for their building, a rider on their
# round): the residents app knows, the intake form asks here without importing it.
ReportingAs = Callable[[object, object], tuple[str, str]]
_reporting_as: list[ReportingAs] = []


def register_reporting_as(finder: ReportingAs) -> None:
    """`finder(request, building)` returns (what the sender reports as, their phone), or
    ("", "") for someone who reports as a resident like any other."""
    if finder not in _reporting_as:
        _reporting_as.append(finder)


def reporting_as(request, building=None) -> tuple[str, str]:
    for finder in _reporting_as:
        found = finder(request, building)
        if found[0]:
            return found
    return "", ""
