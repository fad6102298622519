"""Refusals that leave a trace: a failure counted or audited in a write that survives the
refusal, however deep in the service's transaction the refusal is raised.

A service whose refusals must be recorded (a wrong one-time code, a denied reveal, a
throttled sign-in) runs under `refusals.atomic` instead of `transaction.atomic`, and
writes each such record with `keep` (or refuses with `refuse`). A kept write happens at
once, inside the transaction; if the transaction then rolls back, for whatever reason,
the kept writes are done again in a transaction of their own, after the rollback. A kept
write may therefore only touch rows that existed before the transaction began (counters,
audit events naming existing accounts).

`refusals.atomic` is durable: it refuses to run inside another (non-test) transaction,
which could otherwise roll the kept writes back a second time.
"""

import functools
from collections.abc import Callable
from contextvars import ContextVar
from typing import NoReturn

from django.db import connection, transaction

from jiceng.core.errors import DomainError

_kept: ContextVar[list[Callable[[], object]] | None] = ContextVar("kept_writes", default=None)


def _in_real_transaction() -> bool:
    """In a transaction of the application's own (a test case's wrapper does not count)."""
    return any(not getattr(block, "_from_testcase", False) for block in connection.atomic_blocks)


def keep(write: Callable[[], object]) -> None:
    """Do `write` now; if the surrounding `refusals.atomic` rolls back, do it again after."""
    kept = _kept.get()
    if kept is None and _in_real_transaction():
        raise RuntimeError(
            "refusals.keep() inside a transaction that refusals.atomic does not own: "
            "a rollback would lose the write"
        )
    token = _kept.set([])  # what `write` keeps itself is done again with it, not apart
    try:
        write()
    finally:
        _kept.reset(token)
    if kept is not None:
        kept.append(write)


def refuse(error: DomainError, *, record: Callable[[], object]) -> NoReturn:
    """Record the failure where the refusal cannot roll it back, then refuse."""
    keep(record)
    raise error


def atomic(func: Callable) -> Callable:
    """`transaction.atomic` for services that record their refusals (see the module)."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        outer = _kept.get()
        if outer is not None:  # called from another such service: its wrapper keeps them
            return func(*args, **kwargs)
        kept: list[Callable[[], object]] = []
        token = _kept.set(kept)
        try:
            with transaction.atomic(durable=True):
                return func(*args, **kwargs)
        except BaseException:
            if kept:
                _kept.set([])
                with transaction.atomic(durable=True):
                    for write in kept:
                        write()
            raise
        finally:
            _kept.reset(token)

    return wrapper
