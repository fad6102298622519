"""Limits on how often something may be tried: sign-ins, one-time codes, reveals, anonymous
submissions.

Every try is a row (`ThrottleHit`), written through `refusals.keep`, so a try counts even
when the service then refuses it and rolls its transaction back. What is limited (an
account with an address, a phone) is stored only as a keyed digest.
"""

import datetime
import hashlib
import hmac
import ipaddress
import random

from django.conf import settings
from django.utils import timezone

from jiceng.core import refusals
from jiceng.core.errors import DomainError
from jiceng.core.models import ThrottleHit

KEEP_FOR = datetime.timedelta(days=2)  # longer than any window a limit counts over


def address_key(address: str) -> str:
    """What a limit per client address counts: the network the address lies in, as wide
    as JICENG_ADDRESS_PREFIX_IPV4 / _IPV6 say (one IPv6 host may hold a whole /64, so
    counting its single addresses would limit nobody)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    prefix = (
        settings.JICENG_ADDRESS_PREFIX_IPV6
        if ip.version == 6
        else settings.JICENG_ADDRESS_PREFIX_IPV4
    )
    if prefix >= ip.max_prefixlen:
        return str(ip)
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))


def key_of(scope: str, *parts) -> str:
    message = "|".join([scope, *(str(p) for p in parts)]).encode()
    return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()


def count(
    scope: str,
    *parts,
    within: datetime.timedelta,
    limit: int | None = None,
    since: datetime.datetime | None = None,
) -> int:
    """Tries of `parts` under `scope` in the last `within`, and after `since` if given
    (counted up to `limit` only, so that a flood does not make each check slower)."""
    start = timezone.now() - within
    if since is not None and since > start:
        start = since
    hits = ThrottleHit.objects.filter(scope=scope, key=key_of(scope, *parts), at__gte=start)
    if limit is not None:
        hits = hits[:limit]
    return hits.count()


def hit(scope: str, *parts) -> int:
    """Count one try (returning its id); it survives a refusal of the service it is
    counted in."""
    key = key_of(scope, *parts)
    made: list[int] = []
    refusals.keep(lambda: made.append(ThrottleHit.objects.create(scope=scope, key=key).pk))
    if random.random() < 0.01:
        ThrottleHit.objects.filter(at__lt=timezone.now() - KEEP_FOR).delete()
    return made[-1]


def release(hit_id: int) -> None:
    """Take back one try that turned out not to count (a sign-in that succeeded)."""
    ThrottleHit.objects.filter(pk=hit_id).delete()


def clear(scope: str, *parts) -> None:
    ThrottleHit.objects.filter(scope=scope, key=key_of(scope, *parts)).delete()


def take(scope: str, *parts, limit: int, within: datetime.timedelta, error: DomainError) -> None:
    """Count one try and refuse it with `error` if it is more than `limit` in `within`."""
    hit(scope, *parts)
    if count(scope, *parts, within=within, limit=limit + 1) > limit:
        raise error
