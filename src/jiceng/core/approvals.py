"""Approvals: an action one person asks for and another decides, on the process runner.

A kind of approval is declared once by the app whose action it is (`register(Kind(...))`
in its AppConfig.ready): what the decider must hold at the approval's region, and what
approving does (`apply`, run in the deciding transaction: the action lands with its
approval or neither does). Asking (`ask`) writes the row, its first event and its audit
record, and tells the deciders through the outbox; deciding (`decide`) is a step of
`PROCESS`, whose table says that whoever asked may not decide (`not_by`), so four eyes
are the runner's rule, not each app's.

An action that cannot wait (an emergency reveal in a flood) is taken at once and
recorded with `review=True`: the approval starts in 待复核 and a second person confirms
or flags it afterwards; a flag alerts the auditor. What the reviewer must read besides
the request (what an emergency revealed) the kind declares as its `details`.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from jiceng.core import audit, masking, outbox
from jiceng.core.access import has_permission, holders, scope_q, scopes
from jiceng.core.actors import Actor
from jiceng.core.errors import DomainError, NotFound
from jiceng.core.models import Approval, ApprovalEvent
from jiceng.core.process import Process, Step, actor_required

S = Approval.Status


@dataclass(frozen=True)
class Kind:
    name: str  # "points.adjust": the app's label, then what is approved
    label: str  # "大额积分调整": how pages and the audit trail name it
    permission: str  # held at the approval's region by whoever decides
    # Approving does the action, in the deciding transaction (a refusal inside it
    # undoes the decision too).
    apply: Callable[[Approval, Actor], None] | None = None
    # Refusing or withdrawing releases what the request held (a proposed void …).
    release: Callable[[Approval, Actor], None] | None = None
    # A further refusal of this decider (the subject of the action may not approve it).
    check: Callable[[Approval, Actor], DomainError | None] | None = None
    # The page of the object the approval is about, for the decider to look at.
    link: Callable[[Approval], str] | None = None
    # What the decider reviews besides the request, read when the page is shown (what
    # was revealed under an emergency allowance).
    details: Callable[[Approval], "Details"] | None = None


@dataclass(frozen=True)
class Details:
    """A table the approval's page shows: `rows` (of text, one per `columns`) are the
    first of `total`."""

    title: str
    columns: tuple[str, ...]
    rows: list[tuple[str, ...]]
    total: int
    empty: str = "没有记录。"

    @property
    def labelled_rows(self) -> list[list[tuple[str, str]]]:
        """Each row's cells with their column (a narrow screen shows each cell named)."""
        return [list(zip(self.columns, row, strict=True)) for row in self.rows]


_kinds: dict[str, Kind] = {}


def register(kind: Kind) -> None:
    _kinds[kind.name] = kind


def kind_of(approval: Approval) -> Kind:
    try:
        return _kinds[approval.kind]
    except KeyError:
        raise ImproperlyDeclared(approval.kind) from None


class ImproperlyDeclared(LookupError):
    """An approval of a kind no app registers (an app removed with rows left)."""


def kinds() -> dict[str, Kind]:
    return dict(_kinds)


def _may_decide(actor: Actor, approval: Approval) -> bool:
    kind = _kinds.get(approval.kind)
    return kind is not None and has_permission(actor, kind.permission, approval.region_code)


def _asker_withdraws(actor: Actor, approval: Approval) -> bool:
    return actor.user_id is not None and actor.user_id == approval.requested_by_id


ASKED = ("ask", "take")
STEPS = {
    # The first steps, recorded by `ask` (never taken by the runner: no state leads to them).
    "ask": Step("提出", (), S.PENDING),
    "take": Step("先行处置", (), S.REVIEW),
    "approve": Step("批准", (S.PENDING,), S.APPROVED, rule=_may_decide, not_by=ASKED),
    "refuse": Step("不批准", (S.PENDING,), S.REFUSED, rule=_may_decide, not_by=ASKED),
    "cancel": Step("撤回", (S.PENDING,), S.CANCELLED, rule=_asker_withdraws),
    "confirm": Step("复核无误", (S.REVIEW,), S.REVIEWED, rule=_may_decide, not_by=ASKED),
    "flag": Step("复核有疑", (S.REVIEW,), S.FLAGGED, rule=_may_decide, not_by=ASKED),
}
DECISIONS = ("approve", "refuse", "confirm", "flag")
OPEN = (S.PENDING, S.REVIEW)


def actor_label(actor: Actor) -> str:
    if actor.is_staff:
        return f"工作人员 {masking.mask_name(actor.user.full_name or actor.user.username)}"
    return "系统"


PROCESS = Process(
    name="approval",
    model=Approval,
    steps=STEPS,
    event_model=ApprovalEvent,
    event_object="approval",
    actor_label=actor_label,
    subject="这项审批",
)


