"""Good deeds are decided as kernel approvals (kind points.deed): each claim still
awaiting a decision gets its approval, asked by its proposer when they proposed it (so
the proposer still may not decide it)."""

from django.db import migrations


def ask_for_pending_claims(apps, schema_editor):
    DeedClaim = apps.get_model("points", "DeedClaim")
    Approval = apps.get_model("core", "Approval")
    ApprovalEvent = apps.get_model("core", "ApprovalEvent")
    for claim in DeedClaim.objects.filter(status="pending").select_related("rule__ledger"):
        object_id = str(claim.pk)
        if Approval.objects.filter(
            kind="points.deed", object_type="points.deedclaim", object_id=object_id
        ).exists():
            continue
        sign = "+" if claim.rule.kind == "deed" else "−"
        approval = Approval.objects.create(
            kind="points.deed",
            region_code=claim.rule.ledger.region_code,
            status="pending",
            summary=f"{claim.rule.name}（{sign}{claim.rule.points}）"[:200],
            reason=claim.description[:300],
            payload={"claim": claim.pk},
            object_type="points.deedclaim",
            object_id=object_id,
            requested_by_id=claim.proposed_by_id,
            requested_at=claim.proposed_at,
        )
        ApprovalEvent.objects.create(
            approval=approval,
            at=claim.proposed_at,
            actor_id=claim.proposed_by_id,
            actor_label="工作人员",
            action="ask",
            from_status="",
            to_status="pending",
            note=claim.description[:300],
        )


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0009_approvals"),
        ("points", "0008_counter_numbers_and_store_hours"),
    ]

    operations = [migrations.RunPython(ask_for_pending_claims, migrations.RunPython.noop)]
