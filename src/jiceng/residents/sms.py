"""Sending one-time codes. The development sender writes them to the log; a county plugs
in its SMS gateway with JICENG_SMS_SENDER (a class with send(phone, text))."""

import json
import logging
import urllib.request

from django.conf import settings
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)


class LogSender:
    def send(self, phone: str, text: str) -> None:
        logger.warning("SMS to %s: %s", phone, text)


class MemorySender:
    """Keeps messages in `outbox` (for tests, like Django's locmem e-mail backend)."""

    outbox: list[tuple[str, str]] = []

    def send(self, phone: str, text: str) -> None:
        self.outbox.append((phone, text))


class WebhookSender:
    """POSTs {"phone", "text"} as JSON to JICENG_SMS_WEBHOOK_URL (an intranet SMS gateway)."""

    def send(self, phone: str, text: str) -> None:
        body = json.dumps({"phone": phone, "text": text}, ensure_ascii=False).encode()
        request = urllib.request.Request(  # noqa: S310  (an operator-configured URL)
            settings.JICENG_SMS_WEBHOOK_URL,
            data=body,
            headers={"Content-Type": "application/json; charset=utf-8"},
        )
        with urllib.request.urlopen(request, timeout=5):  # noqa: S310
            pass


def send(phone: str, text: str) -> None:
    import_string(settings.JICENG_SMS_SENDER)().send(phone, text)
