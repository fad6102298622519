# The phone becomes a sealed personal field (core.personal); the next migration seals the rows.

import jiceng.core.personal
from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('party', '0001_initial'),
    ]

    operations = [
        migrations.AlterField(
            model_name='firstsecretary',
            name='phone',
            field=jiceng.core.personal.PersonalField(blank=True, kind='phone', verbose_name='联系电话'),
        ),
    ]
