"""Object references smuggled into bodies and query strings: a form of region A naming a
record of region B is refused, and nothing is written. Also: role escalation through the
account pages, and API tokens of deactivated accounts."""

import datetime

import pytest
from django.test import Client

from jiceng.accounts.models import Membership
from jiceng.accounts.services import api_token_issue, user_set_active
from jiceng.activities import services as activity_services
from jiceng.activities.models import Activity, Need, ServiceType, TeamMember
from jiceng.cases.models import Case
from jiceng.core.actors import Actor
from jiceng.gatherings import services as gatherings
from jiceng.patrols.models import Patrol, Visit
from jiceng.patrols.services import patrol_log
from jiceng.places.models import Region
from jiceng.points import services as points_services
from jiceng.points.models import DeedClaim, Good, JournalEntry
from tests.conftest import client_for
from tests.factories import resident

A, B = "370829001001", "370829002001"


def test_a_visit_to_another_grids_household(world):
    worker = world.a("grid_worker")
    now = datetime.datetime.now(datetime.UTC)
    patrol = patrol_log(actor=worker, grid=world.grid_a, started_at=now, ended_at=now, notes="巡查")
    client_for(worker).post(
        f"/patrols/{patrol.pk}/visit/", {"household": world.household_b.pk, "notes": "越界走访"}
    )
    assert not Visit.objects.exists()


def test_a_patrol_of_another_grid(world):
    worker = world.a("grid_worker")
    client_for(worker).post(
        "/patrols/new/",
        {
            "grid": world.grid_b.code,
            "started_at": "2026-11-02T08:00",
            "ended_at": "2026-11-02T09:00",
        },
    )
    assert not Patrol.objects.exists()


def test_a_request_entered_for_another_grid(world):
    from jiceng.cases.catalogue import catalogue_seed

    catalogue_seed(county_code="370829")
    client_for(world.a("grid_worker")).post(
        "/cases/new/",
        {"region_code": world.grid_b.code, "description": "越界登记", "submission": "x1"},
    )
    token = api_token_issue(actor=Actor.staff(world.a("grid_worker")))[0]
    api = Client(headers={"Authorization": f"Bearer {token}"})
    response = api.post(
        "/api/v1/cases",
        {"region_code": world.grid_b.code, "description": "越界登记"},
        "application/json",
    )
    assert response.status_code in (403, 404)
    assert not Case.objects.exists()


def test_a_grid_leader_from_another_region(world):
    admin = world.a("town_staff")
    before = Region.objects.get(code=world.grid_a.code).leader_id
    client_for(admin).post(
        f"/regions/{world.grid_a.code}/grid/",
        {
            "name": "城南社区第1网格",
            "grid_kind": "comprehensive",
            "leader": world.b("grid_worker").pk,
        },
    )
    assert Region.objects.get(code=world.grid_a.code).leader_id == before


def test_no_role_escalation_through_the_account_pages(world):
    admin = world.a("county_admin")
    target = world.a("grid_worker")
    before = set(Membership.objects.values_list("user_id", "role", "region_code"))
    client = client_for(admin)
    client.post(
        f"/accounts/users/{target.pk}/grant/", {"role": "county_admin", "region_code": "370830"}
    )
    client.post(
        f"/accounts/users/{target.pk}/grant/", {"role": "superuser", "region_code": "370829"}
    )
    client.post(
        f"/accounts/users/{admin.pk}/grant/",
        {"role": "grid_worker", "region_code": world.grid_a.code},
    )
    elsewhere = world.b("county_admin")  # an account of another county
    assert (
        client.post(
            f"/accounts/users/{elsewhere.pk}/grant/",
            {"role": "grid_worker", "region_code": world.grid_a.code},
        ).status_code
        == 404
    )
    assert set(Membership.objects.values_list("user_id", "role", "region_code")) == before
    target.refresh_from_db()
    assert not target.is_superuser and not target.is_staff


