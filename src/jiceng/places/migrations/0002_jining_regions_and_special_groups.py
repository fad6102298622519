"""Load Jining's county-level divisions, the towns of 嘉祥县 and the other towns the
source articles name, and the list of special-group categories."""

import csv
from pathlib import Path

from django.db import migrations

DATA = Path(__file__).resolve().parent.parent / "data"


def load(apps, schema_editor):
    Region = apps.get_model("places", "Region")
    SpecialGroup = apps.get_model("places", "SpecialGroup")
    with open(DATA / "regions.csv", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    for row in sorted(rows, key=lambda r: len(r["code"])):
        code = row["code"]
        parent_length = {2: None, 4: 2, 6: 4, 9: 6}[len(code)]
        Region.objects.update_or_create(
            code=code,
            defaults={
                "name": row["name"],
                "level": row["level"],
                "parent_id": code[:parent_length] if parent_length else None,
                "is_statutory": row["is_statutory"] == "1",
                "is_rural": row["is_rural"] == "1",
            },
        )
    with open(DATA / "special_groups.csv", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            SpecialGroup.objects.update_or_create(code=row["code"], defaults={"name": row["name"]})


class Migration(migrations.Migration):
    dependencies = [("places", "0001_initial")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
