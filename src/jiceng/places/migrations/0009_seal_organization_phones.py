# Seal the phones already stored, in batches each committed on its own (a stopped run
# resumes: sealed rows are skipped).

from django.db import migrations

from jiceng.core.personal import seal_existing_rows


def seal(apps, schema_editor):
    seal_existing_rows(
        schema_editor.connection, table="places_organization", sealed={"contact_phone": "places.organization.contact_phone"}
    )


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        # The audit trail as it is now: a key seen for the first time is audited.
        ('core', '0007_merge_actor_kind_and_key_check'),
        ("places", "0008_organization_phone_sealed"),
        ("core", "0006_key_check"),
    ]

    operations = [migrations.RunPython(seal, migrations.RunPython.noop)]
