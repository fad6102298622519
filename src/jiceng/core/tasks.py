"""Background work after commit. A task is a module-level function taking IDs.

In tests and management commands (`JICENG_TASKS_EAGER=1`) it runs inline after commit;
in the web server it runs on a thread, so a page can show progress while it works.
Every task must be safe to run again: it reads its state from the database.
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
