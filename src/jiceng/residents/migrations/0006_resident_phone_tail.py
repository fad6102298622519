# The last four digits of each resident's phone as a blind index, for the points ledger's
# search; the phones already stored get theirs from their sealed value.

from django.db import migrations

import jiceng.core.personal


def fill(apps, schema_editor):
    Resident = apps.get_model("residents", "Resident")
    last = 0
    while True:
        rows = list(
            Resident.objects.filter(pk__gt=last).order_by("pk").values_list("pk", "phone")[:1000]
        )
        if not rows:
            break
        for pk, phone in rows:  # the field hashes the clear phone's tail on the way in
            Resident.objects.filter(pk=pk).update(phone_tail=phone)
        last = rows[-1][0]


class Migration(migrations.Migration):
    dependencies = [
        ("residents", "0005_resident_phone_index_unique"),
    ]

    operations = [
        migrations.AddField(
            model_name="resident",
            name="phone_tail",
            field=jiceng.core.personal.BlindIndexField(
                db_index=True, source="phone", tail=4, verbose_name="手机号后四位索引"
            ),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
