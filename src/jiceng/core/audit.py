"""The audit trail: writing it (every service calls `record`; nothing else writes events)
and reading it for the auditor (filters, names, the .xlsx export)."""

import datetime
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.utils import timezone

from jiceng.core import actors, audit_labels, keys
from jiceng.core.access import holders, require, scope_filter, scopes, within
from jiceng.core.actors import Actor, as_actor
from jiceng.core.models import AuditEvent
from jiceng.core.region_codes import COUNTY, is_above

MIDNIGHT = datetime.time.min

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
    taken as staff). `obj` fills type, id and region from a model instance; an event that
    names no region is the actor's (Actor.region_code), and one with none at all is read
    by the auditors above the counties (`trail`)."""
    if actor is None:
        raise ValueError(f"audit event {action!r} names no actor")
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or obj.pk
        region_code = region_code or getattr(obj, "region_code", "") or ""
    who = as_actor(actor)
    if not region_code and who is not None:
        # Seen by the auditor of the actor's county, not only by one above the counties.
        region_code = who.region_code
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


def name_digest(name: str) -> str:
    """What the trail keeps of a name typed at sign-in that no account has: its keyed
    digest (HMAC-SM3 under the index key), never the text — people type their password
    into the wrong box. The same name gives the same digest, so a burst against one name
    shows, and the auditor finds it by typing the name (`Filters.person`)."""
    return keys.blind_index(name.strip().lower()[:150], "audit.login_name")


ALERT_PREFIX = "alert."
ALERT_DAYS = 30


AUDITOR = "audit.view"  # whom an alert tells


def alert(*, kind: str, text: str, region_code: str, detail: dict | None = None) -> AuditEvent:
    """Warn the auditors of `region_code`: an event the audit page shows above the rest for
    ALERT_DAYS (a flood of imports meeting registrations elsewhere, an account under
    attack, a reveal quota reached), and a notice to each of them through the outbox. To
    stand when the action is refused, raise it from a refusal's record."""
    from jiceng.core import outbox

    event = record(
        actor=Actor.system("alert"),
        action=ALERT_PREFIX + kind,
        region_code=region_code,
        outcome=AuditEvent.FAILURE,
        detail={"text": text, **(detail or {})},
    )
    if region_code:
        outbox.put(
            outbox.notice(
                user=auditor, kind="alert", text=text[:300], key=f"alert:{event.pk}:{auditor.pk}"
            )
            for auditor in holders(AUDITOR, region_code)
        )
    return event


# --- reading the trail (the auditor's list and its export) ---------------------------------


@dataclass(frozen=True)
class Filters:
    """What the auditor narrowed the trail to: a date range (local days, both ends
    included), an event (its code or a prefix of it), an operator (account or name, or a
    name typed at a refused sign-in), a region (a code within the auditor's scope) and an
    outcome."""

    start: datetime.date | None = None
    end: datetime.date | None = None
    action: str = ""
    person: str = ""
    region: str = ""
    outcome: str = ""

    def as_detail(self) -> dict:
        """The filters as the export's audit record keeps them."""
        return {
            key: str(value)
            for key, value in (
                ("start", self.start),
                ("end", self.end),
                ("action", self.action),
                ("person", self.person),
                ("region", self.region),
                ("outcome", self.outcome),
            )
            if value
        }


def filters_from(params, user) -> tuple[Filters, list[str]]:
    """The filters of a query string, and what was wrong with it (in Chinese, for the
    page to say). A filter that cannot be read is left out; the export refuses instead."""
    errors = []

    def day(name: str, label: str) -> datetime.date | None:
        text = params.get(name, "").strip()
        if not text:
            return None
        try:
            return datetime.date.fromisoformat(text)
        except ValueError:
            errors.append(f"{label}应为日期，如 2026-10-08。")
            return None

    start, end = day("start", "开始日期"), day("end", "结束日期")
    if start and end and end < start:
        errors.append("结束日期早于开始日期。")
        start = end = None
    region = params.get("region", "").strip()
    if region and not within(region, scopes(user, "audit.view")):
        errors.append("所选区划不在您的审计范围内。")
        region = ""
    outcome = params.get("outcome", "")
    return (
        Filters(
            start=start,
            end=end,
            action=params.get("action", "").strip()[:64],
            person=params.get("user", "").strip()[:150],
            region=region,
            outcome=outcome if outcome in (AuditEvent.SUCCESS, AuditEvent.FAILURE) else "",
        ),
        errors,
    )


