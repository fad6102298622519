"""Long jobs that a page watches while they run: today roster imports and exports.

Messages and scheduled work do not come here: they go through the outbox and the
schedule, run by `jiceng worker` (core.outbox, core.schedule), which retry and survive a
restart. An import stays on a thread of the web server that took the upload because
it must read the uploaded file and write progress files beside it in MEDIA_ROOT (a
worker may run on another machine), because it holds one transaction open for minutes
(a worker busy with it would hold back one-time codes), and because a lost thread loses
nothing: the job is claimed by a conditional update, writes all of its rows or none,
and its page shows it as stalled after ten minutes without progress, to be uploaded
again.

In tests and management commands (`JICENG_TASKS_EAGER=1`) a job runs inline after
commit. Every job must be safe to run again: it reads its state from the database.
"""

import logging
import threading
from collections.abc import Callable

from django.conf import settings
from django.db import close_old_connections, connection, transaction

logger = logging.getLogger(__name__)


def _run(task: Callable, args: tuple) -> None:
    try:
        task(*args)
    except Exception:
        logger.exception("Task %s%r failed", task.__name__, args)
    finally:
        close_old_connections()
        connection.close()


def enqueue(task: Callable, *args) -> None:
    def start() -> None:
        if settings.JICENG_TASKS_EAGER:
            task(*args)
        else:
            threading.Thread(target=_run, args=(task, args), daemon=True).start()

    transaction.on_commit(start)
