"""Region scope, assignments and named permissions: the one place that says who may see
what.

Access is held in one of two ways, and every check reads both:

- **By a role at a region node** (accounts.Membership): a role is a set of permission
  codes (accounts.roles), and it reaches everything whose `region_code` lies at or under
  the node (`scopes`).
- **By being assigned to a thing** (`Assignment`): the captain of a building (楼栋长),
  the secretary of a party branch, the contact of a retiree, the mentor of a reserve
  cadre, the leader of a volunteer team. An assignment names one object (its model label
  and id) and the permissions it grants there, and reaches that object and what lies in
  it — never the rest of its grid, so that two branches (or two buildings) of one grid
  stay apart. The app that owns the assignment declares it: it registers a provider in
  its AppConfig.ready (`register_assignments`: the object type, the permissions it may
  grant, and a function from an Actor to the assignments it holds now, within their
  dates). A check reads only the providers that may answer it, each once per actor per
  request (`assignments`). Staff posts are accounts.Assignment rows (and a building
  captain's role held at a building); a team leader is named by the team itself.

Checks, one way for both: a single object through `has_permission(actor, perm,
region_code=..., obj=...)` / `require` (a record inside an assigned thing names the thing:
`building=<id>`, or `obj=` the thing itself); querysets through `scope_filter` / `reach_q`
with `via={object label: path to its id}` (`building="dwelling__building"` is short for
`via={BUILDING: "dwelling__building"}`). The actor may be an `Actor` or a staff user.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

from django.db.models import Q, QuerySet

from jiceng.core.actors import Actor, as_actor, user_of
from jiceng.core.errors import Forbidden, NotFound
from jiceng.core.region_codes import is_within

BUILDING = "places.building"


class ScopedUser(Protocol):
    is_authenticated: bool

    def scope_codes(self, permission: str) -> tuple[str, ...]: ...


@dataclass(frozen=True)
class Assignment:
    """Access held by being assigned to one object, not by a role at a region node."""

    kind: str  # what the holder is there: "building_captain", "branch_secretary", ...
    object_type: str  # the object's model label, lower case: "party.partyorganization"
    object_id: int
    permissions: frozenset[str]
    region_code: str = ""  # where the object lies (for the audit trail and listings)


Provider = Callable[[Actor], Iterable[Assignment]]


@dataclass(frozen=True)
class _Declared:
    object_type: str
    permissions: frozenset[str]
    provider: Provider


_declared: list[_Declared] = []


def register_assignments(object_type: str, permissions, provider: Provider) -> None:
    """Declare a kind of assignment to objects of `object_type` that grants some of
    `permissions`: `provider(actor)` yields the ones `actor` holds now. A check reads only
    the providers that may answer it, so a check on buildings costs no query of the
    party's."""
    entry = _Declared(object_type, frozenset(permissions), provider)
    if entry not in _declared:
        _declared.append(entry)


def _holder(actor):
    who = as_actor(actor)
    if who is None:
        return None, None
    holder = who.user if who.is_staff else who.resident
    if holder is None or (who.is_staff and (not holder.is_active or holder.is_superuser)):
        return None, None  # the platform operator holds no data role, by assignment neither
    return who, holder


HolderFinder = Callable[[str, str], Iterable]
_holder_finders: list[HolderFinder] = []


def register_holders(finder: HolderFinder) -> None:
    """Declare how to find the staff who hold a permission at a region node (accounts
    does, from its memberships): the kernel asks it whom to tell of an approval or an
    alert, without importing the app."""
    if finder not in _holder_finders:
        _holder_finders.append(finder)


def holders(permission: str, region_code: str) -> list:
    """The active staff users who hold `permission` at `region_code` (at the node or
    above it), by role; for notices, not for checks."""
    found: dict[int, object] = {}
    for finder in _holder_finders:
        for user in finder(permission, region_code):
            found.setdefault(user.pk, user)
    return list(found.values())


