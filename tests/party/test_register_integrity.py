"""What the register must not let happen, found by trying it as an outsider would: a
second holder of a single post, a second 县委, a branch closed under a transfer, a post
given to an administrator's account (and an answer that tells which accounts those are),
one person in two branches, and an ID number guessed through the link step."""

import datetime

import pytest

from jiceng.accounts.models import Membership
from jiceng.core.actors import Actor
from jiceng.core.errors import DomainError
from jiceng.core.idnumber import check_character
from jiceng.core.models import AuditEvent
from jiceng.core.personal import clear
from jiceng.party import selectors, services
from jiceng.party.models import Appointment, PartyMember, PartyOrganization, Transfer
from tests.factories import PersonFactory

pytestmark = pytest.mark.django_db
K = PartyOrganization.Kind
TODAY = datetime.date.today()


def _id(first17: str) -> str:
    return first17 + check_character(first17)


@pytest.fixture
def department(world):
    return Actor.staff(world.a("org_department"))


def _member(branch, name="党员"):
    person = PersonFactory(region_code=branch.region_code)
    return PartyMember.objects.create(
        region_code=branch.region_code, organization=branch, person=person, name=name,
        joined_on="2001-07-01",
    )  # fmt: skip


def test_each_post_but_committee_member_has_one_holder(world, department):
    branch = world.branch_a
    first, second = _member(branch, "甲"), _member(branch, "乙")
    services.appointment_create(
        actor=department, organization=branch, member=first, post="organizer", started_on=TODAY
    )
    with pytest.raises(DomainError) as refused:
        services.appointment_create(
            actor=department, organization=branch, member=second, post="organizer",
            started_on=TODAY,
        )  # fmt: skip
    assert refused.value.code == "post_taken"
    assert "组织委员" in refused.value.message
    assert Appointment.objects.filter(organization=branch, post="organizer").count() == 1
    services.appointment_create(
        actor=department, organization=branch, member=second, post="member", started_on=TODAY
    )


def test_a_county_has_one_county_committee(world, department):
    with pytest.raises(DomainError) as refused:
        services.organization_create(
            actor=department, kind=K.COUNTY_COMMITTEE, name="第二县委", region_code="370829"
        )
    assert refused.value.code == "committee_exists"
    assert (
        PartyOrganization.objects.filter(kind=K.COUNTY_COMMITTEE, region_code="370829").count() == 1
    )


def test_an_administrators_account_is_answered_as_one_not_there(world, department):
    member = PartyMember.objects.get(organization=world.branch_a, person=world.person_a)
    answers = set()
    for username in (world.a("county_admin").username, world.a("auditor").username, "nobody"):
        with pytest.raises(DomainError) as refused:
            services.appointment_create(
                actor=department, organization=world.branch_a, member=member, post="secretary",
                started_on=TODAY, account=username,
            )  # fmt: skip
        answers.add((refused.value.code, refused.value.message))
    assert len(answers) == 1 and next(iter(answers))[0] == "account_unknown"
    assert (
        not Membership.objects.filter(role="branch_secretary", object_id=world.branch_a.pk)
        .exclude(user=world.a("branch_secretary"))
        .exists()
    )


def test_a_branch_with_a_transfer_under_way_does_not_close(world, department):
    empty = world.branch_a2
    member = _member(world.branch_a)
    transfer = services.transfer_request(
        actor=department, member=member, to_organization=empty, reason="搬家"
    )
    with pytest.raises(DomainError) as refused:
        services.organization_close(
            actor=department, organization=empty, closed_on=TODAY, reason="合并"
        )
    assert refused.value.code == "organization_has_transfers"
    empty.refresh_from_db()
    assert empty.closed_on is None
    assert Transfer.objects.get(pk=transfer.pk).is_open


def test_one_person_in_two_branches_is_refused_where_seen_and_listed_where_not(world):
    number = _id("37082919750505123")
    department = Actor.staff(world.a("org_department"))
    secretary_a = Actor.staff(world.a("branch_secretary"))  # branch A
    secretary_a2 = Actor.staff(world.b("branch_secretary"))  # the next branch of grid A
    services.member_add(
        actor=secretary_a, organization=world.branch_a, name="两边", id_number=number,
        joined_on=datetime.date(2000, 7, 1),
    )  # fmt: skip
    # The county sees branch A: refused, naming it.
    with pytest.raises(DomainError) as refused:
        services.member_add(
            actor=department, organization=world.branch_a2, name="两边", id_number=number,
            joined_on=datetime.date(2000, 7, 1),
        )  # fmt: skip
    assert refused.value.code == "member_elsewhere"
    assert world.branch_a.name in refused.value.message
    # The next branch's secretary cannot see branch A: entered, and not told.
    services.member_add(
        actor=secretary_a2, organization=world.branch_a2, name="两边", id_number=number,
        joined_on=datetime.date(2000, 7, 1),
    )  # fmt: skip
    listed = selectors.duplicate_members(user=world.a("org_department"), region_code="370829")
    assert sorted(m.organization_id for m in listed) == sorted(
        [world.branch_a.pk, world.branch_a2.pk]
    )
    page = client_page(world.a("org_department"), "/party/duplicates/?region=370829")
    assert page.count('data-member="') == 2
    # A town organizer of the other town sees neither.
    assert not selectors.duplicate_members(user=world.b("town_organizer"), region_code="370829002")


