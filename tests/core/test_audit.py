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


# Where an audit action is not written out at the call: the expression, and how the
# names it can take are found (a new one fails the test until it is declared here).
DYNAMIC_ACTIONS = {
    ("core/process.py", "f'{self.name}.{action}'"): "process steps",
    ("core/admin.py", "f'admin.{action}'"): "second argument of self._audit",
    ("places/services.py", "action"): "fourth argument of _decide",
    ("core/personal.py", "action"): "action= of each reveal call (a literal, found anyway)",
    ("core/quota.py", "action"): "action= of each reveal call, passed on by personal.reveal",
    ("accounts/services.py", "action"): "set from a tuple of literals (found anyway)",
    ("core/audit.py", "ALERT_PREFIX + kind"): "kind= of each audit.alert call",
}


def _recorded_actions() -> set[str]:
    """Every audit action the code records: each dotted literal passed as `action=` (both
    branches of a conditional) or set as `action` from a tuple, each `kind=` of
    audit.alert, each step of every process table (the runner records
    `<process>.<step>`), and the names given to the declared wrappers (DYNAMIC_ACTIONS).
    An audit write whose `action=` is none of these fails: its names could not be read."""
    import ast
    import importlib
    from pathlib import Path

    import jiceng
    from jiceng.core.process import Process

    root = Path(jiceng.__file__).parent
    found: set[str] = set()
    undeclared: list[tuple[str, str]] = []

    def strings(node) -> list[str]:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return [node.value]
        if isinstance(node, ast.IfExp):
            return strings(node.body) + strings(node.orelse)
        return []

    for path in root.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        where = path.relative_to(root).as_posix()
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                name = getattr(node.func, "attr", getattr(node.func, "id", ""))
                for keyword in node.keywords:
                    if keyword.arg == "action":
                        names = strings(keyword.value)
                        found.update(names)
                        expression = ast.unparse(keyword.value)
                        writes = name in ("record", "event")  # audit.record, audit.event
                        if writes and not names and (where, expression) not in DYNAMIC_ACTIONS:
                            undeclared.append((where, expression))
                    if name == "alert" and keyword.arg == "kind":
                        found.update(audit.ALERT_PREFIX + s for s in strings(keyword.value))
                if name == "_audit" and where == "core/admin.py" and len(node.args) > 1:
                    found.update("admin." + s for s in strings(node.args[1]))
                if name == "_decide" and len(node.args) > 3:
                    found.update(strings(node.args[3]))
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
    assert undeclared == [], "audit actions whose names cannot be read from the code"
    return {action for action in found if "." in action}


def test_every_recorded_action_has_a_label():
    from jiceng.core import audit_labels

    actions = _recorded_actions()
    assert {"case.check", "activity.cancel", "move.settle", "admin.delete"} <= actions
    assert {"audit.export", "user.grant"} <= actions
    assert sorted(a for a in actions if a not in audit_labels.ACTIONS) == []


def test_one_table_names_every_event():
    """No second naming by prefix: an event the table does not know shows its code."""
    from jiceng.core import audit_labels

    assert not hasattr(audit_labels, "PREFIXES")
    assert audit_labels.label("activity.unknown_step") == "activity.unknown_step"


