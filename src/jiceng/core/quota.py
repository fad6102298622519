"""Reveal quotas: how many clear values one staff member may reveal in an hour and in a
day, and the two ways past them.

A grid worker may reveal what their work needs, a phone to call, an ID number to check;
an account that reveals four hundred fields in seconds is not doing that work. So every
allowed reveal (`personal.reveal`) is counted against the revealer's quota
(JICENG_REVEAL_PER_HOUR over the last hour, JICENG_REVEAL_PER_DAY since midnight). Past
it the reveal is refused (`reveal_quota`), the refusal audited, and the auditors of the
revealer's county alerted, once per revealer and window. Then:

- 增加查看额度: the revealer asks (an approval of kind `core.reveal_more`, with the
  number wanted and why); a security administrator of the county approves it, and the
  quota grows by that number for the rest of the day. The security administrator decides
  because the quota is a security control over a right they grant (every reveal right is
  a sensitive role, granted by two of them); a colleague holding the same right above the
  grid would do at a grid but there is none above a county's staff.
- 紧急查看: in a flood or a fire there is no time to wait; the revealer states the
  emergency and takes JICENG_REVEAL_EMERGENCY_EXTRA more for
  JICENG_REVEAL_EMERGENCY_HOURS at once (an approval of kind `core.reveal_emergency` in
  待复核), which alerts the auditors at once; a security administrator confirms or
  flags it afterwards, reading on its page what was revealed under it
  (`emergency_reveals`), and a flag ends the allowance (and alerts again) and any other
  emergency that day.

Not counted: reveals by someone who may export the record's region (people.export and
people.view_sensitive there): one export gives them the whole region in clear, audited
as an export, so a quota on single reveals would protect nothing and only push their
bulk work (a door-to-door check of a community) into exports, which disclose more.

Each counted reveal is a throttle hit written under a lock on the revealer's account row
(SELECT … FOR UPDATE), so concurrent reveals by one account take turns between counting
and writing: a burst cannot pass the quota.
"""

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from jiceng.core import approvals, audit, audit_labels, refusals, throttle
from jiceng.core.access import has_permission, scopes
from jiceng.core.actors import Actor, as_actor
from jiceng.core.errors import DomainError, NotFound
from jiceng.core.models import Approval, AuditEvent
from jiceng.core.region_codes import county_of

SCOPE = "reveal"
MORE = "core.reveal_more"
EMERGENCY = "core.reveal_emergency"
DECIDER = "security.grant"
# What lets a role reveal anything: who may hold a quota, and so ask for more of it.
REVEAL_RIGHTS = ("people.view_sensitive", "cases.view_reporter", "cases.view_own_reporter")
HOUR = datetime.timedelta(hours=1)
DAY = datetime.timedelta(days=1)
WINDOWS = {"hour": "每小时", "day": "每天"}
CAUSES = {
    "flood": "防汛抗洪",
    "fire": "火灾",
    "geological": "地震、地质灾害",
    "epidemic": "突发公共卫生事件",
    "missing": "寻找走失人员",
    "other": "其他紧急情况",
}
S = Approval.Status


class QuotaExceeded(DomainError):
    """A reveal past the revealer's quota: 429, with where to ask for more."""

    code = "reveal_quota"
    status = 429

    def __init__(self, message: str):
        super().__init__(message)
        from django.urls import reverse

        self.links = {"more": reverse("reveal_more"), "emergency": reverse("reveal_emergency")}


@dataclass(frozen=True)
class Standing:
    """Where one account stands: reveals counted in the last hour and since midnight, and
    what approved requests and an emergency add to both limits now."""

    hour_used: int
    day_used: int
    per_hour: int
    per_day: int
    extra: int = 0

    @property
    def over(self) -> str | None:
        """The window whose limit is reached ("hour", "day"), or None."""
        if self.per_day and self.day_used >= self.per_day + self.extra:
            return "day"
        if self.per_hour and self.hour_used >= self.per_hour + self.extra:
            return "hour"
        return None


