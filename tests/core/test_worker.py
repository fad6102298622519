"""`jiceng worker`: its schedule, and the real process — killed in the middle of a send it
loses nothing, and two at once never send a message twice."""

import datetime
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from jiceng.core import outbox, schedule
from jiceng.core.actors import Actor
from jiceng.core.models import OutboxMessage, ScheduledJob

S = OutboxMessage.Status


def at(*args) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime(*args))


@pytest.fixture
def clock():
    with time_machine.travel(at(2026, 11, 2, 9, 0), tick=False) as traveller:
        yield traveller


@pytest.fixture
def jobs(monkeypatch):
    """The schedule holding only the jobs a test registers."""
    monkeypatch.setattr(schedule, "JOBS", {})
    return schedule


# --- the schedule -----------------------------------------------------------------------


def test_the_kernel_jobs_are_registered():
    assert {"cases.deadline_notices", "points.expire", "core.outbox_prune"} <= set(schedule.JOBS)
    assert schedule.JOBS["cases.deadline_notices"].every == datetime.timedelta(minutes=5)


def test_a_job_runs_when_due_and_once_per_interval(db, clock, jobs):
    runs = []
    jobs.register(
        "test.count",
        lambda *, actor: runs.append(1) or len(runs),
        every=datetime.timedelta(minutes=10),
    )
    assert schedule.run_due(actor=Actor.system("worker")) == 1
    assert schedule.run_due(actor=Actor.system("worker")) == 0
    row = ScheduledJob.objects.get(name="test.count")
    assert row.next_run_at == at(2026, 11, 2, 9, 10) and row.claimed_until is None
    assert row.last_result == "完成：1" and row.every_seconds == 600
    clock.move_to(at(2026, 11, 2, 9, 10))
    assert schedule.run_due(actor=Actor.system("worker")) == 1
    ScheduledJob.objects.filter(name="test.count").update(is_enabled=False)
    clock.move_to(at(2026, 11, 2, 10, 0))
    assert schedule.run_due(actor=Actor.system("worker")) == 0
    assert runs == [1, 1]


def test_a_failing_job_is_recorded_and_tried_at_its_next_time(db, clock, jobs):
    def broken(*, actor):
        raise ValueError("no ledger")

    jobs.register("test.broken", broken, every=datetime.timedelta(hours=1))
    assert schedule.run_due(actor=Actor.system("worker")) == 1
    row = ScheduledJob.objects.get(name="test.broken")
    assert row.last_result == "出错：ValueError: no ledger"
    assert row.next_run_at == at(2026, 11, 2, 10, 0) and row.claimed_until is None


def test_a_run_held_by_a_killed_worker_is_taken_up_after_its_lease(db, clock, jobs):
    runs = []
    jobs.register(
        "test.lease",
        lambda *, actor: runs.append(1),
        every=datetime.timedelta(hours=1),
        lease=datetime.timedelta(minutes=30),
    )
    schedule.sync()
    # Another worker claimed the run, then died before finishing it.
    ScheduledJob.objects.filter(name="test.lease").update(claimed_until=at(2026, 11, 2, 9, 30))
    assert schedule.run_due(actor=Actor.system("worker")) == 0
    clock.move_to(at(2026, 11, 2, 9, 31))
    assert schedule.run_due(actor=Actor.system("worker")) == 1 and runs == [1]


def test_run_names_a_job(db, jobs):
    jobs.register("test.once", lambda *, actor: 7, every=datetime.timedelta(days=1))
    call_command("worker", "--run", "test.once")
    assert ScheduledJob.objects.get(name="test.once").last_result == "完成：7"
    with pytest.raises(CommandError):
        call_command("worker", "--run", "test.none")


# --- the real process ---------------------------------------------------------------------


class SharedDatabase:
    """The test database as another process can open it. PostgreSQL's is shared as it
    is; SQLite's in-memory one is copied to a file for the worker (`hand_over`) and the
    file copied back when it is done (`take_back`), so the test reads what it wrote."""

    def __init__(self, path):
        self.file = None
        if connection.vendor == "sqlite" and connection.is_in_memory_db():
            self.file = path / "worker.sqlite3"

    def hand_over(self) -> str:
        if connection.vendor == "postgresql":
            from tests.reliability.conftest import database_url

            return database_url()
        if self.file is None:  # already a file (JICENG_TEST_SQLITE)
            return f"sqlite:///{connection.settings_dict['NAME']}"
        with connection.cursor() as cursor:
            cursor.execute("VACUUM INTO %s", [str(self.file)])
        return f"sqlite:///{self.file}"

    def take_back(self) -> None:
        if self.file is not None:
            connection.ensure_connection()
            source = sqlite3.connect(self.file)
            source.backup(connection.connection)
            source.close()


