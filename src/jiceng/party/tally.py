"""The overview's counted figures (组织部总览): each open party organization's members by
category, those without a person, on the move and whose probation is due, and whether a
branch's organization life is behind this quarter. Counted over every member and meeting
by the worker every few minutes (`party.tally`), not at each view of a county's 400,000
members; the overview sums the rows and shows when they were counted."""

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from jiceng.party.models import PartyMember, PartyOrganization, Tally
from jiceng.party.selectors import (
    KEEPS_LIFE,
    TALLIED,
    fetch_rows,
    life_rows,
    probation_due_q,
    quarter_of,
)


def tally_count(*, actor=None, region_code: str = "") -> int:
    """Count again every open organization (under `region_code`, if given) and replace
    its rows in one transaction; returns how many. Safe to run twice."""
    today = timezone.localdate()
    now = timezone.now()
    quarter = quarter_of(today)
    organizations = PartyOrganization.objects.filter(closed_on__isnull=True)
    if region_code:
        organizations = organizations.filter(region_code__within=region_code)
    per_organization = (
        PartyMember.objects.filter(organization__in=organizations, left_on__isnull=True)
        .values_list("organization")
        .annotate(
            **{c: Count("pk", filter=Q(category=c)) for c in PartyMember.Category.values},
            without_person=Count("pk", filter=Q(person__isnull=True)),
            probation_due=Count("pk", filter=probation_due_q(today)),
            mobile=Count("pk", filter=~Q(mobility="")),
        )
        .order_by()
    )
    counts = {pk: dict(zip(TALLIED, n, strict=True)) for pk, *n in fetch_rows(per_organization)}
    behind = {
        row.organization_id
        for row in life_rows(organizations.filter(kind__in=KEEPS_LIFE), quarter, with_place=False)
        if row.behind
    }
    rows = [
        Tally(
            organization_id=pk,
            region_code=code,
            quarter=quarter,
            behind=pk in behind,
            counted_at=now,
            **counts.get(pk, {}),
        )
        for pk, code in organizations.values_list("pk", "region_code").order_by()
    ]
    with transaction.atomic():
        stale = Tally.objects.all()
        if region_code:
            stale = stale.filter(region_code__within=region_code)
        stale.delete()
        Tally.objects.bulk_create(rows, batch_size=2000)
    return len(rows)
