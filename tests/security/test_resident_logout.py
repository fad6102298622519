"""A resident's sign-out is in the trail, with the resident as its actor, in their
community, like their sign-in."""

from django.test import Client

from jiceng.core.models import AuditEvent
from tests.factories import resident


def test_a_residents_sign_out_is_audited(world):
    someone = resident(person=world.person_a)
    client = Client()
    session = client.session
    session["resident_id"] = someone.pk
    session.save()
    assert client.post("/me/logout/").status_code == 302
    event = AuditEvent.objects.get(action="auth.logout")
    assert event.object_id == str(someone.pk)
    assert event.region_code == someone.region_code
    assert "resident_id" not in client.session
    client.post("/me/logout/")  # signed out already: nothing more to record
    assert AuditEvent.objects.filter(action="auth.logout").count() == 1
