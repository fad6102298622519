"""Append-only history: the one base for every table that records what happened (the audit
trail, ledger entries and postings, request and activity events), and the database
triggers that hold it on PostgreSQL and SQLite alike.

A model that inherits `AppendOnly` is guarded twice. The ORM refuses `save()` of an
existing row, `delete()`, and a queryset's `update()` and `delete()` before anything
reaches the database (so a caller's transaction stays usable). The database refuses
UPDATE, DELETE and (PostgreSQL) TRUNCATE by triggers that `install_guards` puts on every
such table after each `migrate` — on SQLite a table rebuild (most `AlterField`s) drops a
table's triggers without a word, so they are checked and put back every time rather than
written once in a migration. Every refusal, from the ORM or from a trigger, is raised as
`AppendOnlyError`.

A model may let its rows be deleted once they are old enough (`deletable_after_days`,
counted from its `at` field): the audit trail is kept six months (等保 2.0) and may then
be archived and purged by the operator. Nothing is ever updated.

The one way past the DELETE and TRUNCATE triggers is `emptying`, for the test runner's
flush, which empties every table between tests that commit (see tests/conftest.py); a
test keeps every other module from calling it. `jiceng restore` needs no way past: it
replaces the whole database (SQLite's backup API, or PostgreSQL's schema dropped and
loaded) and deletes no row. The triggers guard against the application and against
mistakes; the database's owner can still drop them, which is why the points ledger is
also hash-chained (`jiceng points verify`).
"""

from contextlib import contextmanager

from django.apps import apps
from django.conf import settings
from django.db import IntegrityError, models, transaction
from django.db.backends.utils import truncate_name

# The text every trigger's refusal carries: how `as_append_only_error` recognizes one.
REFUSED = "append-only history"

# The bypass: a row in this table (not a model, so no flush empties it) opens DELETE and
# TRUNCATE. `emptying` adds it and takes it away inside one transaction, so no other
# connection ever sees it.
BYPASS_TABLE = "jiceng_history_bypass"

PG_FUNCTION = "jiceng_history_refuse"
PG_FUNCTION_SQL = f"""
CREATE OR REPLACE FUNCTION {PG_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'UPDATE' AND EXISTS (SELECT 1 FROM {BYPASS_TABLE}) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION '{REFUSED}: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'integrity_constraint_violation';
END
$$
"""  # noqa: S608  (constants)


class AppendOnlyError(IntegrityError):
    """A change to a history row, refused by the ORM or by the database."""


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError(f"{REFUSED}: {self.model.__name__} rows cannot be changed")

    def delete(self):
        raise AppendOnlyError(f"{REFUSED}: {self.model.__name__} rows cannot be deleted")


class AppendOnly(models.Model):
    """A history table: rows are added, never changed, and (unless `deletable_after_days`
    says when) never deleted. Corrections are new rows."""

    # Rows whose `at` is older than this many days may be deleted (archived); None: never.
    deletable_after_days: int | None = None

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError(f"{REFUSED}: {type(self).__name__} rows cannot be changed")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError(f"{REFUSED}: {type(self).__name__} rows cannot be deleted")


class StepEvent(AppendOnly):
    """One step of a process's item, as the process runner (core.process) appends it: who
    took it, and the state it left and reached. A process's event model adds the foreign
    key to its item (and, where it needs them, wider notes and data)."""

    at = models.DateTimeField("时间")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_label = models.CharField("操作方", max_length=64)
    action = models.CharField("动作", max_length=32)
    from_status = models.CharField("原状态", max_length=16, blank=True)
    to_status = models.CharField("新状态", max_length=16)
    note = models.CharField("说明", max_length=300, blank=True)

    class Meta:
        abstract = True


def append_only_models() -> list[type[models.Model]]:
    return [m for m in apps.get_models() if issubclass(m, AppendOnly)]


