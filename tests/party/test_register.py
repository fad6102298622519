"""The party register kept by the organization department and each branch: organizations
under parents of allowed kinds, committees of members with terms, members with and
without a person of the register. Each refusal writes nothing."""

import datetime

import pytest

from jiceng.accounts.models import Membership
from jiceng.core.access import has_permission
from jiceng.core.actors import Actor
from jiceng.core.errors import DomainError, NotFound
from jiceng.core.idnumber import check_character
from jiceng.core.models import AuditEvent
from jiceng.core.personal import clear
from jiceng.party import selectors, services
from jiceng.party.models import Appointment, PartyMember, PartyOrganization, Tally
from jiceng.party.tally import tally_count
from tests.factories import PersonFactory, UserFactory

pytestmark = pytest.mark.django_db
K = PartyOrganization.Kind
TODAY = datetime.date.today()


def _id(first17: str = "37082919800101123") -> str:
    return first17 + check_character(first17)


@pytest.fixture
def department(world):
    return Actor.staff(world.a("org_department"))


def _refused(code: str, call, *args, **kwargs) -> DomainError:
    """The call is refused with `code`, and no row of the register changed."""
    before = (
        PartyOrganization.objects.count(),
        PartyMember.objects.count(),
        Appointment.objects.count(),
        Membership.objects.count(),
        AuditEvent.objects.filter(action__startswith="party.").count(),
    )
    with pytest.raises(DomainError) as refusal:
        call(*args, **kwargs)
    assert refusal.value.code == code, refusal.value.message
    after = (
        PartyOrganization.objects.count(),
        PartyMember.objects.count(),
        Appointment.objects.count(),
        Membership.objects.count(),
        AuditEvent.objects.filter(action__startswith="party.").count(),
    )
    assert after == before
    return refusal.value


def test_an_organization_sits_under_a_parent_of_an_allowed_kind(world, department):
    committee = world.branch_a.parent
    branch = services.organization_create(
        actor=department,
        kind=K.GRID_BRANCH,
        name="第2网格党支部",
        region_code="370829001001002",
        parent=committee,
        term_started_on=TODAY - datetime.timedelta(days=10),
    )
    assert branch.parent == committee
    assert branch.term_ends_on.year == branch.term_started_on.year + 3  # STANDARDS: branches
    assert AuditEvent.objects.filter(action="party.organization_create", object_id=branch.pk)
    # A branch under a branch, a committee at a grid, a branch outside its parent's region.
    error = _refused(
        "parent_kind",
        services.organization_create,
        actor=department, kind=K.GRID_BRANCH, name="错", region_code=world.grid_a.code,
        parent=world.branch_a,
    )  # fmt: skip
    assert "不能设在“网格党支部”之下" in error.message
    _refused(
        "parent_required",
        services.organization_create,
        actor=department, kind=K.GRID_BRANCH, name="无上级", region_code=world.grid_a.code,
    )  # fmt: skip
    _refused(
        "region_outside_parent",
        services.organization_create,
        actor=department, kind=K.GRID_BRANCH, name="跨社区", region_code=world.grid_b.code,
        parent=committee,
    )  # fmt: skip
    _refused(
        "region_level",
        services.organization_create,
        actor=department, kind=K.GRID_BRANCH, name="社区级", region_code="370829001001",
        parent=committee,
    )  # fmt: skip
    _refused(
        "name_taken",
        services.organization_create,
        actor=department, kind=K.GRID_BRANCH, name="第2网格党支部",
        region_code="370829001001002", parent=committee,
    )  # fmt: skip


