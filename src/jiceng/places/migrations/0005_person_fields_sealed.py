# Person's ID number, birth date and phone become sealed columns with blind indexes
# beside them; 0006 seals the rows, 0007 indexes the new columns.

import jiceng.core.personal
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('places', '0004_move_checks'),
        ('core', '0006_key_check'),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='person',
            name='person_id_number_confirmed',
        ),
        migrations.RemoveIndex(
            model_name='person',
            name='person_id_number_pending',
        ),
        migrations.AddField(
            model_name='person',
            name='birth_year',
            field=jiceng.core.personal.YearOfField(source='birth_date', verbose_name='出生年份'),
        ),
        migrations.AddField(
            model_name='person',
            name='id_number_index',
            field=jiceng.core.personal.BlindIndexField(source='id_number', verbose_name='身份证号索引'),
        ),
        migrations.AddField(
            model_name='person',
            name='phone_index',
            field=jiceng.core.personal.BlindIndexField(source='phone', verbose_name='联系电话索引'),
        ),
        migrations.AlterField(
            model_name='person',
            name='birth_date',
            field=jiceng.core.personal.PersonalField(kind='date', verbose_name='出生日期'),
        ),
        migrations.AlterField(
            model_name='person',
            name='id_number',
            field=jiceng.core.personal.PersonalField(kind='id_number', verbose_name='身份证号'),
        ),
        migrations.AlterField(
            model_name='person',
            name='id_tail',
            field=jiceng.core.personal.BlindIndexField(source='id_number', tail=4, verbose_name='身份证号后四位索引'),
        ),
        migrations.AlterField(
            model_name='person',
            name='phone',
            field=jiceng.core.personal.PersonalField(blank=True, kind='phone', verbose_name='联系电话'),
        ),
        migrations.AlterField(
            model_name='person',
            name='phone_tail',
            field=jiceng.core.personal.BlindIndexField(source='phone', tail=4, verbose_name='电话后四位索引'),
        ),
    ]
