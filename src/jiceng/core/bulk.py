"""Writing many rows fast: ids handed out before the insert, then COPY on PostgreSQL or
batched INSERTs on SQLite; and walking a whole table a batch at a time."""

from django.db import connection, transaction
from psycopg.types.json import Jsonb

from jiceng.core import keys


def bulk_insert(model, fields: list[str], rows) -> int:
    """Insert `rows` (tuples in the order of `fields`) into `model`'s table.

    No model logic runs: callers pass complete, validated rows (auto_now fields included).
    Returns the row count.
    """
    with RowStream(model, fields) as stream:
        for row in rows:
            stream.write(row)
    return stream.count


class RowStream:
    """An open insert into one table: rows go to the database as they are written, so the
    server works on them while the caller prepares the next ones (COPY on PostgreSQL,
    INSERTs of 1,000 rows on SQLite). No other query may run on the connection meanwhile.
    """

    BATCH = 1000

    def __init__(self, model, fields: list[str]):
        self.model = model
        self.fields = fields
        self.count = 0
        self._copy_context = None
        self._copy = None
        self._pending: list[tuple] = []

    def __enter__(self):
        if connection.vendor == "postgresql":
            # Rows carrying sealed values are sealed while the stream is open, and the
            # first seal verifies the key against the database: it must not wait until
            # the connection is busy with COPY.
            keys.verify()
            quote = connection.ops.quote_name
            meta = self.model._meta
            columns = ", ".join(quote(meta.get_field(f).column) for f in self.fields)
            # COPY does not know dicts: JSON columns go as jsonb.
            self._json = [
                i
                for i, f in enumerate(self.fields)
                if meta.get_field(f).get_internal_type() == "JSONField"
            ]
            self._cursor = connection.cursor()
            self._copy_context = self._cursor.copy(
                f"COPY {quote(meta.db_table)} ({columns}) FROM STDIN"
            )
            self._copy = self._copy_context.__enter__()
        else:
            meta = self.model._meta
            self._attnames = [meta.get_field(f).attname for f in self.fields]
        return self

    def write(self, row: tuple) -> None:
        self.count += 1
        if self._copy is not None:
            if self._json:
                row = list(row)
                for index in self._json:
                    row[index] = Jsonb(row[index])
            with connection.wrap_database_errors:  # psycopg's errors as Django's
                self._copy.write_row(row)
            return
        self._pending.append(row)
        if len(self._pending) >= self.BATCH:
            self._flush()

    def _flush(self) -> None:
        self.model.objects.bulk_create(
            [self.model(**dict(zip(self._attnames, row, strict=True))) for row in self._pending]
        )
        self._pending = []

    def __exit__(self, kind, error, traceback):
        if self._copy_context is not None:
            try:
                with connection.wrap_database_errors:
                    return self._copy_context.__exit__(kind, error, traceback)
            finally:
                self._cursor.close()
        if kind is None and self._pending:
            self._flush()
        return False


class IdAllocator:
    """Primary keys for new rows, handed out without a query each, so that new rows can
    point at one another before any of them is written.

    Use inside a transaction and `close()` before it commits. On PostgreSQL the tables are
    locked against other writers until the transaction ends (readers carry on), the ids
    continue the tables' sequences, and `close()` moves each sequence past the last id
    handed out. On SQLite there is one writer at a time anyway; ids continue after both
    the largest id in use and the table's AUTOINCREMENT counter, so none is ever reused.
    """

    def __init__(self, *models):
        if not connection.in_atomic_block:
            raise RuntimeError("IdAllocator needs a transaction")
        self._next: dict = {}
        self._models = sorted(models, key=lambda m: m._meta.db_table)  # one lock order
        quote = connection.ops.quote_name
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                tables = ", ".join(quote(m._meta.db_table) for m in self._models)
                cursor.execute(f"LOCK TABLE {tables} IN SHARE ROW EXCLUSIVE MODE")
                for model in self._models:
                    cursor.execute("SELECT nextval(%s)", [self._sequence(model)])
                    self._next[model] = cursor.fetchone()[0]
                return
            for model in self._models:
                table, column = model._meta.db_table, model._meta.pk.column
                cursor.execute(f"SELECT MAX({quote(column)}) FROM {quote(table)}")  # noqa: S608
                largest = cursor.fetchone()[0] or 0
                cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
                counter = cursor.fetchone()
                self._next[model] = max(largest, counter[0] if counter else 0) + 1

    @staticmethod
    def _sequence(model) -> str:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_get_serial_sequence(%s, %s)",
                [model._meta.db_table, model._meta.pk.column],
            )
            return cursor.fetchone()[0]

    def take(self, model) -> int:
        value = self._next[model]
        self._next[model] = value + 1
        return value

    def close(self) -> None:
        if connection.vendor != "postgresql":
            return
        with connection.cursor() as cursor:
            for model in self._models:
                cursor.execute(
                    "SELECT setval(%s, %s, false)", [self._sequence(model), self._next[model]]
                )


def table_batches(table: str, columns: list[str], size: int, *, using=None):
    """(cursor, rows) for every batch of `size` rows of `table` in key order, each batch in
    its own transaction: the caller writes the batch's changes with the cursor before
    taking the next. For jobs over whole tables (sealing, re-sealing) that must not hold
    one long transaction and that resume, if stopped, from what they have done. Each row
    is (id, *columns); `table` and `columns` are quoted here."""
    db = using or connection
    quote = db.ops.quote_name
    select = (
        f"SELECT id, {', '.join(quote(c) for c in columns)} FROM {quote(table)} "  # noqa: S608
        f"WHERE id > %s ORDER BY id LIMIT {int(size)}"
    )
    last = 0
    while True:
        with transaction.atomic(using=db.alias), db.cursor() as cursor:
            cursor.execute(select, [last])
            rows = cursor.fetchall()
            if rows:
                yield cursor, rows
        if len(rows) < size:
            return
        last = rows[-1][0]
