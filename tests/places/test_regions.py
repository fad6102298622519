import pytest

from jiceng.core.actors import Actor
from jiceng.core.errors import DomainError
from jiceng.places.models import Region
from jiceng.places.services import grid_update, region_create

SQUARE = {
    "type": "Polygon",
    "coordinates": [[[116.3, 35.4], [116.4, 35.4], [116.4, 35.5], [116.3, 35.5], [116.3, 35.4]]],
}


def test_jining_ships_with_its_counties_and_jiaxiangs_towns(db):
    counties = Region.objects.filter(parent_id="3708", level="county")
    assert counties.filter(is_statutory=True).count() == 11
    assert counties.get(is_statutory=False).name == "太白湖新区"
    assert Region.objects.filter(parent_id="370829", level="town").count() == 15
    assert Region.objects.get(code="370881001").name == "鲁城街道"


def test_a_grid_under_a_community(world):
    admin = world.a("county_admin")
    grid = region_create(
        actor=Actor.staff(admin),
        parent=Region.objects.get(code="370829001001"),
        code="370829001001010",
        name="城南社区第10网格",
        grid_kind="dedicated",
        boundary=SQUARE,
    )
    assert grid.level == "grid" and grid.statistical_code == "370829001001"
    assert grid.ancestor_codes() == ["37", "3708", "370829", "370829001", "370829001001"]


@pytest.mark.parametrize(
    ("code", "kind", "boundary", "error"),
    [
        ("37082900100101", "comprehensive", None, "region_code_shape"),
        ("370829002001001", "comprehensive", None, "region_code_shape"),
        ("370829001001001", "comprehensive", None, "region_code_taken"),
        ("370829001001011", "", None, "grid_kind"),
        (
            "370829001001011",
            "comprehensive",
            {"type": "Point", "coordinates": [1, 2]},
            "boundary_type",
        ),
        (
            "370829001001011",
            "comprehensive",
            {"type": "Polygon", "coordinates": [[[1, 2], [3, 4], [5, 6]]]},
            "boundary_ring",
        ),
        (
            "370829001001011",
            "comprehensive",
            {"type": "Polygon", "coordinates": [[[500, 2], [3, 4], [5, 6], [500, 2]]]},
            "boundary_range",
        ),
    ],
)
def test_bad_nodes_are_refused(world, code, kind, boundary, error):
    with pytest.raises(DomainError) as failure:
        region_create(
            actor=Actor.staff(world.a("county_admin")),
            parent=Region.objects.get(code="370829001001"),
            code=code,
            name="x",
            grid_kind=kind,
            boundary=boundary,
        )
    assert failure.value.code == error


def test_grid_settings_page(world, login):
    client = login(world.a("county_admin"))
    response = client.post(
        f"/regions/{world.grid_a.code}/grid/",
        {
            "name": "城南一网格",
            "grid_kind": "dedicated",
            "leader": world.a("grid_worker").pk,
            "boundary": '{"type": "Polygon", "coordinates": '
            "[[[116.3,35.4],[116.4,35.4],[116.4,35.5],[116.3,35.4]]]}",
        },
    )
    assert response.status_code == 302
    grid = Region.objects.get(code=world.grid_a.code)
    assert (grid.name, grid.grid_kind, grid.leader) == (
        "城南一网格",
        "dedicated",
        world.a("grid_worker"),
    )
    assert grid.boundary["type"] == "Polygon"


def test_a_leader_from_another_grid_is_refused(world, login):
    client = login(world.a("county_admin"))
    client.post(
        f"/regions/{world.grid_a.code}/grid/",
        {"name": "x", "grid_kind": "comprehensive", "leader": world.b("grid_worker").pk},
    )
    assert Region.objects.get(code=world.grid_a.code).leader is None


def test_grid_update_needs_regions_manage(world):
    with pytest.raises(DomainError):
        grid_update(
            actor=Actor.staff(world.a("grid_worker")),
            grid=world.grid_a,
            name="x",
            grid_kind="comprehensive",
        )
