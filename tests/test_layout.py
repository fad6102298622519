"""Every app has the files the README's Layout says it has, but the exceptions it lists."""

from pathlib import Path

import jiceng

FILES = ("models.py", "services.py", "selectors.py", "views.py", "api.py")
# The README's exceptions, app by app (core is the kernel, a module per idea).
EXCEPTIONS = {
    "core": {"services.py", "selectors.py", "api.py"},
    "demo": {"services.py", "selectors.py", "views.py", "api.py"},
    "residents": {"api.py"},
    "patrols": {"api.py"},
}


def test_every_app_has_the_files_the_readme_says():
    root = Path(jiceng.__file__).parent
    apps = sorted(p.parent.name for p in root.glob("*/apps.py"))
    missing = {
        app: {f for f in FILES if not (root / app / f).exists()} - EXCEPTIONS.get(app, set())
        for app in apps
    }
    assert {app: files for app, files in missing.items() if files} == {}
    stale = {
        app: files & {f for f in FILES if (root / app / f).exists()}
        for app, files in EXCEPTIONS.items()
        if (root / app).exists()
    }
    assert {app: files for app, files in stale.items() if files} == {}  # say so in the README
    readme = (root.parents[1] / "README.md").read_text(encoding="utf-8")
    assert all(f"`{app}`" in readme for app in apps)
