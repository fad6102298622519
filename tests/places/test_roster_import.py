"""Roster import with real files: .xlsx written by openpyxl, CSV in GBK (as Excel in China
saves it) and in UTF-8 with a BOM."""

import csv
import io
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from openpyxl import Workbook, load_workbook

from jiceng.core import personal
from jiceng.core.actors import Actor
from jiceng.core.models import AuditEvent
from jiceng.places.models import Building, Household, ImportJob, Person
from jiceng.places.roster import COLUMNS, roster_import
from jiceng.places.roster_writer import RosterWriter
from tests.factories import make_id_number

GRID = "370829001001001"
HEADERS = [c.header for c in COLUMNS]


def row(**values) -> list[str]:
    defaults = {
        "网格编码": GRID,
        "户号": "0001",
        "与户主关系": "户主",
        "姓名": "王建国",
        "身份证号": "",
        "联系电话": "13905370001",
        "民族": "汉族",
        "政治面貌": "群众",
        "居住类型": "常住",
        "特殊人群": "",
        "楼栋": "1号楼",
        "单元": "1",
        "房号": "101",
        "住址": "建设路1号",
    }
    defaults.update(values)
    return [defaults[h] for h in HEADERS]


def family(number: str = "0001", size: int = 3) -> list[list[str]]:
    relations = ["户主", "配偶", "子", "女", "父母"]
    names = ["王建国", "李秀英", "王浩", "王静", "王老汉"]
    return [
        row(
            户号=number,
            与户主关系=relations[i],
            姓名=names[i] + number,
            身份证号=make_id_number(male=i in (0, 2, 4)),
            房号=f"{number[-1]}01",
        )
        for i in range(size)
    ]


def write_xlsx(path: Path, rows, headers=HEADERS) -> Path:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append([h + "*" if h in ("网格编码", "姓名") else h for h in headers])
    for values in rows:
        sheet.append(values)
    workbook.save(path)
    return path


def write_csv(path: Path, rows, encoding: str, headers=HEADERS) -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(headers)
    writer.writerows(rows)
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def run(path: Path, region: str = GRID, actor=None):
    who = Actor.staff(actor) if actor is not None else Actor.system("import-roster")
    return roster_import(actor=who, region_code=region, path=path, original_name=path.name)


@pytest.fixture(autouse=True, params=["one batch", "batches of two"])
def writer_mode(request, monkeypatch):
    """Every test here runs with the file in one batch and in batches of two rows, so
    that households, updates and lookups span several (see RosterWriter)."""
    if request.param == "batches of two":
        monkeypatch.setattr(RosterWriter, "BATCH", 2)
    return request.param


@pytest.fixture
def grids(world):
    return world


def test_a_clean_xlsx_is_written_whole(grids, tmp_path):
    rows = family("0001", 3) + family("0002", 2)
    result = run(write_xlsx(tmp_path / "roster.xlsx", rows))
    assert result.errors == []
    assert (result.total, result.created, result.updated, result.unchanged) == (5, 5, 0, 0)
    household = Household.objects.get(region_code=GRID, number="0001")
    assert household.head.name == "王建国0001"
    assert household.members.count() == 3
    assert household.dwelling.building.name == "1号楼"
    person = Person.objects.get(id_number=rows[1][HEADERS.index("身份证号")])
    assert person.gender == "F"
    # The tails are kept as keyed hashes: looking the tail up finds the person.
    tail = personal.clear(person.id_number)[-4:]
    assert Person.objects.filter(pk=person.pk, id_tail=tail, phone_tail="0001").exists()
    assert AuditEvent.objects.filter(action="roster.import", outcome="success").count() == 1


def test_the_same_file_twice_changes_nothing(grids, tmp_path):
    path = write_xlsx(tmp_path / "roster.xlsx", family("0001", 3))
    run(path)
    before = list(Person.objects.order_by("pk").values())
    result = run(path)
    assert (result.created, result.updated, result.unchanged) == (0, 0, 3)
    assert list(Person.objects.order_by("pk").values()) == before
    assert Household.objects.filter(region_code=GRID, number="0001").count() == 1
    assert Building.objects.filter(region_code=GRID, name="1号楼").count() == 1


