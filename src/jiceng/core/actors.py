"""Who acts: a staff user, a resident, the public, or the system. One typed value.

Every service takes an `Actor` as its first argument, so that each action, and each
audit record it leaves, says who did it, including those done by a resident (their own
sign-up, a rating), by someone not signed in (a QR-code submission, a tracking link) and by
the system (a command, the worker, the demo generator).

Permission checks read the staff user: `core.access` accepts an Actor wherever it
accepts a user, and any actor that is not staff holds no role.
"""

from dataclasses import dataclass
from typing import Any

STAFF = "staff"
RESIDENT = "resident"
PUBLIC = "public"
SYSTEM = "system"
KINDS = [(STAFF, "工作人员"), (RESIDENT, "居民"), (PUBLIC, "公众"), (SYSTEM, "系统")]


@dataclass(frozen=True)
class Actor:
    kind: str
    user: Any = None  # accounts.User, for staff
    resident: Any = None  # residents.Resident, for a signed-in resident
    name: str = ""  # for the system: the command or job; for the public: the channel

    def __post_init__(self):
        if self.kind == STAFF and not getattr(self.user, "is_authenticated", False):
            raise ValueError("a staff actor needs a signed-in user")
        if self.kind == RESIDENT and self.resident is None:
            raise ValueError("a resident actor needs a resident")
        if self.kind == SYSTEM and not self.name:
            raise ValueError("a system actor needs the name of what acts")

    @classmethod
    def staff(cls, user) -> "Actor":
        return cls(STAFF, user=user)

    @classmethod
    def of_resident(cls, resident) -> "Actor":
        return cls(RESIDENT, resident=resident)

    @classmethod
    def public(cls, channel: str = "") -> "Actor":
        return cls(PUBLIC, name=channel)

    @classmethod
    def system(cls, name: str) -> "Actor":
        return cls(SYSTEM, name=name)

    @classmethod
    def of(cls, request) -> "Actor":
        """Who sent this request: the staff user, else the signed-in resident, else the
        public."""
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            return cls.staff(user)
        resident = getattr(request, "resident", None)
        if resident is not None:
            return cls.of_resident(resident)
        return cls.public()

    @property
    def is_staff(self) -> bool:
        return self.kind == STAFF

    @property
    def is_resident(self) -> bool:
        return self.kind == RESIDENT

    @property
    def is_system(self) -> bool:
        return self.kind == SYSTEM

    @property
    def user_id(self) -> int | None:
        """The staff user's id, else None: for "not oneself" checks and foreign keys."""
        return self.user.pk if self.user is not None else None

    @property
    def reference(self) -> str:
        """What the audit trail keeps to find the actor again (no personal data)."""
        if self.kind == STAFF:
            return self.user.get_username()
        if self.kind == RESIDENT:
            return f"resident:{self.resident.pk}"
        return self.name

    @property
    def region_code(self) -> str:
        """Where this actor's doings are audited when what they act on lies nowhere (a
        token, a configuration row): a staff member's county, a resident's community; ""
        for the public and the system."""
        if self.kind == STAFF:
            return self.user.audit_region_code()
        if self.kind == RESIDENT:
            return self.resident.region_code or ""
        return ""


def as_actor(value) -> Actor | None:
    """An Actor from what a caller passed: an Actor, a signed-in user, or None."""
    if value is None or isinstance(value, Actor):
        return value
    if getattr(value, "is_authenticated", False):
        return Actor.staff(value)
    return None


def user_of(value):
    """The staff user behind an Actor or a user, else None: what permission checks read."""
    if isinstance(value, Actor):
        return value.user
    return value