def _tell(users: Iterable, approval: Approval, text: str, *, actor: Actor, what: str) -> None:
    """A notice to each of `users` but the actor, through the outbox (sent after commit)."""
    outbox.put(
        outbox.notice(
            user=user,
            kind="approval",
            text=text[:300],
            key=f"approval:{approval.pk}:{what}:{user.pk}",
        )
        for user in users
        if user.pk != actor.user_id
    )


def ask(
    *,
    actor,
    kind: str,
    region_code: str,
    summary: str,
    payload: dict | None = None,
    reason: str = "",
    obj=None,
    review: bool = False,
) -> Approval:
    """Ask for an approval of `kind` at `region_code` (or, with `review`, record an action
    already taken for review afterwards), and tell those who may decide it."""
    actor = actor_required(actor)
    if not actor.is_staff:
        raise DomainError("只有工作人员可以提出审批。", code="staff_only")
    declared = _kinds[kind]
    with transaction.atomic():
        approval = Approval.objects.create(
            kind=kind,
            region_code=region_code,
            status=S.REVIEW if review else S.PENDING,
            summary=summary[:200],
            reason=reason[:300],
            payload=payload or {},
            object_type=obj._meta.label_lower if obj is not None else "",
            object_id=str(obj.pk) if obj is not None else "",
            requested_by=actor.user,
        )
        PROCESS.started(
            approval,
            actor=actor,
            action="take" if review else "ask",
            note=reason[:300],
            detail={"kind": kind, "summary": approval.summary},
        )
        wording = "待复核" if review else "待审批"
        _tell(
            holders(declared.permission, region_code),
            approval,
            f"{wording}：{declared.label}——{approval.summary}",
            actor=actor,
            what="asked",
        )
    return approval


def decide(*, actor, approval: Approval, action: str, note: str = "") -> Approval:
    """Take one of the decisions (批准, 不批准, 复核无误, 复核有疑) or withdraw (撤回)."""
    actor = actor_required(actor)
    if action not in (*DECISIONS, "cancel"):
        raise DomainError("不认识的审批操作。", code="invalid_action")
    declared = kind_of(approval)

    def check(locked: Approval) -> None:
        if action in DECISIONS and declared.check is not None:
            refusal = declared.check(locked, actor)
            if refusal is not None:
                raise refusal

    def effects(locked: Approval) -> None:
        if action == "approve" and declared.apply is not None:
            declared.apply(locked, actor)
        if action in ("refuse", "cancel") and declared.release is not None:
            declared.release(locked, actor)
        if action == "flag":
            audit.alert(
                kind="approval_flagged",
                text=f"{declared.label}复核有疑：{locked.summary}",
                region_code=locked.region_code,
                detail={"approval": locked.pk},
            )
        if action != "cancel":
            _tell(
                [locked.requested_by],
                locked,
                f"{declared.label}{STEPS[action].label}：{locked.summary}",
                actor=actor,
                what=action,
            )

    decided = {}
    if action in DECISIONS:
        decided = {
            "decided_by": actor.user,
            "decided_at": timezone.now(),
            "decision_note": note[:300],
        }
    return PROCESS.run(
        approval,
        action,
        actor=actor,
        note=note[:300],
        check=check,
        effects=effects,
        detail={"kind": approval.kind},
        **decided,
    )


# --- reading ---------------------------------------------------------------------------


def _decidable_q(actor) -> Q:
    """The approvals `actor` may decide: of each kind, those in the kind's scope."""
    condition = Q(pk__in=[])
    for name, kind in _kinds.items():
        prefixes = scopes(actor, kind.permission)
        if prefixes:
            condition |= Q(kind=name) & scope_q(prefixes)
    return condition


def visible(actor) -> QuerySet:
    """What `actor` may see: what they asked for and what they may decide."""
    who = actor_required(actor)
    return Approval.objects.filter(Q(requested_by=who.user) | _decidable_q(who))


def awaiting(actor) -> QuerySet:
    """Open approvals `actor` may decide, not their own (oldest first)."""
    who = actor_required(actor)
    return (
        Approval.objects.filter(_decidable_q(who), status__in=OPEN)
        .exclude(requested_by=who.user)
        .order_by("requested_at", "pk")
    )


def labelled(rows) -> list[Approval]:
    """The rows, each with its kind's label (`kind_label`) for a list."""
    rows = list(rows)
    for row in rows:
        declared = _kinds.get(row.kind)
        row.kind_label = declared.label if declared else row.kind
    return rows


def event_label(action: str) -> str:
    return STEPS[action].label if action in STEPS else action


def get_visible(actor, pk) -> Approval:
    approval = visible(actor).select_related("requested_by", "decided_by").filter(pk=pk).first()
    if approval is None:
        raise NotFound()
    return approval


def pending_of(*, kind: str, obj) -> Approval | None:
    """The open approval of `kind` about `obj`, if any (one proposal at a time)."""
    return (
        Approval.objects.filter(
            kind=kind, object_type=obj._meta.label_lower, object_id=str(obj.pk), status__in=OPEN
        )
        .order_by("-pk")
        .first()
    )
