"""A refused try leaves its trace: no failure is recorded and then raised past in a way
that rolls the record back.

Read from the source: a failure written to the audit trail and followed by `raise` in the
same block must go through `refusals.refuse` instead (which keeps it through the
rollback), anywhere; and inside a transaction (a function under `transaction.atomic`, or
a `with transaction.atomic()` block), a counter raised with F() + n and followed by
`raise` is the attempt counter rolled back with the failure it counted.
"""

import ast
from pathlib import Path

import jiceng

SOURCE = Path(jiceng.__file__).parent
KEPT = {"keep", "refuse"}  # refusals.keep / refusals.refuse: written where no rollback reaches


def _is_atomic(node: ast.expr) -> bool:
    target = node.func if isinstance(node, ast.Call) else node
    return (
        isinstance(target, ast.Attribute)
        and target.attr == "atomic"
        and (getattr(target.value, "id", "") in ("transaction", "refusals"))
    )


def _unkept(node: ast.AST):
    """The nodes of `node`, leaving out what is passed to refusals.keep or refuse."""
    if (
        isinstance(node, ast.Call)
        and getattr(node.func, "attr", getattr(node.func, "id", "")) in KEPT
    ):
        return
    yield node
    for child in ast.iter_child_nodes(node):
        yield from _unkept(child)


def _is_failure_audit(node: ast.AST) -> bool:
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
        return False
    if node.func.attr != "record" or getattr(node.func.value, "id", "") != "audit":
        return False
    return any(k.arg == "outcome" and "fail" in ast.unparse(k.value).lower() for k in node.keywords)


def _is_counter_bump(node: ast.AST) -> bool:
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
        return False
    if node.func.attr != "update":
        return False
    return any(isinstance(k.value, ast.BinOp) for k in node.keywords)


def _blocks(node: ast.AST):
    for field in ("body", "orelse", "finalbody", "handlers"):
        block = getattr(node, field, None)
        if isinstance(block, list) and block and isinstance(block[0], ast.stmt):
            yield block
    for handler in getattr(node, "handlers", []):
        yield handler.body


def _offences(function: ast.FunctionDef) -> list[str]:
    found = []
    atomic_function = any(_is_atomic(d) for d in function.decorator_list)

    def visit(node: ast.AST, in_atomic: bool) -> None:
        if isinstance(node, ast.With) and any(_is_atomic(i.context_expr) for i in node.items):
            in_atomic = True
        for block in _blocks(node):
            recorded = None
            for statement in block:
                if isinstance(statement, ast.Raise) and recorded:
                    found.append(f"{recorded} then raise at line {statement.lineno}")
                    recorded = None
                for inner in _unkept(statement):
                    if _is_failure_audit(inner):
                        recorded = f"failure audited at line {inner.lineno}"
                    elif in_atomic and _is_counter_bump(inner):
                        recorded = f"counter raised in a transaction at line {inner.lineno}"
            for statement in block:
                visit(statement, in_atomic)

    visit(function, atomic_function)
    return found


def _scan_source(text: str, name: str) -> dict[tuple[str, str], list[str]]:
    return {
        (name, node.name): found
        for node in ast.walk(ast.parse(text))
        if isinstance(node, ast.FunctionDef) and (found := _offences(node))
    }


def _scan() -> dict[tuple[str, str], list[str]]:
    offences = {}
    for path in sorted(SOURCE.rglob("*.py")):
        if "migrations" not in path.parts:
            offences |= _scan_source(
                path.read_text(encoding="utf-8"), str(path.relative_to(SOURCE))
            )
    return offences


def test_no_failure_is_recorded_where_its_refusal_rolls_it_back():
    assert _scan() == {}


# The one-time code check as it was: the attempt counter and the failure's audit event
# were rolled back with the refusal they counted.
BEFORE = """
@transaction.atomic
def otp_verify(*, phone, code):
    otp = OneTimeCode.objects.select_for_update().filter(phone=phone).first()
    if not hmac.compare_digest(otp.digest, _digest(phone, code)):
        OneTimeCode.objects.filter(pk=otp.pk).update(attempts=otp.attempts + 1)
        raise DomainError("验证码不正确。", code="otp_wrong")

def person_reveal(*, user, person, field):
    try:
        require(user, "people.view_sensitive", person.region_code)
    except DomainError:
        audit.record(actor=user, action="person.reveal", obj=person, outcome=AuditEvent.FAILURE)
        raise

@refusals.atomic
def kept(*, phone):
    refusals.keep(lambda: OneTimeCode.objects.filter(phone=phone).update(attempts=F("n") + 1))
    raise DomainError("验证码不正确。")
"""


def test_the_scan_finds_the_patterns_it_is_for():
    assert set(_scan_source(BEFORE, "before")) == {
        ("before", "otp_verify"),
        ("before", "person_reveal"),
    }
