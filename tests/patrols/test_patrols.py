"""Patrols and visits: logged, turned into requests, counted as coverage."""

import datetime

import pytest

from jiceng.cases.models import Case
from jiceng.core.actors import Actor
from jiceng.core.errors import DomainError, NotFound
from jiceng.core.models import AuditEvent
from jiceng.patrols import selectors, services
from jiceng.places.models import SpecialGroup
from tests.cases.conftest import at


@pytest.fixture
def patrol(world, clock):
    building = world.household_a.dwelling.building
    return services.patrol_log(
        actor=world.a("grid_worker"),
        grid=world.grid_a,
        started_at=at(2026, 9, 30, 8, 30),
        ended_at=at(2026, 9, 30, 9, 30),
        buildings=[building],
        checked_facilities=True,
        checked_people=True,
        checked_hazards=True,
        notes="消防通道畅通",
    )


def test_a_finding_becomes_a_request_in_one_step(world, catalogue, patrol):
    case = services.patrol_finding(
        actor=world.a("grid_worker"),
        patrol=patrol,
        description="5号楼井盖松动",
        category=catalogue["facilities.manhole"],
    )
    assert (case.channel, case.patrol, case.submitted_by) == (
        "patrol",
        patrol,
        world.a("grid_worker"),
    )
    assert list(patrol.findings.all()) == [case]
    with pytest.raises(NotFound):
        services.patrol_finding(actor=world.b("grid_worker"), patrol=patrol, description="x")


def test_patrols_are_checked(world, clock):
    worker = world.a("grid_worker")
    log = dict(actor=worker, grid=world.grid_a)
    with pytest.raises(DomainError):
        services.patrol_log(**log, started_at=at(2026, 9, 30, 9), ended_at=at(2026, 9, 30, 8))
    with pytest.raises(DomainError):
        services.patrol_log(**log, started_at=at(2026, 10, 2, 9), ended_at=at(2026, 10, 2, 10))
    with pytest.raises(NotFound):
        services.patrol_log(
            actor=world.b("grid_worker"),
            grid=world.grid_a,
            started_at=at(2026, 9, 30, 8),
            ended_at=at(2026, 9, 30, 9),
        )
    with pytest.raises(DomainError):
        services.patrol_log(
            **log,
            started_at=at(2026, 9, 30, 8),
            ended_at=at(2026, 9, 30, 9),
            buildings=[world.household_b.dwelling.building],
        )


def test_visit_notes_are_masked_and_reveals_audited(world, login, patrol):
    visit = services.visit_log(
        actor=world.a("grid_worker"),
        household=world.household_a,
        notes="独居老人血压偏高",
        patrol=patrol,
    )
    page = login(world.a("community_worker")).get(f"/patrols/{patrol.pk}/").content.decode()
    assert "独居老人血压偏高" not in page and "******" in page
    revealed = login(world.a("community_worker")).post(f"/patrols/visits/{visit.pk}/reveal/")
    assert "独居老人血压偏高" in revealed.content.decode()
    assert AuditEvent.objects.filter(action="visit.reveal", outcome="success").exists()
    specialist = world.a("specialist_grid_worker")
    assert login(specialist).post(f"/patrols/visits/{visit.pk}/reveal/").status_code == 404


def test_coverage_per_grid_and_worker(world, patrol, clock):
    person = world.household_a.head
    person.special_groups.add(SpecialGroup.objects.get(code="elderly_alone"))
    services.visit_log(actor=world.a("grid_worker"), household=world.household_a, notes="看望")
    grids, workers = selectors.patrol_coverage(
        user=world.a("community_worker"),
        region_code="370829001001",
        start=datetime.date(2026, 9, 28),
        end=datetime.date(2026, 10, 9),
    )
    row = next(r for r in grids if r.grid.code == world.grid_a.code)
    # Sept 28-30 and Oct 8-9 are the working days; Oct 1-7 is the holiday.
    assert (row.patrols, row.days_patrolled, row.working_days) == (1, 1, 5)
    assert (row.buildings_walked, row.buildings, row.building_rate) == (1, 1, 100)
    assert (row.special_households, row.special_visited, row.special_rate) == (1, 1, 100)
    assert workers[0]["n"] == 1


def test_pages(world, catalogue, login, clock):
    client = login(world.a("grid_worker"))
    response = client.post(
        "/patrols/new/",
        {
            "grid": world.grid_a.code,
            "started_at": "2026-09-30T08:00",
            "ended_at": "2026-09-30T09:00",
            "buildings": [world.household_a.dwelling.building_id],
            "checked_people": "on",
            "notes": "正常",
        },
    )
    assert response.status_code == 302
    detail = response["Location"]
    page = client.get(detail).content.decode()
    assert "上报为诉求" in page
    client.post(detail + "finding/", {"description": "楼道堆放杂物", "submission": "k1"})
    client.post(detail + "finding/", {"description": "楼道堆放杂物", "submission": "k1"})
    assert Case.objects.filter(channel="patrol").count() == 1
    listing = client.get("/patrols/").content.decode()
    assert world.grid_a.name in listing


def test_events_recorded_before_the_move_still_read_as_patrols(world, login, patrol):
    """Patrols and visits moved from `cases` to `patrols` keeping their tables: audit
    events written before the move name them "cases.patrol" and "cases.visit", and the
    auditor reads both kinds as 巡查 and 走访 like the new ones."""
    from django.contrib.contenttypes.models import ContentType

    from jiceng.core import audit

    assert AuditEvent.objects.get(action="patrol.log").object_type == "patrols.patrol"
    for object_type in ("cases.patrol", "cases.visit"):
        audit.record(
            actor=Actor.system("test"),
            action="patrol.log",
            object_type=object_type,
            object_id=str(patrol.pk),
            region_code=patrol.region_code,
        )
    page = login(world.a("auditor")).get("/audit/").content.decode()
    assert "cases.patrol" not in page and "cases.visit" not in page
    assert page.count(f"巡查 {patrol.pk}<") == 2 and f"走访 {patrol.pk}<" in page
    assert ContentType.objects.get_for_model(patrol).app_label == "patrols"
    assert patrol._meta.db_table == "cases_patrol"