def test_a_corrected_file_updates_by_id_number(grids, tmp_path):
    rows = family("0001", 2)
    run(write_xlsx(tmp_path / "a.xlsx", rows))
    rows[1][HEADERS.index("联系电话")] = "13905379999"
    rows[1][HEADERS.index("特殊人群")] = "残疾人、低保对象"
    result = run(write_xlsx(tmp_path / "b.xlsx", rows))
    assert (result.created, result.updated, result.unchanged) == (0, 1, 1)
    person = Person.objects.get(id_number=rows[1][HEADERS.index("身份证号")])
    assert person.phone == "13905379999"
    assert {g.name for g in person.special_groups.all()} == {"残疾人", "低保对象"}


def test_households_and_updates_carry_across_batches(grids, tmp_path):
    """A household split between batches is one household, and a re-import of the
    corrected file updates, in any batch."""
    rows = family("0001", 3) + family("0002", 2)
    assert run(write_xlsx(tmp_path / "a.xlsx", rows)).created == 5
    assert Household.objects.get(region_code=GRID, number="0001").members.count() == 3
    rows[2][HEADERS.index("联系电话")] = "13905379999"
    rows[4][HEADERS.index("特殊人群")] = "残疾人"
    result = run(write_xlsx(tmp_path / "b.xlsx", rows))
    assert (result.created, result.updated, result.unchanged) == (0, 2, 3)
    assert Person.objects.get(id_number=rows[2][HEADERS.index("身份证号")]).phone == "13905379999"
    assert Household.objects.filter(region_code=GRID, number__in=["0001", "0002"]).count() == 2
    assert Building.objects.filter(region_code=GRID, name="1号楼").count() == 1


def test_gbk_csv_as_excel_saves_it(grids, tmp_path):
    path = write_csv(tmp_path / "roster.csv", family("0003", 3), "gbk")
    with pytest.raises(UnicodeDecodeError):
        path.read_bytes().decode("utf-8")  # really GBK
    result = run(path)
    assert result.errors == [] and result.created == 3
    assert Person.objects.filter(name="王建国0003").exists()


def test_utf8_csv_with_a_bom(grids, tmp_path):
    result = run(write_csv(tmp_path / "roster.csv", family("0004", 2), "utf-8-sig"))
    assert result.errors == [] and result.created == 2


def test_any_bad_row_means_nothing_is_written(grids, tmp_path):
    rows = family("0001", 3) + family("0002", 3)
    rows[1][HEADERS.index("身份证号")] = rows[1][HEADERS.index("身份证号")][:17] + (
        "0" if rows[1][HEADERS.index("身份证号")][17] != "0" else "1"
    )
    rows[3][HEADERS.index("网格编码")] = "370829009009009"
    rows[4][HEADERS.index("身份证号")] = rows[0][HEADERS.index("身份证号")]
    rows[5][HEADERS.index("与户主关系")] = "邻居"
    persons_before = Person.objects.count()
    result = run(write_xlsx(tmp_path / "roster.xlsx", rows))
    assert Person.objects.count() == persons_before
    assert not Household.objects.filter(number__in=["0001", "0002"]).exists()
    found = {(e.row, e.column) for e in result.errors}
    assert found == {(3, "身份证号"), (5, "网格编码"), (6, "身份证号"), (7, "与户主关系")}
    messages = {e.row: e.message for e in result.errors}
    assert "校验位" in messages[3]
    assert "第2行" in messages[6]
    assert AuditEvent.objects.filter(action="roster.import", outcome="failure").exists()


def test_a_new_household_needs_a_head(grids, tmp_path):
    rows = family("0001", 2)
    rows[0][HEADERS.index("与户主关系")] = "子"
    result = run(write_xlsx(tmp_path / "roster.xlsx", rows))
    assert [(e.row, e.column) for e in result.errors] == [(2, "与户主关系")]


