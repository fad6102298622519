"""Region scope and named permissions: the one place that says who may see what.

A user holds roles at region nodes (accounts.Membership); a role is a set of permission
codes (accounts.roles). "May do P on a record" means: some membership grants P at a node
whose code is a prefix of the record's region_code.
"""

from typing import Protocol

from django.db.models import Q, QuerySet

from jiceng.core.errors import Forbidden, NotFound


class ScopedUser(Protocol):
    is_authenticated: bool

    def scope_codes(self, permission: str) -> tuple[str, ...]: ...


def scopes(user, permission: str) -> tuple[str, ...]:
    """The region codes under which `user` holds `permission`, none nested in another."""
    if user is None or not user.is_authenticated:
        return ()
    return user.scope_codes(permission)


def scope_q(prefixes, field: str = "region_code") -> Q:
    condition = Q(pk__in=[])
    for prefix in prefixes:
        condition |= Q(**{f"{field}__within": prefix})
    return condition


def scope_filter(queryset: QuerySet, user, permission: str, field: str = "region_code"):
    prefixes = scopes(user, permission)
    if not prefixes:
        return queryset.none()
    return queryset.filter(scope_q(prefixes, field))


def has_permission(user, permission: str, region_code: str | None = None) -> bool:
    prefixes = scopes(user, permission)
    if region_code is None:
        return bool(prefixes)
    return any(region_code.startswith(prefix) for prefix in prefixes)


def require(user, permission: str, region_code: str | None = None) -> None:
    """Refuse unless `user` holds `permission` at `region_code` (or anywhere, if None).

    A record outside the scope is reported as missing, so its existence does not leak.
    """
    if has_permission(user, permission, region_code):
        return
    if region_code is None:
        raise Forbidden()
    raise NotFound()


def minimal_prefixes(codes) -> tuple[str, ...]:
    """Drop every code that lies inside another one in the set."""
    kept: list[str] = []
    for code in sorted(set(codes), key=len):
        if not any(code.startswith(k) for k in kept):
            kept.append(code)
    return tuple(sorted(kept))
