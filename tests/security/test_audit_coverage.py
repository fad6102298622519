"""Every service that writes leaves an audit event, and the application offers no way to
change or delete one.

The first part reads the services modules: each public function must call audit.record,
directly or through a function of the same module that does, unless it is listed below
as one that writes nothing of its own (a check, a lookup, a code) — with the reason.

The second part reads every other module that writes (saves, creates, updates, deletes,
bulk writes, COPY or raw INSERT/UPDATE/DELETE): each public function of it that writes,
directly or through the module's own functions, must record an audit event too, unless
it or its module is listed below with the reason.
"""

import ast
from pathlib import Path

import pytest
from django.db import connection, transaction

import jiceng
from jiceng.core import audit
from jiceng.core.actors import Actor
from jiceng.core.models import AuditEvent

SOURCE = Path(jiceng.__file__).parent
MODULES = sorted(SOURCE.glob("*/services.py"))
WRITES_NOTHING = {
    # accounts
    "api_token_authenticate": "authenticates a request (issuing and revoking are recorded)",
    "check_username": "a format check",
    # party
    "check_not_elsewhere": "a check (a member already registered where the actor sees)",
    "check_phone": "a format check",
    "login_refused_message": "a message",
    "first_password_message": "a message, queued by the services that create or reset",
    "may_revoke": "a check",
    "signable_refusal": "a check",
    # cases
    "case_deadlines_backfill": "deadline rows for the demo's history (no one acts)",
    "suspects_void_propose": "asks an approval, which core.approvals records (approval.ask)",
    "suspects_void_release": "frees the suspects of an approval refused or withdrawn, which "
    "core.approvals records",
    "check_location": "a check",
    "check_answers": "a check",
    "case_for_resident": "a lookup by tracking code and token",
    "case_lookup": "a lookup by 查询码 and the phone's last four (its tries are throttle hits)",
    "case_link_resend": "queues the private link to the phone on record (the outbox row)",
    "handlers_for": "a lookup",
    "notifications_mark_read": "the reader's own inbox state",
    "deadline_notices": "its notices are kept as notifications, each sent once",
    # party
    "has_committee": "a check",
    "has_groups": "a check",
    "month_theme": "a lookup",
    "meeting_begin": "moves the gathering on through gatherings' gathering_phase, which records it",
    "meeting_close": "closes attendance through gatherings' attendance_close, which records it",
    "meeting_cancel": "cancels through gatherings' gathering_cancel, which records it",
    # patrols
    "patrol_finding": "files a request through cases' case_submit, which records it",
    # residents
    "normalize_phone": "a format check",
    "resident_login": "puts the resident in the session (otp_verify records the login)",
    "current_resident": "a lookup",
    "resident_by_phone": "registers a phone staff named in an action that is recorded",
    # gatherings
    "check_in_code": "the code on the organizer's screen",
    "check_in_step": "the number of a moment's 20-second step",
    "voided_requests": "what an approval's page shows",
    "is_self": "a check (is this actor the resident?)",
    "own_resident_id": "a lookup",
    "check_in_scan": "a check of a code's freshness (the check-in it allows is recorded)",
    "resident_actor": "a check (is this the resident acting for themselves?)",
    "organizes": "a check (does the kind say this actor organizes it?)",
    "tell_signed_up": "queues messages for a change its caller records",
    # points
    "resident_account": "a lookup (accounts open with the first entry)",
    "team_account": "opened with the team, whose creation is recorded",
    "points_award": "each award is a journal entry keyed by its cause, itself the record; "
    "the cause (an activity settled) is audited by its own service",
    "personal_code_issue": "a code for the resident's own screen; its use is recorded",
    "counter_number_issue": "a code for the resident's own screen; its use is recorded",
    "counter_number_locked": "a check",
    "expire_lots": "each expiry is a journal entry, itself the record",
    "deed_decide": "decides the claim's approval: core.approvals records the step, and the "
    "kind's apply or release records points.deed_decide",
    "deed_approval_kind": "declares an approval kind",
    "adjust_approval_kind": "declares an approval kind",
    "adjustment_facts": "what an approval's page shows",
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
    # personal.reveal audits every reveal, allowed or denied (tests/core/test_personal.py);
    # a step of a declared process is audited by the one runner (core.process).
    audited = {
        "audit.record",
        "audit.record_all",
        "personal.reveal",
        "PROCESS.run",
        "PROCESS.started",
    }
    if calls & audited:
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
    audit.record(actor=Actor.system("test"), action="test.event")
    event = AuditEvent.objects.get(action="test.event")
    with pytest.raises(Exception):  # noqa: B017  (the model or the database refuses)
        event.action = "changed"
        event.save()
    with pytest.raises(Exception), transaction.atomic(), connection.cursor() as cursor:  # noqa: B017
        cursor.execute("UPDATE core_auditevent SET action = 'x' WHERE id = %s", [event.pk])
    assert AuditEvent.objects.get(pk=event.pk).action == "test.event"


# --- every module that writes ------------------------------------------------------------

MANAGER_WRITES = {
    "create", "update", "delete", "bulk_create", "bulk_update", "get_or_create",
    "update_or_create",
}  # fmt: skip
RELATION_WRITES = {"add", "set", "remove", "clear"}  # on a related manager: obj.things.add()
COPY_WRITES = {"copy", "copy_expert", "copy_from"}  # PostgreSQL COPY through a cursor
SQL_WRITES = ("INSERT", "UPDATE", "DELETE", "COPY", "TRUNCATE")


def _on_manager(node: ast.AST) -> bool:
    """`Model.objects…`, `model._base_manager…` and querysets built from them."""
    while True:
        if isinstance(node, ast.Call):
            node = node.func
        elif isinstance(node, ast.Attribute):
            if node.attr in ("objects", "_base_manager", "_default_manager"):
                return True
            node = node.value
        else:
            return False


def _sql(node: ast.AST) -> str:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr) and node.values:
        return _sql(node.values[0])
    return ""


