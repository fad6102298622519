"""The posts that carry the party's work into buildings and streets: captains (楼栋长、
单元长、胡同长) named by the grid worker, a property company's part-time grid workers (红色
物业), and riders (红骑手) paired with a grid worker. Each reports requests tagged as theirs."""

import datetime

import pytest
from django.test import Client

from jiceng.accounts.models import Department
from jiceng.accounts.services import membership_grant
from jiceng.cases import services as case_services
from jiceng.cases.catalogue import catalogue_seed
from jiceng.cases.models import Case, Category
from jiceng.core.actors import Actor
from jiceng.core.errors import DomainError, NotFound
from jiceng.core.masking import mask_name
from jiceng.core.models import AuditEvent
from jiceng.core.personal import clear
from jiceng.party.selectors import overview
from jiceng.places.models import Building, BuildingUnit, Dwelling, Person
from jiceng.places.selectors import building_rooms
from jiceng.places.services import captain_appoint
from jiceng.residents import services as resident_services
from jiceng.residents.models import Rider
from tests import factories
from tests.conftest import client_for, resident_client


def _report(client: Client, grid_code: str, building=None, text="楼道灯不亮") -> Case:
    page = client.get(f"/q/{grid_code}/" + (f"?b={building.pk}" if building else ""))
    assert page.status_code == 200
    initial = page.context["form"].initial
    response = client.post(
        f"/q/{grid_code}/",
        {
            "description": text,
            "building": building.pk if building else "",
            "submission": initial["submission"],
            # as a browser sends the form: a signed-in captain's phone is filled in
            "reporter_phone": initial.get("reporter_phone", ""),
        },
    )
    assert response.status_code == 302, response.content.decode()[:500]
    return Case.objects.get(description=text)


@pytest.fixture
def captain(world):
    """Person A, a resident of household A's building, named its captain by grid A's
    worker; and signed in as a resident."""
    building = world.household_a.dwelling.building
    captain_appoint(
        actor=Actor.staff(world.a("grid_worker")), building=building, person=world.person_a
    )
    return factories.resident(person=world.person_a)


# --- captains -----------------------------------------------------------------------------


def test_the_grid_worker_names_a_captain_and_the_post_is_audited(world):
    building = world.household_a.dwelling.building
    page = client_for(world.a("grid_worker")).post(
        f"/buildings/{building.pk}/captain/", {"person": world.person_a.pk}
    )
    assert page.status_code == 302
    building.refresh_from_db()
    assert building.captain_id == world.person_a.pk
    event = AuditEvent.objects.get(action="building.captain")
    assert event.detail["person"] == world.person_a.pk
    # and a unit captain
    unit = building.units.first()
    client_for(world.a("community_worker")).post(
        f"/buildings/{building.pk}/captain/", {"person": world.person_a.pk, "unit": unit.number}
    )
    unit.refresh_from_db()
    assert unit.captain_id == world.person_a.pk


def test_a_captain_lives_in_the_grid_and_the_other_grid_cannot_name_one(world):
    building = world.household_a.dwelling.building
    with pytest.raises(DomainError) as refused:
        captain_appoint(
            actor=Actor.staff(world.a("grid_worker")), building=building, person=world.person_b
        )
    assert refused.value.code == "captain_not_in_grid"
    with pytest.raises(NotFound):
        captain_appoint(
            actor=Actor.staff(world.b("grid_worker")), building=building, person=world.person_a
        )
    building.refresh_from_db()
    assert building.captain_id is None
    assert not AuditEvent.objects.filter(action="building.captain").exists()


def test_the_captain_sees_their_building_masked_and_no_other(world, captain):
    own = world.household_a.dwelling.building
    neighbour = factories.household_with_people(world.grid_a.code, name="丙邻楼人")
    page = resident_client(captain).get("/me/building/")
    text = page.content.decode()
    assert f'data-building="{own.pk}"' in text
    assert mask_name(world.household_a.head.name) in text
    assert world.household_a.head.name not in text
    assert "丙邻楼人" not in text and mask_name("丙邻楼人") not in text
    actor = Actor.of_resident(captain)
    with pytest.raises(NotFound):
        building_rooms(user=actor, building=neighbour.dwelling.building)


