"""Writing many rows fast: COPY on PostgreSQL, batched INSERTs on SQLite."""

from django.core.management.color import no_style
from django.db import connection


def bulk_insert(model, fields: list[str], rows) -> int:
    """Insert `rows` (tuples in the order of `fields`) into `model`'s table.

    No model logic runs: callers pass complete, validated rows. Returns the row count.
    """
    rows = list(rows)
    if not rows:
        return 0
    if connection.vendor == "postgresql":
        quote = connection.ops.quote_name
        columns = ", ".join(quote(model._meta.get_field(f).column) for f in fields)
        with (
            connection.cursor() as cursor,
            cursor.copy(f"COPY {quote(model._meta.db_table)} ({columns}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)
    else:
        attnames = [model._meta.get_field(f).attname for f in fields]
        model.objects.bulk_create(
            [model(**dict(zip(attnames, row, strict=True))) for row in rows], batch_size=1000
        )
    return len(rows)


def reset_sequences(*models) -> None:
    """After inserting explicit primary keys, move PostgreSQL's id sequences past them."""
    statements = connection.ops.sequence_reset_sql(no_style(), models)
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)
