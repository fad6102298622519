"""Once put the audit trail's first triggers in; core.history now guards every history
table after each migrate, and 0004 drops what this used to create."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial")]
    operations = []
