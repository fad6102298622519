"""Buildings, units and rooms in natural order everywhere they are listed (1号楼 before
10号楼, 2单元 before 10单元, room 101 before 1001), on SQLite and PostgreSQL alike; the
building page's rooms by unit and floor; the household page's members."""

import datetime
import re

import pytest
from django.utils import timezone

from jiceng.places.models import Building, BuildingUnit, Dwelling
from jiceng.places.ordering import floor_of, natural_key
from tests import factories
from tests.conftest import client_for

# Shuffled; a database's text order puts 3区10号楼 before 3区2号楼 and 3区9号楼A, and an
# order by length puts 3区10号楼 before 3区9号楼A.
NAMES = ["3区10号楼", "3区9号楼A", "3区2号楼", "3区1号楼"]
IN_ORDER = ["3区1号楼", "3区2号楼", "3区9号楼A", "3区10号楼"]


def test_numbers_in_a_name_are_compared_as_numbers():
    names = ["10号楼", "2号楼", "1号楼", "1号楼A", "１１号楼", "东区", "01号楼"]
    assert sorted(names, key=natural_key) == [
        "01号楼", "1号楼", "1号楼A", "2号楼", "10号楼", "１１号楼", "东区",
    ]  # fmt: skip
    assert sorted(["1001", "101", "201", "12"], key=natural_key) == ["12", "101", "201", "1001"]
    assert sorted(["10单元", "2单元"], key=natural_key) == ["2单元", "10单元"]


def test_the_floor_of_a_room():
    assert [floor_of(r) for r in ["101", "1502", "2-301", "东户", "12", ""]] == [
        1, 15, 3, None, None, None,
    ]  # fmt: skip


@pytest.fixture
def buildings(world):
    made = {}
    for name in NAMES:
        made[name] = Building.objects.create(region_code=world.grid_a.code, name=name)
    return made


def _order(page: str, names: list[str]) -> list[str]:
    """`names` in the order the page first shows them."""
    found = {name: page.find(f"{name}<") for name in names}
    assert all(at >= 0 for at in found.values()), found
    return sorted(names, key=found.get)


def test_the_grid_page_lists_its_buildings_in_natural_order(world, buildings):
    page = client_for(world.a("grid_worker")).get(f"/regions/{world.grid_a.code}/")
    assert _order(page.content.decode(), NAMES) == IN_ORDER


def test_the_intake_form_offers_buildings_in_natural_order(world, buildings):
    page = client_for(None).get(f"/q/{world.grid_a.code}/").content.decode()
    assert _order(page, NAMES) == IN_ORDER


def test_the_patrol_form_and_page_list_buildings_in_natural_order(world, buildings):
    from jiceng.patrols.services import patrol_log

    worker = world.a("grid_worker")
    page = client_for(worker).get("/patrols/new/").content.decode()
    assert _order(page, NAMES) == IN_ORDER
    now = timezone.now()
    patrol = patrol_log(
        actor=worker, grid=world.grid_a, started_at=now - datetime.timedelta(hours=1),
        ended_at=now, buildings=list(buildings.values()), notes="巡查",
    )  # fmt: skip
    page = client_for(worker).get(f"/patrols/{patrol.pk}/").content.decode()
    shown = [name for name in re.findall(r"3区\d+号楼A?", page) if name in NAMES]
    assert list(dict.fromkeys(shown)) == IN_ORDER


def test_the_grant_form_offers_buildings_in_natural_order(world, buildings):
    account = factories.UserFactory(username="order-captain", region_code=world.grid_a.code)
    page = client_for(world.a("county_admin")).get(
        f"/accounts/users/{account.pk}/grant/buildings/?region_code={world.grid_a.code}"
    )
    assert _order(page.content.decode(), NAMES) == IN_ORDER


def test_per_building_posters_come_in_natural_order(world, buildings):
    from jiceng.cases.posters import grid_posters

    names = [
        name
        for name, _ in grid_posters(region=world.grid_a, base_url="http://x", per_building=True)
    ]
    ids = [int(name.split("-")[1].removesuffix(".svg")) for name in names]
    order = {b.pk: name for name, b in buildings.items()}
    assert [order[pk] for pk in ids if pk in order] == IN_ORDER


def _room(building, unit: int, room: str, household_name: str | None = None):
    unit_row, _ = BuildingUnit.objects.get_or_create(
        building=building, number=unit, region_code=building.region_code
    )
    dwelling = Dwelling.objects.create(
        region_code=building.region_code, building=building, unit=unit_row, room=room
    )
    if household_name:
        household = factories.household_with_people(building.region_code, name=household_name)
        household.dwelling = dwelling
        household.save()
    return dwelling


def test_the_building_page_shows_rooms_by_unit_and_floor_in_natural_order(world):
    building = world.household_a.dwelling.building
    for unit, room in [(10, "101"), (2, "1001"), (2, "201"), (2, "101"), (2, "102")]:
        _room(building, unit, room, household_name=f"住户{unit}-{room}")
    _room(building, 2, "301")  # nobody registered
    page = client_for(world.a("grid_worker")).get(f"/buildings/{building.pk}/").content.decode()
    labels = re.findall(r'data-room="([^"]+)"', page)
    assert labels == ["1-101", "2-101", "2-102", "2-201", "2-301", "2-1001", "10-101"]
    floors = re.findall(r'data-floor="([^"]+)"', page)
    assert floors == ["1-1", "2-1", "2-2", "2-3", "2-10", "10-1"]
    assert "住户2-1001" in page  # the household's head, by name
    assert page.count('class="room empty"') == 1  # room 301: nobody registered


def test_the_building_page_reads_the_same_queries_for_more_rooms(
    world, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    building = world.household_a.dwelling.building
    client = client_for(world.a("grid_worker"))
    url = f"/buildings/{building.pk}/"
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for room in range(201, 206):
        _room(building, 1, str(room), household_name=f"多户{room}")
    with CaptureQueriesContext(connection) as many:
        client.get(url)
    assert len(many.captured_queries) == len(few.captured_queries)


def test_a_members_relation_and_gender_read_as_one_phrase_beside_the_name(world):
    """关系 女 (daughter) beside 性别 女 read as two genders; the member's row says 女儿 · 女."""
    household = world.household_a
    daughter = factories.PersonFactory(
        region_code=household.region_code, household=household, relation_to_head="女",
        gender="F", name="甲女儿",
    )  # fmt: skip
    page = client_for(world.a("grid_worker")).get(f"/households/{household.pk}/")
    cells = re.findall(r'<td data-label="姓名">(.*?)</td>', page.content.decode(), re.S)
    daughters = [cell for cell in cells if daughter.name in cell]
    assert len(daughters) == 1
    assert re.search(r"女儿\s*·\s*女<", daughters[0]), daughters[0]
    assert 'data-label="关系"' not in page.content.decode()