def _guards(model, vendor: str, max_name_length: int | None) -> dict[str, str]:
    """Trigger name → CREATE TRIGGER statement, for one model on one engine."""
    table = model._meta.db_table
    name = {op: truncate_name(f"{table}_history_no_{op}", max_name_length)
            for op in ("update", "delete", "truncate")}  # fmt: skip
    recent = ""  # the condition under which a DELETE is refused, besides the bypass
    if model.deletable_after_days is not None:
        at, days = model._meta.get_field("at").column, int(model.deletable_after_days)
        recent = {
            "postgresql": f"OLD.\"{at}\" > now() - interval '{days} days'",
            "sqlite": f"OLD.\"{at}\" > datetime('now', '-{days} days')",
        }[vendor]
    if vendor == "postgresql":
        run = f"EXECUTE FUNCTION {PG_FUNCTION}()"
        return {
            name["update"]: f'CREATE TRIGGER "{name["update"]}" BEFORE UPDATE ON "{table}" '
            f"FOR EACH ROW {run}",
            name["delete"]: f'CREATE TRIGGER "{name["delete"]}" BEFORE DELETE ON "{table}" '
            f"FOR EACH ROW {f'WHEN ({recent}) ' if recent else ''}{run}",
            name["truncate"]: f'CREATE TRIGGER "{name["truncate"]}" BEFORE TRUNCATE '
            f'ON "{table}" FOR EACH STATEMENT {run}',
        }
    if vendor == "sqlite":
        refused = f"NOT EXISTS (SELECT 1 FROM {BYPASS_TABLE})"  # noqa: S608  (constants)
        if recent:
            refused += f" AND {recent}"
        return {
            name["update"]: f'CREATE TRIGGER "{name["update"]}" BEFORE UPDATE ON "{table}" '
            f"BEGIN SELECT RAISE(ABORT, '{REFUSED}: UPDATE on {table} refused'); END",
            name["delete"]: f'CREATE TRIGGER "{name["delete"]}" BEFORE DELETE ON "{table}" '
            f"WHEN {refused} "
            f"BEGIN SELECT RAISE(ABORT, '{REFUSED}: DELETE on {table} refused'); END",
        }
    raise NotImplementedError(f"append-only history has no triggers for {vendor}")


def expected_guards(connection) -> dict[tuple[str, str], str]:
    """(table, trigger) → its CREATE TRIGGER statement, for every history table."""
    length = connection.ops.max_name_length()
    return {
        (model._meta.db_table, trigger): sql
        for model in append_only_models()
        for trigger, sql in _guards(model, connection.vendor, length).items()
    }


def present_guards(connection) -> set[tuple[str, str]]:
    """(table, trigger) of every trigger the database holds."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT c.relname, t.tgname FROM pg_trigger t "
                "JOIN pg_class c ON c.oid = t.tgrelid "
                "WHERE NOT t.tgisinternal AND pg_table_is_visible(c.oid)"
            )
        else:
            cursor.execute("SELECT tbl_name, name FROM sqlite_master WHERE type = 'trigger'")
        return {(table, name) for table, name in cursor.fetchall()}


def missing_guards(connection) -> list[tuple[str, str]]:
    """The triggers that a history table lacks (empty once `migrate` has run), and the
    bypass table if it is gone."""
    tables = set(connection.introspection.table_names())
    missing = sorted(set(expected_guards(connection)) - present_guards(connection))
    missing = [(table, trigger) for table, trigger in missing if table in tables]
    if BYPASS_TABLE not in tables:
        missing.insert(0, (BYPASS_TABLE, ""))
    return missing


def install_guards(connection) -> list[tuple[str, str]]:
    """Put back whatever `missing_guards` finds; return what was installed. Triggers that
    are there are left as they are: to change one, give it a new name."""
    missing = missing_guards(connection)
    if not missing:
        return []
    expected = expected_guards(connection)
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE IF NOT EXISTS {BYPASS_TABLE} (id integer PRIMARY KEY)")
        if connection.vendor == "postgresql":
            cursor.execute(PG_FUNCTION_SQL)
        for key in missing:
            if key in expected:
                cursor.execute(expected[key])
    return missing


def install_after_migrate(sender, using, **kwargs) -> None:
    """post_migrate receiver (connected once, for the core app)."""
    from django.db import connections

    install_guards(connections[using])


@contextmanager
def emptying(connection):
    """Let DELETE and TRUNCATE through the history triggers, in one transaction, on this
    connection only; UPDATE stays refused.

    Only for the test runner's flush, which empties every table between tests that
    commit. No application code calls it: `tests/core/test_history.py` fails if any other
    module names it. Whatever the block raises rolls the bypass back with the rest.
    """
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {BYPASS_TABLE} (id) VALUES (1)")  # noqa: S608  (constant)
        yield
        cursor.execute(f"DELETE FROM {BYPASS_TABLE}")  # noqa: S608  (constant)


def as_append_only_error(execute, sql, params, many, context):
    """Connection execute wrapper: a trigger's refusal is raised as AppendOnlyError, the
    one exception for a refused change to history on either engine."""
    try:
        return execute(sql, params, many, context)
    except IntegrityError as error:
        if REFUSED in str(error) and not isinstance(error, AppendOnlyError):
            raise AppendOnlyError(str(error)) from error
        raise


def wrap_connection(sender, connection, **kwargs) -> None:
    """connection_created receiver: every connection maps trigger refusals."""
    if as_append_only_error not in connection.execute_wrappers:
        connection.execute_wrappers.append(as_append_only_error)