def test_an_id_registered_beyond_the_command_line_moves_the_person(world, tmp_path):
    """The server's own command line reaches every registration: the person moves."""
    other = world.person_b
    rows = family("0001", 1)
    rows[0][HEADERS.index("身份证号")] = other.id_number
    result = run(write_xlsx(tmp_path / "roster.xlsx", rows))
    assert (result.errors, result.created, result.updated) == ([], 0, 1)
    moved = Person.objects.get(pk=other.pk)
    assert (moved.region_code, moved.registration) == (GRID, Person.Registration.CONFIRMED)
    assert Person.objects.filter(id_number=other.id_number).count() == 1


def test_a_unit_in_other_digits_is_a_row_error(grids, tmp_path):
    rows = family("0001", 2)
    rows[0][HEADERS.index("单元")] = "٣"  # a digit to Python, not a unit number
    rows[1][HEADERS.index("单元")] = "２"  # full-width: read as 2
    result = run(write_xlsx(tmp_path / "roster.xlsx", rows))
    assert [(e.row, e.column) for e in result.errors] == [(2, "单元")]
    rows[0][HEADERS.index("单元")] = "²"
    assert run(write_xlsx(tmp_path / "roster.xlsx", rows)).created == 2
    assert set(
        Person.objects.filter(name__endswith="0001").values_list(
            "household__dwelling__unit__number", flat=True
        )
    ) == {2}


def test_errors_are_listed_up_to_a_cap(grids, tmp_path, monkeypatch):
    from jiceng.places import roster

    monkeypatch.setattr(roster, "MAX_ERRORS", 5)
    rows = family("0001", 1) + [
        row(户号=f"{n:04d}", 与户主关系="户主", 姓名="") for n in range(2, 40)
    ]
    result = run(write_csv(tmp_path / "r.csv", rows, "utf-8"))
    assert [e.row for e in result.errors] == [3, 3, 4, 4, 5, 5, 5]  # five, then the note
    assert "其后各行未再检查" in result.errors[-1].message
    assert AuditEvent.objects.get(action="roster.import").detail["rows"] == 4


def test_a_grid_outside_the_target_region_is_unknown(grids, tmp_path):
    rows = family("0001", 1)
    rows[0][HEADERS.index("网格编码")] = "370829002001001"  # exists, but in another town
    result = run(write_xlsx(tmp_path / "roster.xlsx", rows), region="370829001")
    assert [e.column for e in result.errors] == ["网格编码"]


@pytest.mark.parametrize(
    ("name", "content", "code"),
    [
        ("roster.xls", b"\xd0\xcf\x11\xe0 old excel", "file_type"),
        ("roster.xlsx", b"not a zip at all", "xlsx_invalid"),
        ("roster.csv", b"", "empty_file"),
        ("roster.csv", "姓名,身份证号\n张三,1\n".encode(), "header_missing"),
        ("roster.csv", b"\xff\xfe\x00\xd8\x00\xdc\x81\x30\x81", "encoding"),
    ],
)
def test_unreadable_files_are_refused_whole(grids, tmp_path, name, content, code):
    from jiceng.core.errors import DomainError

    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(DomainError) as error:
        run(path)
    assert error.value.code == code
    assert (
        not Person.objects.filter(region_code=GRID)
        .exclude(pk=grids.person_a.pk)
        .exclude(household=grids.household_a)
        .exists()
    )


def test_duplicate_headers_are_refused(grids, tmp_path):
    from jiceng.core.errors import DomainError

    with pytest.raises(DomainError) as error:
        run(write_csv(tmp_path / "r.csv", [], "utf-8", headers=[*HEADERS, "姓名"]))
    assert error.value.code == "header_duplicate"


def test_the_importer_needs_the_import_permission_for_the_target(world, tmp_path):
    from jiceng.core.errors import NotFound

    path = write_xlsx(tmp_path / "roster.xlsx", family("0001", 1))
    with pytest.raises(NotFound):
        run(path, actor=world.b("grid_worker"))
    result = run(path, actor=world.a("grid_worker"))
    assert result.created == 1


