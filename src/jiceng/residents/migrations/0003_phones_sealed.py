# Resident and one-time-code phones become sealed, with blind indexes (unique once filled, 0005).

import jiceng.core.personal
from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('residents', '0002_otp_limits_counted_by_address'),
        ('core', '0006_key_check'),
    ]

    operations = [
        migrations.AddField(
            model_name='onetimecode',
            name='phone_index',
            field=jiceng.core.personal.BlindIndexField(db_index=True, source='phone', verbose_name='手机号索引'),
        ),
        migrations.AddField(
            model_name='resident',
            name='phone_index',
            field=jiceng.core.personal.BlindIndexField(source='phone', verbose_name='手机号索引'),
        ),
        migrations.AlterField(
            model_name='onetimecode',
            name='phone',
            field=jiceng.core.personal.PersonalField(kind='phone', verbose_name='手机号'),
        ),
        migrations.AlterField(
            model_name='resident',
            name='phone',
            field=jiceng.core.personal.PersonalField(kind='phone', verbose_name='手机号'),
        ),
    ]
