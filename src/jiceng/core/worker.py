"""The one background process, `jiceng worker`: sends the outbox and runs the schedule.

It holds no state of its own: everything it does is claimed in the database with a
lease, so several may run (on one machine or several) and any may be killed at any time.
"""

import logging
import threading

from django.conf import settings
from django.db import DatabaseError, close_old_connections, connection, connections

from jiceng.core import outbox, schedule
from jiceng.core.actors import Actor

logger = logging.getLogger(__name__)


def run(*, actor: Actor, once: bool = False, stop: threading.Event | None = None) -> None:
    """Work until `stop` is set; with `once`, until nothing is due (messages waiting for
    a retry or under a cap are left for later). The schedule's jobs act as `actor` (the
    command passes `Actor.system("worker")`)."""
    stop = stop or threading.Event()
    poll = settings.JICENG_WORKER_POLL_SECONDS
    while not stop.is_set():
        if not connection.in_atomic_block:  # (run inside a caller's transaction: a test's)
            close_old_connections()  # as between requests: drop a connection gone bad
        try:
            busy = schedule.run_due(actor=actor) + outbox.deliver_due(stop=stop)
        except DatabaseError:
            if once:
                raise
            # The database restarted, or SQLite's writer held its lock past the timeout:
            # nothing claimed is lost (leases end), so wait and go on.
            logger.exception("The worker could not reach the database; trying again")
            connections.close_all()
            stop.wait(poll)
            continue
        if not busy:
            if once:
                return
            stop.wait(poll)
