from django.db import migrations

from jiceng.activities.reference import load


def forwards(apps, schema_editor):
    load(apps.get_model("activities", "ServiceType"))


class Migration(migrations.Migration):
    dependencies = [("activities", "0002_initial")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
