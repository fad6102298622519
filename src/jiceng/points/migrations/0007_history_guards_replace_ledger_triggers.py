"""The ledger's own triggers give way to core.history's, which guard every history table
alike and are put in after each migrate (so this drops, and adds nothing)."""

from django.db import migrations

TABLES = ["points_journalentry", "points_posting"]
DROP = {
    "postgresql": [f"DROP TRIGGER IF EXISTS {t}_append_only ON {t}" for t in TABLES]
    + ["DROP FUNCTION IF EXISTS points_append_only()"],
    "sqlite": [f"DROP TRIGGER IF EXISTS {t}_no_update" for t in TABLES],
}


def drop_ledger_triggers(apps, schema_editor):
    for sql in DROP.get(schema_editor.connection.vendor, []):
        schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [("points", "0006_one_order_per_scan")]
    operations = [migrations.RunPython(drop_ledger_triggers, migrations.RunPython.noop)]
