# The phone becomes a sealed personal field (core.personal); the next migration seals the rows.

import jiceng.core.personal
from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('cases', '0003_notifications_sent_through_the_outbox'),
    ]

    operations = [
        migrations.AlterField(
            model_name='case',
            name='reporter_phone',
            field=jiceng.core.personal.PersonalField(blank=True, kind='phone', verbose_name='联系电话'),
        ),
    ]
