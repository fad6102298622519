"""Notifications about requests: an in-app inbox row for each recipient, then (after the
commit) the same text through the configured sender (SMS gateway, webhook, or the log).

Each Notification has a unique key, so a deadline warning is created once however often
the checker runs, and `sent_at` is claimed with a conditional update, so it is sent once.
"""

import json
import logging
import urllib.request
import uuid

from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string

from jiceng.accounts.selectors import staff_at
from jiceng.cases.models import Notification
from jiceng.core import tasks

logger = logging.getLogger(__name__)


class LogSender:
    """Development sender: writes what would be sent to the log."""

    def send(self, notification: Notification) -> None:
        logger.warning("notify %s: %s", notification.user.username, notification.text)


class WebhookSender:
    """POSTs each notification as JSON to JICENG_NOTIFY_WEBHOOK_URL (an intranet SMS or
    messaging gateway)."""

    def send(self, notification: Notification) -> None:
        body = json.dumps(
            {
                "user": notification.user.username,
                "phone": notification.user.phone,
                "text": notification.text,
                "kind": notification.kind,
            },
            ensure_ascii=False,
        ).encode()
        request = urllib.request.Request(  # noqa: S310  (an operator-configured URL)
            settings.JICENG_NOTIFY_WEBHOOK_URL,
            data=body,
            headers={"Content-Type": "application/json; charset=utf-8"},
        )
        with urllib.request.urlopen(request, timeout=5):  # noqa: S310
            pass


def send_pending(notification_ids: list[int]) -> None:
    """Send each notification once: claim it, then hand it to the sender."""
    sender = import_string(settings.JICENG_NOTIFY_SENDER)()
    for notification in Notification.objects.filter(pk__in=notification_ids).select_related("user"):
        claimed = Notification.objects.filter(pk=notification.pk, sent_at__isnull=True).update(
            sent_at=timezone.now()
        )
        if not claimed:
            continue
        try:
            sender.send(notification)
        except Exception:
            logger.exception("Sending notification %s failed", notification.pk)
            Notification.objects.filter(pk=notification.pk).update(sent_at=None)


def notify(users, case, kind: str, text: str, key: str | None = None) -> list[Notification]:
    """Create inbox rows (once per key) and send them, in the background, after the commit.
    Without a key every call is a new occurrence."""
    rows = {
        (f"{key}:{user.pk}" if key else f"{kind}:{case.pk}:{user.pk}:{uuid.uuid4().hex}"): user
        for user in users
    }
    if key:
        for existing in Notification.objects.filter(key__in=list(rows)).values_list(
            "key", flat=True
        ):
            del rows[existing]
    created = Notification.objects.bulk_create(
        [
            Notification(user=user, case=case, kind=kind, text=text[:300], key=row_key)
            for row_key, user in rows.items()
        ]
    )
    if created:
        tasks.enqueue(send_pending, [n.pk for n in created])
    return created


def triage_staff(case, kind: str, text: str, key: str | None = None):
    """The grid's workers and the community's staff, who accept and dispatch."""
    staff = staff_at(
        roles=("grid_worker", "community_worker"),
        region_codes=[case.region_code, case.region_code[:12]],
    )
    return notify(staff, case, kind, text, key)


def handlers(case, kind: str, text: str, key: str | None = None):
    """The assigned handler, or the assigned department's staff posted around the grid."""
    if case.handler_id:
        return notify([case.handler], case, kind, text, key)
    if case.handler_department_id:
        staff = staff_at(
            roles=("specialist_grid_worker",),
            region_codes=[case.region_code, case.region_code[:12], case.region_code[:9]],
        ).filter(department_id=case.handler_department_id)
        return notify(staff, case, kind, text, key)
    return triage_staff(case, kind, text, key)


def checkers(case, kind: str, text: str, key: str | None = None):
    """Community staff, who check on site, close, and approve extensions."""
    staff = staff_at(roles=("community_worker",), region_codes=[case.region_code[:12]])
    return notify(staff, case, kind, text, key)


approvers = checkers


def supervisors(case, kind: str, text: str, key: str | None = None):
    """Town staff and the county's command centre."""
    staff = staff_at(
        roles=("town_staff", "county_staff"),
        region_codes=[case.region_code[:9], case.region_code[:6]],
    )
    return notify(staff, case, kind, text, key)