def test_an_api_token_dies_with_its_account(world):
    worker = world.a("grid_worker")
    raw, _ = api_token_issue(actor=Actor.staff(worker))
    api = Client(headers={"Authorization": f"Bearer {raw}"})
    assert api.get("/api/v1/grids").status_code == 200
    user_set_active(actor=Actor.staff(world.a("county_admin")), user=worker, is_active=False)
    assert api.get("/api/v1/grids").status_code == 401


@pytest.fixture
def community_b(world):
    """B's venue, team, store with a good, and ledger rule."""
    staff_b = world.b("community_worker")
    venue = gatherings.venue_create(
        actor=staff_b, region_code=B, name="乙驿站", kind="station", capacity=30,
        opens_at=datetime.time(8), closes_at=datetime.time(20),
    )  # fmt: skip
    team = activity_services.team_create(
        actor=staff_b, region_code=B, name="乙队", leader=resident()
    )
    store = points_services.store_create(actor=Actor.staff(staff_b), region_code=B, name="乙超市")
    good = points_services.good_create(
        actor=Actor.staff(staff_b), store=store, name="乙商品", price=5, stock=5
    )
    rule = points_services.rule_create(
        actor=Actor.staff(staff_b), region_code=B, name="乙规则", kind="deed", points=5
    )
    return {"venue": venue, "team": team, "store": store, "good": good, "rule": rule}


def test_activities_and_points_forms_naming_bs_records(world, community_b):
    staff_a = world.a("community_worker")
    client = client_for(staff_a)
    service_type = ServiceType.objects.get(code="health")
    start = datetime.date.today() + datetime.timedelta(days=5)
    client.post(
        "/activities/new/",
        {"region_code": A, "title": "借乙阵地", "service_type": service_type.pk,
         "date": start.isoformat(), "start": "09:00", "end": "10:00",
         "venue": community_b["venue"].pk, "capacity": "10", "points": "5"},
    )  # fmt: skip
    client.post(
        "/activities/new/",
        {"region_code": B, "title": "替乙策划", "service_type": service_type.pk,
         "date": start.isoformat(), "start": "09:00", "end": "10:00",
         "capacity": "10", "points": "5"},
    )  # fmt: skip
    assert not Activity.objects.exists()
    client.post("/activities/needs/", {"region_code": world.grid_b.code, "text": "越界需求"})
    assert not Need.objects.exists()
    members = TeamMember.objects.count()
    assert (
        client.post(
            f"/activities/teams/{community_b['team'].pk}/members/", {"phone": "13900009999"}
        ).status_code
        == 404
    )
    assert TeamMember.objects.count() == members

    entries = JournalEntry.objects.count()
    assert (
        client.post(
            "/points/adjust/",
            {
                "region": B,
                "phone": "13900009999",
                "amount": "50",
                "reason": "越界",
                "submission": "k",
            },
        ).status_code
        == 404
    )
    client.post(
        "/points/deeds/",
        {
            "region": A,
            "rule": community_b["rule"].pk,
            "phone": "13900009999",
            "description": "借乙规则",
        },
    )
    assert JournalEntry.objects.count() == entries and not DeedClaim.objects.exists()

    store_a = points_services.store_create(actor=Actor.staff(staff_a), region_code=A, name="甲超市")
    assert (
        client.post(
            f"/stores/{store_a.pk}/goods/{community_b['good'].pk}/restock/", {"quantity": "100"}
        ).status_code
        == 404
    )
    client.post(f"/stores/{store_a.pk}/clerks/", {"username": "b-store_clerk"})
    assert Good.objects.get(pk=community_b["good"].pk).stock == 5
    assert not store_a.clerks.exists()


def test_assigning_a_team_of_another_town(world, community_b):
    staff_a = world.a("community_worker")
    activity = activity_services.activity_create(
        actor=staff_a, region_code=A, title="甲活动",
        service_type=ServiceType.objects.get(code="health"),
        starts_at=datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=3),
        ends_at=datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=3, hours=1),
        capacity=10,
    )  # fmt: skip
    client_for(staff_a).post(
        f"/activities/{activity.pk}/act/assign/", {"team": community_b["team"].pk}
    )
    activity.refresh_from_db()
    assert activity.team is None and activity.status == "draft"
