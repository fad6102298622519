"""Review fixes: the staff entry form asks the category's questions, a captain's or a
rider's phone is offered rather than attached, the reporter's role (上报身份) is shown,
and a resident's consent to the grid reaches its grid workers only."""

import re

import pytest
from django.test import Client

from jiceng.accounts.models import Department
from jiceng.accounts.services import api_token_issue
from jiceng.cases import services
from jiceng.cases.models import Case, Event
from jiceng.core.actors import Actor
from jiceng.core.personal import clear
from jiceng.places.services import captain_appoint
from jiceng.residents import services as resident_services
from tests import factories
from tests.conftest import resident_client


def _key(page: str) -> str:
    return re.search(r'name="submission" value="([^"]+)"', page).group(1)


def _api(user) -> Client:
    raw, _ = api_token_issue(actor=Actor.staff(user))
    return Client(headers={"Authorization": f"Bearer {raw}"})


# --- 1. the staff entry form asks the chosen category's questions ---------------------------


def test_the_staff_form_asks_the_categorys_questions_through_the_qr_pages_fragment(
    world, catalogue, login
):
    client = login(world.a("grid_worker"))
    page = client.get("/cases/new/").content.decode()
    fragment_url = f"/q/{world.grid_a.code}/questions/"
    assert f'hx-get="{fragment_url}"' in page and 'id="questions"' in page
    elevator = catalogue["property.elevator"]
    fragment = client.get(fragment_url, {"category": elevator.pk})
    assert fragment.status_code == 200
    assert 'name="q_trapped"' in fragment.content.decode()
    assert "是否有人被困？" in fragment.content.decode()


def test_a_staff_entry_with_the_required_answer_is_recorded_with_it(world, catalogue, login):
    client = login(world.a("grid_worker"))
    key = _key(client.get("/cases/new/").content.decode())
    response = client.post(
        "/cases/new/",
        {
            "region_code": world.grid_a.code,
            "category": catalogue["property.elevator"].pk,
            "description": "3号楼电梯停在5楼不动",
            "q_trapped": "yes",
            "submission": key,
        },
    )
    assert response.status_code == 302
    case = Case.objects.get()
    assert case.answers == {"trapped": "yes"}
    assert (case.channel, case.submitted_by) == ("staff", world.a("grid_worker"))
    assert Event.objects.filter(case=case, action="submit").count() == 1
    # The case page reads the answer as the question and its option's name.
    page = client.get(f"/cases/{case.pk}/").content.decode()
    assert "<dt>是否有人被困？</dt><dd>是</dd>" in page
    assert "<dt>trapped</dt>" not in page


def test_a_staff_entry_without_the_required_answer_says_so_and_keeps_the_form(
    world, catalogue, login
):
    client = login(world.a("grid_worker"))
    key = _key(client.get("/cases/new/").content.decode())
    refused = client.post(
        "/cases/new/",
        {
            "region_code": world.grid_a.code,
            "category": catalogue["facilities.gas"].pk,
            "description": "楼道里有燃气味",
            "submission": key,
        },
    )
    page = refused.content.decode()
    assert refused.status_code == 200
    assert "请回答：现在是否仍闻到明显气味？" in page
    assert 'name="q_smell"' in page  # asked again, on the form shown again
    assert not Case.objects.exists() and not Event.objects.exists()


# --- 2. a captain's or a rider's phone is offered, not attached ----------------------------


@pytest.fixture
def captain(world):
    captain_appoint(
        actor=Actor.staff(world.a("grid_worker")),
        building=world.household_a.dwelling.building,
        person=world.person_a,
    )
    return factories.resident(person=world.person_a, phone="13900007777")


def _intake(client: Client, grid_code: str, query: str = "") -> str:
    page = client.get(f"/q/{grid_code}/{query}")
    assert page.status_code == 200
    return page.content.decode()


def test_the_captain_sees_their_phone_offered_and_that_they_report_as_captain(world, captain):
    building = world.household_a.dwelling.building
    page = _intake(resident_client(captain), world.grid_a.code, f"?b={building.pk}")
    assert "您正以楼栋长（单元长、胡同长）身份反映" in page
    assert re.search(r'name="reporter_phone"[^>]*value="13900007777"', page)


def test_a_captain_who_clears_the_phone_reports_without_one_still_as_captain(world, captain):
    building = world.household_a.dwelling.building
    client = resident_client(captain)
    key = _key(_intake(client, world.grid_a.code, f"?b={building.pk}"))
    response = client.post(
        f"/q/{world.grid_a.code}/",
        {
            "description": "楼道灯不亮",
            "building": building.pk,
            "reporter_phone": "",
            "submission": key,
        },
    )
    assert response.status_code == 302
    case = Case.objects.get()
    assert case.reported_as == Case.ReportedAs.CAPTAIN
    assert not case.reporter_phone