@pytest.fixture
def shared_database(transactional_db, tmp_path):
    return SharedDatabase(tmp_path)


def worker_process(url: str, gateway, tmp_path, *args, path: str = "/send") -> subprocess.Popen:
    env = {
        **os.environ,
        "JICENG_DATABASE_URL": url,
        "JICENG_VAR_DIR": str(tmp_path / "var"),
        "JICENG_DB_CONN_MAX_AGE": "0",
        "JICENG_SMS_SENDER": "jiceng.core.senders.WebhookSender",
        "JICENG_SMS_WEBHOOK_URL": gateway.url.replace("/send", path),
        "JICENG_SMS_PER_HOUR_RECIPIENT": "0",
        "JICENG_OUTBOX_LEASE_SECONDS": "2",
        "JICENG_WORKER_POLL_SECONDS": "1",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "jiceng", "worker", *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def _queue(n: int) -> list[str]:
    outbox.put(
        outbox.sms(
            phone=f"139{i:08d}",
            template="waitlist_promoted",
            params={"title": "义诊进社区"},
            key=f"worker-test:{i}",
        )
        for i in range(n)
    )
    return [f"worker-test:{i}" for i in range(n)]


def test_a_worker_killed_mid_send_loses_nothing(shared_database, gateway, tmp_path):
    keys = _queue(5)
    url = shared_database.hand_over()
    gateway.held.set()  # the gateway takes the first message and does not answer
    first = worker_process(url, gateway, tmp_path)
    try:
        gateway.wait_for(1, timeout=60)
    finally:
        os.kill(first.pid, signal.SIGKILL)  # no shutdown code runs
        first.wait(timeout=10)
    gateway.held.clear()
    gateway.released.set()
    time.sleep(2.5)  # the dead worker's lease on its message runs out

    again = worker_process(url, gateway, tmp_path, "--once")
    assert again.wait(timeout=120) == 0, again.stderr.read()
    shared_database.take_back()

    received = [body["key"] for body in gateway.received]
    interrupted = received[0]
    assert sorted(set(received)) == sorted(keys)  # every message reached the gateway
    assert received.count(interrupted) == 2 and len(received) == 6  # that one again, same key
    for message in OutboxMessage.objects.all():
        assert message.status == S.SENT and message.payload == ""
        assert message.attempts == (2 if message.key == interrupted else 1)


def test_two_workers_at_once_send_each_message_once(shared_database, gateway, tmp_path):
    keys = _queue(150)
    url = shared_database.hand_over()
    gateway.delay = 0.02  # three seconds of sending for one worker: the two overlap
    workers = [worker_process(url, gateway, tmp_path, "--once", path=f"/worker{n}") for n in (1, 2)]
    for process in workers:
        assert process.wait(timeout=180) == 0, process.stderr.read()
    shared_database.take_back()

    received = [body["key"] for body in gateway.received]
    assert sorted(received) == sorted(keys)  # each exactly once
    assert {body["path"] for body in gateway.received} == {"/worker1", "/worker2"}
    assert set(OutboxMessage.objects.values_list("status", "attempts")) == {(S.SENT, 1)}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL")
def test_racing_claims_on_postgresql_have_one_winner_each():
    """Eight connections claim each of fifty messages at the same moment: each is claimed
    by exactly one (the conditional UPDATE re-reads the row it waited for; a check, then
    an update, lets several through)."""
    keys = _queue(50)
    pks = list(OutboxMessage.objects.filter(key__in=keys).values_list("pk", flat=True))
    barrier = threading.Barrier(8)
    wins: list[int] = []
    lock = threading.Lock()

    def claimer():
        try:
            for pk in pks:
                barrier.wait()  # all eight go for this message at the same moment
                if outbox.claim(pk):
                    with lock:
                        wins.append(pk)
        finally:
            connection.close()

    threads = [threading.Thread(target=claimer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(wins) == sorted(pks)
    assert set(OutboxMessage.objects.values_list("attempts", flat=True)) == {1}
