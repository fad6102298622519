"""The outbox: every message the system sends (SMS to residents and staff, the outbound
copy of staff's in-app notices) is a row written in the transaction of the action that
causes it, and `jiceng worker` sends it after the commit.

So an action never waits on, or fails with, a gateway: a cancelled activity is cancelled
and every resident's message is queued, or neither. The table is the queue:

- a worker claims one message at a time with a conditional UPDATE that takes a lease
  (`claimed_until`) and counts the attempt, so two workers never send it at once and a
  worker killed mid-send leaves a message that another takes up once the lease ends;
- a failed send is tried again after a growing delay (`next_attempt_at`), up to
  JICENG_OUTBOX_MAX_ATTEMPTS, then given up (`failed`);
- a message may expire (a one-time code resent after its minutes is useless);
- each recipient gets at most so many messages an hour per channel; the rest wait;
- each message has an idempotency key, unique here and passed on to the gateway, so a
  message sent twice (a worker killed after the gateway took it) is shown once.

Delivery is at least once; "shown once" is the gateway's part, by the key.
"""

import datetime
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone
from django.utils.module_loading import import_string

from jiceng.core import keys, personal, throttle
from jiceng.core.actors import Actor
from jiceng.core.models import OutboxMessage
from jiceng.core.senders import Outgoing

logger = logging.getLogger(__name__)

Channel = OutboxMessage.Channel
Status = OutboxMessage.Status
HOUR = datetime.timedelta(hours=1)
BATCH = 100

# The SMS templates, as registered with the county's SMS platform (which sends only
# registered templates under a registered signature): code → text with {parameters}.
SMS_TEMPLATES = {
    "resident_code": "您的登录验证码为 {code}，{minutes}分钟内有效。",
    "staff_code": "您的工作账号登录验证码为 {code}，{minutes}分钟内有效。请勿告诉他人。",
    "first_password": (
        "您的工作账号 {username} 的初始密码为 {password} ，首次登录须修改。"
        "请勿告诉他人，包括管理员。"
    ),
    "activity_cancelled": "您报名的活动“{title}”已取消：{reason}",
    "activity_moved": "您报名的活动“{title}”改期为{starts}，请留意。",
    "waitlist_promoted": "候补成功：您已获得活动“{title}”的名额。",
    "party_meeting_notice": (
        "{organization}定于{starts}在{place}召开{kind}：{title}，请准时参加；不能参加请向支部请假。"
    ),
    "party_probation_due": (
        "{organization}预备党员{name}的预备期将于{ends}期满，请按期召开支部党员大会讨论其转正。"
    ),
    "case_received": "您反映的问题已收到，查询码 {code}。查看办理进度：{url}",
    "case_closed": "您反映的问题（查询码 {code}）已办结，请查看结果并评价：{url}",
    "case_link": "您反映的问题（查询码 {code}）的专属查看链接：{url}",
}
# A staff notice is the text of its in-app notice (cases.notify), sent as it is.
NOTICE_TEMPLATE = "notice"

SENDER_SETTINGS = {Channel.SMS: "JICENG_SMS_SENDER", Channel.NOTICE: "JICENG_NOTIFY_SENDER"}
CAP_SETTINGS = {
    Channel.SMS: "JICENG_SMS_PER_HOUR_RECIPIENT",
    Channel.NOTICE: "JICENG_NOTICE_PER_HOUR_RECIPIENT",
}


@dataclass(frozen=True)
class Message:
    """A message not yet written (see `put`)."""

    channel: str
    key: str
    template: str
    params: dict
    to: dict
    recipient: str  # what caps count by
    expires_at: datetime.datetime | None = None


def sms(*, phone: str, template: str, params: dict, key: str, expires_at=None) -> Message:
    """An SMS of a registered template to `phone`; `key` names its cause, so that the same
    cause never queues it twice."""
    message = Message(
        channel=Channel.SMS,
        key=key,
        template=template,
        params=params,
        to={"phone": personal.clear(phone)},
        recipient=throttle.key_of("outbox.sms", personal.clear(phone)),
        expires_at=expires_at,
    )
    render(message.channel, template, params)  # a missing parameter fails here, not later
    return message


