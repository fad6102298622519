"""Building captains (楼栋长) and specialist grid workers (专业网格员) saw the whole grid:
every building's households and persons, the grid's request queue, and the special-group
flag. A captain is posted to one building and reaches that building only; a specialist
reaches the requests routed to them and none of the register."""

import io
import re

import pytest
from django.core.files.base import ContentFile
from django.test import Client
from PIL import Image

from jiceng.accounts.models import Department, Membership
from jiceng.accounts.services import api_token_issue, membership_grant
from jiceng.cases import services as case_services
from jiceng.cases.catalogue import catalogue_seed
from jiceng.cases.models import Case, Category, Event, Photo
from jiceng.core.actors import Actor
from jiceng.core.errors import DomainError
from jiceng.core.models import AuditEvent
from jiceng.places.models import Household, Person, SpecialGroup
from tests import factories
from tests.conftest import client_for

PUBLIC = Actor.public("test")


def _jpeg() -> ContentFile:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4)).save(buffer, "JPEG")
    return ContentFile(buffer.getvalue(), name="p.jpg")


def _api(user) -> Client:
    return Client(
        headers={"Authorization": f"Bearer {api_token_issue(actor=Actor.staff(user))[0]}"}
    )


@pytest.fixture
def street(world):
    """Grid A's two buildings: the captain's (household A) and a neighbour with its own
    household, both with a special-group member; and a request in each."""
    catalogue_seed(county_code="370829")
    light = Category.objects.get(region_code="370829", code="facilities.street-light")
    own = world.household_a.dwelling.building
    neighbour_household = factories.household_with_people(world.grid_a.code, name="丙邻楼人")
    neighbour = neighbour_household.dwelling.building
    disabled = SpecialGroup.objects.get(code="disabled")
    world.person_a.special_groups.add(disabled)
    neighbour_household.head.special_groups.add(disabled)

    def request(building, text):
        case, _ = case_services.case_submit(
            actor=PUBLIC, channel="qr", region_code=world.grid_a.code, description=text,
            category=light, building=building, reporter_phone="13912345678",
        )  # fmt: skip
        Photo.objects.create(case=case, kind="report", image=_jpeg())
        return case

    return {
        "own": own,
        "neighbour": neighbour,
        "neighbour_household": neighbour_household,
        "own_case": request(own, "本楼路灯不亮"),
        "neighbour_case": request(neighbour, "邻楼路灯不亮"),
        "grid_case": request(None, "网格路口路灯不亮"),
        "light": light,
    }


# --- the building captain ----------------------------------------------------------------


def test_the_captain_opens_their_building_and_nothing_else_of_the_grid(world, street):
    captain = client_for(world.a("building_captain"))
    neighbour = street["neighbour_household"]
    page = captain.get(f"/buildings/{street['own'].pk}/")
    assert page.status_code == 200
    assert world.household_a.number in page.content.decode()
    assert captain.get(f"/households/{world.household_a.pk}/").status_code == 200
    person_page = captain.get(f"/persons/{world.person_a.pk}/").content.decode()
    assert world.person_a.id_number not in person_page
    assert world.person_a.phone not in person_page
    assert "残疾人" not in person_page

    assert captain.get(f"/buildings/{street['neighbour'].pk}/").status_code == 404
    assert captain.get(f"/households/{neighbour.pk}/").status_code == 404
    assert captain.get(f"/persons/{neighbour.head_id}/").status_code == 404
    assert captain.get(f"/regions/{world.grid_a.code}/").status_code == 404  # lists buildings
    assert captain.get(f"/regions/{world.grid_a.code}/posters/?buildings=1").status_code == 404
    found = captain.get("/search/?q=丙邻楼人")
    assert (
        found.status_code == 200 and f"/persons/{neighbour.head_id}/" not in found.content.decode()
    )
    found = captain.get("/search/?q=甲测试人").content.decode()
    assert f"/persons/{world.person_a.pk}/" in found
    home = captain.get("/").content.decode()
    assert f"/buildings/{street['own'].pk}/" in home
    assert f'href="/regions/{world.grid_a.code}/"' not in home