def _midnight(now: datetime.datetime) -> datetime.datetime:
    return timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)


def extra_of(user, now: datetime.datetime | None = None) -> int:
    """What approved requests (today's) and a running emergency add to the quota."""
    now = now or timezone.now()
    granted = Approval.objects.filter(
        kind=MORE, requested_by=user, status=S.APPROVED, decided_at__gte=_midnight(now)
    )
    urgent = Approval.objects.filter(
        kind=EMERGENCY,
        requested_by=user,
        status__in=(S.REVIEW, S.REVIEWED),
        requested_at__gt=now - datetime.timedelta(hours=settings.JICENG_REVEAL_EMERGENCY_HOURS),
    )
    payloads = [
        *granted.values_list("payload", flat=True),
        *urgent.values_list("payload", flat=True),
    ]
    return sum(int(payload.get("extra", 0)) for payload in payloads)


def standing_of(user) -> Standing:
    now = timezone.now()
    per_hour, per_day = settings.JICENG_REVEAL_PER_HOUR, settings.JICENG_REVEAL_PER_DAY
    day_used = throttle.count(SCOPE, user.pk, within=DAY, since=_midnight(now))
    hour_used = throttle.count(SCOPE, user.pk, within=HOUR)
    standing = Standing(hour_used, day_used, per_hour, per_day)
    if standing.over is None:
        return standing  # the common case costs no look at approvals
    return Standing(hour_used, day_used, per_hour, per_day, extra_of(user, now))


def is_exempt(actor: Actor, obj) -> bool:
    """Reveals not counted: the system's, and those of someone who may export the
    record's region (see the module)."""
    if not actor.is_staff:
        return True
    if not (settings.JICENG_REVEAL_PER_HOUR or settings.JICENG_REVEAL_PER_DAY):
        return True
    region_code = getattr(obj, "region_code", "") or ""
    return bool(region_code) and (
        has_permission(actor, "people.export", region_code)
        and has_permission(actor, "people.view_sensitive", region_code)
    )


def _lock(user) -> None:
    """Take the account's turn: its reveals are counted one at a time."""
    list(get_user_model().objects.select_for_update().filter(pk=user.pk).values_list("pk"))


def admit(*, actor, action: str, obj, detail: dict | None = None) -> None:
    """Audit one allowed reveal, counted against the actor's quota; past the quota,
    refuse it (QuotaExceeded), audited as a failure, and alert the auditors."""
    who = as_actor(actor)
    if who is None or is_exempt(who, obj):
        audit.record(actor=actor, action=action, obj=obj, detail=detail)
        return
    _counted(who, action, obj, detail)


@refusals.atomic
def _counted(actor: Actor, action: str, obj, detail: dict | None) -> None:
    _lock(actor.user)
    standing = standing_of(actor.user)
    window = standing.over
    if window is not None:
        refusals.refuse(
            QuotaExceeded(refusal_message(standing)),
            record=lambda: _refused(actor, action, obj, detail, window),
        )
    throttle.hit(SCOPE, actor.user_id)
    audit.record(actor=actor, action=action, obj=obj, detail=detail)


def refusal_message(standing: Standing) -> str:
    limits = f"每小时 {standing.per_hour} 次、每天 {standing.per_day} 次"
    if standing.extra:
        limits += f"，另加批准与紧急额度 {standing.extra} 次"
    return (
        f"查看明文的次数已达上限（{limits}）。如工作确需，请申请增加额度；"
        "遇防汛、火灾等紧急情况可先行紧急查看，事后复核。"
    )


