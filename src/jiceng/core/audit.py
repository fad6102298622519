"""Writing the audit trail. Every service calls `record`; nothing else writes events."""

from contextvars import ContextVar
from typing import Any

from jiceng.core.actors import Actor, as_actor
from jiceng.core.models import AuditEvent

# Set per request by core.middleware.AuditContextMiddleware.
request_ip: ContextVar[str | None] = ContextVar("request_ip", default=None)


def record(**fields) -> AuditEvent:
    """Append one event (the fields of `event`)."""
    entry = event(**fields)
    entry.save()
    return entry


def record_all(events: list[AuditEvent]) -> None:
    """Append many events built with `event`, in one insert (a batch of grants)."""
    AuditEvent.objects.bulk_create(events, batch_size=1000)


def event(
    *,
    actor,
    action: str,
    obj: Any = None,
    object_type: str = "",
    object_id: Any = "",
    region_code: str = "",
    outcome: str = AuditEvent.SUCCESS,
    detail: dict | None = None,
    ip_address: str | None = None,
) -> AuditEvent:
    """An event not yet written. `actor` is a core.actors.Actor (a signed-in user is
    taken as staff). `obj` fills type, id and region from a model instance."""
    if actor is None:
        raise ValueError(f"audit event {action!r} names no actor")
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or obj.pk
        region_code = region_code or getattr(obj, "region_code", "") or ""
    who = as_actor(actor)
    return AuditEvent(
        actor=who.user if who is not None else None,
        actor_kind=who.kind if who is not None else "",
        actor_username=who.reference if who is not None else "",
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        region_code=region_code,
        outcome=outcome,
        detail=detail or {},
        ip_address=ip_address or request_ip.get(),
    )


ALERT_PREFIX = "alert."
ALERT_DAYS = 30


def alert(*, kind: str, text: str, region_code: str, detail: dict | None = None) -> AuditEvent:
    """Warn the auditor of `region_code`: an event the audit page shows above the rest for
    ALERT_DAYS (a flood of imports meeting registrations elsewhere, an account under
    attack). To stand when the action is refused, raise it from a refusal's record."""
    return record(
        actor=Actor.system("alert"),
        action=ALERT_PREFIX + kind,
        region_code=region_code,
        outcome=AuditEvent.FAILURE,
        detail={"text": text, **(detail or {})},
    )