def test_a_town_organizer_keeps_their_town_only(world):
    organizer = Actor.staff(world.a("town_organizer"))
    town_b = world.branch_b.parent.parent
    with pytest.raises(NotFound):
        services.organization_create(
            actor=organizer, kind=K.COMMUNITY_COMMITTEE, name="外镇社区党委",
            region_code=town_b.region_code + "009", parent=town_b,
        )  # fmt: skip
    with pytest.raises(NotFound):
        services.organization_elect(actor=organizer, organization=world.branch_b, started_on=TODAY)
    services.organization_elect(actor=organizer, organization=world.branch_a, started_on=TODAY)
    world.branch_a.refresh_from_db()
    assert world.branch_a.term_started_on == TODAY


def test_the_secretary_is_a_member_and_holds_the_branch_for_the_term(world, department):
    branch = world.branch_a
    elsewhere = PartyMember.objects.create(
        region_code=world.grid_b.code, organization=world.branch_b,
        person=world.person_b, name=world.person_b.name, joined_on="2000-07-01",
    )  # fmt: skip
    _refused(
        "appointee_not_member",
        services.appointment_create,
        actor=department, organization=branch, member=elsewhere, post="secretary",
        started_on=TODAY,
    )  # fmt: skip
    services.organization_elect(actor=department, organization=branch, started_on=TODAY)
    branch.refresh_from_db()
    member = PartyMember.objects.get(organization=branch, person=world.person_a)
    account = UserFactory(username="new-secretary", region_code=world.grid_a.code)
    _refused(
        "account_post",
        services.appointment_create,
        actor=department, organization=branch, member=member, post="propaganda",
        started_on=TODAY, account="new-secretary",
    )  # fmt: skip
    _refused(
        "account_unknown",
        services.appointment_create,
        actor=department, organization=branch, member=member, post="secretary",
        started_on=TODAY, account=UserFactory(region_code="370830").username,  # elsewhere
    )  # fmt: skip
    appointment = services.appointment_create(
        actor=department, organization=branch, member=member, post="secretary",
        started_on=TODAY, account="new-secretary",
    )  # fmt: skip
    assert appointment.person == world.person_a
    assert appointment.term_ends_on == branch.term_ends_on
    post = Membership.objects.get(user=account, role="branch_secretary", object_id=branch.pk)
    assert (post.valid_from, post.valid_until, post.is_active) == (TODAY, branch.term_ends_on, True)
    holder = Actor.staff(type(account).objects.get(pk=account.pk))
    assert has_permission(holder, "party.branch", obj=branch)
    assert not has_permission(holder, "party.branch", obj=world.branch_a2)
    assert [a.post for a in selectors.committee(branch)] == ["secretary"]
    assert (
        selectors.with_secretary(PartyOrganization.objects.filter(pk=branch.pk))
        .get()
        .secretary_name
        == world.person_a.name
    )
    second = PartyMember.objects.create(
        region_code=branch.region_code, organization=branch,
        person=PersonFactory(region_code=branch.region_code), name="乙", joined_on="2010-07-01",
    )  # fmt: skip
    _refused(
        "secretary_taken",
        services.appointment_create,
        actor=department, organization=branch, member=second, post="secretary", started_on=TODAY,
    )  # fmt: skip
    _refused(
        "already_appointed",
        services.appointment_create,
        actor=department, organization=branch, member=member, post="deputy", started_on=TODAY,
    )  # fmt: skip
    services.appointment_end(actor=department, appointment=appointment, ended_on=TODAY,
                             reason="调离")  # fmt: skip
    post.refresh_from_db()
    assert not post.is_active
    assert AuditEvent.objects.filter(action="user.unassign").count() == 1
    holder = Actor.staff(type(account).objects.get(pk=account.pk))
    assert not has_permission(holder, "party.branch", obj=branch)
    # The post is free again.
    services.appointment_create(
        actor=department, organization=branch, member=second, post="secretary", started_on=TODAY
    )


