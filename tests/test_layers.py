"""The import-linter contracts in pyproject.toml (run by `lint-imports` in `make lint` and
CI) cover what they claim: every app in the layers, and every module that serves a route
forbidden to the other apps, whatever its name."""

import subprocess
import sys
from pathlib import Path

import pytest
from django.apps import apps
from django.urls import URLPattern, URLResolver, get_resolver

tomllib = pytest.importorskip("tomllib")  # Python 3.11, as import-linter itself

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"
PAGE_MODULES = ("views", "urls", "admin", "api")


def contracts() -> list[dict]:
    config = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))
    return config["tool"]["importlinter"]["contracts"]


def jiceng_apps() -> list[str]:
    return [
        config.name.split(".")[1]
        for config in apps.get_app_configs()
        if config.name.startswith("jiceng.")
    ]


def routed_modules() -> set[str]:
    """The module of every view a URL leads to."""
    found = set()

    def walk(patterns):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns)
            elif isinstance(pattern, URLPattern):
                module = getattr(pattern.callback, "__module__", "")
                if module.startswith("jiceng."):
                    found.add(module)

    walk(get_resolver().url_patterns)
    return found


def page_modules(app: str) -> set[str]:
    package = Path(apps.get_app_config(app).path)
    named = {f"jiceng.{app}.{name}" for name in PAGE_MODULES if (package / f"{name}.py").exists()}
    routed = {module for module in routed_modules() if module.split(".")[1] == app}
    return named | routed


def test_the_routes_are_found():
    modules = routed_modules()
    assert {"jiceng.cases.views", "jiceng.points.store_views", "jiceng.activities.me"} <= modules


def test_no_app_may_import_another_apps_pages_whatever_their_names():
    by_name = {contract["name"]: contract for contract in contracts()}
    for app in jiceng_apps():
        if app in ("core", "demo"):  # core: its own contract; demo: exempt
            continue
        contract = by_name[f"{app} imports no other app's views, urls, admin or api"]
        assert contract["type"] == "forbidden"
        assert contract["source_modules"] == [f"jiceng.{app}"]
        expected = {
            module
            for other in jiceng_apps()
            if other not in (app, "demo")
            for module in page_modules(other)
        }
        expected.discard("jiceng.core.admin")  # the kernel's base admin classes
        missing = expected - set(contract["forbidden_modules"])
        assert not missing, f"add to the contract for {app}: {sorted(missing)}"


def test_every_app_but_demo_is_in_the_layers_and_core_imports_none():
    by_type = {}
    for contract in contracts():
        by_type.setdefault(contract["type"], []).append(contract)
    (layers,) = by_type["layers"]
    layered = {name.strip() for layer in layers["layers"] for name in layer.split("|")}
    assert layered == {f"jiceng.{app}" for app in jiceng_apps() if app != "demo"}
    assert layers["layers"][-1] == "jiceng.core"
    core = next(c for c in by_type["forbidden"] if c["source_modules"] == ["jiceng.core"])
    assert set(core["forbidden_modules"]) == {
        f"jiceng.{app}" for app in jiceng_apps() if app != "core"
    }


def test_the_contracts_hold():
    """As `make lint` and CI run them; the residents → activities → points cycle and core's
    imports of accounts and places broke them before."""
    lint_imports = Path(sys.executable).parent / "lint-imports"
    if not lint_imports.exists():
        pytest.skip("import-linter is not installed (Python 3.10)")
    result = subprocess.run(
        [str(lint_imports), "--no-cache"],
        cwd=PYPROJECT.parent,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout
