"""`var/jiceng.env`: settings the demo leaves for the `jiceng` commands run after it.

Read by the `jiceng` command only (not by the WSGI server or the tests), if present, and
only for `JICENG_*` names; a variable already set in the environment always wins.
"""

import os
from collections.abc import Mapping, MutableMapping
from pathlib import Path

PREFIX = "JICENG_"
FILE_NAME = "jiceng.env"


def env_file_path(environ: Mapping[str, str] = os.environ) -> Path:
    """The file in the var directory that the settings will use (`JICENG_VAR_DIR`)."""
    var_dir = environ.get("JICENG_VAR_DIR") or str(Path.cwd() / "var")
    return Path(var_dir) / FILE_NAME


def parse_env_file(text: str) -> dict[str, str]:
    """`NAME=value` lines; blank lines, `#` comments and names not starting with JICENG_
    are skipped. A value may be put in single or double quotes."""
    values = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        name, value = line.split("=", 1)
        name = name.strip()
        if name.startswith("export "):
            name = name.removeprefix("export ").strip()
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        if name.startswith(PREFIX) and name != "JICENG_VAR_DIR":
            values[name] = value
    return values


def load_env_file(environ: MutableMapping[str, str] = os.environ) -> dict[str, str]:
    """Put the file's settings into `environ` where it has none; returns those put in."""
    path = env_file_path(environ)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    loaded = {name: value for name, value in parse_env_file(text).items() if name not in environ}
    environ.update(loaded)
    return loaded


def write_env_file(path: Path, values: Mapping[str, str], *, header: str = "") -> None:
    """Write `values` readable by its owner only (the file holds the secret key)."""
    for name, value in values.items():
        if not name.startswith(PREFIX) or "\n" in value:
            raise ValueError(f"not a setting for {FILE_NAME}: {name}")
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [f"# {line}".rstrip() for line in header.splitlines()]
    lines += [f"{name}={value}" for name, value in values.items()]
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    if hasattr(os, "fchmod"):  # an existing file keeps its mode through O_CREAT
        os.fchmod(descriptor, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write("\n".join(lines) + "\n")
