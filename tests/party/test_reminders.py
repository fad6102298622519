"""预备期满提醒: the worker texts the branch's keepers a month before a probation ends,
once, through the outbox, audited on the member."""

import datetime

from django.utils import timezone

from jiceng.core import outbox, throttle
from jiceng.core.actors import Actor
from jiceng.core.models import AuditEvent, OutboxMessage
from jiceng.party.models import Appointment, PartyMember
from jiceng.party.services import probation_reminders
from tests.factories import PersonFactory, UserFactory

WORKER = Actor.system("worker")


def test_the_secretary_is_texted_once_a_month_before_the_probation_ends(world):
    today = timezone.localdate()
    branch = world.branch_a
    secretary = UserFactory(username="sj-remind", region_code=branch.region_code,
                            phone="13912340000")  # fmt: skip
    Appointment.objects.create(
        region_code=branch.region_code, organization=branch, person=world.person_a,
        post="secretary", started_on=today, account=secretary,
    )  # fmt: skip

    def probationary(name, days_ago):
        person = PersonFactory(region_code=branch.region_code)
        return PartyMember.objects.create(
            region_code=branch.region_code, organization=branch, person=person, name=name,
            category="probationary", joined_on=today - datetime.timedelta(days=days_ago),
        )  # fmt: skip

    due = probationary("将满", 350)
    probationary("刚入", 100)
    assert probation_reminders(actor=WORKER) == 1
    message = OutboxMessage.objects.get(template="party_probation_due")
    assert message.recipient == throttle.key_of("outbox.sms", "13912340000")
    opened = outbox._open(message.payload)
    assert opened == {"to": {"phone": "13912340000"}, "params": {
        "organization": branch.name, "name": "将满", "ends": opened["params"]["ends"],
    }}  # fmt: skip
    assert probation_reminders(actor=WORKER) == 0  # the next day's run: nothing new
    assert OutboxMessage.objects.filter(template="party_probation_due").count() == 1
    event = AuditEvent.objects.get(action="party.probation_remind")
    assert event.object_id == str(due.pk) and event.actor_kind == "system"
