"""Every open request gets its deadline row, which the process runner keeps from now on."""

from django.db import migrations

OPEN = ("received", "accepted", "dispatched", "in_progress", "handled")


def backfill(apps, schema_editor):
    from jiceng.core.deadlines import backfill as open_rows

    Case = apps.get_model("cases", "Case")
    Deadline = apps.get_model("core", "Deadline")
    rows = (
        Case.objects.filter(status__in=OPEN, due_at__isnull=False)
        .order_by("pk")
        .values_list("pk", "region_code", "received_at", "dispatched_at", "handled_at", "due_at")
        .iterator(chunk_size=2000)
    )
    # The current step started at the latest of these (what core.deadlines.backfill takes
    # since warn_at is two thirds of the step's time limit).
    items = (
        (pk, region_code, max(t for t in times if t is not None), due_at)
        for pk, region_code, *times, due_at in rows
    )
    open_rows("case", items, model=Deadline)


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0003_notifications_sent_through_the_outbox"),
        ("core", "0007_deadline_rows"),
    ]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
