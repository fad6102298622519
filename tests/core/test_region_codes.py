"""The region-code helpers, and a scan of the source that keeps every cut of a code, every
count of its digits and every prefix test of one inside `jiceng.core.region_codes`."""

import ast
import re
from pathlib import Path

import pytest

from jiceng.core import region_codes
from jiceng.core.region_codes import (
    CODE_LENGTHS,
    COMMUNITY,
    COUNTY,
    GRID,
    PROVINCE,
    TOWN,
    ancestors_of,
    child_length_of,
    common_ancestor,
    community_of,
    county_of,
    grid_of,
    is_above,
    is_within,
    level_of,
    parent_of,
    serial_of,
    statistical_code,
    town_of,
)

GRID_CODE = "370829001001001"  # a grid of 城南社区, 嘉祥街道, 嘉祥县


def test_a_grid_code_names_every_node_above_it():
    assert county_of(GRID_CODE) == "370829"
    assert town_of(GRID_CODE) == "370829001"
    assert community_of(GRID_CODE) == "370829001001"
    assert grid_of(GRID_CODE) == GRID_CODE
    assert ancestors_of(GRID_CODE) == ["37", "3708", "370829", "370829001", "370829001001"]
    assert parent_of(GRID_CODE) == "370829001001"
    assert parent_of("370829") == "3708" and parent_of("37") is None


def test_a_code_at_or_above_a_level_is_returned_whole():
    # As the slices they replace: the catalogue of a county-level scope is its own.
    assert county_of("370829") == "370829"
    assert community_of("370829001") == "370829001"


def test_the_level_is_read_from_the_length():
    assert [level_of(code) for code in [*ancestors_of(GRID_CODE), GRID_CODE]] == list(CODE_LENGTHS)
    assert level_of("3708290") is None and level_of("370829001001001001") is None
    assert CODE_LENGTHS[PROVINCE] == 2 and CODE_LENGTHS[GRID] == 15


def test_the_model_levels_are_the_declared_ones():
    from jiceng.places.models import Region

    assert [level.value for level in Region.Level] == list(CODE_LENGTHS)
    assert Region.CODE_LENGTHS[Region.Level.TOWN] == 9


def test_within_is_a_path_test_not_a_digit_test():
    assert is_within("370829001001", "370829001")
    assert is_within("370829001", "370829001")
    assert not is_within("370829002001", "370829001")
    assert not is_within("370829", "370829001")  # above is not inside


def test_above_and_below_a_level():
    assert is_above("3708", COUNTY) and not is_above("370829", COUNTY)
    assert is_above("370829001", COMMUNITY) and not is_above(GRID_CODE, COMMUNITY)
    assert child_length_of("370829") == 9 and child_length_of("370829001") == 12
    assert child_length_of("370829001001") == 15 and child_length_of(GRID_CODE) is None
    assert serial_of(GRID_CODE) == "001" and serial_of("370829002") == "002"
    assert level_of("370829001") == TOWN


def test_the_common_ancestor_is_the_narrowest_node_above_all():
    assert common_ancestor(["370829001001001", "370829002"]) == "370829"
    assert common_ancestor(["370829", "370830"]) == "3708"  # two counties: their city
    assert common_ancestor(["370829", "370820"]) == "3708"  # a shared digit is not a node
    assert common_ancestor(["370829", "3708"]) == "3708"
    assert common_ancestor(["370829", "110105"]) == "" and common_ancestor([]) == ""
    assert common_ancestor(["370829001"]) == "370829001"


def test_the_statistical_code_is_twelve_digits():
    assert statistical_code("370829") == "370829000000"
    assert statistical_code(GRID_CODE) == "370829001001"


# --- the scan -----------------------------------------------------------------------

SOURCE = Path(region_codes.__file__).resolve().parents[1]  # src/jiceng
LENGTHS = {*CODE_LENGTHS.values(), region_codes.MAX_LENGTH, 3}  # 3: a node's serial
# Names that hold region codes, by their last part: code, region_code, grid_codes, county …
CODE_NAME = re.compile(r"(^|_)(codes?|grids?|county|counties|towns?|community|communities|scopes)$")
# …and names ending so that hold other codes.
OTHER_CODES = re.compile(r"(tracking|service|category|status|error|role|api|sms|token)_codes?$")


def _name(node: ast.AST) -> str:
    """The name a value is known by: `case.region_code` → region_code, `scopes(…)[0]` →
    scopes, `grid.code` → code."""
    while isinstance(node, ast.Subscript | ast.Call):
        node = node.value if isinstance(node, ast.Subscript) else node.func
    if isinstance(node, ast.Attribute):
        return node.attr
    return node.id if isinstance(node, ast.Name) else ""


