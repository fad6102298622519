"""What a new user meets: after the demo, every `jiceng` command of the README's table works
as printed from a shell that sets no JICENG_* variable, through the `var/jiceng.env` the
demo writes; and a missing setting is one clear line, whichever command meets it."""

import os
import re
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.core.management import call_command

from jiceng.envfile import load_env_file, parse_env_file, write_env_file
from tests.places.test_roster_import import family, write_xlsx

README = Path(__file__).resolve().parents[2] / "README.md"
JICENG = Path(sys.executable).parent / "jiceng"


def shell_environment(**extra) -> dict[str, str]:
    """A user's shell: none of the suite's JICENG_* settings."""
    environment = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("JICENG_") and name != "DJANGO_SETTINGS_MODULE"
    }
    environment.update(extra)
    return environment


def run(command: list[str], cwd: Path, **extra) -> subprocess.CompletedProcess:
    return subprocess.run(
        command,
        cwd=cwd,
        env=shell_environment(**extra),
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_file_gives_only_jiceng_names_and_never_overrides_the_environment(tmp_path):
    (tmp_path / "jiceng.env").write_text(
        "# a comment\n"
        "JICENG_SECRET_KEY=from-the-file\n"
        "JICENG_DEBUG=1\n"
        "export JICENG_LOG_LEVEL='INFO'\n"
        "DJANGO_SETTINGS_MODULE=somewhere.else\n"
        "PATH=/nowhere\n"
        "JICENG_VAR_DIR=/elsewhere\n"
        "not a line\n",
        encoding="utf-8",
    )
    environ = {"JICENG_VAR_DIR": str(tmp_path), "JICENG_DEBUG": "0", "PATH": "/usr/bin"}
    loaded = load_env_file(environ)
    assert loaded == {"JICENG_SECRET_KEY": "from-the-file", "JICENG_LOG_LEVEL": "INFO"}
    assert environ == {
        "JICENG_VAR_DIR": str(tmp_path),
        "JICENG_DEBUG": "0",  # set in the environment: kept
        "PATH": "/usr/bin",
        "JICENG_SECRET_KEY": "from-the-file",
        "JICENG_LOG_LEVEL": "INFO",
    }


def test_no_file_changes_nothing(tmp_path):
    environ = {"JICENG_VAR_DIR": str(tmp_path)}
    assert load_env_file(environ) == {}
    assert environ == {"JICENG_VAR_DIR": str(tmp_path)}


def test_the_file_is_its_owners_alone_even_when_it_existed(tmp_path):
    path = tmp_path / "jiceng.env"
    path.write_text("old\n")
    path.chmod(0o644)
    write_env_file(path, {"JICENG_SECRET_KEY": "s3cret"})
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert parse_env_file(path.read_text()) == {"JICENG_SECRET_KEY": "s3cret"}
    with pytest.raises(ValueError):
        write_env_file(path, {"PATH": "/nowhere"})


def test_the_demo_writes_the_settings_it_runs_with(db, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    call_command("demo", "--scale", "tiny", "--no-serve", "--port", "8010")
    path = tmp_path / "jiceng.env"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    values = parse_env_file(path.read_text(encoding="utf-8"))
    assert values["JICENG_SECRET_KEY"] == settings.SECRET_KEY
    assert values["JICENG_HTTPS"] == "0"  # as the suite runs it
    assert values["JICENG_PUBLIC_URL"] == "http://127.0.0.1:8010"
    assert ("JICENG_DEBUG" in values) == settings.DEBUG
    assert all(name.startswith("JICENG_") for name in values)


def test_makemigrations_without_settings_says_what_check_says(tmp_path):
    check = run([str(JICENG), "check"], tmp_path)
    makemigrations = run([str(JICENG), "makemigrations", "--check"], tmp_path)
    assert check.returncode == makemigrations.returncode == 1
    assert "Traceback" not in check.stderr + makemigrations.stderr
    assert makemigrations.stderr.strip() == check.stderr.strip()
    assert "Environment variable JICENG_SECRET_KEY must be set." in check.stderr


def readme_commands() -> list[str]:
    """The `.venv/bin/jiceng …` commands of the README's table, as printed."""
    text = README.read_text(encoding="utf-8")
    table = text.split("## Commands", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^\| `\.venv/bin/jiceng ([^`]+)` \|", table, flags=re.MULTILINE)


def test_every_command_of_the_readme_works_after_the_demo(tmp_path):
    commands = readme_commands()
    assert "points verify" in commands and len(commands) >= 10
    built = run(
        [str(JICENG), "demo", "--scale", "tiny", "--no-serve"],
        tmp_path,
        JICENG_DEBUG="1",
        JICENG_HTTPS="0",  # as `make demo` sets them, for the demo alone
    )
    assert built.returncode == 0, built.stderr
    # The database the demo created holds its residents: its owner's alone.
    assert stat.S_IMODE((tmp_path / "var" / "jiceng.sqlite3").stat().st_mode) == 0o600
    roster = write_xlsx(tmp_path / "roster.xlsx", family("0901"))
    backups = tmp_path / "var" / "backups"
    for printed in commands:
        # The table's placeholders, and its optional arguments taken.
        line = re.sub(r"\[(--[a-z-]+)\]", r"\1", printed)
        line = re.sub(r"\[[A-Z]+\]", "", line)
        line = line.replace("import-roster FILE", f"import-roster {roster}")
        if line.startswith("restore FILE"):
            line = line.replace("FILE", str(next(backups.glob("jiceng-*"))))
        line = line.replace("--region CODE", "--region 370829001001")
        line = line.replace("--out DIR", f"--out {tmp_path / 'posters'}")
        line = line.replace("USER ROLE REGION", "auditor9 auditor 370829")
        assert not re.search(r"\b[A-Z]{3,}\b", line), f"a placeholder left in {line!r}"
        argv = [str(JICENG), *line.split()]
        if line == "worker":  # runs until stopped: it must still be running
            process = subprocess.Popen(
                argv, cwd=tmp_path, env=shell_environment(), stderr=subprocess.PIPE, text=True
            )
            time.sleep(8)
            alive = process.poll() is None
            process.terminate()
            _, errors = process.communicate(timeout=30)
            assert alive, errors
            continue
        result = run(argv, tmp_path)
        assert result.returncode == 0, f"jiceng {line}: {result.stdout}{result.stderr}"
        if line == "points verify":
            assert "全部平衡" in result.stdout
    assert list((tmp_path / "posters").glob("*.svg"))
    assert list(backups.glob("jiceng-*"))