def notice(*, user, kind: str, text: str, key: str, expires_at=None) -> Message:
    """The outbound copy of a staff member's in-app notice (to their messaging gateway)."""
    return Message(
        channel=Channel.NOTICE,
        key=key,
        template=NOTICE_TEMPLATE,
        params={"kind": kind, "text": text},
        to={"user": user.get_username(), "phone": personal.clear(user.phone) or ""},
        recipient=throttle.key_of("outbox.notice", user.pk),
        expires_at=expires_at,
    )


def queued_to(*, phone: str, templates: Iterable[str], within: datetime.timedelta) -> int:
    """How many SMS of these templates were queued to `phone` in the last `within`: for
    caps per number and day that the hourly cap of delivery does not give."""
    return OutboxMessage.objects.filter(
        channel=Channel.SMS,
        recipient=throttle.key_of("outbox.sms", personal.clear(phone)),
        template__in=list(templates),
        created_at__gte=timezone.now() - within,
    ).count()


def put(messages: Iterable[Message]) -> None:
    """Queue messages, in the caller's transaction: they are sent once it commits, and
    never if it rolls back. A key already queued is left as it is."""
    now = timezone.now()
    OutboxMessage.objects.bulk_create(
        [
            OutboxMessage(
                channel=m.channel,
                key=m.key[:200],
                template=m.template,
                payload=_seal({"to": m.to, "params": m.params}),
                recipient=m.recipient,
                expires_at=m.expires_at,
                created_at=now,
                next_attempt_at=now,
            )
            for m in messages
        ],
        ignore_conflicts=True,
        batch_size=500,
    )


def render(channel: str, template: str, params: dict) -> str:
    if channel == Channel.NOTICE:
        return params["text"]
    return f"【{settings.JICENG_SMS_SIGNATURE}】" + SMS_TEMPLATES[template].format(**params)


# The payload holds phones, codes and first passwords: sealed with the data key (SM4-GCM,
# core.keys) in one column that only this pair reads and writes, and emptied once the
# message is sent, expired or given up, so no phone or code outlives its message.
PAYLOAD_CONTEXT = "core.outboxmessage.payload"


def _seal(data: dict) -> str:
    return keys.seal(json.dumps(data, ensure_ascii=False), PAYLOAD_CONTEXT)


def _open(payload: str) -> dict:
    if not payload:
        return {}
    if payload.startswith("{"):  # queued before payloads were sealed
        return json.loads(payload)
    return json.loads(keys.open_sealed(payload, PAYLOAD_CONTEXT))


# --- sending (the worker's side) -------------------------------------------------------


def _claimable(now: datetime.datetime):
    return OutboxMessage.objects.filter(
        Q(claimed_until__isnull=True) | Q(claimed_until__lt=now),
        status=Status.PENDING,
    )


def _due(now: datetime.datetime):
    return _claimable(now).filter(
        Q(expires_at__isnull=True) | Q(expires_at__gt=now),
        next_attempt_at__lte=now,
        attempts__lt=settings.JICENG_OUTBOX_MAX_ATTEMPTS,
    )


def claim(pk: int, now: datetime.datetime | None = None) -> bool:
    """Take the lease on one due message and count the attempt: a conditional UPDATE, so
    of any number of workers trying at once exactly one succeeds."""
    now = now or timezone.now()
    lease = datetime.timedelta(seconds=settings.JICENG_OUTBOX_LEASE_SECONDS)
    return bool(
        _due(now).filter(pk=pk).update(claimed_until=now + lease, attempts=F("attempts") + 1)
    )


def deliver_due(limit: int = BATCH, stop=None) -> int:
    """Send up to `limit` due messages, one at a time, until `stop` (an Event) is set;
    return how many were handled (sent, put back for a retry or a cap, or given up).
    The worker calls this in a loop."""
    now = timezone.now()
    _sweep(now)
    due = _due(now).order_by("next_attempt_at", "id").values_list("pk", flat=True)
    senders: dict[str, object] = {}
    handled = 0
    for pk in list(due[:limit]):
        if stop is not None and stop.is_set():
            break
        handled += _deliver(pk, senders)
    return handled


