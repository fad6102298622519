"""A real server process (gunicorn) on the test database, so tests can kill it with
SIGKILL in the middle of a write, and hold table locks to choose where that middle is."""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
import requests
from django.db import connection

pytestmark = pytest.mark.postgres
ROOT = Path(__file__).resolve().parents[2]


def needs_postgres():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (a server process shares the test database)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def database_url() -> str:
    settings = connection.settings_dict
    return f"postgres://{settings['USER']}@{settings['HOST']}:{settings['PORT']}/{settings['NAME']}"


@pytest.fixture(scope="session")
def var_dir(tmp_path_factory):
    """Collected static files for the production-like server (collected once)."""
    path = tmp_path_factory.mktemp("server-var")
    env = {**os.environ, "JICENG_VAR_DIR": str(path), "JICENG_DEBUG": "0"}
    subprocess.run(
        [sys.executable, "-m", "jiceng", "collectstatic", "--noinput", "-v", "0"],
        env=env,
        check=True,
    )
    return path


class Server:
    def __init__(self, var_dir: Path, url: str):
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "JICENG_DATABASE_URL": url,
            "JICENG_VAR_DIR": str(var_dir),
            "JICENG_DEBUG": "0",
            "JICENG_HTTPS": "0",
            "JICENG_ALLOWED_HOSTS": "127.0.0.1",
            "JICENG_TASKS_EAGER": "0",
            "JICENG_DB_CONN_MAX_AGE": "0",
            # Signed in by password alone: what is tried here is the import, not the factor.
            "JICENG_SECOND_FACTOR": "0",
        }
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "jiceng.wsgi", "--bind", f"127.0.0.1:{self.port}",
             "--workers", "1", "--threads", "4", "--timeout", "120"],
            env=env,
            cwd=ROOT,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        # A loaded machine may take a while to import Django: wait for the first answer.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with contextlib.suppress(requests.ConnectionError, requests.Timeout):
                if requests.get(f"{self.base}/healthz", timeout=5).status_code == 200:
                    return
            time.sleep(0.2)
        self.kill()
        raise RuntimeError("the server did not start")

    def kill(self) -> None:
        """SIGKILL to the master and its workers: no shutdown code runs."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)


@pytest.fixture
def server(transactional_db, var_dir):
    needs_postgres()
    running = Server(var_dir, database_url())
    yield running
    running.kill()


@contextlib.contextmanager
def table_locked(table: str):
    """Hold a SHARE lock on `table` from another connection: reads go on, the first write
    to it waits — in the middle of whatever transaction makes it."""
    with psycopg.connect(database_url().replace("postgres://", "postgresql://")) as holder:
        holder.execute(f"LOCK TABLE {table} IN SHARE MODE")
        yield
        holder.rollback()


def wait_for_a_blocked_write(timeout: float = 30) -> None:
    """Until some backend of the test database waits on a lock."""
    deadline = time.monotonic() + timeout
    with psycopg.connect(
        database_url().replace("postgres://", "postgresql://"), autocommit=True
    ) as c:
        while time.monotonic() < deadline:
            waiting = c.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock'"
            ).fetchone()[0]
            if waiting:
                return
            time.sleep(0.05)
    raise AssertionError("no write got as far as the locked table")