def _is_code(node: ast.AST) -> bool:
    name = _name(node).lower()
    return bool(CODE_NAME.search(name)) and not OTHER_CODES.search(name)


def _is_length(node: ast.AST) -> bool:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        node = node.operand
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return any(_is_length(item) for item in node.elts)
    return isinstance(node, ast.Constant) and type(node.value) is int and node.value in LENGTHS


def _len_of_code(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "len"
        and len(node.args) == 1
        and _is_code(node.args[0])
    )


def _is_text(node: ast.AST) -> bool:
    """A literal that is no region code: `key.startswith("q_")`."""
    if isinstance(node, ast.Tuple):
        return all(_is_text(item) for item in node.elts)
    text = isinstance(node, ast.Constant) and isinstance(node.value, str)
    return text and not node.value.isdigit()


def scan(source: str) -> list[tuple[int, str]]:
    """Where `source` cuts a region code, counts its digits against a literal, or tests
    one for a prefix: (line, what)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Slice):
            bounds = [b for b in (node.slice.lower, node.slice.upper) if b is not None]
            literal = ast.Constant | ast.UnaryOp
            cuts = any(_is_length(b) or not isinstance(b, literal) for b in bounds)
            if cuts and _is_code(node.value):
                found.append((node.lineno, "slice of a region code"))
        elif isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            if any(_len_of_code(s) for s in sides) and any(_is_length(s) for s in sides):
                found.append((node.lineno, "length literal compared with a region code's len()"))
        elif isinstance(node, ast.Call):
            func = node.func
            if any(_len_of_code(arg) for arg in node.args) and (
                isinstance(func, ast.Attribute)
                and isinstance(func.value, ast.Dict)
                and any(_is_length(key) for key in func.value.keys if key is not None)
            ):
                found.append((node.lineno, "table keyed by a region code's length"))
            if isinstance(func, ast.Attribute) and func.attr == "startswith" and node.args:
                argument = node.args[0]
                if not _is_text(argument) and (_is_code(func.value) or _is_code(argument)):
                    found.append((node.lineno, ".startswith( on a region code"))
            for keyword in node.keywords:
                if keyword.arg and re.search(r"code__startswith$", keyword.arg):
                    found.append((node.lineno, "__startswith on a region code (use __within)"))
        elif (
            isinstance(node, ast.Subscript)
            and isinstance(node.value, ast.Dict)
            and _len_of_code(node.slice)
        ):
            found.append((node.lineno, "table keyed by a region code's length"))
    return sorted(found)


def _sources():
    for path in sorted(SOURCE.rglob("*.py")):
        if "migrations" in path.parts or path == Path(region_codes.__file__).resolve():
            continue
        yield path


def test_no_region_code_is_cut_or_measured_outside_its_module():
    found = [
        f"{path.relative_to(SOURCE)}:{line}: {what}"
        for path in _sources()
        for line, what in scan(path.read_text(encoding="utf-8"))
    ]
    assert found == [], "use jiceng.core.region_codes:\n" + "\n".join(found)


@pytest.mark.parametrize(
    "snippet",
    [
        "county = case.region_code[:6]",
        "town = grid[:9]",
        "short = plan.code[-3:]",
        "parent = code[:n]",
        "catalogue(scopes(user, 'x')[0][:6])",
        "if len(region_code) != 15: pass",
        "if len(code) < 6: pass",
        "if len(grid_code) in (12, 15): pass",
        "child = {6: 9, 9: 12}.get(len(region_code))",
        "child = {6: 9, 9: 12}[len(code)]",
        "if grid.code.startswith(county): pass",
        "if row[1].startswith(self.region_code): pass",
        "Person.objects.filter(region_code__startswith=code)",
    ],
)
def test_the_scan_finds_a_planted_cut(snippet):
    assert scan(snippet), snippet


@pytest.mark.parametrize(
    "snippet",
    [
        "note = description[:40]",
        "digest = hashlib.sha256(raw).hexdigest()[:32]",
        "if len(tail) == 4: pass",
        "if len(code) == 10 and code.isalnum(): pass",  # a tracking code
        "if key.startswith('q_'): pass",
        "if request.path.startswith(('/api/', '/static/')): pass",
        "if action.startswith(prefix): pass",
        "label = category.code[:48]",
        "if tracking_code.startswith(text): pass",
        "events.filter(action__startswith=action)",
        "rows = queryset.values_list('code', flat=True)[:2]",
    ],
)
def test_the_scan_leaves_other_text_alone(snippet):
    assert scan(snippet) == [], snippet
