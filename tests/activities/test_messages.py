"""Activity changes with the SMS gateway down (issue 10, finding 1): the change is
committed and answered, every resident's message waits in the outbox, and the worker
delivers each once the gateway is back."""

import re

import pytest
from django.test import Client

from jiceng.activities.models import Activity
from jiceng.core import worker
from jiceng.core.actors import Actor
from jiceng.core.models import AuditEvent, OutboxMessage
from jiceng.gatherings import services as gatherings
from jiceng.gatherings.models import SignUp
from tests.activities.conftest import at
from tests.conftest import client_for
from tests.factories import resident

S = OutboxMessage.Status


@pytest.mark.django_db(transaction=True)
def test_cancelling_with_the_gateway_down_answers_and_every_resident_is_told_later(
    reference_data, world, staff_a, team, make_activity, clock, via_gateway
):
    """Before the outbox, the SMS went out inside the commit hook of the request: with
    the gateway down the cancellation was committed, the page answered 500, and residents
    after the first failure were never told."""
    activity = make_activity("signup", team=team, capacity=2)
    people = [resident() for _ in range(3)]  # two places and one on the waitlist
    for person in people:
        gatherings.signup_create(actor=Actor.of_resident(person), gathering=activity.gathering)
    via_gateway.down = True
    page = client_for(staff_a)
    page.raise_request_exception = False

    response = page.post(f"/activities/{activity.pk}/act/cancel/", {"reason": "大风预警"})

    assert response.status_code == 302
    assert Activity.objects.get(pk=activity.pk).status == Activity.Status.CANCELLED
    queued = OutboxMessage.objects.filter(template="activity_cancelled")
    assert queued.count() == 3 and {m.status for m in queued} == {S.PENDING}
    worker.run(
        actor=Actor.system("worker"), once=True
    )  # the gateway is still down: each is tried once and put back
    assert via_gateway.received == []
    for message in OutboxMessage.objects.filter(template="activity_cancelled"):
        assert message.status == S.PENDING and message.attempts == 1
        assert "503" in message.last_error
        assert message.next_attempt_at == at(2026, 11, 2, 9, 0, 30)  # retried in 30 s

    via_gateway.down = False
    clock.move_to(at(2026, 11, 2, 9, 1))
    worker.run(actor=Actor.system("worker"), once=True)

    for person in people:
        [text] = via_gateway.texts_to(person.phone)
        assert "义诊进社区" in text and "大风预警" in text
    for message in OutboxMessage.objects.filter(template="activity_cancelled"):
        assert message.status == S.SENT and message.attempts == 2
        assert message.payload == ""  # the phone is forgotten once it is sent
    keys = [body["key"] for body in via_gateway.received]
    assert sorted(keys) == sorted(queued.values_list("key", flat=True))
    assert all(body["idempotency_header"] == body["key"] for body in via_gateway.received)
    worker.run(actor=Actor.system("worker"), once=True)
    assert len(via_gateway.received) == 3  # sent is sent


@pytest.mark.django_db(transaction=True)
def test_rescheduling_and_a_resident_code_with_the_gateway_down(
    reference_data, world, staff_a, team, make_activity, clock, via_gateway
):
    activity = make_activity("signup", team=team)
    person = resident()
    gatherings.signup_create(actor=Actor.of_resident(person), gathering=activity.gathering)
    via_gateway.down = True
    page = client_for(staff_a)
    page.raise_request_exception = False
    moved = page.post(
        f"/activities/{activity.pk}/reschedule/",
        {"date": "2026-11-12", "start": "14:00", "end": "16:00"},
    )
    assert moved.status_code == 302
    assert Activity.objects.get(pk=activity.pk).gathering.starts_at == at(2026, 11, 12, 14)
    resident_page = Client(raise_request_exception=False)
    asked = resident_page.post("/me/login/", {"phone": person.phone, "step": "send"})
    assert asked.status_code == 200 and "验证码已发送" in asked.content.decode()
    assert set(OutboxMessage.objects.values_list("template", flat=True)) == {
        "activity_moved",
        "resident_code",
    }
    worker.run(actor=Actor.system("worker"), once=True)
    via_gateway.down = False
    clock.move_to(at(2026, 11, 2, 9, 1))
    worker.run(actor=Actor.system("worker"), once=True)
    texts = via_gateway.texts_to(person.phone)
    [moved_text] = [t for t in texts if "改期" in t]
    [code_text] = [t for t in texts if "验证码" in t]
    assert "11月12日 14:00" in moved_text
    code = re.search(r"验证码为 (\d{6})", code_text).group(1)
    signed_in = resident_page.post(
        "/me/login/", {"phone": person.phone, "code": code, "step": "verify"}
    )
    assert signed_in.status_code == 302


def test_waitlist_promotion_is_queued_with_the_cancellation_of_a_place(
    world, team, make_activity, sms
):
    activity = make_activity("signup", team=team, capacity=1)
    first, second = resident(), resident()
    signup = gatherings.signup_create(actor=Actor.of_resident(first), gathering=activity.gathering)
    gatherings.signup_create(actor=Actor.of_resident(second), gathering=activity.gathering)
    gatherings.signup_cancel(actor=Actor.of_resident(first), signup=signup)
    message = OutboxMessage.objects.get(template="waitlist_promoted")
    assert message.expires_at == activity.gathering.starts_at
    assert SignUp.objects.get(resident=second).status == SignUp.Status.CONFIRMED
    assert [phone for phone, _ in sms] == [second.phone]
    assert AuditEvent.objects.filter(action="gathering.signup_cancel").exists()
