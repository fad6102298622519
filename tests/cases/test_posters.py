"""QR posters: the code leads to the grid's form; the worker's phone is masked."""

from xml.etree import ElementTree

import segno
from django.core.management import call_command

from jiceng.cases.posters import intake_url
from tests.factories import UserFactory


def qr_path(url: str) -> str:
    inline = segno.make(url, error="m").svg_inline(omitsize=True, border=2)
    return inline.split(' d="', 1)[1].split('"', 1)[0]


def test_a_grid_poster(world, login, settings):
    settings.JICENG_PUBLIC_URL = "https://jiceng.example.gov.cn"
    worker = world.a("grid_worker")
    worker.phone = "13912345678"
    worker.save()
    response = login(worker).get(f"/regions/{world.grid_a.code}/poster.svg")
    assert response["Content-Type"].startswith("image/svg+xml")
    svg = response.content.decode()
    root = ElementTree.fromstring(svg)
    assert root.get("viewBox") == "0 0 210 297"  # A4 in millimetres
    assert world.grid_a.name in svg and "139****5678" in svg and "13912345678" not in svg
    expected = intake_url("https://jiceng.example.gov.cn", world.grid_a)
    assert expected == f"https://jiceng.example.gov.cn/q/{world.grid_a.code}/"
    assert qr_path(expected) in svg


def test_posters_for_a_community_and_per_building(world, login):
    client = login(world.a("community_worker"))
    page = client.get("/regions/370829001001/posters/").content.decode()
    assert page.count('class="poster"') == 2  # the community's two grids
    buildings = client.get("/regions/370829001001/posters/?buildings=1").content.decode()
    assert buildings.count('class="poster"') == 1  # one building is registered
    assert f"?b={world.household_a.dwelling.building_id}" not in buildings  # inside the QR only


def test_the_command_writes_svg_files(world, tmp_path):
    UserFactory()
    call_command(
        "qr_posters", "--region", "370829001", "--out", str(tmp_path), "--base-url", "http://x"
    )
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["370829001001001.svg", "370829001001002.svg"]