def test_a_unit_captain_sees_their_unit_and_a_captain_who_moved_sees_nothing(world):
    """单元长 of unit 2 sees unit 2's households, not unit 1's; once they live in another
    grid, however they moved, the post no longer opens the building."""
    building = world.household_a.dwelling.building  # unit 1 holds household A
    unit2 = BuildingUnit.objects.create(
        building=building, number=2, region_code=building.region_code
    )
    dwelling = Dwelling.objects.create(
        region_code=building.region_code, building=building, unit=unit2, room="201"
    )
    upstairs = factories.HouseholdFactory(region_code=building.region_code, dwelling=dwelling)
    head = factories.PersonFactory(
        region_code=building.region_code, household=upstairs, name="丁楼上"
    )
    upstairs.head = head
    upstairs.save()
    captain_appoint(
        actor=Actor.staff(world.a("grid_worker")), building=building, person=head, unit=unit2
    )
    resident = factories.resident(person=head)
    text = resident_client(resident).get("/me/building/").content.decode()
    assert mask_name("丁楼上") in text and "2单元单元长" in text
    assert mask_name(world.household_a.head.name) not in text
    Person.objects.filter(pk=head.pk).update(region_code=world.grid_b.code)
    text = resident_client(resident).get("/me/building/").content.decode()
    assert f'data-building="{building.pk}"' not in text
    with pytest.raises(NotFound):
        building_rooms(user=Actor.of_resident(resident), building=building)


def test_a_minor_cannot_be_a_captain(world):
    building = world.household_a.dwelling.building
    child = factories.PersonFactory(
        region_code=world.grid_a.code,
        household=world.household_a,
        birth_date=datetime.date.today() - datetime.timedelta(days=365 * 10),
    )
    with pytest.raises(DomainError) as refused:
        captain_appoint(actor=Actor.staff(world.a("grid_worker")), building=building, person=child)
    assert refused.value.code == "captain_minor"
    building.refresh_from_db()
    assert building.captain_id is None
    page = client_for(world.a("grid_worker")).get(f"/buildings/{building.pk}/")
    assert child.pk not in {p.pk for p in page.context["candidates"]}


def test_a_captains_report_for_their_building_is_tagged_theirs(world, captain):
    own = world.household_a.dwelling.building
    case = _report(resident_client(captain), world.grid_a.code, own)
    assert case.reported_as == Case.ReportedAs.CAPTAIN
    assert clear(case.reporter_phone) == clear(captain.phone)  # under their 我的诉求
    other = Building.objects.create(region_code=world.grid_a.code, name="9号楼")
    elsewhere = _report(resident_client(captain), world.grid_a.code, other, text="别的楼门坏了")
    assert elsewhere.reported_as == ""


def test_a_resident_who_is_nobody_reports_untagged(world):
    resident = factories.resident(person=world.person_a)
    building = world.household_a.dwelling.building
    case = _report(resident_client(resident), world.grid_a.code, building)
    assert case.reported_as == ""


# --- riders -------------------------------------------------------------------------------


def test_the_grid_worker_registers_a_rider_paired_with_them(world):
    worker = world.a("grid_worker")
    resident = factories.resident(phone="13900001111")
    page = client_for(worker).post(
        f"/regions/{world.grid_a.code}/riders/",
        {"phone": "139 0000 1111", "platform": "美团外卖", "paired_with": worker.pk},
    )
    assert page.status_code == 302
    rider = Rider.objects.get()
    assert (rider.resident, rider.paired_with, rider.region_code) == (
        resident,
        worker,
        world.grid_a.code,
    )
    assert AuditEvent.objects.filter(action="rider.register", outcome="success").count() == 1
    listed = client_for(worker).get(f"/regions/{world.grid_a.code}/riders/").content.decode()
    assert "美团外卖" in listed
    case = _report(resident_client(resident), world.grid_a.code, text="路口井盖缺失")
    assert case.reported_as == Case.ReportedAs.RIDER


def test_a_rider_refused_says_nothing_of_residents_elsewhere(world):
    worker = Actor.staff(world.a("grid_worker"))
    factories.resident(person=world.person_b, phone="13900002222")  # confirmed in town B
    answers = []
    for phone in ("13900002222", "13900003333"):  # town B's resident; no account at all
        with pytest.raises(DomainError) as refused:
            resident_services.rider_register(
                actor=worker, phone=phone, grid_code=world.grid_a.code, platform="顺丰",
                paired_with=world.a("grid_worker"),
            )  # fmt: skip
        answers.append((refused.value.code, refused.value.message))
    assert answers[0] == answers[1]
    assert not Rider.objects.exists()
    assert AuditEvent.objects.filter(action="rider.register", outcome="failure").count() == 2