def test_a_captain_who_keeps_the_phone_reports_with_it(world, captain):
    building = world.household_a.dwelling.building
    client = resident_client(captain)
    key = _key(_intake(client, world.grid_a.code, f"?b={building.pk}"))
    client.post(
        f"/q/{world.grid_a.code}/",
        {
            "description": "单元门禁坏了",
            "building": building.pk,
            "reporter_phone": "13900007777",
            "submission": key,
        },
    )
    case = Case.objects.get()
    assert (case.reported_as, clear(case.reporter_phone)) == ("captain", "13900007777")


def test_a_rider_is_told_and_their_cleared_phone_is_not_added(world):
    worker = world.a("grid_worker")
    resident = factories.resident(phone="13900008888")
    resident_services.rider_register(
        actor=Actor.staff(worker),
        phone="13900008888",
        grid_code=world.grid_a.code,
        platform="美团外卖",
        paired_with=worker,
    )
    client = resident_client(resident)
    page = _intake(client, world.grid_a.code)
    assert "您正以红骑手身份反映" in page
    assert re.search(r'name="reporter_phone"[^>]*value="13900008888"', page)
    client.post(
        f"/q/{world.grid_a.code}/",
        {"description": "路口井盖缺失", "submission": _key(page)},
    )
    case = Case.objects.get()
    assert (case.reported_as, case.reporter_phone) == ("rider", "")


def test_a_resident_who_is_nobody_is_offered_nothing(world):
    resident = factories.resident(person=world.person_a, phone="13900009999")
    page = _intake(resident_client(resident), world.grid_a.code)
    assert "身份反映" not in page and "13900009999" not in page


# --- 3. 上报身份 is shown to staff ------------------------------------------------------------


def test_the_reporters_role_is_shown_on_the_page_in_the_queue_and_in_the_api(world, submit, login):
    case = submit(reported_as=Case.ReportedAs.CAPTAIN)
    plain = submit(text="路灯不亮")
    worker = world.a("grid_worker")
    page = login(worker).get(f"/cases/{case.pk}/").content.decode()
    assert "上报身份" in page and "楼栋长（单元长、胡同长）" in page
    assert "上报身份" not in login(worker).get(f"/cases/{plain.pk}/").content.decode()
    queue = login(worker).get("/cases/?queue=open").content.decode()
    assert queue.count('data-reported-as="captain"') == 1
    api = _api(worker)
    one = api.get(f"/api/v1/cases/{case.pk}").json()
    assert (one["reported_as"], one["reported_as_label"]) == ("captain", "楼栋长（单元长、胡同长）")
    listed = {
        c["id"]: c["reported_as"] for c in api.get("/api/v1/cases?queue=open").json()["items"]
    }
    assert listed == {case.pk: "captain", plain.pk: ""}


# --- 4. the consent to the grid reaches its grid workers, not the property's ----------------


@pytest.fixture
def shared(world, submit):
    """A request whose resident let the grid's workers see them, dispatched to a property
    company with part-time grid workers in the same grid and in another community."""
    company = Department.objects.create(region_code="370829", name="鑫源物业", kind="property")
    here = factories.staff(
        "property_grid_worker", world.grid_a.code, username="wy-a", department=company
    )
    elsewhere = factories.staff(
        "property_grid_worker", world.grid_b.code, username="wy-b", department=company
    )
    case = submit(reporter_phone="13012344605", share_reporter_with_grid=True)
    worker = Actor.staff(world.a("grid_worker"))
    case = services.case_accept(actor=worker, case=case)
    case = services.case_dispatch(actor=worker, case=case, department=company)
    return {"case": case, "here": here, "elsewhere": elsewhere}


def test_the_consent_shows_the_reporter_to_the_grid_worker(world, shared, login):
    page = login(world.a("grid_worker")).get(f"/cases/{shared['case'].pk}/")
    assert page.status_code == 200 and "130****4605" in page.content.decode()
    assert (
        _api(world.a("grid_worker"))
        .get(f"/api/v1/cases/{shared['case'].pk}")
        .json()["reporter"]
        .endswith("130****4605")
    )


@pytest.mark.parametrize("who", ["here", "elsewhere"])
def test_the_consent_does_not_reach_the_property_companys_grid_workers(world, shared, login, who):
    case, user = shared["case"], shared[who]
    page = login(user).get(f"/cases/{case.pk}/")
    assert page.status_code == 200  # they handle it for their company
    text = page.content.decode()
    assert "130****4605" not in text and "仅社区及以上工作人员可见" in text
    assert _api(user).get(f"/api/v1/cases/{case.pk}").json()["reporter"] == ""
    refused = login(user).post(f"/cases/{case.pk}/reporter/")
    assert refused.status_code in (400, 403, 404)
    assert "13012344605" not in refused.content.decode()
