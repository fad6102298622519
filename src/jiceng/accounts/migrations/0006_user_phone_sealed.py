# The phone becomes a sealed personal field (core.personal); the next migration seals the rows.

import jiceng.core.personal
from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0005_separation_of_duties'),
    ]

    operations = [
        migrations.AlterField(
            model_name='user',
            name='phone',
            field=jiceng.core.personal.PersonalField(blank=True, kind='phone', verbose_name='手机号'),
        ),
    ]
