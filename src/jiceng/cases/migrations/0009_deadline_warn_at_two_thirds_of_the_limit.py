"""A request's step turns yellow once two thirds of its time limit have passed, no longer
one working day before its due time: open deadline rows get their new warn_at."""

from django.db import migrations

OPEN = ("received", "accepted", "dispatched", "in_progress", "handled")


def rewarn(apps, schema_editor):
    from jiceng.core.calendar import WorkCalendar
    from jiceng.core.deadlines import warn_at

    Case = apps.get_model("cases", "Case")
    Deadline = apps.get_model("core", "Deadline")
    calendar = WorkCalendar()
    rows = Deadline.objects.filter(kind="case", closed_at__isnull=True).order_by("pk")
    last = 0
    while True:
        batch = list(rows.filter(pk__gt=last)[:1000])
        if not batch:
            return
        last = batch[-1].pk
        started = {
            pk: max(t for t in times if t is not None)
            for pk, *times in Case.objects.filter(
                pk__in=[row.object_id for row in batch], status__in=OPEN
            ).values_list("pk", "received_at", "dispatched_at", "handled_at")
        }
        changed = []
        for row in batch:
            if row.object_id in started:
                row.warn_at = warn_at(started[row.object_id], row.due_at, calendar)
                changed.append(row)
        Deadline.objects.bulk_update(changed, ["warn_at"])


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0008_reporter_phone_lookup_and_public_reply"),
        ("core", "0008_merge_deadlines_and_keys"),
    ]

    operations = [migrations.RunPython(rewarn, migrations.RunPython.noop)]