def test_the_captain_lists_only_their_buildings_households_and_persons(world, street):
    api = _api(world.a("building_captain"))
    households = api.get("/api/v1/households").json()
    assert households["count"] == 1
    assert [h["number"] for h in households["items"]] == [world.household_a.number]
    persons = api.get("/api/v1/persons").json()
    mine = set(Person.objects.filter(household=world.household_a).values_list("pk", flat=True))
    assert persons["count"] == len(mine) == 2
    assert {p["id"] for p in persons["items"]} == mine
    assert api.get("/api/v1/persons?q=丙邻楼人").json()["count"] == 0
    assert api.get(f"/api/v1/households?within={world.grid_a.code}").status_code == 404
    assert api.get(f"/api/v1/households/{street['neighbour_household'].pk}").status_code == 404
    assert api.get("/api/v1/grids").json()["count"] == 0
    assert Household.objects.filter(region_code=world.grid_a.code).count() == 2


def test_the_captain_may_not_reveal_and_the_refusal_is_audited(world, street):
    person = world.person_a
    for field in ("phone", "special_groups"):
        denied = client_for(world.a("building_captain")).post(
            f"/persons/{person.pk}/reveal/{field}/"
        )
        assert denied.status_code == 404
        assert person.phone not in denied.content.decode()
        assert "残疾人" not in denied.content.decode()
    assert (
        AuditEvent.objects.filter(
            action="person.reveal", outcome=AuditEvent.FAILURE, object_id=str(person.pk)
        ).count()
        == 2
    )


def test_the_captain_sees_their_buildings_requests_and_their_own(world, street):
    captain = world.a("building_captain")
    mine, _ = case_services.case_submit(
        channel="staff", region_code=world.grid_a.code, description="本楼楼道灯坏了",
        building=street["own"], actor=captain,
    )  # fmt: skip
    # Placed elsewhere at triage or by a later move: still theirs to follow.
    Case.objects.filter(pk=mine.pk).update(building=None)
    client = client_for(captain)
    queue = client.get("/cases/?queue=open").content.decode()
    assert street["own_case"].tracking_code in queue and mine.tracking_code in queue
    assert street["neighbour_case"].tracking_code not in queue
    assert street["grid_case"].tracking_code not in queue
    listed = _api(captain).get("/api/v1/cases?queue=open").json()
    assert {c["id"] for c in listed["items"]} == {street["own_case"].pk, mine.pk}
    assert _api(captain).get("/api/v1/cases?queue=triage").json()["count"] == 0
    own = street["own_case"]
    assert client.get(f"/cases/{own.pk}/").status_code == 200
    assert client.get(f"/cases/{own.pk}/photos/{own.photos.get().pk}/").status_code == 200
    assert client.post(f"/cases/{own.pk}/reporter/").status_code == 404
    for other in (street["neighbour_case"], street["grid_case"]):
        assert client.get(f"/cases/{other.pk}/").status_code == 404
        assert client.get(f"/cases/{other.pk}/photos/{other.photos.get().pk}/").status_code == 404
        assert _api(captain).get(f"/api/v1/cases/{other.pk}").status_code == 404


def test_the_captain_submits_for_their_building_only(world, street):
    captain = world.a("building_captain")
    client = client_for(captain)
    page = client.get("/cases/new/").content.decode()
    choices = re.search(r'<select name="building".*?</select>', page, re.S).group(0)
    assert re.findall(r'value="(\d+)"', choices) == [str(street["own"].pk)]
    assert 'name="region_code"' not in page
    key = re.search(r'name="submission" value="([^"]+)"', page).group(1)
    form = {"description": "电动车在楼道充电", "submission": key}
    assert (
        client.post("/cases/new/", {**form, "building": street["neighbour"].pk}).status_code == 200
    )
    assert client.post("/cases/new/", {**form, "building": street["own"].pk}).status_code == 302
    entered = Case.objects.get(submitted_by=captain)
    assert (entered.building, entered.region_code) == (street["own"], world.grid_a.code)

    api = _api(captain)
    body = {"region_code": world.grid_a.code, "description": "楼下井盖松动"}
    assert api.post("/api/v1/cases", body, "application/json").status_code == 404
    elsewhere = {**body, "building_id": street["neighbour"].pk}
    assert api.post("/api/v1/cases", elsewhere, "application/json").status_code == 404
    own = {**body, "building_id": street["own"].pk}
    assert api.post("/api/v1/cases", own, "application/json").status_code == 201
    assert Case.objects.filter(submitted_by=captain).count() == 2
    assert set(Case.objects.filter(submitted_by=captain).values_list("building", flat=True)) == {
        street["own"].pk
    }


def test_a_captain_posted_to_a_whole_grid_reaches_nothing(world, street):
    """A membership of the old shape (no building) opens neither the grid nor a building."""
    old = factories.staff("building_captain", world.grid_a.code, username="old-captain")
    client = client_for(old)
    assert client.get(f"/buildings/{street['own'].pk}/").status_code == 404
    assert client.get(f"/households/{world.household_a.pk}/").status_code == 404
    assert client.get("/cases/?queue=open").status_code == 403
    assert _api(old).get("/api/v1/persons").json()["count"] == 0