def _sweep(now: datetime.datetime) -> None:
    """Close what will never be sent, and forget its payload: messages past their expiry,
    and those whose attempts ran out while a killed worker held them."""
    _claimable(now).filter(expires_at__lte=now).update(
        status=Status.EXPIRED, payload="", claimed_until=None
    )
    _claimable(now).filter(attempts__gte=settings.JICENG_OUTBOX_MAX_ATTEMPTS).update(
        status=Status.FAILED, payload="", claimed_until=None
    )


def _deliver(pk: int, senders: dict) -> bool:
    now = timezone.now()
    if not claim(pk, now):
        return False  # another worker has it
    message = OutboxMessage.objects.get(pk=pk)
    later = _over_cap(message, now)
    if later:
        OutboxMessage.objects.filter(pk=pk, status=Status.PENDING).update(
            claimed_until=None,
            attempts=F("attempts") - 1,  # not a try
            next_attempt_at=later,
            last_error="已达每小时上限，稍后发送",
        )
        return True
    try:
        sender = senders.get(message.channel)
        if sender is None:
            sender = senders[message.channel] = import_string(
                getattr(settings, SENDER_SETTINGS[message.channel])
            )()
        sender.send(outgoing(message))
    except Exception as error:
        _failed(message, error, now)
        return True
    OutboxMessage.objects.filter(pk=pk).update(
        status=Status.SENT, sent_at=timezone.now(), payload="", claimed_until=None
    )
    return True


def outgoing(message: OutboxMessage) -> Outgoing:
    data = _open(message.payload)
    params = data.get("params", {})
    return Outgoing(
        key=message.key,
        channel=message.channel,
        template=message.template,
        params=params,
        text=render(message.channel, message.template, params),
        to=data.get("to", {}),
    )


def _over_cap(message: OutboxMessage, now: datetime.datetime) -> datetime.datetime | None:
    """When the recipient may next be sent one, if their cap for the hour is reached."""
    cap = getattr(settings, CAP_SETTINGS[message.channel])
    if not cap:
        return None
    window = OutboxMessage.objects.filter(
        recipient=message.recipient,
        channel=message.channel,
        status=Status.SENT,
        sent_at__gt=now - HOUR,
    )
    if window[:cap].count() < cap:
        return None
    oldest = window.order_by("sent_at").values_list("sent_at", flat=True).first()
    return oldest + HOUR


def _failed(message: OutboxMessage, error: Exception, now: datetime.datetime) -> None:
    """Try again later (30 s, 1 min, 2 min … up to an hour apart), or give up."""
    reason = f"{type(error).__name__}: {error}"[:200]
    logger.warning(
        "Outbox message %s (%s) failed on attempt %s: %s",
        message.pk,
        message.template,
        message.attempts,
        reason,
    )
    pending = OutboxMessage.objects.filter(pk=message.pk, status=Status.PENDING)
    if message.attempts >= settings.JICENG_OUTBOX_MAX_ATTEMPTS:
        pending.update(status=Status.FAILED, payload="", claimed_until=None, last_error=reason)
        return
    delay = min(
        settings.JICENG_OUTBOX_RETRY_SECONDS * 2 ** (message.attempts - 1),
        HOUR.total_seconds(),
    )
    pending.update(
        claimed_until=None,
        next_attempt_at=now + datetime.timedelta(seconds=delay),
        last_error=reason,
    )


def prune(*, actor: Actor) -> int:
    """Delete the rows of messages finished more than JICENG_OUTBOX_KEEP_DAYS ago (their
    payloads are long empty; the rows only say what was sent when)."""
    before = timezone.now() - datetime.timedelta(days=settings.JICENG_OUTBOX_KEEP_DAYS)
    deleted, _ = (
        OutboxMessage.objects.exclude(status=Status.PENDING).filter(created_at__lt=before).delete()
    )
    return deleted