def test_a_rider_of_another_grid_is_refused_as_a_phone_without_an_account(world):
    """Riding for grid B: grid A's worker hears nothing of B."""
    factories.resident(phone="13900005555")
    resident_services.rider_register(
        actor=Actor.staff(world.b("grid_worker")), phone="13900005555",
        grid_code=world.grid_b.code, platform="顺丰", paired_with=world.b("grid_worker"),
    )  # fmt: skip
    answers = []
    for phone in ("13900005555", "13900006666"):
        with pytest.raises(DomainError) as refused:
            resident_services.rider_register(
                actor=Actor.staff(world.a("grid_worker")), phone=phone,
                grid_code=world.grid_a.code, platform="顺丰", paired_with=world.a("grid_worker"),
            )  # fmt: skip
        answers.append((refused.value.code, refused.value.message))
    assert answers[0] == answers[1] == (answers[0][0], resident_services.NO_RESIDENT)
    assert Rider.objects.filter(region_code=world.grid_a.code).count() == 0


def test_a_rider_pairs_with_the_grids_worker_once(world):
    factories.resident(phone="13900004444")
    worker = Actor.staff(world.a("grid_worker"))

    def register(paired):
        return resident_services.rider_register(
            actor=worker, phone="13900004444", grid_code=world.grid_a.code, platform="滴滴",
            paired_with=paired,
        )  # fmt: skip

    with pytest.raises(DomainError) as refused:
        register(world.b("grid_worker"))
    assert refused.value.code == "pair_not_grid_worker"
    rider = register(world.a("grid_worker"))
    with pytest.raises(DomainError) as twice:
        register(world.a("grid_worker"))
    assert twice.value.code == "rider_registered"
    resident_services.rider_end(actor=worker, rider=rider, reason="换了工作")
    rider.refresh_from_db()
    assert rider.ended_on is not None and rider.ended_reason == "换了工作"
    assert register(world.a("grid_worker")).pk != rider.pk  # registered again, a new row
    assert Rider.objects.count() == 2


# --- red property -------------------------------------------------------------------------


@pytest.fixture
def property_worker(world):
    company = Department.objects.create(region_code="370829", name="鑫源物业", kind="property")
    user = factories.UserFactory(username="wy1", region_code="370829001", department=company)
    membership_grant(
        actor=Actor.staff(world.a("county_admin")),
        user=user,
        role="property_grid_worker",
        region_code=world.grid_a.code,
    )
    return user


def test_only_a_property_companys_staff_are_its_part_time_grid_workers(world):
    user = factories.UserFactory(username="wy2", region_code="370829001")
    with pytest.raises(DomainError) as refused:
        membership_grant(
            actor=Actor.staff(world.a("county_admin")), user=user,
            role="property_grid_worker", region_code=world.grid_a.code,
        )  # fmt: skip
    assert refused.value.code == "role_department"
    assert not user.memberships.exists()


def test_the_property_worker_reports_and_handles_routed_requests_not_the_register(
    world, property_worker
):
    client = client_for(property_worker)
    assert client.get(f"/households/{world.household_a.pk}/").status_code == 404
    assert client.get(f"/regions/{world.grid_a.code}/").status_code == 404
    catalogue_seed(county_code="370829")
    light = Category.objects.get(region_code="370829", code="facilities.street-light")
    case, _ = case_services.case_submit(
        actor=Actor.staff(property_worker), channel="staff", region_code=world.grid_a.code,
        description="小区路灯不亮", category=light,
    )  # fmt: skip
    assert case.reported_as == Case.ReportedAs.PROPERTY
    worker = world.a("grid_worker")
    case = case_services.case_accept(actor=worker, case=case)
    # Dispatching, the company serving this grid is offered first; one that does not isn't.
    Department.objects.create(region_code="370829", name="远方物业", kind="property")
    page = client_for(worker).get(f"/cases/{case.pk}/")
    groups = dict(page.context["dispatch_form"].fields["target"].choices)
    company = property_worker.department
    assert groups["服务本网格的物业"] == [(f"department:{company.pk}", company.name)]
    assert "远方物业" in {name for _, name in groups["部门"]}
    case = case_services.case_dispatch(
        actor=worker, case=case, department=property_worker.department
    )
    page = client.get(f"/cases/{case.pk}/")
    assert page.status_code == 200


def test_the_overview_counts_captains_property_workers_and_riders(world, captain, property_worker):
    worker = world.a("grid_worker")
    factories.resident(phone="13900005555")
    resident_services.rider_register(
        actor=Actor.staff(worker), phone="13900005555", grid_code=world.grid_a.code,
        platform="美团", paired_with=worker,
    )  # fmt: skip
    figures = overview(user=world.a("org_department"), region_code="370829")
    assert (figures.captains, figures.property_grid_workers, figures.riders) == (1, 1, 1)
    assert figures.property_companies == 1
    other = overview(user=world.b("town_organizer"), region_code="370829002")
    assert (other.captains, other.property_grid_workers, other.riders) == (0, 0, 0)
