import pytest
from django.db import DatabaseError, connection, transaction

from jiceng.core import audit
from jiceng.core.actors import Actor
from jiceng.core.history import AppendOnlyError
from jiceng.core.models import AuditEvent


@pytest.fixture
def event(db):
    return audit.record(actor=Actor.system("test"), action="test.event", region_code="370829")


def test_events_cannot_be_changed_or_deleted_through_the_orm(event):
    event.action = "changed"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).update(action="changed")
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).delete()


def test_the_database_refuses_updates_too(event):
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE core_auditevent SET action = 'x' WHERE id = %s", [event.pk])
    assert AuditEvent.objects.get(pk=event.pk).action == "test.event"


def test_the_database_refuses_deleting_recent_events(event):
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM core_auditevent WHERE id = %s", [event.pk])
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_the_request_address_is_recorded(world, login):
    login(world.a("grid_worker")).post(
        f"/persons/{world.person_a.pk}/reveal/phone/", REMOTE_ADDR="10.1.2.3"
    )
    event = AuditEvent.objects.get(action="person.reveal")
    assert event.ip_address == "10.1.2.3"
    assert event.actor == world.a("grid_worker")
    assert event.detail == {"field": "phone"}


def test_an_alert_is_shown_to_the_auditor_of_its_county_only(world, login):
    from jiceng.core import audit

    audit.alert(kind="test", text="有人在短时间内大量导入", region_code="370829001")
    mine = login(world.a("auditor")).get("/audit/").content.decode()
    other = login(world.b("auditor")).get("/audit/").content.decode()
    assert "有人在短时间内大量导入" in mine
    assert "有人在短时间内大量导入" not in other


def _recorded_actions() -> set[str]:
    """Every audit action the code records: each dotted literal passed as `action=` (both
    branches of a conditional) or set as `action` from a tuple, each `kind=` of
    audit.alert, and each step of every process table (the runner records
    `<process>.<step>`)."""
    import ast
    import importlib
    from pathlib import Path

    import jiceng
    from jiceng.core.process import Process

    root = Path(jiceng.__file__).parent
    found: set[str] = set()

    def strings(node) -> list[str]:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return [node.value]
        if isinstance(node, ast.IfExp):
            return strings(node.body) + strings(node.orelse)
        return []

    for path in root.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                name = getattr(node.func, "attr", getattr(node.func, "id", ""))
                for keyword in node.keywords:
                    if keyword.arg == "action":
                        found.update(strings(keyword.value))
                    if name == "alert" and keyword.arg == "kind":
                        found.update(audit.ALERT_PREFIX + s for s in strings(keyword.value))
            elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Tuple):
                for target in node.targets:
                    if isinstance(target, ast.Tuple):
                        for item, value in zip(target.elts, node.value.elts, strict=False):
                            if getattr(item, "id", "") == "action":
                                found.update(strings(value))
        if path.name == "workflow.py":
            module = importlib.import_module(
                "jiceng." + ".".join(path.relative_to(root).with_suffix("").parts)
            )
            for value in vars(module).values():
                if isinstance(value, Process):
                    found.update(f"{value.name}.{step}" for step in value.steps)
    return {action for action in found if "." in action}


def test_every_recorded_action_has_a_label():
    from jiceng.core import audit_labels

    actions = _recorded_actions()
    assert {"case.check", "activity.cancel", "activity.signup", "user.grant"} <= actions
    assert sorted(a for a in actions if a not in audit_labels.ACTIONS) == []


def test_activity_events_read_in_chinese_and_residents_by_number(world, login):
    from jiceng.core.actors import Actor
    from jiceng.residents.models import Resident

    resident = Resident.objects.create(phone="13900001234")
    audit.record(
        actor=Actor.of_resident(resident), action="activity.signup", region_code="370829001"
    )
    page = login(world.a("auditor")).get("/audit/").content.decode()
    assert "服务活动·signup" not in page
    assert f"居民 #{resident.pk}" in page
    assert f"resident:{resident.pk}" not in page
    assert 'value="activity.cancel"' in page  # the event filter offers activity events