def client_page(user, url: str) -> str:
    from tests.conftest import client_for

    response = client_for(user).get(url)
    assert response.status_code == 200
    return response.content.decode()


def test_the_link_step_cannot_be_used_to_guess_a_number(world, settings):
    settings.JICENG_PARTY_LINK_MISMATCHES_PER_DAY = 3
    organizer = Actor.staff(world.a("town_organizer"))
    secretary = Actor.staff(world.a("branch_secretary"))
    person = PersonFactory(region_code=world.grid_a.code)
    guesses = [
        services.member_add(
            actor=secretary,
            organization=world.branch_a,
            name=f"猜{n}",
            id_number=_id(f"37082919900101{n}12"),
            joined_on=datetime.date(2010, 7, 1),
        )
        for n in range(4)
    ]
    right = services.member_add(
        actor=secretary, organization=world.branch_a, name="对",
        id_number=clear(person.id_number), joined_on=datetime.date(2010, 7, 1),
    )  # fmt: skip
    for guess in guesses[:3]:
        with pytest.raises(DomainError) as refused:
            services.member_link(actor=organizer, member=guess, person=person)
        assert refused.value.code == "id_number_mismatch"
    failures = AuditEvent.objects.filter(action="party.member_link", outcome=AuditEvent.FAILURE)
    assert failures.count() == 3
    # Locked for the day, right or wrong: the answer no longer says which.
    for member in (guesses[3], right):
        with pytest.raises(DomainError) as refused:
            services.member_link(actor=organizer, member=member, person=person)
        assert refused.value.code == "link_locked"
    right.refresh_from_db()
    assert right.person is None
    # Another account is not locked by this one's tries.
    department = Actor.staff(world.a("org_department"))
    assert services.member_link(actor=department, member=right, person=person).person == person


def test_the_template_reads_back_with_the_mobility_place(world, tmp_path):
    from openpyxl import load_workbook

    from jiceng.party.imports import member_import, write_template

    path = tmp_path / "党员.xlsx"
    write_template(path)
    book = load_workbook(path)
    sheet = book.active
    header = [c.value for c in sheet[1]]
    row = {
        "姓名": "流动党员", "身份证号": _id("37082919880808123"), "党员类别": "正式党员",
        "入党日期": "2010-07-01", "流动情况": "流出", "流出（流入）地": "江苏省苏州市",
    }  # fmt: skip
    header_names = [str(h).rstrip("*").strip() if h else "" for h in header]
    sheet.append([row.get(name, "") for name in header_names])
    for extra in range(3, sheet.max_row + 1):
        if extra != sheet.max_row and sheet.cell(extra, 1).value:
            sheet.delete_rows(extra)
    book.save(path)
    result = member_import(
        actor=Actor.staff(world.a("branch_secretary")), organization=world.branch_a,
        path=path, original_name="党员.xlsx",
    )  # fmt: skip
    assert result.errors == [], result.errors
    assert "流出(流入)地" not in result.ignored_headers
    member = PartyMember.objects.get(organization=world.branch_a, name="流动党员")
    assert (member.mobility, member.mobility_place) == ("out", "江苏省苏州市")


def test_a_linked_member_and_an_unlinked_copy_are_found_and_not_merged_by_transfer(world):
    department = Actor.staff(world.a("org_department"))
    secretary_a2 = Actor.staff(world.b("branch_secretary"))  # cannot see branch A
    linked = _member(world.branch_a, "已关联")
    copy = services.member_add(
        actor=secretary_a2, organization=world.branch_a2, name="已关联",
        id_number=clear(linked.person.id_number), joined_on=datetime.date(2000, 7, 1),
    )  # fmt: skip
    listed = selectors.duplicate_members(user=world.a("org_department"), region_code="370829")
    assert {m.pk for m in listed} == {linked.pk, copy.pk}
    transfer = services.transfer_request(
        actor=department, member=copy, to_organization=world.branch_a, reason="合并记录"
    )
    services.transfer_release(actor=department, transfer=transfer)
    with pytest.raises(DomainError) as refused:
        services.transfer_accept(actor=department, transfer=transfer)
    assert refused.value.code == "member_exists"
    copy.refresh_from_db()
    assert copy.organization_id == world.branch_a2.pk
