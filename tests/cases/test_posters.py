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


def test_a_published_work_phone_is_on_the_poster_and_the_intake_in_full(world, login, client):
    worker = world.a("grid_worker")
    worker.phone = "13912345678"
    worker.save()
    community = login(world.a("community_worker"))
    saved = community.post(
        "/regions/370829001001/work-phones/",
        {"grid": world.grid_a.code, "work_phone": "0537-6812345"},
    )
    assert saved.status_code == 302
    from jiceng.accounts.models import Membership
    from jiceng.core.models import AuditEvent

    post = Membership.objects.get(user=worker, role="grid_worker")
    assert post.work_phone == "0537-6812345"
    assert AuditEvent.objects.filter(action="user.work_phone", object_id=str(post.pk)).exists()
    svg = community.get(f"/regions/{world.grid_a.code}/poster.svg").content.decode()
    assert "0537-6812345" in svg and 'href="tel:05376812345"' in svg
    assert "13912345678" not in svg
    page = client.get(f"/q/{world.grid_a.code}/").content.decode()
    assert '<a href="tel:05376812345" class="tel">0537-6812345</a>' in page
    assert "13912345678" not in page


def test_only_the_communitys_staff_set_a_work_phone(world, login):
    from jiceng.accounts.models import Membership

    for user in (world.a("grid_worker"), world.b("community_worker"), world.outsider):
        response = login(user).post(
            "/regions/370829001001/work-phones/",
            {"grid": world.grid_a.code, "work_phone": "0537-6812345"},
        )
        assert response.status_code in (403, 404)
    assert not Membership.objects.exclude(work_phone="").exists()
    bad = login(world.a("community_worker")).post(
        "/regions/370829001001/work-phones/", {"grid": world.grid_a.code, "work_phone": "1234567"}
    )
    assert bad.status_code == 400 and "区号" in bad.content.decode()
    assert not Membership.objects.exclude(work_phone="").exists()

    # the worker's own mobile, however typed, stays private
    worker = world.a("grid_worker")
    worker.phone = "13911112222"
    worker.save()
    own = login(world.a("community_worker")).post(
        "/regions/370829001001/work-phones/",
        {"grid": world.grid_a.code, "work_phone": "139 1111 2222"},
    )
    assert own.status_code == 400 and "本人的手机号" in own.content.decode()
    assert not Membership.objects.exclude(work_phone="").exists()


def test_a_revealed_phone_is_a_tel_link(world, login, submit):
    case = submit(reporter_phone="13900001111")
    response = login(world.a("community_worker")).post(f"/cases/{case.pk}/reporter/")
    assert '<a href="tel:13900001111" class="tel">13900001111</a>' in response.content.decode()
    person = world.person_a
    person.phone = "13900002222"
    person.save()
    revealed = login(world.a("town_staff")).post(f"/persons/{person.pk}/reveal/phone/")
    assert 'href="tel:13900002222"' in revealed.content.decode()