def _refused(actor: Actor, action: str, obj, detail: dict | None, window: str) -> None:
    """The refusal's record (kept: it stands after the rollback): the failed reveal, and
    the first refusal of the window alerts the auditors."""
    _lock(actor.user)  # done again after the rollback: one alert even then
    audit.record(
        actor=actor,
        action=action,
        obj=obj,
        outcome=AuditEvent.FAILURE,
        detail={**(detail or {}), "refused": "reveal_quota", "window": window},
    )
    alerted = f"reveal.alerted.{window}"
    since = _midnight(timezone.now()) if window == "day" else None
    if throttle.count(alerted, actor.user_id, within=DAY if window == "day" else HOUR, since=since):
        return
    throttle.hit(alerted, actor.user_id)
    limit = settings.JICENG_REVEAL_PER_DAY if window == "day" else settings.JICENG_REVEAL_PER_HOUR
    audit.alert(
        region_code=actor.user.region_code,
        kind="reveal_quota",
        text=f"{actor.reference} 查看明文达到{WINDOWS[window]}上限（{limit} 次），"
        "其后的查看已被拒绝。",
        detail={"username": actor.reference, "window": window},
    )


# --- asking for more, and the emergency ---------------------------------------------------


def may_ask(actor) -> bool:
    """Staff who hold a reveal right somewhere: who has a quota to ask about."""
    who = as_actor(actor)
    return who is not None and who.is_staff and any(scopes(who, p) for p in REVEAL_RIGHTS)


def _asker(actor) -> Actor:
    who = as_actor(actor)
    if not may_ask(who):
        raise NotFound()
    if not county_of(who.user.region_code or ""):
        raise DomainError("账号未设所属区划，无法提出申请。", code="no_region")
    return who


def reveal_more_ask(*, actor, extra: int, reason: str) -> Approval:
    """Ask a security administrator of the county for `extra` more reveals today."""
    who = _asker(actor)
    reason = reason.strip()
    most = settings.JICENG_REVEAL_PER_DAY or 100
    if not 1 <= extra <= most:
        raise DomainError(f"增加的次数应在 1 到 {most} 之间。", code="bad_extra", field="extra")
    if not reason:
        raise DomainError("请说明需要增加额度的理由。", code="reason_required", field="reason")
    if approvals.pending_of(kind=MORE, obj=who.user) is not None:
        raise DomainError("已有一项增加额度的申请待审批。", code="already_asked")
    return approvals.ask(
        actor=who,
        kind=MORE,
        region_code=county_of(who.user.region_code),
        summary=f"今日查看明文额度增加 {extra} 次",
        payload={"extra": extra},
        reason=reason,
        obj=who.user,
    )


def emergency_running(user) -> Approval | None:
    """The emergency allowance `user` holds now, if any."""
    hours = datetime.timedelta(hours=settings.JICENG_REVEAL_EMERGENCY_HOURS)
    return (
        Approval.objects.filter(
            kind=EMERGENCY,
            requested_by=user,
            status__in=(S.REVIEW, S.REVIEWED),
            requested_at__gt=timezone.now() - hours,
        )
        .order_by("-requested_at")
        .first()
    )


def emergency_refusal(user) -> DomainError | None:
    """Why `user` may not take an emergency allowance now, or None. One at a time: not
    while one runs. Taken at once, an emergency is only as good as its review: the next
    waits until the last has been reviewed, and after a flag there is none for the rest
    of the day. The form's page asks it too, to say so before anyone fills it in."""
    if emergency_running(user) is not None:
        return DomainError("紧急查看额度仍在有效期内。", code="emergency_running")
    earlier = Approval.objects.filter(kind=EMERGENCY, requested_by=user)
    if earlier.filter(status=S.REVIEW).exists():
        return DomainError(
            "上一次紧急查看尚待复核，复核后才能再次使用。", code="emergency_unreviewed"
        )
    if earlier.filter(status=S.FLAGGED, decided_at__gte=_midnight(timezone.now())).exists():
        return DomainError(
            "今天的紧急查看已被复核为有疑，今天不能再用；确有需要请申请增加额度。",
            code="emergency_flagged",
        )
    return None