def test_a_person_holds_one_membership_and_a_secretary_keeps_only_their_branch(world):
    secretary = Actor.staff(world.a("branch_secretary"))
    department = Actor.staff(world.a("org_department"))
    # A secretary sees no register of people: they enter members by name and ID number.
    member = services.member_add(
        actor=secretary, organization=world.branch_a, name="县外党员", id_number=_id(),
        phone="13800000000", category="probationary", joined_on=TODAY - datetime.timedelta(days=30),
    )  # fmt: skip
    assert member.person is None and member.id_number_index
    joined = TODAY - datetime.timedelta(days=30)
    assert member.probation_ends_on in (
        datetime.date(joined.year + 1, joined.month, min(joined.day, 28)),
        datetime.date(joined.year + 1, joined.month, joined.day) if joined.day <= 28 else None,
    )
    _refused(
        "member_exists",
        services.member_add,
        actor=secretary, organization=world.branch_a, name="县外党员", id_number=_id(),
        joined_on=TODAY,
    )  # fmt: skip
    with pytest.raises(NotFound):  # the next branch of the grid is not theirs
        services.member_add(
            actor=secretary, organization=world.branch_a2, name="他支部", id_number=_id(),
            joined_on=TODAY,
        )  # fmt: skip
    with pytest.raises(NotFound):  # nor the person register
        services.member_add(
            actor=secretary, organization=world.branch_a, person=world.person_b, joined_on=TODAY
        )
    # Staff who see the register enter its person; the person holds one membership.
    _refused(
        "member_elsewhere",
        services.member_add,
        actor=department, organization=world.branch_a2, person=world.person_a, joined_on=TODAY,
    )  # fmt: skip
    _refused(
        "full_on_probationary",
        services.member_add,
        actor=department, organization=world.branch_a2, person=world.person_b,
        category="probationary", joined_on=TODAY, full_on=TODAY,
    )  # fmt: skip
    _refused(
        "organization_holds_no_members",
        services.member_add,
        actor=department, organization=world.branch_a.parent.parent, person=world.person_b,
        joined_on=TODAY,
    )  # fmt: skip
    _refused(
        "probation_not_over",
        services.member_make_full,
        actor=secretary, member=member, on=TODAY,
    )  # fmt: skip


def test_a_member_without_a_person_is_linked_to_the_matching_one(world):
    department = Actor.staff(world.a("org_department"))
    secretary = Actor.staff(world.a("branch_secretary"))
    person = PersonFactory(region_code=world.grid_a.code)
    wrong = services.member_add(
        actor=secretary, organization=world.branch_a, name=person.name, id_number=_id(),
        joined_on=datetime.date(2005, 7, 1),
    )  # fmt: skip
    with pytest.raises(DomainError) as refused:
        services.member_link(actor=department, member=wrong, person=person)
    assert refused.value.code == "id_number_mismatch"
    wrong.refresh_from_db()
    assert wrong.person is None
    failed = AuditEvent.objects.get(action="party.member_link", outcome=AuditEvent.FAILURE)
    assert failed.detail["reason"] == "id_number_mismatch"
    right = services.member_add(
        actor=secretary, organization=world.branch_a, name=person.name,
        id_number=clear(person.id_number), joined_on=datetime.date(2005, 7, 1),
    )  # fmt: skip
    with pytest.raises(NotFound):  # the secretary does not keep the register
        services.member_link(actor=secretary, member=right, person=person)
    linked = services.member_link(actor=department, member=right, person=person)
    linked.refresh_from_db()
    assert (linked.person, linked.id_number_index, clear(linked.id_number)) == (person, "", "")


