"""Access held by being assigned to a thing: a branch secretary, a team leader, a
building captain. Several branches share one grid, so region scope alone cannot keep a
secretary out of the next branch."""

import datetime

import pytest
from django.urls import reverse

from jiceng.accounts.models import Membership
from jiceng.core.access import has_permission, scope_filter
from jiceng.core.actors import Actor
from jiceng.core.errors import NotFound
from jiceng.party import selectors
from jiceng.party.models import PartyMember
from tests.conftest import client_for
from tests.factories import PersonFactory, UserFactory, staff
from tests.factories import resident as make_resident

pytestmark = pytest.mark.django_db
GRID = "370829001001001"


@pytest.fixture
def branches(world):
    """The world's two grid branches in one grid, two more members each (the first also
    has the world's person A), and the first's secretary."""
    for branch in (world.branch_a, world.branch_a2):
        for index in range(2):
            person = PersonFactory(region_code=GRID)
            PartyMember.objects.create(
                region_code=GRID, person=person, organization=branch, name=f"党员{index}"
            )
    return world.branch_a, world.branch_a2, world.a("branch_secretary")


def test_a_secretary_reaches_their_branch_and_not_the_next_one_in_the_grid(branches):
    first, second, secretary = branches
    actor = Actor.staff(secretary)
    assert selectors.organization_get(user=actor, pk=first.pk) == first
    with pytest.raises(NotFound):
        selectors.organization_get(user=actor, pk=second.pk)
    members = selectors.member_list(user=actor)
    assert {m.organization_id for m in members} == {first.pk}
    assert members.count() == 3
    assert not selectors.member_list(user=actor, organization=second).exists()
    assert has_permission(actor, "party.view", obj=first)
    assert not has_permission(actor, "party.view", obj=second)
    assert not has_permission(actor, "party.view", GRID)  # not the grid itself
    assert has_permission(actor, "party.view")  # somewhere: for the menu


def test_a_role_at_the_community_reaches_both_branches(branches, world):
    _, second, _ = branches
    worker = world.a("community_worker")
    assert selectors.member_list(user=Actor.staff(worker)).count() == 5
    assert selectors.organization_get(user=worker, pk=second.pk) == second


def test_an_assignment_out_of_its_dates_grants_nothing(branches):
    first, _, secretary = branches
    Membership.objects.filter(user=secretary).update(
        valid_from=datetime.date(2020, 1, 1),
        valid_until=datetime.date.today() - datetime.timedelta(days=1),
    )
    secretary = type(secretary).objects.get(pk=secretary.pk)  # a new request
    with pytest.raises(NotFound):
        selectors.organization_get(user=Actor.staff(secretary), pk=first.pk)
    assert not selectors.member_list(user=Actor.staff(secretary)).exists()


def test_a_deactivated_secretary_holds_nothing(branches):
    first, _, secretary = branches
    secretary.is_active = False
    secretary.save()
    assert not has_permission(Actor.staff(secretary), "party.view", obj=first)


def test_a_team_leader_leads_their_own_team_only(world):
    from jiceng.activities.models import VolunteerTeam

    leader = make_resident()
    own = VolunteerTeam.objects.create(region_code="370829001001", name="红帆队", leader=leader)
    other = VolunteerTeam.objects.create(
        region_code="370829001001", name="夕阳红队", leader=make_resident()
    )
    actor = Actor.of_resident(leader)
    assert has_permission(actor, "activities.lead", obj=own)
    assert not has_permission(actor, "activities.lead", obj=other)
    assert not has_permission(Actor.public(), "activities.lead", obj=own)
    led = scope_filter(
        VolunteerTeam.objects.all(),
        actor,
        "activities.lead",
        via={"activities.volunteerteam": "pk"},
    )
    assert list(led) == [own]


def test_a_post_named_without_its_object_grants_nothing(world):
    account = UserFactory(region_code=GRID)
    Membership.objects.create(user=account, role="branch_secretary", region_code=GRID)
    assert not has_permission(account, "party.view")
    assert not has_permission(account, "party.view", GRID)


def test_a_building_captain_is_assigned_through_the_same_mechanism(world):
    from jiceng.core.access import BUILDING, assignments
    from tests.factories import BuildingFactory

    building = BuildingFactory(region_code=GRID)
    captain = staff("building_captain", GRID, username="captain", building=building)
    held = assignments(Actor.staff(captain), BUILDING)
    assert [(a.kind, a.object_id) for a in held] == [("building_captain", building.pk)]
    assert has_permission(captain, "people.view", building=building.pk)
    assert not has_permission(captain, "people.view", GRID)


def test_the_organization_department_assigns_a_secretary_and_it_is_audited(branches, world):
    """A branch post is the organization department's to grant (party.manage), not the
    system administrator's: it keeps the party register."""
    from jiceng.accounts.services import assignment_grant
    from jiceng.core.models import AuditEvent

    first, second, _ = branches
    account = UserFactory(username="new-secretary", region_code=GRID)
    with pytest.raises(NotFound):
        assignment_grant(
            actor=Actor.staff(world.a("county_admin")),
            user=account,
            kind="branch_secretary",
            obj=second,
        )
    department = Actor.staff(world.a("org_department"))
    membership = assignment_grant(
        actor=department, user=account, kind="branch_secretary", obj=second
    )
    assert (membership.object_id, membership.region_code) == (second.pk, GRID)
    event = AuditEvent.objects.get(action="user.assign")
    assert (event.actor_kind, event.detail["object"]) == ("staff", second.pk)
    assert has_permission(Actor.staff(account), "party.view", obj=second)
    assert not has_permission(Actor.staff(account), "party.view", obj=first)
    with pytest.raises(NotFound):  # someone who manages no accounts there
        assignment_grant(
            actor=Actor.staff(world.outsider),
            user=account,
            kind="branch_secretary",
            obj=first,
        )
    assert Membership.objects.filter(user=account).count() == 1


def test_a_secretary_post_is_listed_and_revoked_like_a_role(branches, world, client):
    from jiceng.accounts.services import membership_revoke

    first, _, secretary = branches
    admin = world.a("county_admin")
    post = Membership.objects.get(user=secretary)
    client.force_login(admin)
    page = client.get(reverse("accounts:user_detail", args=[secretary.pk]))
    assert page.status_code == 200 and "党支部书记" in page.content.decode()
    membership_revoke(actor=Actor.staff(admin), membership=post)
    secretary = type(secretary).objects.get(pk=secretary.pk)
    assert not has_permission(Actor.staff(secretary), "party.view", obj=first)


def test_a_secretarys_home_names_their_branch(branches):
    first, second, secretary = branches
    page = client_for(secretary).get("/").content.decode()
    assert f'href="/party/o/{first.pk}/"' in page and first.name in page
    assert second.name not in page
