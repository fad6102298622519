"""Patrols and visits now belong to `patrols` (its 0001 took them over with their tables):
they leave this app's migration state, and a request's patrol points there. Nothing
changes in the database."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('cases', '0006_merge_deadlines_and_sealed_phones'),
        ('patrols', '0001_patrols_and_visits_from_cases'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='case',
                    name='patrol',
                    field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='findings', to='patrols.patrol', verbose_name='发现于巡查'),
                ),
                migrations.DeleteModel(name='Visit'),
                migrations.DeleteModel(name='Patrol'),
            ],
            database_operations=[],
        ),
    ]
