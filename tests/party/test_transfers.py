"""Membership transfers (组织关系转接): a declared process with a working-day deadline,
each side's step taken by that side's keepers, the membership moving on acceptance."""

import datetime

import pytest
from django.utils import timezone

from jiceng.accounts.models import Membership
from jiceng.core.actors import Actor
from jiceng.core.deadlines import Clock
from jiceng.core.errors import DomainError, NotFound
from jiceng.core.models import AuditEvent, Deadline
from jiceng.party import selectors, services
from jiceng.party.models import Appointment, PartyMember, PartyOrganization, Transfer
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
TODAY = datetime.date.today()


@pytest.fixture
def member(world):
    return PartyMember.objects.get(organization=world.branch_a, person=world.person_a)


def _secretary_of(branch, grid_code: str):
    account = UserFactory(region_code=grid_code)
    Membership.objects.create(
        user=account, role="branch_secretary", object_id=branch.pk, region_code=grid_code
    )
    return Actor.staff(account)


def test_a_transfer_goes_through_both_branches_and_moves_the_membership(world, member):
    leaving = Actor.staff(world.a("branch_secretary"))
    joining = _secretary_of(world.branch_b, world.grid_b.code)
    department = Actor.staff(world.a("org_department"))
    Appointment.objects.create(
        region_code=world.branch_a.region_code, organization=world.branch_a,
        person=world.person_a, post="deputy", started_on=datetime.date(2024, 1, 1),
    )  # fmt: skip
    found = selectors.transfer_targets(user=leaving, member=member, query="卧龙山第1网格")
    assert found == [world.branch_b]
    transfer = services.transfer_request(
        actor=leaving, member=member, to_organization=world.branch_b, reason="居住地变更"
    )
    assert transfer.status == Transfer.Status.REQUESTED
    deadline = Deadline.objects.get(kind="party_transfer", object_id=transfer.pk)
    assert deadline.due_at == transfer.due_at and deadline.closed_at is None
    assert transfer.due_at.date() >= TODAY + datetime.timedelta(days=13)  # 10 working days
    # The joining branch cannot take the leaving branch's step, nor the reverse.
    with pytest.raises(NotFound):
        services.transfer_release(actor=joining, transfer=transfer)
    services.transfer_release(actor=leaving, transfer=transfer)
    with pytest.raises(NotFound):
        services.transfer_accept(actor=leaving, transfer=transfer)
    # The joining branch sees it; the second branch of grid A does not.
    assert selectors.transfer_get(user=joining, pk=transfer.pk) == transfer
    with pytest.raises(NotFound):
        selectors.transfer_get(user=Actor.staff(world.b("branch_secretary")), pk=transfer.pk)
    done = services.transfer_accept(actor=joining, transfer=transfer)
    member.refresh_from_db()
    assert (member.organization, member.region_code) == (world.branch_b, world.grid_b.code)
    assert done.status == Transfer.Status.ACCEPTED and done.closed_at is not None
    assert Deadline.objects.get(kind="party_transfer", object_id=transfer.pk).closed_at
    # The member left the committee of the branch they left.
    assert not Appointment.objects.filter(person=world.person_a, ended_on__isnull=True).exists()
    assert [e.action for e in transfer.events.order_by("at", "pk")] == [
        "request", "release", "accept",
    ]  # fmt: skip
    assert set(
        AuditEvent.objects.filter(action__startswith="party_transfer.").values_list(
            "action", flat=True
        )
    ) == {"party_transfer.request", "party_transfer.release", "party_transfer.accept"}
    # The department sees it in its county.
    assert selectors.transfer_get(user=department, pk=transfer.pk) == transfer


