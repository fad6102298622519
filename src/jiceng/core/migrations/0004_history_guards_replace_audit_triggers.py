"""The audit trail's own triggers give way to core.history's, which guard every history
table alike and are put in after each migrate (so this drops, and adds nothing)."""

from django.db import migrations

DROP = {
    "postgresql": [
        "DROP TRIGGER IF EXISTS core_auditevent_append_only ON core_auditevent",
        "DROP FUNCTION IF EXISTS core_auditevent_append_only()",
    ],
    "sqlite": ["DROP TRIGGER IF EXISTS core_auditevent_no_update"],
}


def drop_audit_triggers(apps, schema_editor):
    for sql in DROP.get(schema_editor.connection.vendor, []):
        schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [("core", "0003_throttle_hit")]
    operations = [migrations.RunPython(drop_audit_triggers, migrations.RunPython.noop)]
