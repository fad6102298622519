"""How the worker hands a message to the outside: the log (development and the demo), a
webhook (the county's SMS or messaging gateway), or memory (tests).

A sender is a class with `send(message: Outgoing)`; each channel names its own
(`JICENG_SMS_SENDER`, `JICENG_NOTIFY_SENDER`) and posts to its own address
(`JICENG_SMS_WEBHOOK_URL`, `JICENG_NOTIFY_WEBHOOK_URL`). A send that raises is retried
later by the worker; one that returns counts as delivered.
"""

import json
import logging
import urllib.request
from dataclasses import dataclass, field

from django.conf import settings

from jiceng.core.masking import mask_phone

logger = logging.getLogger(__name__)

WEBHOOK_URLS = {"sms": "JICENG_SMS_WEBHOOK_URL", "notice": "JICENG_NOTIFY_WEBHOOK_URL"}
WEBHOOK_TIMEOUT_SECONDS = 5


@dataclass(frozen=True)
class Outgoing:
    """One message as a sender sees it."""

    key: str  # the idempotency key: a gateway that has seen it must not show it again
    channel: str  # "sms" or "notice"
    template: str  # the registered template's code
    params: dict  # the template's parameters
    text: str  # the template rendered with its parameters (and the signature, for SMS)
    to: dict = field(default_factory=dict)  # {"phone": …} or {"user": …, "phone": …}

    @property
    def phone(self) -> str:
        return self.to.get("phone", "")


class LogSender:
    """Development and demo sender: writes the message to the log (the phone masked), where
    the demo's one-time codes are read."""

    def send(self, message: Outgoing) -> None:
        to = message.to.get("user") or mask_phone(message.phone)
        logger.warning("%s to %s: %s", message.channel.upper(), to, message.text)


class WebhookSender:
    """POSTs the message as JSON to the channel's gateway, its key also in the
    Idempotency-Key header. The body keeps the fields gateways were sent before
    (`phone`, `text`; for notices `user` and `kind`) beside `key`, `template` and
    `params`, for a platform that accepts only registered templates."""

    def send(self, message: Outgoing) -> None:
        url = getattr(settings, WEBHOOK_URLS[message.channel])
        body = json.dumps(
            {
                "key": message.key,
                "channel": message.channel,
                "template": message.template,
                "params": message.params,
                "text": message.text,
                **message.to,
                **({"kind": message.params.get("kind", "")} if message.channel == "notice" else {}),
            },
            ensure_ascii=False,
        ).encode()
        request = urllib.request.Request(  # noqa: S310  (an operator-configured URL)
            url,
            data=body,
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "Idempotency-Key": message.key,
            },
        )
        with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT_SECONDS):  # noqa: S310
            pass


class MemorySender:
    """Keeps what it is sent (tests, like Django's locmem e-mail backend): `sent` as
    (phone or user, text), `messages` whole."""

    sent: list[tuple[str, str]] = []
    messages: list[Outgoing] = []

    def send(self, message: Outgoing) -> None:
        MemorySender.messages.append(message)
        MemorySender.sent.append((message.to.get("user") or message.phone, message.text))

    @classmethod
    def clear(cls) -> None:
        cls.sent.clear()
        cls.messages.clear()