def trail(user) -> QuerySet:
    """The part of the trail `user` audits: the events in their audit.view scope and, for
    an auditor above the counties (a city's, a province's), those no county owns (a name
    no account has, typed at sign-in; the platform operator's configuration). A county's
    auditor never reads them: they may concern another county."""
    events = scope_filter(AuditEvent.objects.all(), user, "audit.view")
    if any(is_above(code, COUNTY) for code in scopes(user, "audit.view")):
        events = events | AuditEvent.objects.filter(region_code="")
    return events


def events_for(*, user, filters: Filters) -> QuerySet:
    """The events in the auditor's scope that the filters let through, newest first, each
    with its operator's account."""
    require(user, "audit.view")
    events = trail(user)
    zone = timezone.get_current_timezone()
    if filters.start:
        events = events.filter(at__gte=datetime.datetime.combine(filters.start, MIDNIGHT, zone))
    if filters.end:
        following = filters.end + datetime.timedelta(days=1)
        events = events.filter(at__lt=datetime.datetime.combine(following, MIDNIGHT, zone))
    if filters.action:
        events = events.filter(action__startswith=filters.action)
    if filters.person:
        events = events.filter(
            Q(actor_username=filters.person)
            | Q(actor__full_name=filters.person)
            | Q(detail__name_digest=name_digest(filters.person))
        )
    if filters.region:
        events = events.filter(region_code__within=filters.region)
    if filters.outcome:
        events = events.filter(outcome=filters.outcome)
    return events.select_related("actor").order_by("-at", "-id")


def operator_of(entry: AuditEvent, phones: dict[str, str] | None = None) -> str:
    """Who did it, as the auditor reads it: a staff member's name and account, a resident
    by their masked phone and number (`phones`, read by `named`), the system's job, or
    the public channel."""
    kind = entry.actor_kind
    if kind == actors.RESIDENT:
        number = entry.actor_username.removeprefix("resident:")
        phone = (phones or {}).get(number)
        return f"居民 {phone} #{number}" if phone else f"居民 #{number}"
    if kind == actors.SYSTEM:
        name = audit_labels.value_label("actor.system", entry.actor_username)
        return f"系统·{name}" if name else "系统"
    if kind == actors.PUBLIC:
        name = audit_labels.value_label("actor.public", entry.actor_username)
        return f"公众·{name}" if name else "公众（未登录）"
    if entry.actor is not None and entry.actor.full_name:
        return f"{entry.actor.full_name}（{entry.actor_username}）"
    return entry.actor_username or "（未登录）"


def named(entries) -> list[AuditEvent]:
    """`entries` (a page, a chunk of the export) with what the auditor reads on each:
    `label`, `details`, `operator`, `object_label` (the type) and `object_name` (masked
    where it names a person). Every named object of every type is read in ONE query."""
    from django.db.models import CharField, Value
    from django.db.models.functions import Cast

    entries = list(entries)
    wanted: dict[str, set] = {}
    for entry in entries:
        if entry.object_type in audit_labels.OBJECT_NAMES and entry.object_id:
            wanted.setdefault(entry.object_type, set()).add(entry.object_id)
    reads = []
    for object_type, ids in sorted(wanted.items()):
        model = _model(object_type)
        if model is None:
            continue
        key = audit_labels.OBJECT_KEYS.get(object_type, "pk")
        keys = _keys(model, key, ids)
        if not keys:
            continue
        column, _ = audit_labels.OBJECT_NAMES[object_type]
        reads.append(
            model._base_manager.filter(**{f"{key}__in": keys})
            .order_by()
            .annotate(
                # Cast: in a UNION, PostgreSQL must know the parameter's type.
                audit_type=Cast(Value(object_type), CharField()),
                audit_key=Cast(key, CharField()),
                audit_name=Cast(column, CharField()),
            )
            .values_list("audit_type", "audit_key", "audit_name")
        )
    names = {}
    if reads:
        query = reads[0].union(*reads[1:], all=True) if len(reads) > 1 else reads[0]
        names = {(kind, key): name for kind, key, name in query}
    phones = _resident_phones(entries)
    for entry in entries:
        entry.label = audit_labels.label(entry.action)
        entry.details = audit_labels.details(entry.detail, entry.object_type)
        entry.operator = operator_of(entry, phones)
        entry.object_label = object_label(entry.object_type)
        found = names.get((entry.object_type, entry.object_id))
        entry.object_name = audit_labels.object_name(entry.object_type, found) if found else ""
        # The id beside the name, unless the name is read by it (a region's code).
        entry.object_ref = "" if entry.object_type in audit_labels.OBJECT_KEYS else entry.object_id
    return entries


