"""Once put the ledger's first triggers in; core.history now guards every history table
after each migrate, and 0007 drops what this used to create."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("points", "0002_initial")]
    operations = []