# --- granting the captain's post ------------------------------------------------------------


def test_a_captain_is_granted_at_one_building_of_the_grid(world, street):
    admin = world.a("county_admin")
    account = factories.UserFactory(username="new-captain", region_code=world.grid_a.code)

    def refused(code, **fields):
        with pytest.raises(DomainError) as error:
            membership_grant(
                actor=Actor.staff(admin), user=account, region_code=world.grid_a.code, **fields
            )
        assert error.value.code == code

    refused("building_required", role="building_captain")
    refused("building_refused", role="grid_worker", building=street["own"])
    refused("building_scope", role="building_captain", building=world.household_b.dwelling.building)
    assert not Membership.objects.filter(user=account).exists()

    membership = membership_grant(
        actor=Actor.staff(admin), user=account, role="building_captain",
        region_code=world.grid_a.code, building=street["neighbour"],
    )  # fmt: skip
    assert (membership.building, membership.region_code) == (street["neighbour"], world.grid_a.code)
    assert AuditEvent.objects.filter(
        action="user.grant", object_id=str(membership.pk), detail__building=street["neighbour"].pk
    ).exists()
    refused("building_taken", role="building_captain", building=street["own"])
    assert Membership.objects.get(user=account).building == street["neighbour"]


def test_the_grant_form_offers_the_grids_buildings(world, street):
    admin = client_for(world.a("county_admin"))
    account = factories.UserFactory(username="form-captain", region_code=world.grid_a.code)
    page = admin.get(f"/accounts/users/{account.pk}/").content.decode()
    assert f"/accounts/users/{account.pk}/grant/buildings/" in page
    options = admin.get(
        f"/accounts/users/{account.pk}/grant/buildings/?region_code={world.grid_a.code}"
    ).content.decode()
    assert f'value="{street["own"].pk}"' in options
    assert f'value="{street["neighbour"].pk}"' in options
    assert f'value="{world.household_b.dwelling.building_id}"' not in options
    grant = {"role": "building_captain", "region_code": world.grid_a.code}
    admin.post(f"/accounts/users/{account.pk}/grant/", grant)
    foreign = {**grant, "building": world.household_b.dwelling.building_id}
    admin.post(f"/accounts/users/{account.pk}/grant/", foreign)
    assert not Membership.objects.filter(user=account).exists()
    admin.post(f"/accounts/users/{account.pk}/grant/", {**grant, "building": street["own"].pk})
    assert list(Membership.objects.filter(user=account).values_list("role", "building")) == [
        ("building_captain", street["own"].pk)
    ]
    # The other county's administrator learns nothing of the grid's buildings.
    other = client_for(world.b("county_admin"))
    url = f"/accounts/users/{account.pk}/grant/buildings/?region_code={world.grid_a.code}"
    assert other.get(url).status_code == 404


# --- the specialist grid worker ---------------------------------------------------------------


@pytest.fixture
def specialist(world, street):
    """Grid A's specialist, of the gas company: one request dispatched to them, one to the
    company, one to the grid worker."""
    gas = Department.objects.create(region_code="370829", name="县燃气公司", kind="utility")
    user = world.a("specialist_grid_worker")
    user.department = gas
    user.save(update_fields=["department"])
    worker = world.a("grid_worker")
    for key, target in (
        ("own_case", {"handler": user}),
        ("neighbour_case", {"department": gas}),
        ("grid_case", {"handler": worker}),
    ):
        case = case_services.case_accept(actor=worker, case=street[key])
        street[key] = case_services.case_dispatch(actor=worker, case=case, **target)
    return user


def test_the_specialist_sees_no_register(world, street, specialist):
    client = client_for(specialist)
    assert client.get(f"/households/{world.household_a.pk}/").status_code == 404
    assert client.get(f"/persons/{world.person_a.pk}/").status_code == 404
    assert client.get(f"/buildings/{street['own'].pk}/").status_code == 404
    assert client.get(f"/regions/{world.grid_a.code}/").status_code == 404
    assert client.get("/search/?q=甲测试人").status_code == 403
    api = _api(specialist)
    assert api.get("/api/v1/persons").json()["count"] == 0
    assert api.get("/api/v1/households").json()["count"] == 0
    assert api.get(f"/api/v1/persons/{world.person_a.pk}").status_code == 404
    assert api.get("/api/v1/grids").json()["count"] == 0
    home = client.get("/").content.decode()
    assert "/search/" not in home and 'href="/cases/"' in home


