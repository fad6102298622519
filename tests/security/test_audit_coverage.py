"""Every service that writes leaves an audit event, and the application offers no way to
change or delete one.

The first part reads the services modules: each public function must call audit.record,
directly or through a function of the same module that does, unless it is listed below
as one that writes nothing of its own (a check, a lookup, a code) — with the reason.
"""

import ast
from pathlib import Path

import pytest
from django.db import connection, transaction

import jiceng
from jiceng.core import audit
from jiceng.core.models import AuditEvent

SOURCE = Path(jiceng.__file__).parent
MODULES = sorted(SOURCE.glob("*/services.py"))
WRITES_NOTHING = {
    # accounts
    "api_token_authenticate": "authenticates a request (issuing and revoking are recorded)",
    "check_username": "a format check",
    "check_phone": "a format check",
    "login_refused_message": "a message",
    "first_password_message": "a message, queued by the services that create or reset",
    "may_revoke": "a check",
    "signable_refusal": "a check",
    # cases
    "case_deadlines_backfill": "deadline rows for the demo's history (no one acts)",
    "client_fingerprint": "a hash of the request's address",
    "intake_allowed": "a rate-limit check",
    "check_location": "a check",
    "check_answers": "a check",
    "case_for_resident": "a lookup by tracking code and token",
    "new_submission_key": "a random key for a form",
    "handlers_for": "a lookup",
    "notifications_mark_read": "the reader's own inbox state",
    "deadline_notices": "its notices are kept as notifications, each sent once",
    # residents
    "normalize_phone": "a format check",
    "resident_login": "puts the resident in the session (otp_verify records the login)",
    "resident_logout": "takes them out of the session",
    "current_resident": "a lookup",
    "resident_by_phone": "registers a phone staff named in an action that is recorded",
    # activities
    "check_in_code": "the code on the leader's screen",
    # points
    "resident_account": "a lookup (accounts open with the first entry)",
    "personal_code_issue": "a code for the resident's own screen; its use is recorded",
    "expire_lots": "each expiry is a journal entry, itself the record",
}


def _functions(path: Path) -> dict[str, ast.FunctionDef]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}


def _calls(node: ast.AST) -> set[str]:
    names = set()
    for call in ast.walk(node):
        if isinstance(call, ast.Call):
            func = call.func
            if isinstance(func, ast.Attribute):
                names.add(f"{getattr(func.value, 'id', '')}.{func.attr}")
            elif isinstance(func, ast.Name):
                names.add(func.id)
    return names


def _records(name: str, functions: dict, seen: set) -> bool:
    if name in seen or name not in functions:
        return False
    seen.add(name)
    calls = _calls(functions[name])
    # A step of a declared process is audited by the one runner (core.process).
    if calls & {"audit.record", "audit.record_all", "PROCESS.run", "PROCESS.started"}:
        return True
    return any(_records(callee, functions, seen) for callee in calls if callee in functions)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.parent.name)
def test_every_public_service_records_an_audit_event(path):
    functions = _functions(path)
    silent = [
        name
        for name in functions
        if not name.startswith("_")
        and name not in WRITES_NOTHING
        and not _records(name, functions, set())
    ]
    assert silent == [], f"{path.parent.name}.services: these write without an audit event"


def test_the_exemptions_still_exist():
    names = {name for path in MODULES for name in _functions(path)}
    assert set(WRITES_NOTHING) <= names


@pytest.mark.django_db
def test_audit_events_cannot_be_changed_or_deleted():
    audit.record(actor=None, action="test.event")
    event = AuditEvent.objects.get(action="test.event")
    with pytest.raises(Exception):  # noqa: B017  (the model or the database refuses)
        event.action = "changed"
        event.save()
    with pytest.raises(Exception), transaction.atomic(), connection.cursor() as cursor:  # noqa: B017
        cursor.execute("UPDATE core_auditevent SET action = 'x' WHERE id = %s", [event.pk])
    assert AuditEvent.objects.get(pk=event.pk).action == "test.event"