def reveal_emergency_take(*, actor, cause: str, reason: str) -> Approval:
    """Take the emergency allowance at once, for review afterwards; the auditors are
    alerted now. One at a time: a second while the first runs is refused."""
    who = _asker(actor)
    reason = reason.strip()
    if cause not in CAUSES:
        raise DomainError("请选择紧急情况的类别。", code="bad_cause", field="cause")
    if not reason:
        raise DomainError("请说明紧急情况。", code="reason_required", field="reason")
    extra, hours = settings.JICENG_REVEAL_EMERGENCY_EXTRA, settings.JICENG_REVEAL_EMERGENCY_HOURS
    with transaction.atomic():
        _lock(who.user)  # two at once are one
        refusal = emergency_refusal(who.user)
        if refusal is not None:
            raise refusal
        approval = approvals.ask(
            actor=who,
            kind=EMERGENCY,
            region_code=county_of(who.user.region_code),
            summary=f"紧急查看（{CAUSES[cause]}）：{hours} 小时内增加 {extra} 次",
            payload={"extra": extra, "hours": hours, "cause": cause},
            reason=reason,
            obj=who.user,
            review=True,
        )
        audit.alert(
            region_code=who.user.region_code,
            kind="reveal_emergency",
            text=f"{who.reference} 因{CAUSES[cause]}先行紧急查看明文（{hours} 小时内增加 "
            f"{extra} 次），待安全管理员复核。",
            detail={"username": who.reference, "approval": approval.pk, "cause": cause},
        )
    return approval


REVIEWED_SHOWN = 200


def emergency_reveals(approval: Approval) -> approvals.Details:
    """What the reviewer of an emergency reads: the reveals its taker made (allowed or
    refused) from its start to the end of its allowance (its hours, or the flag that
    ended it sooner), oldest first, each with whose record (masked) and which field."""
    hours = int(approval.payload.get("hours") or settings.JICENG_REVEAL_EMERGENCY_HOURS)
    end = approval.requested_at + datetime.timedelta(hours=hours)
    if approval.status == S.FLAGGED and approval.decided_at is not None:
        end = min(end, approval.decided_at)
    events = AuditEvent.objects.filter(
        actor_id=approval.requested_by_id,
        action__in=audit_labels.REVEALS,
        at__gte=approval.requested_at,
        at__lt=end,
    ).order_by("at", "pk")
    total = events.count()
    outcomes = dict(AuditEvent.OUTCOMES)
    rows = []
    for entry in audit.named(events[:REVIEWED_SHOWN]) if total else ():
        name = entry.object_name or entry.object_id
        field = (entry.detail or {}).get("field", "")
        outcome = outcomes.get(entry.outcome, entry.outcome)
        refused = (entry.detail or {}).get("refused")
        if refused:
            outcome += f"（{audit_labels.value_label('refused', refused)}）"
        rows.append(
            (
                timezone.localtime(entry.at).strftime("%Y-%m-%d %H:%M:%S"),
                entry.label,
                f"{entry.object_label} {name}".strip(),
                audit_labels.field_label(entry.object_type, field) if field else "",
                outcome,
            )
        )
    return approvals.Details(
        title=f"紧急查看期间的查看记录（{timezone.localtime(approval.requested_at):%m-%d %H:%M}"
        f"–{timezone.localtime(end):%m-%d %H:%M}）",
        columns=("时间", "事件", "查看的记录", "字段", "结果"),
        rows=rows,
        total=total,
        empty="这段时间没有查看明文。",
    )


def register() -> None:
    """The two kinds of approval (core's AppConfig.ready)."""
    approvals.register(approvals.Kind(name=MORE, label="增加查看明文额度", permission=DECIDER))
    approvals.register(
        approvals.Kind(
            name=EMERGENCY, label="紧急查看明文", permission=DECIDER, details=emergency_reveals
        )
    )
