"""The outbox: messages are rows written with the action that causes them, and the worker
sends them afterwards, retrying with backoff, within each recipient's cap, never after
their expiry, forgetting their phones and codes once done."""

import datetime
import itertools

import pytest
import time_machine
from django.db import transaction
from django.utils import timezone

from jiceng.cases import notify
from jiceng.core import outbox, worker
from jiceng.core.actors import Actor
from jiceng.core.models import OutboxMessage
from jiceng.core.senders import MemorySender
from jiceng.residents.models import OneTimeCode

S = OutboxMessage.Status


def at(*args) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime(*args))


@pytest.fixture
def clock():
    with time_machine.travel(at(2026, 11, 2, 9, 0), tick=False) as traveller:
        yield traveller


@pytest.fixture
def memory(settings):
    settings.JICENG_SMS_SENDER = "jiceng.core.senders.MemorySender"
    MemorySender.clear()
    return MemorySender


_causes = itertools.count()


def _queue(n: int = 1, phone: str = "13900000001", cause=None) -> list[OutboxMessage]:
    """`n` messages to `phone`, each of its own cause unless `cause` is named."""
    outbox.put(
        outbox.sms(
            phone=phone,
            template="waitlist_promoted",
            params={"title": f"活动{i}"},
            key=f"test:{cause or next(_causes)}:{i}",
        )
        for i in range(n)
    )
    return list(OutboxMessage.objects.order_by("id"))


# --- what the queue guarantees --------------------------------------------------------------


def test_a_rolled_back_action_queues_nothing(db):
    with pytest.raises(RuntimeError), transaction.atomic():
        _queue(2)
        raise RuntimeError
    assert not OutboxMessage.objects.exists()


def test_a_cause_is_queued_once(db):
    _queue(1, cause="signup:7")
    _queue(1, cause="signup:7")
    assert OutboxMessage.objects.count() == 1


def test_the_payload_is_one_field_emptied_once_sent(db, memory):
    [message] = _queue(1, phone="13900000009")
    # Only here, and sealed (SM4-GCM): the digest column is keyed.
    assert outbox._open(message.payload)["to"]["phone"] == "13900000009"
    assert "13900000009" not in message.payload
    assert "13900000009" not in message.recipient + message.key
    outbox.deliver_due()
    message.refresh_from_db()
    assert message.status == S.SENT and message.payload == ""
    assert memory.sent == [("13900000009", "【基层治理】候补成功：您已获得活动“活动0”的名额。")]


def test_a_missing_template_parameter_fails_in_the_action(db):
    with pytest.raises(KeyError):
        outbox.sms(phone="13900000001", template="activity_cancelled", params={}, key="k")


def test_one_claim_wins_and_a_lapsed_lease_is_taken_up(db, settings, clock):
    settings.JICENG_OUTBOX_LEASE_SECONDS = 60
    [message] = _queue(1)
    assert outbox.claim(message.pk) is True
    assert outbox.claim(message.pk) is False  # another worker, while the lease holds
    clock.move_to(at(2026, 11, 2, 9, 0, 59))
    assert outbox.claim(message.pk) is False
    clock.move_to(at(2026, 11, 2, 9, 1, 1))  # the first worker died mid-send
    assert outbox.claim(message.pk) is True
    message.refresh_from_db()
    assert message.attempts == 2 and message.status == S.PENDING


class Failing:
    def send(self, message):
        raise ConnectionRefusedError("gateway down")


def test_failures_back_off_then_give_up(db, settings, clock):
    settings.JICENG_SMS_SENDER = "tests.core.test_outbox.Failing"
    settings.JICENG_OUTBOX_MAX_ATTEMPTS = 4
    [message] = _queue(1)
    start = at(2026, 11, 2, 9, 0)
    waits = []
    for _ in range(4):
        assert outbox.deliver_due() == 1
        message.refresh_from_db()
        waits.append((message.next_attempt_at - start).total_seconds())
        start = message.next_attempt_at
        clock.move_to(message.next_attempt_at)
    assert waits[:3] == [30, 60, 120]
    assert message.status == S.FAILED and message.attempts == 4 and message.payload == ""
    assert message.last_error == "ConnectionRefusedError: gateway down"
    assert outbox.deliver_due() == 0


def test_a_code_not_sent_in_its_minutes_is_never_sent(db, memory, clock, settings):
    settings.JICENG_SMS_SENDER = "tests.core.test_outbox.Failing"
    from jiceng.residents import services as resident_services

    resident_services.otp_request(actor=Actor.public(), phone="13900000003", address="10.0.0.1")
    outbox.deliver_due()  # fails; tried again in 30 s
    settings.JICENG_SMS_SENDER = "jiceng.core.senders.MemorySender"
    clock.move_to(at(2026, 11, 2, 9, 5, 1))  # the code has expired
    assert outbox.deliver_due() == 0
    message = OutboxMessage.objects.get()
    assert message.status == S.EXPIRED and message.payload == ""
    assert message.expires_at == OneTimeCode.objects.get().expires_at
    assert memory.sent == []


def test_each_recipient_gets_at_most_their_cap_an_hour(db, memory, settings, clock):
    settings.JICENG_SMS_PER_HOUR_RECIPIENT = 2
    _queue(3, phone="13900000004")
    _queue(1, phone="13900000005")
    while outbox.deliver_due():
        pass
    assert [phone for phone, _ in memory.sent] == ["13900000004"] * 2 + ["13900000005"]
    held = OutboxMessage.objects.get(status=S.PENDING)
    assert held.attempts == 0 and held.next_attempt_at == at(2026, 11, 2, 10, 0)
    clock.move_to(at(2026, 11, 2, 10, 0, 1))
    assert outbox.deliver_due() == 1
    assert len(memory.sent) == 4


def test_a_staff_notice_goes_out_once_with_its_inbox_key(world, via_gateway):
    worker_user = world.a("grid_worker")
    worker_user.phone = "13905370001"
    worker_user.save()
    for _ in range(2):  # the deadline checker runs again: one inbox row, one message
        notify.notify(
            [worker_user],
            None,
            "due_soon",
            "诉求 X 一个工作日内到期",
            key="due:1",
            actor=Actor.system("cases.deadline_notices"),
        )
    worker.run(actor=Actor.system("worker"), once=True)
    worker.run(actor=Actor.system("worker"), once=True)
    [body] = via_gateway.received
    assert body["user"] == "a-grid_worker" and body["phone"] == "13905370001"
    assert body["kind"] == "due_soon" and body["text"] == "诉求 X 一个工作日内到期"
    assert body["key"] == "notice:due:1:" + str(worker_user.pk)
    assert OutboxMessage.objects.get().status == S.SENT


def test_log_sender_lines_mask_the_phone(db, settings, caplog):
    settings.JICENG_SMS_SENDER = "jiceng.core.senders.LogSender"
    _queue(1, phone="13912345678")
    outbox.deliver_due()
    assert "SMS to 139****5678: 【基层治理】候补成功" in caplog.text
    assert "13912345678" not in caplog.text


def test_finished_messages_are_pruned_after_the_keeping_days(db, memory, settings, clock):
    settings.JICENG_OUTBOX_KEEP_DAYS = 90
    _queue(2)
    outbox.deliver_due()
    _queue(1, phone="13900000006")
    clock.move_to(at(2027, 2, 1))
    assert outbox.prune(actor=Actor.system("worker")) == 2
    assert OutboxMessage.objects.filter(status=S.PENDING).count() == 1  # pending stays
