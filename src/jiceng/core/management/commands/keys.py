"""`jiceng keys status|rotate|reindex`: the master keys of personal data (core.keys)."""

import time

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import connection, transaction

from jiceng.core import audit, keys
from jiceng.core.actors import Actor
from jiceng.core.bulk import table_batches
from jiceng.core.models import KeyCheck
from jiceng.core.personal import BlindIndexField, PersonalField

BATCH = 1000


def sealed_fields():
    """(model, [PersonalField …]) of every model that has personal fields."""
    for model in apps.get_models():
        fields = [f for f in model._meta.concrete_fields if isinstance(f, PersonalField)]
        if fields:
            yield model, fields


def index_fields():
    for model in apps.get_models():
        fields = [f for f in model._meta.concrete_fields if isinstance(f, BlindIndexField)]
        if fields:
            yield model, fields


def rotate(ring: keys.Keyring, batch: int = BATCH) -> int:
    """Re-seal every value not under the current key, a batch per transaction; each
    update is conditional on the old ciphertext, so a value written meanwhile (already
    under the current key) is left alone. Returns the values re-sealed."""
    quote = connection.ops.quote_name
    prefix = ring.current.id + keys.SEPARATOR
    done = 0
    for model, fields in sealed_fields():
        table = model._meta.db_table
        columns = [f.column for f in fields]
        for cursor, rows in table_batches(table, columns, batch):
            for index, (field, column) in enumerate(zip(fields, columns, strict=True)):
                update = (
                    f"UPDATE {quote(table)} SET {quote(column)} = %s "  # noqa: S608
                    f"WHERE id = %s AND {quote(column)} = %s"
                )
                changes = [
                    [ring.seal(ring.open(row[index + 1], field.context), field.context),
                     row[0], row[index + 1]]
                    for row in rows
                    if row[index + 1] and not row[index + 1].startswith(prefix)
                ]  # fmt: skip
                if changes:
                    cursor.executemany(update, changes)
                    done += len(changes)
    audit.record(
        actor=Actor.system("jiceng keys"),
        action="system.keys_rotate",
        object_type="core.keycheck",
        object_id=ring.current.id,
        detail={"resealed": done},
    )
    return done


def reindex(ring: keys.Keyring, batch: int = BATCH) -> int:
    """Recompute every blind index under the current key (offline: a lookup meanwhile
    finds rows of one key or the other, not both). Returns the rows rewritten."""
    done = 0
    for model, fields in index_fields():
        sources = sorted({f.source for f in fields})
        quote = connection.ops.quote_name
        update = (
            f"UPDATE {quote(model._meta.db_table)} SET "  # noqa: S608
            + ", ".join(f"{quote(f.column)} = %s" for f in fields)
            + f" WHERE {quote(model._meta.pk.column)} = %s"
        )
        last = 0
        while True:
            rows = list(
                model._default_manager.filter(pk__gt=last)
                .order_by("pk")
                .values_list("pk", *sources)[:batch]
            )
            if not rows:
                break
            changes = []
            for row_pk, *values in rows:
                source = dict(zip(sources, values, strict=True))
                digests = []
                for field in fields:
                    value = source[field.source]
                    digests.append("" if not value else _digest(ring, field, value))
                changes.append([*digests, row_pk])
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.executemany(update, changes)
            done += len(changes)
            last = rows[-1][0]
    with transaction.atomic():
        KeyCheck.objects.filter(holds_indexes=True).update(holds_indexes=False)
        KeyCheck.objects.filter(key_id=ring.current.id).update(holds_indexes=True)
        audit.record(
            actor=Actor.system("jiceng keys"),
            action="system.keys_reindex",
            object_type="core.keycheck",
            object_id=ring.current.id,
            detail={"rows": done},
        )
    ring.index = ring.current
    return done


def _digest(ring, field, value) -> str:
    from jiceng.core.personal import clear

    value = clear(value)
    value = value.isoformat() if hasattr(value, "isoformat") else str(value)
    if field.tail:
        value = value[-field.tail :]
    return ring.blind_index(value, field.purpose, key=ring.current)


class Command(BaseCommand):
    help = (
        "status: the master keys the database knows. "
        "rotate: after a new JICENG_MASTER_KEY is set (the old one moved to "
        "JICENG_MASTER_KEYS_PREVIOUS), re-seal every personal value under it, in batches, "
        "while the site runs (measured on PostgreSQL on a loaded 2-core machine: about "
        "250 µs a person, some 35 minutes for Jining's 8 million persons, plus about 80 µs "
        "for each other sealed value: requests' and accounts' phones). "
        "reindex: then recompute the blind indexes under the new key, with the web server "
        "stopped, since a lookup meanwhile would miss the rows not yet done (about 90 µs a "
        "person: some 12 minutes for the city's persons, plus its residents); after it "
        "the old key may be dropped."
    )

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["status", "rotate", "reindex"])
        parser.add_argument("--batch", type=int, default=BATCH)

    def handle(self, *args, action, batch, **options):
        ring = keys.verify()
        if action == "status":
            for record in KeyCheck.objects.order_by("added_at"):
                marks = []
                if record.key_id == ring.current.id:
                    marks.append("current")
                if record.holds_indexes:
                    marks.append("blind indexes")
                if record.key_id not in ring.keys:
                    marks.append("not configured")
                self.stdout.write(f"{record.key_id}  {', '.join(marks)}")
            return
        started = time.monotonic()
        count = rotate(ring, batch) if action == "rotate" else reindex(ring, batch)
        seconds = time.monotonic() - started
        self.stdout.write(f"{action}: {count} in {seconds:.1f} s")