def test_every_reveal_is_among_the_reveals_an_emergency_review_lists():
    """The actions passed to core.personal.reveal and reveal_target are REVEALS."""
    import ast
    from pathlib import Path

    import jiceng
    from jiceng.core import audit_labels

    found = set()
    for path in Path(jiceng.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            name = getattr(getattr(node, "func", None), "attr", "")
            if isinstance(node, ast.Call) and name in ("reveal", "reveal_target"):
                found.update(
                    k.value.value
                    for k in node.keywords
                    if k.arg == "action" and isinstance(k.value, ast.Constant)
                )
    assert found == set(audit_labels.REVEALS)


def test_activity_events_read_in_chinese_and_residents_by_masked_phone(world, login):
    from jiceng.core.actors import Actor
    from jiceng.residents.models import Resident

    resident = Resident.objects.create(phone="13900001234")
    audit.record(
        actor=Actor.of_resident(resident), action="gathering.signup", region_code="370829001"
    )
    page = login(world.a("auditor")).get("/audit/").content.decode()
    assert "服务活动·signup" not in page
    assert f"居民 139****1234 #{resident.pk}" in page and "13900001234" not in page
    assert f"resident:{resident.pk}" not in page
    assert 'value="activity.cancel"' in page  # the event filter offers activity events


# --- the auditor's list and its export -------------------------------------------------


def _reveal(world):
    """A grid worker of A reveals a person's phone: an event naming a person."""
    return audit.record(
        actor=world.a("grid_worker"),
        action="person.reveal",
        obj=world.person_a,
        detail={"field": "phone"},
    )


def test_the_list_names_operators_and_objects_masked(world, login):
    from jiceng.core.masking import mask_name

    worker = world.a("grid_worker")
    _reveal(world)
    page = login(world.a("auditor")).get("/audit/").content.decode()
    assert "查看人员明文" in page
    assert f"{worker.full_name}（{worker.username}）" in page
    name = world.person_a.name
    assert name not in page
    assert f"实有人口 {mask_name(name)} <span" in page  # 甲**人


def _events(page: str) -> int:
    import re

    return int(re.search(r"共 (\d+) 条", page).group(1))


def test_the_list_filters_by_date_event_operator_and_region(world, login):
    import datetime

    import time_machine
    from django.utils import timezone

    worker, other_town = world.a("grid_worker"), world.b("grid_worker")
    with time_machine.travel(timezone.make_aware(datetime.datetime(2026, 10, 8, 9)), tick=False):
        _reveal(world)
    audit.record(actor=worker, action="patrol.log", region_code=world.grid_a.code)
    audit.record(actor=other_town, action="patrol.log", region_code=world.grid_b.code)
    client = login(world.a("auditor"))

    def count(query: str) -> int:
        response = client.get(f"/audit/?{query}")
        assert response.status_code == 200
        return _events(response.content.decode())

    everything = count("")
    assert count("start=2026-10-08&end=2026-10-08") == 1
    assert count("end=2026-10-07") == 0
    assert count("action=patrol.log") == 2
    assert count(f"user={worker.full_name}") == 2  # by name
    assert count(f"user={other_town.username}") == 1  # by account
    assert count("action=patrol.log&region=370829002") == 1
    page = client.get("/audit/?region=370830&end=2026-13-01").content.decode()
    assert "所选区划不在您的审计范围内" in page and "结束日期应为日期" in page
    assert _events(page) == everything  # an unreadable filter is dropped, not widened


def _workbook(response):
    import io

    from openpyxl import load_workbook

    content = b"".join(response.streaming_content)
    return list(load_workbook(io.BytesIO(content), read_only=True).active.values)


def test_the_export_holds_the_filtered_events_and_is_audited(world, login):
    from jiceng.core.models import AuditEvent

    _reveal(world)
    audit.record(actor=world.a("grid_worker"), action="patrol.log", region_code="370829001")
    auditor = world.a("auditor")
    response = login(auditor).get("/audit/export.xlsx?action=person.reveal")
    assert response.status_code == 200
    rows = _workbook(response)
    assert rows[0][:4] == ("时间", "操作人", "操作人类型", "事件")
    assert [row[3] for row in rows[1:]] == ["查看人员明文"]
    assert world.person_a.name not in str(rows)
    export = AuditEvent.objects.get(action="audit.export")
    assert export.actor == auditor
    assert export.detail == {"rows": 1, "action": "person.reveal"}
    assert export.region_code == "370829"  # the auditor's county: on their own list
    page = login(auditor).get("/audit/?action=audit.export").content.decode()
    assert "导出审计日志" in page


def test_another_countys_auditor_exports_none_of_its_events(world, login):
    _reveal(world)
    rows = _workbook(login(world.b("auditor")).get("/audit/export.xlsx"))
    assert [row for row in rows[1:] if row[3] == "查看人员明文"] == []


def test_only_the_auditor_may_export(world, login):
    from jiceng.core.models import AuditEvent

    for role in ("county_admin", "security_admin", "town_staff"):
        assert login(world.a(role)).get("/audit/export.xlsx").status_code == 403
    assert not AuditEvent.objects.filter(action="audit.export").exists()


def test_an_export_too_large_is_refused_with_a_message(world, login, settings):
    from jiceng.core.models import AuditEvent

    settings.JICENG_AUDIT_EXPORT_MAX = 1
    _reveal(world)
    _reveal(world)
    response = login(world.a("auditor")).get("/audit/export.xlsx", follow=True)
    assert "超过单次导出上限" in response.content.decode()
    assert not AuditEvent.objects.filter(action="audit.export").exists()


def test_every_object_name_names_a_text_column():
    from django.apps import apps

    from jiceng.core import audit_labels

    for label, (column, _) in audit_labels.OBJECT_NAMES.items():
        model = apps.get_model(label)
        *hops, name = column.split("__")  # a path through relations, as the query reads it
        for hop in hops:
            model = model._meta.get_field(hop).related_model
        field = model._meta.get_field(name)
        assert field.get_internal_type() in ("CharField", "TextField"), label


def test_coded_details_and_operators_read_in_chinese_on_the_page_and_in_the_export(
    world, login, settings
):
    """A refused reveal (past the quota), its alert, an emergency and its flag, and a
    sign-in whose second factor failed: the auditor reads every value in Chinese."""
    import re

    from django.test import Client

    from jiceng.core import approvals, quota
    from jiceng.core.actors import Actor
    from jiceng.core.errors import DomainError
    from jiceng.core.models import AuditEvent
    from jiceng.places.services import person_reveal
    from tests.factories import PASSWORD, enrol

    settings.JICENG_REVEAL_PER_HOUR, settings.JICENG_REVEAL_PER_DAY = 1, 5
    worker, admin = world.a("grid_worker"), world.a("security_admin")
    person_reveal(actor=Actor.staff(worker), person=world.person_a, field="id_number")
    with pytest.raises(DomainError):
        person_reveal(actor=Actor.staff(worker), person=world.person_a, field="phone")
    taken = quota.reveal_emergency_take(actor=Actor.staff(worker), cause="flood", reason="转移")
    approvals.decide(actor=Actor.staff(admin), approval=taken, action="flag")

    settings.JICENG_SECOND_FACTOR = True
    other = world.a("specialist_grid_worker")
    enrol(other)
    client = Client()
    client.post("/accounts/login/", {"username": other.username, "password": PASSWORD})
    client.post("/accounts/login/code/", {"code": "000000"})
    settings.JICENG_SECOND_FACTOR = False
    assert AuditEvent.objects.filter(
        action="auth.second_factor", outcome="failure", detail__reason="wrong"
    ).exists()
    assert AuditEvent.objects.filter(action="auth.login_password", actor=other).exists()
    assert not AuditEvent.objects.filter(action="auth.login", actor=other).exists()

    page = login(world.a("auditor")).get("/audit/").content.decode()
    shown = re.findall(r'<span class="muted">([^<：]+)：([^<]*)</span>', page)
    for expected in [
        ("字段", "身份证号"),
        ("字段", "联系电话"),
        ("拒绝原因", "查看明文次数已达上限"),
        ("时段", "每小时"),
        ("紧急情况", "防汛抗洪"),
        ("原值", "待复核"),
        ("新值", "复核有疑"),
        ("验证方式", "动态口令"),
        ("原因", "验证码或动态口令不正确"),
    ]:
        assert expected in shown, expected
    raw = {"id_number", "phone", "reveal_quota", "hour", "flood", "review", "flagged", "totp"}
    assert not raw & {value for _, value in shown} and ("原因", "wrong") not in shown
    assert "系统·告警" in page and "系统·alert" not in page
    assert "密码验证通过（待动态口令）" in page

    rows = _workbook(login(world.a("auditor")).get("/audit/export.xlsx"))
    exported = "\n".join(f"{row[1]}|{row[10]}" for row in rows[1:])
    assert "拒绝原因：查看明文次数已达上限" in exported
    assert "原因：验证码或动态口令不正确" in exported
    assert "系统·告警" in exported
    assert not re.search(r"：(id_number|phone|reveal_quota|hour|flood|wrong|totp)\b", exported)


def test_an_unknown_value_shows_as_it_is():
    from jiceng.core import audit_labels

    assert audit_labels.details({"reason": "新原因", "window": "week"}) == [
        ("原因", "新原因"),
        ("时段", "week"),
    ]
    assert audit_labels.value_label("actor.system", "a new job") == "a new job"
    assert audit_labels.value_label("actor.public", "qr") == "扫码上报"
    assert audit_labels.field_label("places.person", "special_groups") == "特殊人群"
