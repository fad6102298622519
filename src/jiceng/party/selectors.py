"""Scoped reads of party organizations and first secretaries."""

from django.db.models import Count, QuerySet

from jiceng.core.access import require, scope_filter
from jiceng.core.errors import NotFound
from jiceng.party.models import FirstSecretary, PartyMember, PartyOrganization

ORGANIZATION = "party.partyorganization"


def organization_list(*, user, region_code: str):
    require(user, "party.view", region_code)
    return (
        PartyOrganization.objects.filter(region_code__within=region_code)
        .exclude(kind=PartyOrganization.Kind.MEMBER_HOUSEHOLD)
        .select_related("secretary")
        .annotate(member_count=Count("members"))
        .order_by("region_code", "kind", "name")
    )


def organization_counts(*, user, region_code: str) -> list[tuple[str, int]]:
    """(kind label, count) of the party organizations under a node, top level first."""
    require(user, "party.view", region_code)
    rows = (
        PartyOrganization.objects.filter(region_code__within=region_code)
        .values("kind")
        .annotate(n=Count("pk"))
        .order_by()
    )
    counts = {row["kind"]: row["n"] for row in rows}
    return [
        (label, counts[kind]) for kind, label in PartyOrganization.Kind.choices if kind in counts
    ]


def first_secretary_list(*, user):
    return scope_filter(FirstSecretary.objects.all(), user, "party.view").order_by(
        "region_code", "term_start", "pk"
    )


def organization_get(*, user, pk: int) -> PartyOrganization:
    """One party organization, for a role at its region or an assignment to it (its
    secretary): a branch's secretary sees their branch, not the next one in the grid."""
    organization = PartyOrganization.objects.filter(pk=pk).first()
    if organization is None:
        raise NotFound()
    require(user, "party.view", obj=organization)
    return organization


def member_list(*, user, organization: PartyOrganization | None = None) -> QuerySet:
    """Party members in the user's scope or in the organizations assigned to them."""
    members = scope_filter(
        PartyMember.objects.all(), user, "party.view", via={ORGANIZATION: "organization"}
    )
    if organization is not None:
        members = members.filter(organization=organization)
    return members.select_related("person", "organization").order_by("organization", "id")
