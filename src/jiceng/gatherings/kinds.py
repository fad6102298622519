"""The kinds of gathering, each declared by the app that owns it (in its AppConfig.ready):
who organizes one (takes attendance, sees the roster), and what that app says of its
gatherings on the public pages. The kernel reads a gathering's kind from here and knows
nothing else of it."""

from collections.abc import Callable
from dataclasses import dataclass, field

from jiceng.core.actors import Actor


@dataclass(frozen=True)
class Note:
    """What the owning app says of one gathering where residents see it: its state in the
    app's words, facts (label, value) for its page, and tags for the calendar."""

    status: str = ""
    status_code: str = ""
    facts: tuple[tuple[str, str], ...] = ()
    tags: tuple[str, ...] = ()  # topics shown as tags (节日专题)
    categories: tuple[str, ...] = ()  # iCalendar CATEGORIES besides the tags
    line: str = ""  # a short line under the title in a list


@dataclass(frozen=True)
class Kind:
    code: str
    label: str
    # May this actor organize the gathering: see who signed up, mark attendance by hand,
    # show the check-in code? (staff of its region with the app's right, a team leader …)
    organizes: Callable[[Actor, object], bool]
    # The notes of many gatherings at once ({gathering pk: Note}), in a query or two.
    notes: Callable[[list], dict] = field(default=lambda gatherings: {})
    # Who confirms an organizer's own attendance (nobody confirms their own).
    confirms_organizers: str = "其他组织者"
    # Where this organizer manages one (the owning app's page).
    manage_url: Callable[[object, Actor], str] | None = None


_KINDS: dict[str, Kind] = {}


def declare(kind: Kind) -> Kind:
    """Declared once per kind, at start-up; declaring a code twice is a mistake."""
    if kind.code in _KINDS and _KINDS[kind.code] is not kind:
        raise ValueError(f"gathering kind {kind.code!r} declared twice")
    _KINDS[kind.code] = kind
    return kind


def kind_of(gathering) -> Kind:
    return _KINDS[gathering.kind]


def declared() -> dict[str, Kind]:
    return dict(_KINDS)


def notes_for(gatherings: list) -> dict:
    """The owning apps' notes of these gatherings: one call per kind present."""
    found: dict = {}
    by_kind: dict[str, list] = {}
    for gathering in gatherings:
        by_kind.setdefault(gathering.kind, []).append(gathering)
    for code, some in by_kind.items():
        if code in _KINDS:
            found.update(_KINDS[code].notes(some))
    return found
