"""Region scope and named permissions: the one place that says who may see what.

A user holds roles at region nodes (accounts.Membership); a role is a set of permission
codes (accounts.roles). "May do P on a record" means: some membership grants P at a node
whose code is a prefix of the record's region_code, or the user is assigned to the
building the record lies in with a role that grants P there (`assigned`).
"""

from typing import Protocol

from django.db.models import Q, QuerySet

from jiceng.core.actors import user_of
from jiceng.core.errors import Forbidden, NotFound
from jiceng.core.region_codes import is_within


class ScopedUser(Protocol):
    is_authenticated: bool

    def scope_codes(self, permission: str) -> tuple[str, ...]: ...

    def assigned_buildings(self, permission: str) -> frozenset[int]: ...


def scopes(user, permission: str) -> tuple[str, ...]:
    """The region codes under which `user` (or an Actor) holds `permission`, none nested
    in another."""
    user = user_of(user)
    if user is None or not user.is_authenticated:
        return ()
    return user.scope_codes(permission)


def assigned(user, permission: str) -> frozenset[int]:
    """The buildings `user` holds `permission` in by being assigned to them (楼栋长), rather
    than by a role at a region node. Such access reaches what lies in the building and
    nothing else of its grid. The one check of access held by an assignment: queries
    reach it through `scope_filter(..., building=)` or `reach_q`, single checks through
    `has_permission` and `require`."""
    user = user_of(user)
    if user is None or not user.is_authenticated:
        return frozenset()
    return user.assigned_buildings(permission)


def scope_q(prefixes, field: str = "region_code") -> Q:
    condition = Q(pk__in=[])
    for prefix in prefixes:
        condition |= Q(**{f"{field}__within": prefix})
    return condition


def scope_filter(
    queryset: QuerySet,
    user,
    permission: str,
    field: str = "region_code",
    building: str | None = None,
):
    """The rows in the user's scope for `permission`; with `building` (the path to the
    row's building, e.g. "dwelling__building"), also those in buildings assigned to them."""
    if not scopes(user, permission) and not (building and assigned(user, permission)):
        return queryset.none()
    return queryset.filter(reach_q(user, permission, field, building))


def reach_q(user, permission: str, field: str = "region_code", building: str | None = None) -> Q:
    """The condition behind scope_filter, for queries that add other ways in."""
    condition = scope_q(scopes(user, permission), field)
    buildings = assigned(user, permission) if building else frozenset()
    if buildings:
        condition |= Q(**{f"{building}__in": sorted(buildings)})
    return condition


def within(region_code: str, prefixes) -> bool:
    """Whether `region_code` lies at or under one of these nodes (a scope, read once)."""
    return any(is_within(region_code, prefix) for prefix in prefixes)


def has_permission(
    user, permission: str, region_code: str | None = None, building: int | None = None
) -> bool:
    """Whether `user` holds `permission` at `region_code`, or in `building` (an id) by
    assignment; with neither, whether they hold it anywhere at all."""
    prefixes = scopes(user, permission)
    if region_code is None and building is None:
        return bool(prefixes) or bool(assigned(user, permission))
    if region_code is not None and within(region_code, prefixes):
        return True
    return building is not None and building in assigned(user, permission)


def require(
    user, permission: str, region_code: str | None = None, building: int | None = None
) -> None:
    """Refuse unless `user` holds `permission` at `region_code` or in `building` (or
    anywhere, if neither is given).

    A record outside the scope is reported as missing, so its existence does not leak.
    """
    if has_permission(user, permission, region_code, building):
        return
    if region_code is None and building is None:
        raise Forbidden()
    raise NotFound()


def minimal_prefixes(codes) -> tuple[str, ...]:
    """Drop every code that lies inside another one in the set."""
    kept: list[str] = []
    for code in sorted(set(codes), key=len):
        if not any(is_within(code, k) for k in kept):
            kept.append(code)
    return tuple(sorted(kept))
