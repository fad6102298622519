# The phone becomes a sealed personal field (core.personal); the next migration seals the rows.

import jiceng.core.personal
from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('places', '0007_person_blind_index_constraints'),
    ]

    operations = [
        migrations.AlterField(
            model_name='organization',
            name='contact_phone',
            field=jiceng.core.personal.PersonalField(blank=True, kind='phone', verbose_name='联系电话'),
        ),
    ]
