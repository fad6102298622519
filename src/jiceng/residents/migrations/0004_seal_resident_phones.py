# Seal the phones already stored and fill their blind indexes, in batches each committed
# on its own (a stopped run resumes: sealed rows are skipped).

from django.db import migrations

from jiceng.core.personal import seal_existing_rows


def seal(apps, schema_editor):
    for table, label in (("residents_resident", "resident"), ("residents_onetimecode", "onetimecode")):
        seal_existing_rows(
            schema_editor.connection,
            table=table,
            sealed={"phone": f"residents.{label}.phone"},
            indexes={"phone_index": ("phone", f"residents.{label}.phone_index", None)},
        )


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("residents", "0003_phones_sealed"),
        # The audit trail as it is now: a key seen for the first time is audited.
        ("core", "0007_merge_actor_kind_and_key_check"),
    ]

    operations = [migrations.RunPython(seal, migrations.RunPython.noop)]