def _resident_phones(entries) -> dict[str, str]:
    """The masked phones (138****1234) of the residents who acted in `entries`, by their
    number, in one query."""
    numbers = {
        entry.actor_username.removeprefix("resident:")
        for entry in entries
        if entry.actor_kind == actors.RESIDENT
    }
    label, column = audit_labels.RESIDENT_PHONE
    model = _model(label)
    ids = _keys(model, "pk", numbers) if model is not None and numbers else []
    if not ids:
        return {}
    rows = model._base_manager.filter(pk__in=ids).order_by().values_list("pk", column)
    return {str(pk): str(phone) for pk, phone in rows if phone}


def _model(object_type: str):
    try:
        return apps.get_model(object_type)
    except (LookupError, ValueError):
        return None


def _keys(model, key: str, ids) -> list:
    field = model._meta.pk if key == "pk" else model._meta.get_field(key)
    keys = []
    for value in ids:
        try:
            keys.append(field.to_python(value))
        except ValidationError:
            continue
    return keys


def object_label(object_type: str) -> str:
    """ "accounts.user" as the auditor reads it (账号). A model that moved to another app
    kept its table: events recorded before the move ("cases.patrol") are read by it."""
    if not object_type:
        return ""
    model = _model(object_type)
    if model is not None:
        return str(model._meta.verbose_name)
    table = object_type.replace(".", "_")
    moved = next((m for m in apps.get_models() if m._meta.db_table == table), None)
    return str(moved._meta.verbose_name) if moved is not None else object_type


EXPORT_HEADERS = [
    "时间", "操作人", "操作人类型", "事件", "事件代码", "对象类型", "对象", "对象编号",
    "区划代码", "结果", "详情", "来源地址",
]  # fmt: skip


def export(*, actor, filters: Filters, target, limit: int | None = None) -> int:
    """Write the filtered events as .xlsx to `target` (a file), the way the list shows
    them, at most `limit` (JICENG_AUDIT_EXPORT_MAX) rows: a larger selection is refused,
    to be narrowed. The export is itself an audit event. Returns the row count."""
    from openpyxl import Workbook

    from jiceng.core.errors import DomainError
    from jiceng.core.sheets import safe_cell

    limit = settings.JICENG_AUDIT_EXPORT_MAX if limit is None else limit
    events = events_for(user=actor, filters=filters)
    total = events.count()
    if total > limit:
        raise DomainError(
            f"符合条件的记录有 {total} 条，超过单次导出上限 {limit} 条，"
            "请缩小日期范围或增加筛选条件。",
            code="export_too_large",
        )
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("审计日志")
    sheet.append(EXPORT_HEADERS)
    outcomes = dict(AuditEvent.OUTCOMES)
    kinds = dict(actors.KINDS)
    count = 0
    batch: list[AuditEvent] = []

    def flush() -> None:
        for entry in named(batch):
            sheet.append(
                [
                    timezone.localtime(entry.at).strftime("%Y-%m-%d %H:%M:%S"),
                    *(
                        safe_cell(value)
                        for value in (
                            entry.operator,
                            kinds.get(entry.actor_kind, ""),
                            entry.label,
                            entry.action,
                            entry.object_label,
                            entry.object_name,
                            entry.object_id,
                            entry.region_code,
                            outcomes.get(entry.outcome, entry.outcome),
                            "；".join(f"{name}：{value}" for name, value in entry.details),
                            entry.ip_address or "",
                        )
                    ),
                ]
            )
        batch.clear()

    for entry in events.iterator(chunk_size=1000):
        batch.append(entry)
        count += 1
        if len(batch) >= 1000:
            flush()
    flush()
    workbook.save(target)
    record(
        actor=actor,
        action="audit.export",
        object_type="core.auditevent",
        # Where the auditor reads it: the region exported, else the auditor's own scope.
        region_code=filters.region or next(iter(scopes(actor, "audit.view")), ""),
        detail={"rows": count, **filters.as_detail()},
    )
    return count
