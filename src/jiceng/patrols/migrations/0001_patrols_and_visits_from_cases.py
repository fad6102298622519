"""Patrols and visits were made in `cases`; they move to this app keeping their tables
(`cases_patrol`, `cases_patrol_buildings`, `cases_visit`): the models change app in the
migration state only, no row moves. Their content types follow them, so anything keyed
by content type still finds its rows. `cases` 0007 then drops them from its own state."""

import django.db.models.deletion
import jiceng.core.fields
from django.conf import settings
from django.db import migrations, models

MOVED = ("patrol", "visit")


def content_types_to(new: str, old: str):
    def move(apps, schema_editor):
        ContentType = apps.get_model("contenttypes", "ContentType")
        for model in MOVED:
            if not ContentType.objects.filter(app_label=new, model=model).exists():
                ContentType.objects.filter(app_label=old, model=model).update(app_label=new)
        ContentType.objects.clear_cache()

    return move


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('cases', '0006_merge_deadlines_and_sealed_phones'),
        ('contenttypes', '0002_remove_content_type_name'),
        ('places', '0010_import_files_sealed'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='Patrol',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('region_code', jiceng.core.fields.RegionCodeField(db_index=True, help_text='网格')),
                        ('started_at', models.DateTimeField(db_index=True, verbose_name='开始时间')),
                        ('ended_at', models.DateTimeField(verbose_name='结束时间')),
                        ('checked_facilities', models.BooleanField(default=False, verbose_name='区域设施已查清')),
                        ('checked_people', models.BooleanField(default=False, verbose_name='人员情况已查清')),
                        ('checked_hazards', models.BooleanField(default=False, verbose_name='矛盾隐患已查清')),
                        ('notes', models.TextField(blank=True, max_length=2000, verbose_name='巡查记录')),
                        ('buildings', models.ManyToManyField(blank=True, to='places.building', verbose_name='走过的楼栋')),
                        ('worker', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='patrols', to=settings.AUTH_USER_MODEL, verbose_name='网格员')),
                    ],
                    options={
                        'verbose_name': '巡查',
                        'verbose_name_plural': '巡查',
                        'db_table': 'cases_patrol',
                        'ordering': ['-started_at'],
                    },
                ),
                migrations.CreateModel(
                    name='Visit',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('region_code', jiceng.core.fields.RegionCodeField(db_index=True)),
                        ('at', models.DateTimeField(db_index=True, verbose_name='走访时间')),
                        ('notes', models.TextField(max_length=2000, verbose_name='走访情况')),
                        ('household', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='visits', to='places.household', verbose_name='户')),
                        ('patrol', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='visits', to='patrols.patrol', verbose_name='所属巡查')),
                        ('worker', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='visits', to=settings.AUTH_USER_MODEL, verbose_name='走访人')),
                    ],
                    options={
                        'verbose_name': '走访',
                        'verbose_name_plural': '走访',
                        'db_table': 'cases_visit',
                        'ordering': ['-at'],
                    },
                ),
                migrations.AddConstraint(
                    model_name='patrol',
                    constraint=models.CheckConstraint(condition=models.Q(('ended_at__gte', models.F('started_at'))), name='patrol_ends_after_start'),
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(
            content_types_to("patrols", "cases"), content_types_to("cases", "patrols")
        ),
    ]
