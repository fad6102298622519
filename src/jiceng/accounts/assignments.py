"""What a staff account holds by assignment (core.access.Assignment): its memberships
that name one object — a building captain's building, a branch secretary's branch — and
are within their term. Read from the memberships already loaded for the request, so an
assignment check costs no query. Registered with core.access in AccountsConfig.ready."""

from collections.abc import Iterator

from django.utils import timezone

from jiceng.accounts.roles import ASSIGNMENT_KINDS, ROLES
from jiceng.core.access import BUILDING, Assignment, register_assignments
from jiceng.core.actors import Actor


def _held(object_type: str):
    def held(actor: Actor) -> Iterator[Assignment]:
        if not actor.is_staff:
            return
        today = timezone.localdate()
        for membership in actor.user.active_memberships():
            if membership.object_type != object_type or not membership.is_current(today):
                continue
            permissions = membership.permissions
            if permissions:
                yield Assignment(
                    kind=membership.role,
                    object_type=object_type,
                    object_id=membership.building_id or membership.object_id,
                    permissions=permissions,
                    region_code=membership.region_code,
                )

    return held


def register() -> None:
    """One provider per kind of object: buildings (roles held at buildings), and each
    object type of ASSIGNMENT_KINDS."""
    granted: dict[str, frozenset[str]] = {
        BUILDING: frozenset().union(
            *(r.permissions for r in ROLES.values() if "building" in r.levels)
        )
    }
    for kind in ASSIGNMENT_KINDS.values():
        granted[kind.object_type] = granted.get(kind.object_type, frozenset()) | kind.permissions
    for object_type, permissions in sorted(granted.items()):
        register_assignments(object_type, permissions, _held(object_type))
