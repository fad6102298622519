"""Processes: a table of steps and the one runner that takes any of them.

A process (a request, an activity, and the handovers, resolutions … to come) declares its
steps in one table in its app: for each, where it may start (source states), where it
leads (target), and who may take it (a permission held at the row's region, or a rule such
as "the assigned handler", or both: the rule, else the permission). The runner takes one
step: it locks the row, checks the state, authorizes the actor, works out the change,
writes it with a conditional update (WHERE pk AND status = the state it checked, so a stale
read cannot win), appends the process's event row, writes the audit event, keeps the
item's deadline row (core.deadlines) and queues the effects (notifications, outbox
messages) in the same transaction, to be sent by the worker once it commits. What an actor
may do next (`available_actions`) is read from the same table.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import models, transaction
from django.db.models import F
from django.utils import timezone

from jiceng.core import audit, deadlines
from jiceng.core.access import has_permission, require
from jiceng.core.actors import Actor, as_actor
from jiceng.core.errors import DomainError, NotFound


@dataclass(frozen=True)
class Step:
    label: str
    sources: tuple[str, ...]
    target: str | None  # None: the state stays (or the step works it out)
    permission: str | None = None  # held at the row's region_code
    # Whether the actor may take the step by assignment (the handler, the team leader):
    # allowed if the rule says so, else if the actor holds `permission`.
    rule: Callable[[Actor, Any], bool] | None = None
    # A precondition read from the row (a pending extension …): None, or the refusal.
    guard: Callable[[Any], DomainError | None] | None = None
    refusal: str = ""  # said when the row is in another state (default: names the state)
    # Four eyes: the step may not be taken by whoever took the latest of these steps on
    # the row (who handled does not check; who asked for more time does not grant it).
    not_by: tuple[str, ...] = ()
    # Refuses this actor on this row although the permission allows: conflict of interest
    # (a request about a staff member is not voided or handled by them), or a step kept to
    # a higher post (a grid's worker does not merge): None, or the refusal.
    conflict: Callable[[Actor, Any], DomainError | None] | None = None

    @property
    def is_open(self) -> bool:
        """Taken by whoever reached the row (a private link, the creator): the service
        checks that right itself; such steps are never offered as actions."""
        return self.permission is None and self.rule is None


def actor_required(actor) -> Actor:
    """The typed actor of a service call; a signed-in user is taken as staff."""
    who = as_actor(actor)
    if who is None:
        raise TypeError("every step needs an actor (core.actors.Actor)")
    return who


class Process:
    def __init__(
        self,
        *,
        name: str,
        model: type[models.Model],
        steps: dict[str, Step],
        event_model: type[models.Model],
        event_object: str,
        actor_label: Callable[[Actor], str],
        open_states: tuple[str, ...] = (),
        due_field: str | None = None,
        sequence_field: str | None = None,
        subject: str = "",
        status_field: str = "status",
    ) -> None:
        self.name = name  # the audit prefix and the deadline kind ("case", "activity")
        self.model = model
        self.steps = steps
        self.event_model = event_model
        self.event_object = event_object
        self.actor_label = actor_label
        self.open_states = open_states
        self.due_field = due_field
        self.sequence_field = sequence_field
        self.subject = subject  # how a refusal names the item: "这件诉求", "活动"
        self.status_field = status_field

    # --- reading the table ---------------------------------------------------------------

    def states(self, *actions: str) -> tuple[str, ...]:
        """The states from which any of `actions` may start (a set derived from the table,
        for a view's button or a selector's filter)."""
        found: list[str] = []
        for action in actions:
            found.extend(s for s in self.steps[action].sources if s not in found)
        return tuple(found)

    def may(self, actor, obj, action: str) -> bool:
        """Whether `actor` may take `action` on `obj` now (without side effects)."""
        step = self.steps[action]
        if step.is_open or getattr(obj, self.status_field) not in step.sources:
            return False
        who = as_actor(actor)
        if who is None:
            return False
        allowed = (step.rule is not None and step.rule(who, obj)) or (
            step.permission is not None and has_permission(who, step.permission, obj.region_code)
        )
        return (
            allowed
            and (step.guard is None or step.guard(obj) is None)
            and (step.conflict is None or step.conflict(who, obj) is None)
            and self._second_person(step, who, obj) is None
        )

    def available_actions(self, actor, obj) -> set[str]:
        return {action for action in self.steps if self.may(actor, obj, action)}

    # --- taking a step -------------------------------------------------------------------

    def _authorize(self, step: Step, actor: Actor, locked) -> None:
        if step.rule is not None and step.rule(actor, locked):
            return
        if step.permission is not None:
            require(actor, step.permission, locked.region_code)
            return
        if step.rule is not None:
            raise NotFound()

    def _second_person(self, step: Step, actor: Actor, obj) -> DomainError | None:
        """The refusal when `actor` took the step this one must be apart from."""
        if not step.not_by or actor.user is None:
            return None
        last = (
            self.event_model.objects.filter(**{self.event_object: obj}, action__in=step.not_by)
            .order_by("-at", "-pk")
            .values_list("action", "actor_id")
            .first()
        )
        if last is None or last[1] != actor.user.pk:
            return None
        return DomainError(
            f"{step.label}须由另一人进行：您本人已{self.steps[last[0]].label}。",
            code="second_person_required",
        )

    def _wrong_state(self, step: Step, locked) -> DomainError:
        if step.refusal:
            return DomainError(step.refusal, code="invalid_transition")
        label = locked._meta.get_field(self.status_field)
        shown = dict(label.flatchoices).get(getattr(locked, self.status_field), "")
        return DomainError(
            f"{self.subject}当前“{shown}”，不能{step.label}。", code="invalid_transition"
        )

    def run(
        self,
        obj,
        action: str,
        *,
        actor,
        note: str | Callable[[Any], str] = "",
        event: dict | None = None,
        detail: dict | None = None,
        check: Callable[[Any], None] | None = None,
        derive: Callable[[Any], dict] | None = None,
        effects: Callable[[Any], None] | None = None,
        wrong_state: Callable[[Any], DomainError] | None = None,
        label: str = "",
        **changes,
    ):
        """Take step `action` on `obj` for `actor`, and return the changed row.

        `check(locked)` refuses what the table cannot say (a time limit, a cap on the
        parameters); `derive(locked)` returns further changes worked out from the locked
        row; `effects(locked)` queues notifications and messages in the transaction;
        `wrong_state(locked)` words the refusal when the row is in another state; `note`
        may be worked out from the changed row; `detail` is added to the audit record.
        """
        actor = actor_required(actor)
        step = self.steps[action]
        with transaction.atomic():
            locked = self.model.objects.select_for_update().get(pk=obj.pk)
            before = getattr(locked, self.status_field)
            refuse = wrong_state or (lambda row: self._wrong_state(step, row))
            if before not in step.sources:
                raise refuse(locked)
            self._authorize(step, actor, locked)
            if step.conflict is not None and (refusal := step.conflict(actor, locked)):
                raise refusal
            if (refusal := self._second_person(step, actor, locked)) is not None:
                raise refusal
            if check is not None:
                check(locked)
            if step.guard is not None and (refusal := step.guard(locked)) is not None:
                raise refusal
            if derive is not None:
                changes.update(derive(locked))
            if step.target and self.status_field not in changes:
                changes[self.status_field] = step.target
            self._write(locked, before, changes, refuse)
            after = getattr(locked, self.status_field)
            if callable(note):
                note = note(locked)
            self._append(locked, action, actor, before, after, note, event, label)
            audit.record(
                actor=actor,
                action=f"{self.name}.{action}",
                obj=locked,
                detail={"from": before, "to": after, **(detail or {})},
            )
            self.keep_deadline(locked)
            if effects is not None:
                effects(locked)
        return locked

    def _write(self, locked, before: str, changes: dict, refusal) -> None:
        """One conditional UPDATE: it lands only while the row is still in `before`."""
        values = {}
        for name, value in changes.items():
            setattr(locked, name, value)
            field = locked._meta.get_field(name)
            values[field.attname] = getattr(locked, field.attname)
        now = timezone.now()
        for field in locked._meta.concrete_fields:
            if getattr(field, "auto_now", False):
                setattr(locked, field.attname, now)
                values[field.attname] = now
        if self.sequence_field:
            values[self.sequence_field] = F(self.sequence_field) + 1
        written = self.model.objects.filter(pk=locked.pk, **{self.status_field: before}).update(
            **values
        )
        if not written:
            # Another transaction moved the row since it was read (a database that does
            # not lock rows): refuse as if it had been read in its new state.
            raise refusal(self.model.objects.get(pk=locked.pk))
        if self.sequence_field:
            locked.refresh_from_db(fields=[self.sequence_field])

    def _append(self, obj, action, actor, before, after, note, event, label) -> None:
        self.event_model.objects.create(
            **{self.event_object: obj},
            at=timezone.now(),
            actor=actor.user,
            actor_label=label or self.actor_label(actor),
            action=action,
            from_status=before,
            to_status=after,
            note=note,
            **(event or {}),
        )

    def started(self, obj, *, actor, action: str, note: str = "", event: dict | None = None,
                detail: dict | None = None, label: str = "") -> None:  # fmt: skip
        """Record the first step of an item just created (intake, a draft): its event,
        its audit record and its deadline row."""
        actor = actor_required(actor)
        status = getattr(obj, self.status_field)
        self._append(obj, action, actor, "", status, note, event, label)
        audit.record(actor=actor, action=f"{self.name}.{action}", obj=obj, detail=detail)
        self.keep_deadline(obj)

    def keep_deadline(self, obj) -> None:
        """The item's one deadline row follows its due time, and closes with it."""
        if self.due_field is None:
            return
        deadlines.keep(
            kind=self.name,
            object_id=obj.pk,
            region_code=obj.region_code,
            due_at=getattr(obj, self.due_field),
            closed=getattr(obj, self.status_field) not in self.open_states,
        )