def test_the_import_page_runs_a_job_and_offers_the_error_workbook(
    world, login, tmp_path, django_capture_on_commit_callbacks
):
    client = login(world.a("grid_worker"))
    rows = family("0001", 2)
    rows[1][HEADERS.index("姓名")] = ""
    path = write_xlsx(tmp_path / "roster.xlsx", rows)
    with open(path, "rb") as handle, django_capture_on_commit_callbacks(execute=True):
        response = client.post("/imports/", {"region": GRID, "file": handle})
    assert response.status_code == 302
    job = ImportJob.objects.get()
    assert job.status == ImportJob.Status.REJECTED
    assert job.error_count == 1
    page = client.get(f"/imports/{job.pk}/")
    assert "下载错误清单" in page.content.decode()
    download = client.get(f"/imports/{job.pk}/errors.xlsx")
    sheet = load_workbook(io.BytesIO(b"".join(download.streaming_content))).active
    assert list(sheet.iter_rows(values_only=True)) == [
        ("行号", "列", "错误说明"),
        (3, "姓名", "姓名不能为空。"),
    ]

    rows[1][HEADERS.index("姓名")] = "李秀英"
    with (
        open(write_xlsx(tmp_path / "fixed.xlsx", rows), "rb") as handle,
        django_capture_on_commit_callbacks(execute=True),
    ):
        client.post("/imports/", {"region": GRID, "file": handle})
    job = ImportJob.objects.order_by("-pk").first()
    assert (job.status, job.created_count) == (ImportJob.Status.DONE, 2)
    status = client.get(f"/imports/{job.pk}/", headers={"HX-Request": "true"})
    assert "新增 2 人" in status.content.decode()


def test_the_import_page_refuses_other_file_types_and_foreign_targets(world, login, tmp_path):
    client = login(world.a("grid_worker"))
    bad = tmp_path / "roster.txt"
    bad.write_text("x")
    with open(bad, "rb") as handle:
        response = client.post("/imports/", {"region": GRID, "file": handle})
    assert response.status_code == 200
    assert "只支持" in response.content.decode()
    with open(write_xlsx(tmp_path / "r.xlsx", family()), "rb") as handle:
        response = client.post("/imports/", {"region": world.grid_b.code, "file": handle})
    assert response.status_code == 200  # not a valid choice for this user
    assert not ImportJob.objects.exists()


def test_oversized_uploads_are_refused(world, login, tmp_path, settings):
    settings.JICENG_MAX_UPLOAD_MB = 0
    client = login(world.a("grid_worker"))
    with open(write_xlsx(tmp_path / "r.xlsx", family()), "rb") as handle:
        response = client.post("/imports/", {"region": GRID, "file": handle})
    assert "文件超过" in response.content.decode()
    assert not ImportJob.objects.exists()


def test_the_command_line_import(grids, tmp_path, capsys):
    path = write_csv(tmp_path / "roster.csv", family("0009", 3), "gbk")
    call_command("import_roster", str(path), "--region", GRID)
    assert "新增 3 人" in capsys.readouterr().out
    rows = family("0010", 1)
    rows[0][HEADERS.index("身份证号")] = "123"
    bad = write_csv(tmp_path / "bad.csv", rows, "gbk")
    with pytest.raises(CommandError, match="1 处错误"):
        call_command("import_roster", str(bad), "--region", GRID)
    assert load_workbook(tmp_path / "bad-错误清单.xlsx").active.max_row == 2


def test_a_running_job_shows_its_progress_and_a_dead_one_says_so(world, login):
    import os
    import time

    from jiceng.places.imports import _progress_path, _write_progress

    worker = world.a("grid_worker")
    job = ImportJob.objects.create(
        region_code=GRID,
        created_by=worker,
        original_name="big.csv",
        file="imports/big.csv",
        status=ImportJob.Status.RUNNING,
    )
    client = login(worker)
    assert "等待开始" in client.get(f"/imports/{job.pk}/").content.decode()
    _write_progress(job.pk, "validating", 5000, 20000)
    page = client.get(f"/imports/{job.pk}/", headers={"HX-Request": "true"}).content.decode()
    assert "已检查 5000 / 20000 行" in page
    assert 'value="25"' in page
    assert "every 1s" in page  # keeps polling

    old = time.time() - 11 * 60
    os.utime(_progress_path(job.pk), (old, old))
    page = client.get(f"/imports/{job.pk}/").content.decode()
    assert "已中断" in page
    assert "every 1s" not in page
