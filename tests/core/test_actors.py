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


def test_a_resident_login_is_recorded_as_the_resident_and_the_code_as_the_public():
    from django.utils import timezone

    from jiceng.residents import services
    from jiceng.residents.models import OneTimeCode

    phone = "13900007777"
    services.otp_request(actor=Actor.public("me/login"), phone=phone, address="10.0.0.9")
    OneTimeCode.objects.filter(phone=phone).update(digest=services._digest(phone, "123456"))
    resident = services.otp_verify(
        actor=Actor.public("me/login"), phone=phone, code="123456", address="10.0.0.9"
    )
    sent = AuditEvent.objects.get(action="resident.otp_sent")
    assert (sent.actor_kind, sent.actor_username) == ("public", "me/login")
    login = AuditEvent.objects.get(action="resident.login", outcome=AuditEvent.SUCCESS)
    assert (login.actor_kind, login.actor_username) == ("resident", f"resident:{resident.pk}")
    assert login.actor_id is None
    assert OneTimeCode.objects.filter(phone=phone, used_at__lte=timezone.now()).exists()


def test_the_server_grant_command_is_recorded_as_the_system():
    from django.core.management import call_command

    from tests.factories import RegionFactory

    RegionFactory(code="370829", name="嘉祥县", level="county")
    call_command("grant", "auditor-1", "auditor", "370829", stdout=__import__("io").StringIO())
    rows = AuditEvent.objects.filter(action__in=["user.create", "user.grant"])
    assert {(e.actor_kind, e.actor_username) for e in rows} == {("system", "jiceng grant")}


def test_every_audit_call_in_the_source_names_an_actor():
    """Each audit.record / audit.event call passes `actor=`, and never a literal None."""
    import ast
    from pathlib import Path

    import jiceng

    root = Path(jiceng.__file__).parent
    missing = []
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root)
        if "migrations" in relative.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            base = getattr(func.value, "id", "") if isinstance(func, ast.Attribute) else ""
            audit_call = (base == "audit" and name in ("record", "event")) or (
                isinstance(func, ast.Name) and name == "record" and path.name == "backup.py"
            )
            if not audit_call:
                continue
            actor = next((k.value for k in node.keywords if k.arg == "actor"), None)
            if actor is None or (isinstance(actor, ast.Constant) and actor.value is None):
                missing.append(f"{relative}:{node.lineno}")
    assert missing == []


def test_an_event_naming_nobody_is_refused():
    with pytest.raises(ValueError):
        audit.event(actor=None, action="test.nobody")
    assert audit.event(actor=Actor.system("worker"), action="test.somebody").actor_kind == "system"