def test_the_specialist_sees_the_requests_routed_to_them(world, street, specialist):
    client = client_for(specialist)
    routed = {street["own_case"].pk, street["neighbour_case"].pk}
    for queue in ("mine", "open"):
        listed = _api(specialist).get(f"/api/v1/cases?queue={queue}").json()
        assert {c["id"] for c in listed["items"]} == routed
    page = client.get("/cases/").content.decode()
    assert street["own_case"].tracking_code in page
    assert street["grid_case"].tracking_code not in page
    other = street["grid_case"]
    assert client.get(f"/cases/{other.pk}/").status_code == 404
    assert client.get(f"/cases/{other.pk}/photos/{other.photos.get().pk}/").status_code == 404
    before = Event.objects.filter(case=other).count()
    assert client.post(f"/cases/{other.pk}/act/note/", {"note": "看看"}).status_code == 404
    assert Event.objects.filter(case=other).count() == before


def test_the_specialist_handles_what_is_routed_to_them(world, street, specialist):
    client = client_for(specialist)
    own = street["own_case"]
    assert client.get(f"/cases/{own.pk}/").status_code == 200
    assert client.get(f"/cases/{own.pk}/photos/{own.photos.get().pk}/").status_code == 200
    assert client.post(f"/cases/{own.pk}/act/start/").status_code == 302
    assert client.post(f"/cases/{own.pk}/act/note/", {"note": "已电话联系"}).status_code == 302
    assert client.post(f"/cases/{own.pk}/act/handle/", {"result": "已更换灯泡"}).status_code == 302
    own.refresh_from_db()
    assert own.status == Case.Status.HANDLED
    assert Event.objects.filter(case=own, action="note", actor=specialist).exists()
    company = street["neighbour_case"]
    assert client.post(f"/cases/{company.pk}/act/start/").status_code == 302
    company.refresh_from_db()
    assert company.handler == specialist


def test_the_handling_specialist_may_call_the_reporter_back(world, street, specialist):
    """The handling unit calls the resident back (12345 practice): the assigned handler
    reads the reporter's phone, audited; a specialist posted in a grid (below the
    community) only if the resident allowed the grid's staff to see it; not before taking
    a company's request; never when the resident chose to stay anonymous to the handler
    (a request from before that choice became the default)."""
    client = client_for(specialist)
    own, company = street["own_case"], street["neighbour_case"]
    hidden = client.post(f"/cases/{own.pk}/reporter/")
    assert hidden.status_code == 400 and "13912345678" not in hidden.content.decode()
    assert "139****5678" not in client.get(f"/cases/{own.pk}/").content.decode()
    Case.objects.filter(pk=own.pk).update(reporter_shown_to="grid")
    revealed = client.post(f"/cases/{own.pk}/reporter/")
    assert revealed.status_code == 200 and "13912345678" in revealed.content.decode()
    assert AuditEvent.objects.filter(
        action="case.reveal_reporter", object_id=str(own.pk), actor_id=specialist.pk
    ).exists()
    assert client.post(f"/cases/{company.pk}/reporter/").status_code == 404
    Case.objects.filter(pk=own.pk).update(reporter_shown_to="not_handler")
    anonymous = client.post(f"/cases/{own.pk}/reporter/")
    assert anonymous.status_code == 400 and "13912345678" not in anonymous.content.decode()
    reveals = AuditEvent.objects.filter(action="case.reveal_reporter")
    assert reveals.filter(outcome="success").count() == 1
    assert reveals.filter(outcome="failure").count() == 3  # refused reveals are audited too


def test_a_specialist_posted_at_the_town_calls_back_by_default(world, street, specialist):
    """Posted at the town (not below the community), the assigned handler reads the phone
    of a request whose resident allowed no one in the grid."""
    at_town = factories.staff(
        "specialist_grid_worker", "370829001", username="town-gas", department=specialist.department
    )
    case = street["grid_case"]
    Case.objects.filter(pk=case.pk).update(handler=at_town)
    revealed = client_for(at_town).post(f"/cases/{case.pk}/reporter/")
    assert revealed.status_code == 200 and "13912345678" in revealed.content.decode()
    assert AuditEvent.objects.filter(
        action="case.reveal_reporter", object_id=str(case.pk), actor_id=at_town.pk,
        outcome="success",
    ).exists()  # fmt: skip
