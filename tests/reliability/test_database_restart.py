"""PostgreSQL restarted under load: while it is down every request gets a clean 503, and
once it is back requests succeed again without restarting the application. The database
here is a cluster of its own (started for this test), so the shared server is untouched."""

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
import requests

from tests.reliability.conftest import Server, needs_postgres

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
BIN = sorted(glob.glob("/usr/lib/postgresql/*/bin"))


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    """initdb + pg_ctl, as the postgres system user."""

    def __init__(self, path):
        self.path, self.port = str(path / "data"), _port()
        self.log = str(path / "server.log")
        self.sockets = str(path / "sockets")
        os.makedirs(self.sockets)
        shutil.chown(str(path), "postgres")
        shutil.chown(self.sockets, "postgres")
        self._as_postgres("initdb", "-D", self.path, "-A", "trust", "-U", "postgres", "-E", "UTF8")
        self.start()
        self._as_postgres("createdb", "-h", "127.0.0.1", "-p", str(self.port), "jiceng")
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/jiceng"

    def _as_postgres(self, program: str, *args: str) -> None:
        command = ["runuser", "-u", "postgres", "--", f"{BIN[-1]}/{program}", *args]
        subprocess.run(command, check=True, capture_output=True)

    def start(self) -> None:
        options = f"-p {self.port} -k {self.sockets} -c listen_addresses=127.0.0.1"
        # -l: the server must not inherit our pipes, or capturing pg_ctl's output never ends
        self._as_postgres("pg_ctl", "-D", self.path, "-l", self.log, "-o", options, "-w", "start")

    def stop(self) -> None:
        self._as_postgres("pg_ctl", "-D", self.path, "-m", "fast", "-w", "stop")


@pytest.fixture
def cluster():
    needs_postgres()
    if os.geteuid() != 0 or not BIN or not shutil.which("runuser"):
        pytest.skip("needs root and the PostgreSQL server binaries to start a cluster")
    home = Path(tempfile.mkdtemp(prefix="jiceng-pg-"))  # outside pytest's private folder,
    home.chmod(0o755)  # which the postgres user cannot enter
    own = Cluster(home)
    env = {**os.environ, "JICENG_DATABASE_URL": own.url}
    subprocess.run([sys.executable, "-m", "jiceng", "migrate", "-v", "0"], env=env, check=True)
    yield own
    with contextlib.suppress(subprocess.CalledProcessError):
        own.stop()
    shutil.rmtree(home, ignore_errors=True)


def test_the_application_survives_a_database_restart(cluster, var_dir):
    server = Server(var_dir, cluster.url)
    seen: Counter = Counter()
    stop = threading.Event()

    def load():
        while not stop.is_set():
            for path in ("/healthz", "/calendar/370829/"):
                try:
                    seen[requests.get(server.base + path, timeout=10).status_code] += 1
                except requests.RequestException as failure:
                    seen[type(failure).__name__] += 1

    workers = [threading.Thread(target=load) for _ in range(4)]
    try:
        for worker in workers:
            worker.start()
        time.sleep(2)
        assert seen[200] > 0
        cluster.stop()
        seen_before = seen[503]
        time.sleep(3)
        assert seen[503] > seen_before  # refused cleanly while it is down
        down = requests.get(server.base + "/calendar/370829/", timeout=10)
        assert down.status_code == 503 and down.headers["Retry-After"]
        cluster.start()
        deadline = time.monotonic() + 30
        while requests.get(server.base + "/calendar/370829/", timeout=10).status_code != 200:
            assert time.monotonic() < deadline, "the application did not come back"
            time.sleep(0.5)
        assert requests.get(server.base + "/healthz", timeout=10).status_code == 200
    finally:
        stop.set()
        for worker in workers:
            worker.join()
        server.kill()
    assert set(seen) <= {200, 503}, seen  # never a 500, never a dropped connection