def test_an_organization_closes_once_empty_and_its_posts_end(world, department):
    _refused(
        "organization_has_members",
        services.organization_close,
        actor=department, organization=world.branch_a, closed_on=TODAY, reason="合并",
    )  # fmt: skip
    _refused(
        "organization_has_children",
        services.organization_close,
        actor=department, organization=world.branch_a.parent, closed_on=TODAY, reason="合并",
    )  # fmt: skip
    empty = world.branch_a2
    person = PersonFactory(region_code=world.grid_a.code)
    member = PartyMember.objects.create(
        region_code=empty.region_code, organization=empty, person=person, name=person.name,
        joined_on="2000-07-01",
    )  # fmt: skip
    services.appointment_create(
        actor=department, organization=empty, member=member, post="secretary", started_on=TODAY
    )
    PartyMember.objects.filter(pk=member.pk).update(left_on=TODAY, left_reason="转出县外")
    closed = services.organization_close(
        actor=department, organization=empty, closed_on=TODAY, reason="并入第1网格党支部"
    )
    assert closed.closed_on == TODAY and PartyOrganization.objects.filter(pk=empty.pk).exists()
    assert not Appointment.objects.filter(organization=empty, ended_on__isnull=True).exists()
    _refused(
        "organization_closed",
        services.organization_create,
        actor=department, kind=K.BUILDING_GROUP, name="小组", region_code=empty.region_code,
        parent=empty,
    )  # fmt: skip


def test_the_term_queue_lists_committees_due_within_the_notice(world, department):
    soon = TODAY + datetime.timedelta(days=30)
    later = TODAY + datetime.timedelta(days=200)
    PartyOrganization.objects.filter(pk=world.branch_a.pk).update(
        term_started_on=soon.replace(year=soon.year - 3), term_ends_on=soon
    )
    PartyOrganization.objects.filter(pk=world.branch_a2.pk).update(
        term_started_on=later.replace(year=later.year - 3), term_ends_on=later
    )
    PartyOrganization.objects.filter(pk=world.branch_b.pk).update(
        term_started_on=soon.replace(year=soon.year - 3), term_ends_on=soon
    )
    due = list(selectors.terms_due(user=department))
    assert [o.pk for o in due] == [world.branch_a.pk, world.branch_b.pk]
    town = Actor.staff(world.a("town_organizer"))
    assert [o.pk for o in selectors.terms_due(user=town)] == [world.branch_a.pk]
    assert not selectors.terms_due(user=Actor.staff(world.a("branch_secretary"))).exists()


def test_the_overview_counts_the_register_of_the_region(world, department):
    from jiceng.party.models import PartyMember as Member

    assert selectors.overview(user=department, region_code="370829").counted_at is None
    tally_count()  # the worker's count
    figures = selectors.overview(user=department, region_code="370829")
    assert figures.counted_at is not None
    assert dict(figures.by_kind)["网格党支部"] == 3
    # Grids A (two branches) and B have a branch; the world's third grid has none.
    assert (figures.grids, figures.grids_without_branch) == (3, 1)
    assert (figures.branches, figures.without_secretary) == (3, 3)
    assert figures.members == {"full": 1, "probationary": 0}
    Member.objects.create(
        region_code=world.grid_b.code, organization=world.branch_b, name="预备",
        category="probationary", joined_on=TODAY - datetime.timedelta(days=350),
    )  # fmt: skip
    town = selectors.overview(user=Actor.staff(world.a("town_organizer")), region_code="370829001")
    assert (town.grids, town.branches, town.members["probationary"]) == (2, 2, 0)
    # Counted again, and only where asked: town B's member shows, town A's rows stay.
    assert selectors.overview(user=department, region_code="370829").members["probationary"] == 0
    kept = set(Tally.objects.filter(region_code__within="370829001").values_list("counted_at"))
    tally_count(region_code="370829002")
    assert (
        set(Tally.objects.filter(region_code__within="370829001").values_list("counted_at")) == kept
    )
    figures = selectors.overview(user=department, region_code="370829")
    assert (figures.members["probationary"], figures.probation_due, figures.without_person) == (
        1, 1, 1,
    )  # fmt: skip
    assert Tally.objects.count() == PartyOrganization.objects.filter(closed_on__isnull=True).count()
    with pytest.raises(NotFound):
        selectors.overview(user=Actor.staff(world.a("town_organizer")), region_code="370829002")