def assignments(actor, object_type: str | None = None, permission: str | None = None):
    """The assignments `actor` (an Actor or a staff user) holds — to objects of
    `object_type`, granting `permission`, if given. Each provider is read once: what it
    yields is kept on the user or resident object, which lives as long as the request."""
    who, holder = _holder(actor)
    if holder is None:
        return ()
    cache = holder.__dict__.setdefault("_assignments", {})
    found: list[Assignment] = []
    for index, entry in enumerate(_declared):
        if object_type is not None and entry.object_type != object_type:
            continue
        if permission is not None and permission not in entry.permissions:
            continue
        if index not in cache:
            cache[index] = tuple(entry.provider(who))
        found += [a for a in cache[index] if permission is None or permission in a.permissions]
    return tuple(found)


def scopes(user, permission: str) -> tuple[str, ...]:
    """The region codes under which `user` (or an Actor) holds `permission`, none nested
    in another."""
    user = user_of(user)
    if user is None or not user.is_authenticated:
        return ()
    return user.scope_codes(permission)


def assigned(user, permission: str, object_type: str = BUILDING) -> frozenset[int]:
    """The ids of the objects of `object_type` (buildings, by default) in which `user`
    (or an Actor) holds `permission` by being assigned to them. Such access reaches the
    object and what lies in it, and nothing else of its grid."""
    return frozenset(
        a.object_id
        for a in assignments(user, object_type, permission)
        if a.object_type == object_type
    )


def _label(obj) -> str:
    return obj._meta.label_lower


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
    via: dict[str, str] | None = None,
):
    """The rows in the user's scope for `permission`, and those in objects assigned to
    them: `via` maps an object label to the path from the row to that object's id, or to
    a tuple of paths (the row itself, or its parent: what lies in the object). `building`,
    the path to the row's building (e.g. "dwelling__building"), is short for
    `via={BUILDING: path}`."""
    paths = _paths(building, via)
    if not scopes(user, permission) and not any(
        assigned(user, permission, label) for label in paths
    ):
        return queryset.none()
    return queryset.filter(reach_q(user, permission, field, building, via))


def _paths(building: str | None, via: dict[str, str] | None) -> dict[str, str]:
    paths = dict(via or {})
    if building:
        paths[BUILDING] = building
    return paths


def reach_q(
    user,
    permission: str,
    field: str = "region_code",
    building: str | None = None,
    via: dict[str, str] | None = None,
) -> Q:
    """The condition behind scope_filter, for queries that add other ways in."""
    condition = scope_q(scopes(user, permission), field)
    for label, path in _paths(building, via).items():
        ids = assigned(user, permission, label)
        for each in path if isinstance(path, tuple) else (path,):
            if ids:
                condition |= Q(**{f"{each}__in": sorted(ids)})
    return condition


def within(region_code: str, prefixes) -> bool:
    """Whether `region_code` lies at or under one of these nodes (a scope, read once)."""
    return any(is_within(region_code, prefix) for prefix in prefixes)


def has_permission(
    user,
    permission: str,
    region_code: str | None = None,
    building: int | None = None,
    obj=None,
) -> bool:
    """Whether `user` (or an Actor) holds `permission` at `region_code`, or in `building`
    (an id) or `obj` (a model instance: by its region_code, or by being assigned to it);
    with none of these, whether they hold it anywhere at all."""
    prefixes = scopes(user, permission)
    if region_code is None and obj is not None:
        region_code = getattr(obj, "region_code", None)
    if region_code is None and building is None and obj is None:
        return bool(prefixes) or bool(assignments(user, permission=permission))
    if region_code is not None and within(region_code, prefixes):
        return True
    if building is not None and building in assigned(user, permission):
        return True
    return obj is not None and obj.pk in assigned(user, permission, _label(obj))


def require(
    user,
    permission: str,
    region_code: str | None = None,
    building: int | None = None,
    obj=None,
) -> None:
    """Refuse unless `user` holds `permission` at `region_code`, in `building` or on `obj`
    (or anywhere, if none is given).

    A record outside the scope is reported as missing, so its existence does not leak.
    """
    if has_permission(user, permission, region_code, building, obj):
        return
    if region_code is None and building is None and obj is None:
        raise Forbidden()
    raise NotFound()


def minimal_prefixes(codes) -> tuple[str, ...]:
    """Drop every code that lies inside another one in the set."""
    kept: list[str] = []
    for code in sorted(set(codes), key=len):
        if not any(is_within(code, k) for k in kept):
            kept.append(code)
    return tuple(sorted(kept))
