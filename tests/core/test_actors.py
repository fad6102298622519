"""One typed value for who acts, and what the audit trail keeps of each kind."""

import pytest

from jiceng.core import audit
from jiceng.core.actors import Actor
from jiceng.core.models import AuditEvent
from tests.factories import UserFactory
from tests.factories import resident as make_resident

pytestmark = pytest.mark.django_db


def test_each_kind_of_actor_is_recorded_with_who_it_was():
    user = UserFactory(username="wanggang")
    resident = make_resident()
    audit.record(actor=Actor.staff(user), action="test.staff")
    audit.record(actor=Actor.of_resident(resident), action="test.resident")
    audit.record(actor=Actor.public("qr"), action="test.public")
    audit.record(actor=Actor.system("worker"), action="test.system")

    rows = {e.action: e for e in AuditEvent.objects.filter(action__startswith="test.")}
    assert (rows["test.staff"].actor_kind, rows["test.staff"].actor_id) == ("staff", user.pk)
    assert rows["test.staff"].actor_username == "wanggang"
    assert rows["test.resident"].actor_kind == "resident"
    assert rows["test.resident"].actor_username == f"resident:{resident.pk}"
    assert (rows["test.public"].actor_kind, rows["test.public"].actor_username) == ("public", "qr")
    assert (rows["test.system"].actor_kind, rows["test.system"].actor_username) == (
        "system",
        "worker",
    )
    assert rows["test.resident"].actor_id is None


def test_a_signed_in_user_passed_alone_is_taken_as_staff():
    user = UserFactory()
    event = audit.record(actor=user, action="test.legacy")
    assert (event.actor_kind, event.actor_id) == ("staff", user.pk)


def test_an_actor_cannot_be_half_made():
    with pytest.raises(ValueError):
        Actor.system("")
    with pytest.raises(ValueError):
        Actor("resident")


def test_the_request_says_who_acts(rf):
    from django.contrib.auth.models import AnonymousUser

    request = rf.get("/")
    request.user = AnonymousUser()
    assert Actor.of(request).kind == "public"
    request.resident = make_resident()
    assert Actor.of(request).is_resident
    request.user = UserFactory()
    assert Actor.of(request).is_staff


def test_permission_checks_read_an_actor_as_its_user():
    from jiceng.core.access import has_permission

    assert not has_permission(Actor.system("worker"), "cases.view")
    assert not has_permission(Actor.public(), "cases.view")
