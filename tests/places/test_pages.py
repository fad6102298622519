"""Pages: what each role sees, masking, and query counts that do not grow with the data."""

import io

import pytest
from openpyxl import load_workbook

from jiceng.core.actors import Actor
from jiceng.core.masking import mask_id_number, mask_phone
from jiceng.core.models import AuditEvent
from jiceng.places.models import ImportJob
from tests import factories


def test_household_page_masks_and_offers_reveal_only_to_those_allowed(world, login):
    person = world.person_a
    page = (
        login(world.a("grid_worker")).get(f"/households/{world.household_a.pk}/").content.decode()
    )
    assert mask_id_number(person.id_number) in page
    assert mask_phone(person.phone) in page
    assert person.id_number not in page and person.phone not in page
    assert "查看" in page
    captain = login(world.a("building_captain"))  # sees the building's households, masked
    page = captain.get(f"/households/{world.household_a.pk}/").content.decode()
    assert mask_id_number(person.id_number) in page
    assert "hx-post" not in page


def test_reveal_fragment_and_audit(world, login):
    person = world.person_a
    response = login(world.a("grid_worker")).post(f"/persons/{person.pk}/reveal/phone/")
    assert person.phone in response.content.decode()
    assert AuditEvent.objects.filter(
        action="person.reveal", object_id=str(person.pk), detail__field="phone"
    ).exists()
    denied = login(world.a("building_captain")).post(f"/persons/{person.pk}/reveal/phone/")
    assert denied.status_code == 404
    assert person.phone not in denied.content.decode()


def test_probing_reveals_beyond_ones_scope_leaves_a_trace(world, login):
    """A reveal asked of a person outside the asker's scope, or of no person at all,
    answers 404 alike and is audited as denied with the id asked for."""
    outsider = world.b("grid_worker")
    client = login(outsider)
    missing = 10**9
    for pk in (world.person_a.pk, missing):
        assert client.post(f"/persons/{pk}/reveal/id_number/").status_code == 404
    denied = AuditEvent.objects.filter(
        action="person.reveal", outcome=AuditEvent.FAILURE, actor=outsider
    )
    assert sorted(denied.values_list("object_id", flat=True)) == sorted(
        [str(world.person_a.pk), str(missing)]
    )
    # In the asker's county, for its auditor, alike for both: nothing of where the person is.
    assert {e.region_code for e in denied} == {"370829"}


def test_reveal_needs_post(world, login):
    response = login(world.a("grid_worker")).get(f"/persons/{world.person_a.pk}/reveal/phone/")
    assert response.status_code == 405


def test_special_groups_are_masked_on_the_person_card(world, login):
    from jiceng.places.models import SpecialGroup

    person = world.person_a
    person.special_groups.add(SpecialGroup.objects.get(code="disabled"))
    page = login(world.a("grid_worker")).get(f"/persons/{person.pk}/").content.decode()
    assert "残疾人" not in page
    assert "******" in page
    revealed = login(world.a("grid_worker")).post(f"/persons/{person.pk}/reveal/special_groups/")
    assert "残疾人" in revealed.content.decode()


@pytest.mark.parametrize(
    ("query", "found"),
    [("甲测试", True), ("乙测试", False), ("TAIL", True), ("建设路", True), ("PHONE", True)],
)
def test_search_within_scope(world, login, query, found):
    person = world.person_a
    query = query.replace("TAIL", person.id_number[-4:]).replace("PHONE", person.phone[-4:])
    page = login(world.a("grid_worker")).get("/search/", {"q": query}).content.decode()
    assert (f"/persons/{person.pk}/" in page) is found


def test_search_never_matches_a_full_id_number(world, login):
    page = login(world.a("grid_worker")).get("/search/", {"q": world.person_a.id_number})
    assert f"/persons/{world.person_a.pk}/" not in page.content.decode()


def test_search_escapes_what_it_echoes(world, login):
    page = login(world.a("grid_worker")).get("/search/", {"q": "<script>alert(1)</script>"})
    assert "<script>alert(1)</script>" not in page.content.decode()
    assert "&lt;script&gt;" in page.content.decode()


def test_region_page_query_count_does_not_grow(world, login, django_assert_max_num_queries):
    client = login(world.a("county_admin"))
    client.get("/regions/370829001001/")
    for _ in range(5):
        factories.household_with_people(world.grid_a.code, size=3)
    with django_assert_max_num_queries(13):
        assert client.get("/regions/370829001001/").status_code == 200
    with django_assert_max_num_queries(14):
        assert client.get(f"/regions/{world.grid_a.code}/").status_code == 200


def test_building_and_household_pages_query_counts(world, login, django_assert_max_num_queries):
    client = login(world.a("grid_worker"))
    building = world.household_a.dwelling.building
    for room in ("201", "202", "203"):
        household = factories.HouseholdFactory(
            region_code=world.grid_a.code,
            dwelling=factories.dwelling(world.grid_a.code, building, room),
        )
        factories.PersonFactory(region_code=world.grid_a.code, household=household)
    with django_assert_max_num_queries(13):
        page = client.get(f"/buildings/{building.pk}/")
    assert page.content.decode().count("/households/") == 4
    with django_assert_max_num_queries(11):
        client.get(f"/households/{world.household_a.pk}/")
    with django_assert_max_num_queries(11):
        client.get("/search/", {"q": "张"})


def test_region_children_show_counts(world, login):
    factories.household_with_people(world.grid_a.code, size=3)
    page = login(world.a("community_worker")).get("/regions/370829001001/").content.decode()
    assert world.grid_a.name in page
    assert "城南社区第2网格" in page


@pytest.fixture
def export(django_capture_on_commit_callbacks):
    """Export `code` as `client` would: start the job, let it run, download the file."""

    def run(client, code: str):
        with django_capture_on_commit_callbacks(execute=True):
            started = client.post(f"/regions/{code}/export/")
        assert started.status_code == 302, started
        return client.get(started.url.rstrip("/") + "/roster.xlsx")

    return run


def read_export(response):
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    return list(sheet.iter_rows(values_only=True))


def test_export_takes_the_reveal_right_the_county_admin_lacks(world, login):
    response = login(world.a("county_admin")).post("/regions/370829/export/")
    assert response.status_code == 404
    assert not AuditEvent.objects.filter(action="roster.export").exists()
    assert not ImportJob.objects.exists()


def test_export_for_the_community_is_unmasked_and_audited(world, login, export):
    rows = read_export(export(login(world.a("community_worker")), "370829001001"))
    assert [r[4] for r in rows[1:]].count(world.person_a.id_number) == 1
    assert all(r[0].startswith("370829001001") for r in rows[1:])
    assert AuditEvent.objects.get(action="roster.export").detail["unmasked"] is True


def test_export_defuses_formulas(world, login, export):
    world.household_a.address = '=HYPERLINK("http://evil","x")'
    world.household_a.save()
    rows = read_export(export(login(world.a("community_worker")), "370829001001"))
    addresses = [r[13] for r in rows[1:] if r[13]]
    assert all(not a.startswith("=") for a in addresses)
    assert "'=HYPERLINK" in addresses[0]


def test_an_exported_roster_imports_back_unchanged(world, login, tmp_path, export):
    from jiceng.places.roster import roster_import

    response = export(login(world.a("community_worker")), "370829001001")
    path = tmp_path / "export.xlsx"
    path.write_bytes(b"".join(response.streaming_content))
    result = roster_import(
        actor=Actor.staff(world.a("community_worker")),
        region_code="370829001001",
        path=path,
        original_name=path.name,
    )
    assert result.errors == []
    assert (result.created, result.updated) == (0, 0)
