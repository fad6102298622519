"""Load Jining's county-level divisions, the towns of 嘉祥县 and the other towns the
source articles name, and the list of special-group categories."""

from django.db import migrations

from jiceng.places.reference import load


def forwards(apps, schema_editor):
    load(apps.get_model("places", "Region"), apps.get_model("places", "SpecialGroup"))


class Migration(migrations.Migration):
    dependencies = [("places", "0001_initial")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
