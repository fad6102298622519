from django.db import migrations, models
from django.db.models import Q


def attendance_from_check_ins(apps, schema_editor):
    """What counted as attended before keeps counting: a leader's mark, and any check-in of
    an activity whose attendance is already final; a check-in of an activity still under
    way becomes a claim for its leader to confirm."""
    SignUp = apps.get_model("activities", "SignUp")
    final = ("completed", "settled")
    SignUp.objects.filter(
        Q(marked_by_leader=True) | Q(checked_in_at__isnull=False, activity__status__in=final)
    ).update(attendance="confirmed")
    SignUp.objects.filter(checked_in_at__isnull=False, attendance="").update(attendance="claimed")


def marks_from_attendance(apps, schema_editor):
    SignUp = apps.get_model("activities", "SignUp")
    SignUp.objects.filter(attendance="confirmed", checked_in_at__isnull=True).update(
        marked_by_leader=True
    )


class Migration(migrations.Migration):
    dependencies = [
        ("activities", "0003_service_types"),
    ]

    operations = [
        migrations.AddField(
            model_name="signup",
            name="attendance",
            field=models.CharField(
                blank=True,
                choices=[
                    ("", "未签到"),
                    ("claimed", "已签到，待确认"),
                    ("confirmed", "已确认出勤"),
                    ("struck", "未出勤"),
                ],
                default="",
                max_length=16,
                verbose_name="出勤",
            ),
        ),
        migrations.AddField(
            model_name="signup",
            name="check_in_step",
            field=models.PositiveBigIntegerField(
                blank=True,
                help_text="签到所用签到码的时段编号",
                null=True,
                verbose_name="签到码时段",
            ),
        ),
        migrations.RunPython(attendance_from_check_ins, marks_from_attendance),
        migrations.RemoveField(
            model_name="signup",
            name="marked_by_leader",
        ),
        migrations.AddConstraint(
            model_name="signup",
            constraint=models.CheckConstraint(
                condition=Q(("attendance", "claimed"), _negated=True)
                | Q(checked_in_at__isnull=False),
                name="signup_claim_is_a_check_in",
            ),
        ),
    ]