def _is_write(call: ast.Call) -> bool:
    func = call.func
    if not isinstance(func, ast.Attribute):
        return False
    receiver = func.value
    if func.attr in MANAGER_WRITES and _on_manager(receiver):
        return True
    if func.attr in ("save", "delete") and not call.args and not isinstance(receiver, ast.Call):
        return True  # a model instance's save() or delete() (a workbook's save(path) is not)
    if (
        func.attr in RELATION_WRITES
        and isinstance(receiver, ast.Attribute)
        and not (isinstance(receiver.value, ast.Name) and receiver.value.id in ("self", "cls"))
    ):
        return True
    if func.attr in COPY_WRITES and "cursor" in ast.unparse(receiver):
        return True
    return (
        func.attr in ("execute", "executemany")
        and bool(call.args)
        and _sql(call.args[0]).lstrip().upper().startswith(SQL_WRITES)
    )


def _all_functions(path: Path) -> dict[str, ast.FunctionDef]:
    """Module functions by name, methods as `Class.method`."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    functions = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            functions[node.name] = node
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, ast.FunctionDef):
                    functions[f"{node.name}.{item.name}"] = item
    return functions


def _callees(name: str, node: ast.FunctionDef, functions: dict) -> set[str]:
    """The module's own functions that `node` calls (`self.x()` is its class's `x`)."""
    cls = name.rsplit(".", 1)[0] if "." in name else None
    found = set()
    for call in ast.walk(node):
        if not isinstance(call, ast.Call):
            continue
        func = call.func
        if isinstance(func, ast.Name) and func.id in functions:
            found.add(func.id)
        elif (
            cls
            and isinstance(func, ast.Attribute)
            and isinstance(func.value, ast.Name)
            and func.value.id in ("self", "cls")
            and f"{cls}.{func.attr}" in functions
        ):
            found.add(f"{cls}.{func.attr}")
    return found


def _reaches(name: str, functions: dict, test, seen: set) -> bool:
    if name in seen:
        return False
    seen.add(name)
    node = functions[name]
    if test(node):
        return True
    return any(_reaches(c, functions, test, seen) for c in _callees(name, node, functions))


def _querysets(node: ast.AST) -> set[str]:
    """Local names bound to a queryset (`pending = Model.objects.filter(…)`)."""
    return {
        target.id
        for assign in ast.walk(node)
        if isinstance(assign, ast.Assign) and _on_manager(assign.value)
        for target in assign.targets
        if isinstance(target, ast.Name)
    }


def _writes(node: ast.AST) -> bool:
    querysets = _querysets(node)
    for call in ast.walk(node):
        if not isinstance(call, ast.Call):
            continue
        if _is_write(call):
            return True
        func = call.func
        if (
            isinstance(func, ast.Attribute)
            and func.attr in MANAGER_WRITES
            and isinstance(func.value, ast.Name)
            and func.value.id in querysets
        ):
            return True
    return False


def _audits(node: ast.AST) -> bool:
    # A step of a declared process is audited by the one runner (core.process).
    return bool(
        _calls(node) & {"audit.record", "audit.record_all", "PROCESS.run", "PROCESS.started"}
    )


def _public(name: str) -> bool:
    last = name.rsplit(".", 1)[-1]
    return not last.startswith("_") or last in ("__enter__", "__exit__", "__call__")


def _module_name(path: Path) -> str:
    return ".".join(path.relative_to(SOURCE).with_suffix("").parts)


WRITING_MODULES = sorted(
    path
    for path in SOURCE.rglob("*.py")
    if "migrations" not in path.parts
    and path.name != "services.py"
    and any(_writes(node) for node in _all_functions(path).values())
)

# Modules whose writes are not a user's action, or are the record itself.
MODULES_WITHOUT_AUDIT = {
    "core.audit": "it writes the audit trail itself",
    "core.throttle": "counted tries under a limit; the refusal they cause is audited",
    "core.outbox": "the delivery queue's own state; the action that queued a message is audited",
    "core.schedule": "the worker's schedule table (next run, lease); each job audits its writes",
    "core.bulk": "COPY and bulk-insert plumbing; the import that uses it records the import",
    "activities.reference": "loads shipped reference data (service types) in migrations",
    "places.reference": "loads shipped reference data (regions, special groups) in migrations",
    "demo.generator": "builds the demo county from `jiceng demo`, no user acts",
    "demo.activities": "builds the demo county's activities and points, no user acts",
    "demo.party_life": "builds the demo county's organization life, no user acts",
    "core.history": "opens the history triggers' bypass for the test runner's flush only",
    "cases.notify": "inbox notices for a step that its service records",
    "core.deadlines": "the deadline rows the process runner keeps for a step it records",
    "party.tally": "the overview's counted figures, read from records audited as they change",
}
# Functions elsewhere that write without an audit event of their own.
FUNCTIONS_WITHOUT_AUDIT = {
    "cases.catalogue.catalogue_seed": "seeds a county's default catalogue (migrations, demo)",
    "places.imports.import_job_run": "the worker's job status; roster.roster_import records it",
    "places.imports.export_job_create": "queues an export; roster.roster_export records it",
    "places.imports.export_job_run": "the worker's job status; roster.roster_export records it",
    "places.roster_writer.RosterWriter.finish": "writes for roster.roster_import, which records",
    "points.ledger.ledger_for": "opens a community's ledger for the first entry, itself recorded",
    "points.ledger.account_for": "opens an account for the first entry, itself recorded",
    "points.ledger.post": "a journal entry, itself the record (hash-chained, append-only)",
    "points.ledger.post_many": "journal entries, themselves the record",
}


@pytest.mark.parametrize(
    "path",
    [path for path in WRITING_MODULES if _module_name(path) not in MODULES_WITHOUT_AUDIT],
    ids=_module_name,
)
def test_every_module_that_writes_records_an_audit_event(path):
    module = _module_name(path)
    functions = _all_functions(path)
    silent = [
        name
        for name in functions
        if _public(name)
        and f"{module}.{name}" not in FUNCTIONS_WITHOUT_AUDIT
        and _reaches(name, functions, _writes, set())
        and not _reaches(name, functions, _audits, set())
    ]
    assert silent == [], f"{module}: these write without an audit event"


def test_the_write_finder_sees_every_kind_of_write():
    """The finder is what makes the proof cover a module: it must see each kind of write."""
    found = {_module_name(path) for path in WRITING_MODULES}
    assert {"core.bulk", "points.ledger", "places.roster_writer", "cases.catalogue"} <= found
    samples = {
        "Event.objects.create(case=case)": True,
        "Case.objects.filter(pk=1).update(status='x')": True,
        "model._base_manager.filter(a=b).update(a=c)": True,
        "case.save()": True,
        "question.delete()": True,
        "patrol.buildings.set(buildings)": True,
        "cursor.copy('COPY t FROM STDIN')": True,
        "cursor.execute('DELETE FROM t')": True,
        "workbook.save(path)": False,
        "cursor.execute('SELECT 1')": False,
        "self.known.add(x)": False,
    }
    for source, writes in samples.items():
        call = ast.parse(source, mode="eval").body
        assert _is_write(call) is writes, source
    function = "def f():\n    pending = Outbox.objects.filter(a=1)\n    pending.update(a=2)\n"
    assert _writes(ast.parse(function))


def test_the_write_exemptions_still_exist():
    modules = {_module_name(path): path for path in WRITING_MODULES}
    assert set(MODULES_WITHOUT_AUDIT) <= modules.keys()
    for qualified in FUNCTIONS_WITHOUT_AUDIT:
        module = max((m for m in modules if qualified.startswith(f"{m}.")), key=len)
        assert qualified.removeprefix(f"{module}.") in _all_functions(modules[module]), qualified