def test_bad_transfers_are_refused_and_write_nothing(world, member):
    leaving = Actor.staff(world.a("branch_secretary"))
    department = Actor.staff(world.a("org_department"))
    services.organization_close(
        actor=department, organization=world.branch_a2, closed_on=TODAY, reason="合并"
    )
    world.branch_a2.refresh_from_db()
    before = Transfer.objects.count()
    for target, code in (
        (world.branch_a2, "organization_closed"),
        (world.branch_a, "transfer_same"),
        (world.branch_a.parent.parent, "organization_holds_no_members"),
    ):
        with pytest.raises(DomainError) as refusal:
            services.transfer_request(
                actor=leaving, member=member, to_organization=target, reason="调动"
            )
        assert refusal.value.code == code
    other_county = PartyOrganization.objects.create(
        region_code="370830", name="汶上县委", kind="county_committee"
    )
    with pytest.raises(NotFound):
        services.transfer_request(
            actor=leaving, member=member, to_organization=other_county, reason="调动"
        )
    with pytest.raises(NotFound):  # the second secretary of the grid keeps another branch
        services.transfer_request(
            actor=Actor.staff(world.b("branch_secretary")), member=member,
            to_organization=world.branch_b, reason="调动",
        )  # fmt: skip
    assert Transfer.objects.count() == before
    services.transfer_request(
        actor=leaving, member=member, to_organization=world.branch_b, reason="调动"
    )
    with pytest.raises(DomainError) as refusal:
        services.transfer_request(
            actor=leaving, member=member, to_organization=world.branch_b, reason="再次"
        )
    assert refusal.value.code == "transfer_open"


def test_a_returned_transfer_keeps_the_member_and_says_why(world, member):
    leaving = Actor.staff(world.a("branch_secretary"))
    joining = _secretary_of(world.branch_b, world.grid_b.code)
    transfer = services.transfer_request(
        actor=leaving, member=member, to_organization=world.branch_b, reason="调动"
    )
    services.transfer_release(actor=leaving, transfer=transfer)
    with pytest.raises(DomainError) as refusal:
        services.transfer_return(actor=joining, transfer=transfer, reason=" ")
    assert refusal.value.code == "reason_missing"
    services.transfer_return(actor=joining, transfer=transfer, reason="介绍信信息不全")
    transfer.refresh_from_db()
    member.refresh_from_db()
    assert (transfer.status, transfer.return_reason) == ("returned", "介绍信信息不全")
    assert member.organization == world.branch_a


def test_a_late_transfer_is_on_the_clock(world, member):
    leaving = Actor.staff(world.a("branch_secretary"))
    transfer = services.transfer_request(
        actor=leaving, member=member, to_organization=world.branch_b, reason="调动"
    )
    past = timezone.now() - datetime.timedelta(days=1)
    Transfer.objects.filter(pk=transfer.pk).update(due_at=past)
    Deadline.objects.filter(kind="party_transfer").update(due_at=past, warn_at=past)
    department = Actor.staff(world.a("org_department"))
    row = selectors.transfer_list(user=department).get()
    assert Clock.current().lateness(row) == "overdue"
    assert list(selectors.transfer_list(user=department, late=True)) == [row]
    assert selectors.overview(user=department, region_code="370829").late_transfers == 1
    Deadline.objects.filter(kind="party_transfer").update(
        due_at=past + datetime.timedelta(days=30), warn_at=past + datetime.timedelta(days=20)
    )
    assert not selectors.transfer_list(user=department, late=True).exists()


def test_out_of_the_county_is_recorded_and_the_member_leaves(world, member):
    leaving = Actor.staff(world.a("branch_secretary"))
    transfer = services.transfer_out_of_county(
        actor=leaving, member=member, destination="济南市历下区某街道党工委", reason="工作调动",
        on=TODAY,
    )  # fmt: skip
    member.refresh_from_db()
    assert transfer.status == "left" and not transfer.is_open
    assert member.left_on == TODAY and "济南市" in member.left_reason
    assert not Deadline.objects.filter(kind="party_transfer", closed_at__isnull=True).exists()
    assert (
        not selectors.member_list(user=leaving, organization=world.branch_a)
        .filter(pk=member.pk)
        .exists()
    )
