"""Activities run on gatherings: each activity's time, venue, places and check-in secret
move to a gathering of kind "activity" with the activity's own id (links to /a/<id>/ and
calendar UIDs keep working), venues and sign-ups move to the gatherings app keeping
their ids (the ledger's keys checkin:<sign-up> keep meaning the same sign-up), and each
gathering's phase is read from its activity's status. Teams may sit at any node.

One way only: the old tables are dropped once copied, so going back means restoring the
backup taken before the upgrade (`jiceng backup`), not migrating backwards."""

import django.db.models.deletion
from django.core.management.color import no_style
from django.db import migrations, models

import jiceng.core.fields

PHASE = """CASE status WHEN 'draft' THEN 'draft' WHEN 'published' THEN 'planned'
    WHEN 'claimed' THEN 'planned' WHEN 'signup' THEN 'open' WHEN 'held' THEN 'under_way'
    WHEN 'completed' THEN 'closed' WHEN 'settled' THEN 'closed' ELSE 'cancelled' END"""


def onto_gatherings(apps, schema_editor):
    run = schema_editor.execute
    run(
        "INSERT INTO gatherings_venue (id, region_code, name, kind, capacity, address,"
        " opens_at, closes_at, is_active) SELECT id, region_code, name, kind, capacity,"
        " address, opens_at, closes_at, is_active FROM activities_venue"
    )
    run(
        "INSERT INTO gatherings_gathering (id, kind, region_code, title, description,"
        " starts_at, ends_at, venue_id, place, capacity, audience, phase, public,"
        " check_in_secret, cancel_reason, sequence, created_at, updated_at)"
        " SELECT id, 'activity', region_code, title, description, starts_at, ends_at,"
        f" venue_id, place, capacity, 'open', {PHASE}, status <> 'draft', check_in_secret,"
        " cancel_reason, sequence, created_at, updated_at FROM activities_activity"
    )
    run("UPDATE activities_activity SET gathering_id = id")
    run(
        "INSERT INTO gatherings_signup (id, gathering_id, resident_id, status, created_at,"
        " checked_in_at, check_in_step, checked_out_at, attendance, reason, hours)"
        " SELECT id, activity_id, resident_id, status, created_at, checked_in_at,"
        " check_in_step, checked_out_at, attendance, '', hours FROM activities_signup"
    )
    moved = [apps.get_model("gatherings", name) for name in ("Venue", "Gathering", "SignUp")]
    for statement in schema_editor.connection.ops.sequence_reset_sql(no_style(), moved):
        run(statement)
    if schema_editor.connection.vendor == "postgresql":
        # Check the new rows' foreign keys now: the tables are altered next, in this
        # transaction, which PostgreSQL refuses while deferred checks are pending.
        run("SET CONSTRAINTS ALL IMMEDIATE")


class Migration(migrations.Migration):
    dependencies = [
        ("activities", "0004_check_ins_claim_attendance_the_leader_confirms"),
        ("gatherings", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="activity",
            name="gathering",
            field=models.OneToOneField(
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="gatherings.gathering",
                verbose_name="时间地点与报名",
            ),
        ),
        migrations.AddField(
            model_name="volunteerteam",
            name="parent",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="sub_teams",
                to="activities.volunteerteam",
                verbose_name="上级队伍",
            ),
        ),
        migrations.AlterField(
            model_name="volunteerteam",
            name="region_code",
            field=jiceng.core.fields.RegionCodeField(
                db_index=True, help_text="所属区划（社区、街道或县）"
            ),
        ),
        migrations.AlterField(
            model_name="activity",
            name="sequence",
            field=models.PositiveIntegerField(default=0, help_text="每一步加一", verbose_name="版本"),
        ),
        migrations.RunPython(onto_gatherings, elidable=False),
        migrations.AlterField(
            model_name="activity",
            name="gathering",
            field=models.OneToOneField(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="gatherings.gathering",
                verbose_name="时间地点与报名",
            ),
        ),
        migrations.AlterModelOptions(
            name="activity",
            options={
                "ordering": ["gathering__starts_at"],
                "verbose_name": "服务活动",
                "verbose_name_plural": "服务活动",
            },
        ),
        migrations.RemoveConstraint(model_name="activity", name="activity_times"),
        migrations.RemoveConstraint(model_name="activity", name="activity_capacity"),
        migrations.RemoveIndex(model_name="activity", name="activity_calendar_idx"),
        *(
            migrations.RemoveField(model_name="activity", name=name)
            for name in (
                "venue", "cancel_reason", "capacity", "check_in_secret", "description",
                "ends_at", "place", "starts_at", "title",
            )
        ),  # fmt: skip
        migrations.DeleteModel(name="SignUp"),
        migrations.DeleteModel(name="Venue"),
    ]
