"""督办: the queue names each request's community and grid, filters by a community of the
supervisor's scope, counts what it holds, and exports what it shows as .xlsx (audited,
masked)."""

import io

import pytest
from openpyxl import load_workbook

from jiceng.cases import services
from jiceng.core.models import AuditEvent
from tests import factories
from tests.cases.conftest import at
from tests.conftest import client_for

NORTH = "370829001002"  # a second community of town A


@pytest.fixture
def queue(world, submit):
    """Two supervised requests in 城南社区 (grid 1), one in 城北社区, one in town B."""
    factories.community(NORTH, "城北社区")
    factories.grid(f"{NORTH}001", "城北社区第1网格")
    town = world.a("town_staff")
    south = [
        submit(text=f"城南路灯不亮{i}", reporter_name="张三明", reporter_phone=f"1391234000{i}")
        for i in range(2)
    ]
    north = submit(text="城北井盖缺失", region_code=f"{NORTH}001", reporter_phone="13912349999")
    elsewhere = submit(text="卧龙山噪音", region_code=world.grid_b.code)
    for case in [*south, north]:
        services.case_supervise(actor=town, case=case, note="请加快")
    services.case_supervise(actor=world.b("town_staff"), case=elsewhere, note="请加快")
    return {"south": south, "north": north, "elsewhere": elsewhere}


def test_the_queue_names_each_requests_community_and_grid(world, queue):
    page = client_for(world.a("town_staff")).get("/cases/supervision/").content.decode()
    assert page.count('<td data-label="社区">城南社区</td>') == 2
    assert page.count('<td data-label="网格">城南社区第1网格</td>') == 2
    assert '<td data-label="社区">城北社区</td>' in page
    assert '<td data-label="网格">城北社区第1网格</td>' in page
    assert f'data-label="社区">{world.grid_a.code[:12]}<' not in page


def test_the_queue_filters_by_a_community_of_the_scope_and_counts(world, clock, queue):
    clock.move_to(at(2026, 10, 30, 9))  # long past every time limit: all overdue
    client = client_for(world.a("town_staff"))
    everything = client.get("/cases/supervision/")
    assert everything.context["counts"]["total"] == 3
    assert everything.context["communities"] == [
        ("370829001001", "城南社区", 2),
        (NORTH, "城北社区", 1),
    ]
    north = client.get(f"/cases/supervision/?community={NORTH}")
    assert [case.pk for case, _ in north.context["rows"]] == [queue["north"].pk]
    assert north.context["counts"] == {"total": 1, "overdue": 1, "due_soon": 0, "supervised": 1}
    page = north.content.decode()
    assert "共 1 件" in page
    assert f'<option value="{NORTH}" selected>城北社区（1）</option>' in page
    # Town B's community is not a choice of town A's, and is answered like none at all.
    assert client.get("/cases/supervision/?community=370829002001").status_code == 404
    assert client.get("/cases/supervision/?community=城南").status_code == 404


def _sheet(response) -> list[tuple]:
    assert response["Content-Type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml"
    )
    workbook = load_workbook(io.BytesIO(response.content), read_only=True)
    return [tuple(row) for row in workbook.active.iter_rows(values_only=True)]


def test_the_export_is_the_filtered_queue_masked_and_audited(world, queue):
    town = world.a("town_staff")
    response = client_for(town).get("/cases/supervision/export.xlsx?community=370829001001")
    assert response.status_code == 200
    rows = _sheet(response)
    header, body = rows[0], rows[1:]
    column = {name: index for index, name in enumerate(header)}
    assert sorted(row[column["查询码"]] for row in body) == sorted(
        case.tracking_code for case in queue["south"]
    )
    assert {row[column["社区"]] for row in body} == {"城南社区"}
    assert {row[column["网格"]] for row in body} == {"城南社区第1网格"}
    assert {row[column["反映人"]] for row in body} == {"张*明"}
    assert sorted(row[column["联系电话"]] for row in body) == ["139****0000", "139****0001"]
    assert "13912340000" not in str(rows)
    event = AuditEvent.objects.get(action="case.supervision_export")
    assert (event.actor, event.region_code, event.outcome) == (town, "370829001001", "success")
    assert event.detail == {"rows": 2, "community": "370829001001"}


def test_the_export_of_the_whole_queue_covers_the_scope_only(world, queue):
    rows = _sheet(client_for(world.a("town_staff")).get("/cases/supervision/export.xlsx"))
    assert len(rows) == 1 + 3  # town B's request is not in town A's queue
    assert queue["elsewhere"].tracking_code not in str(rows)
    event = AuditEvent.objects.get(action="case.supervision_export")
    assert (event.region_code, event.detail) == ("370829001", {"rows": 3, "community": ""})


def test_an_export_outside_the_scope_is_refused_and_writes_nothing(world, queue):
    other = client_for(world.b("town_staff"))
    response = other.get("/cases/supervision/export.xlsx?community=370829001001")
    assert response.status_code == 404
    assert client_for(world.outsider).get("/cases/supervision/export.xlsx").status_code == 403
    assert not AuditEvent.objects.filter(
        action="case.supervision_export", outcome="success"
    ).exists()
