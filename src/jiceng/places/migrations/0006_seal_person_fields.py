# Seal the ID numbers, birth dates and phones of existing persons and fill their blind
# indexes: in batches, each committed on its own, so a run stopped halfway goes on from
# where it stopped (rows already sealed are skipped).

from django.db import migrations

from jiceng.core.personal import seal_existing_rows


def seal(apps, schema_editor):
    seal_existing_rows(
        schema_editor.connection,
        table="places_person",
        sealed={
            "id_number": "places.person.id_number",
            "birth_date": "places.person.birth_date",
            "phone": "places.person.phone",
        },
        indexes={
            "id_number_index": ("id_number", "places.person.id_number_index", None),
            "id_tail": ("id_number", "places.person.id_tail", 4),
            "phone_index": ("phone", "places.person.phone_index", None),
            "phone_tail": ("phone", "places.person.phone_tail", 4),
        },
        years={"birth_year": "birth_date"},
    )


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        # The audit trail as it is now: a key seen for the first time is audited.
        ('core', '0007_merge_actor_kind_and_key_check'),
        ('places', '0005_person_fields_sealed'),
    ]

    operations = [migrations.RunPython(seal, migrations.RunPython.noop)]
