"""Roster import with real files: .xlsx written by openpyxl, CSV in GBK (as Excel in China
saves it) and in UTF-8 with a BOM."""

import csv
import datetime
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
    # A wrong check digit, never 0: an ID ending in 000 reads as digits Excel dropped.
    rows[1][HEADERS.index("身份证号")] = rows[1][HEADERS.index("身份证号")][:17] + (
        "1" if rows[1][HEADERS.index("身份证号")][17] != "1" else "2"
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
        ("roster.xls", b"\xd0\xcf\x11\xe0 old excel", "xls_invalid"),
        ("roster.ods", b"PK\x03\x04", "file_type"),
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
        ("行号", "列", "填写的内容", "错误说明"),
        (3, "姓名", None, "姓名不能为空。"),
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


# --- files as offices make them (issue 11, items 5 to 9) -------------------------------

AS_NUMBER = "此列被 Excel 存成了数字，末尾几位已丢失，请将该列设为文本后重新录入。"


def digits_only_id() -> str:
    """An ID number without the check character X, which a numeric cell could not hold."""
    return next(n for n in (make_id_number() for _ in range(100)) if n[-1] != "X")


def test_an_id_number_excel_stored_as_a_number_is_named_as_such(grids, tmp_path):
    """A numeric cell (.xlsx) or scientific notation (CSV) lost the last digits: the
    message says so, and never that the check digit is wrong."""
    rows = family("0001", 3)
    rows[1][HEADERS.index("身份证号")] = float(digits_only_id())  # what Excel keeps of it
    rows[2][HEADERS.index("联系电话")] = float("05371234567")  # the leading 0 is gone
    result = run(write_xlsx(tmp_path / "roster.xlsx", rows))
    assert [(e.row, e.column, e.message) for e in result.errors] == [
        (3, "身份证号", AS_NUMBER),
        (4, "联系电话", AS_NUMBER),
    ]
    assert not Person.objects.filter(name__endswith="0001").exists()

    rows = family("0002", 2)
    rows[0][HEADERS.index("身份证号")] = "3.70829E+17"
    rows[1][HEADERS.index("联系电话")] = "1.39054E+10"
    rows[1][HEADERS.index("网格编码")] = "3.70829E+14"
    result = run(write_csv(tmp_path / "roster.csv", rows, "gbk"))
    assert [(e.row, e.column, e.message) for e in result.errors] == [
        (2, "身份证号", AS_NUMBER),
        (3, "网格编码", AS_NUMBER),
        (3, "联系电话", AS_NUMBER),
    ]
    assert all("校验位" not in e.message for e in result.errors)


def test_a_numeric_id_cell_is_refused_even_when_its_digits_happen_to_check(grids, tmp_path):
    rows = family("0001", 1)
    # An ID number that a double holds exactly still came from a cell Excel rounds to
    # 15 digits: the column is numeric, and the next row would not be so lucky.
    exact = next(
        n
        for n in (make_id_number() for _ in range(5000))
        if n[-1] != "X" and int(float(n)) == int(n)
    )
    rows[0][HEADERS.index("身份证号")] = int(exact)
    result = run(write_xlsx(tmp_path / "roster.xlsx", rows))
    assert [(e.column, e.message) for e in result.errors] == [("身份证号", AS_NUMBER)]


def test_household_numbers_are_text_and_a_mix_of_padded_and_bare_is_warned(grids, tmp_path):
    rows = family("0001", 2) + family("0002", 2)
    for values in rows[2:]:
        values[HEADERS.index("户号")] = 2  # a numeric cell: Excel dropped "000"
    result = run(write_xlsx(tmp_path / "roster.xlsx", rows))
    assert result.errors == []
    assert set(Household.objects.filter(region_code=GRID).values_list("number", flat=True)) >= {
        "0001",
        "2",
    }
    assert len(result.warnings) == 1
    assert "户号" in result.warnings[0] and "0001" in result.warnings[0]

    clean = run(write_xlsx(tmp_path / "clean.xlsx", family("0003", 2)))
    assert clean.warnings == []


def test_an_old_xls_file_is_read(grids, tmp_path):
    xlwt = pytest.importorskip("xlwt")
    rows = family("0005", 3)
    rows[2][HEADERS.index("身份证号")] = float(digits_only_id())
    book = xlwt.Workbook(encoding="utf-8")
    sheet = book.add_sheet("花名册", cell_overwrite_ok=True)
    for column, header in enumerate(HEADERS):
        sheet.write(0, column, header)
    for number, values in enumerate(rows, start=1):
        for column, value in enumerate(values):
            sheet.write(number, column, value)
    path = tmp_path / "roster.xls"
    book.save(str(path))
    assert path.read_bytes()[:4] == b"\xd0\xcf\x11\xe0"  # a real BIFF8 compound file
    result = run(path)
    assert [(e.row, e.column, e.message) for e in result.errors] == [(4, "身份证号", AS_NUMBER)]

    rows[2][HEADERS.index("身份证号")] = make_id_number()
    for column, value in enumerate(rows[2]):
        sheet.write(3, column, value)
    book.save(str(path))
    result = run(path)
    assert (result.errors, result.created) == ([], 3)
    assert Household.objects.get(region_code=GRID, number="0005").members.count() == 3


def test_full_width_characters_spaces_and_variants_are_read_as_meant(grids, tmp_path):
    full_width = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")
    rows = family("0001", 3)
    husband, wife, son = (r[HEADERS.index("身份证号")] for r in rows)
    rows[0][HEADERS.index("身份证号")] = husband.translate(full_width)
    rows[0][HEADERS.index("联系电话")] = "１３９ ０５３７ ０００１"
    rows[0][HEADERS.index("民族")] = "汉"
    rows[0][HEADERS.index("政治面貌")] = "党员"
    rows[1][HEADERS.index("身份证号")] = f"{wife[:6]} {wife[6:14]} {wife[14:]}"
    rows[1][HEADERS.index("与户主关系")] = "妻"
    rows[1][HEADERS.index("民族")] = "回 族"
    rows[1][HEADERS.index("姓名")] = "　李秀英０００１　"
    rows[1][HEADERS.index("特殊人群")] = "低保户"
    rows[2][HEADERS.index("与户主关系")] = "儿子"
    rows[2][HEADERS.index("户号")] = "０００１"
    rows[2][HEADERS.index("网格编码")] = GRID.translate(full_width)
    result = run(write_csv(tmp_path / "roster.csv", rows, "gbk"))
    assert result.errors == []
    assert result.created == 3
    head = Person.objects.get(id_number=husband)
    assert (head.ethnicity, head.political_status, head.phone) == (
        "汉族",
        "中共党员",
        "13905370001",
    )
    spouse = Person.objects.get(id_number=wife)
    assert (spouse.name, spouse.relation_to_head, spouse.ethnicity) == (
        "李秀英0001",
        "配偶",
        "回族",
    )
    assert [g.name for g in spouse.special_groups.all()] == ["低保对象"]
    child = Person.objects.get(id_number=son)
    assert (child.relation_to_head, child.household_id) == ("子", head.household_id)


def test_one_table_of_variants_serves_every_import():
    from jiceng.places.constants import VARIANTS
    from jiceng.places.roster import canonical

    assert canonical("relation_to_head", " 妻 ") == "配偶"
    assert canonical("ethnicity", "汉") == "汉族"
    assert canonical("role", "社区(村)工作人员") == "社区（村）工作人员"
    assert canonical("role", "社区（村）工作人员") == "社区（村）工作人员"
    assert canonical("ethnicity", "火星族") == "火星族"  # unknown: left for the check
    assert set(VARIANTS) >= {"relation_to_head", "ethnicity", "political_status", "role"}


@pytest.mark.parametrize("order", ["headless first", "check digit first"])
def test_every_error_is_listed_in_one_pass(grids, tmp_path, order):
    """A household without a head at row 37 and a bad check digit at row 139 are both
    reported the first time, in either order, and nothing is written."""
    rows = []
    for number in range(1, 70):
        rows += family(f"{number:04d}", 2)
    assert len(rows) == 138  # rows 2 to 139 of the sheet
    headless, bad = (36, 138) if order == "headless first" else (138, 36)
    rows[headless - 2][HEADERS.index("与户主关系")] = "子"  # the head of its household
    id_number = rows[bad - 2][HEADERS.index("身份证号")]
    rows[bad - 2][HEADERS.index("身份证号")] = id_number[:17] + (
        "1" if id_number[17] == "0" else "0"
    )
    persons_before = Person.objects.count()
    result = run(write_xlsx(tmp_path / "roster.xlsx", rows))
    found = sorted((e.row, e.column) for e in result.errors)
    assert found == sorted([(headless, "与户主关系"), (bad, "身份证号")])
    assert "校验位" in next(e.message for e in result.errors if e.row == bad)
    assert Person.objects.count() == persons_before
    assert not Household.objects.filter(number__in=["0001", "0069"]).exists()


def test_a_conflict_while_writing_keeps_the_file_errors(grids, tmp_path, monkeypatch, writer_mode):
    """Someone registered a person of the file meanwhile: the conflict is said, and so is
    every error of the file (a conflict met while rows stream in, before the first error,
    does not end the check); nothing is written."""
    from jiceng.places import roster_writer
    from jiceng.places.roster import CONFLICT

    rows = family("0001", 2) + family("0002", 2)
    taken = rows[0][HEADERS.index("身份证号")]
    Person.objects.create(
        region_code=GRID, name="同时登记", id_number=taken, gender="M",
        birth_date=datetime.date(1980, 1, 1), birth_year=1980,
    )  # fmt: skip
    # As if the lookup ran before the other writer committed.
    monkeypatch.setattr(roster_writer, "persons_by_id_number", lambda numbers: [])
    persons_before = Person.objects.count()
    result = run(write_xlsx(tmp_path / "clean.xlsx", rows))
    assert [(e.row, e.message) for e in result.errors] == [(0, CONFLICT)]
    rows[3][HEADERS.index("姓名")] = ""
    result = run(write_xlsx(tmp_path / "roster.xlsx", rows))
    assert [(e.row, e.column) for e in result.errors if e.row] == [(5, "姓名")]
    # Rows stream in batches of two: the first met the conflict before row 5 was read.
    assert any(e.message == CONFLICT for e in result.errors) == (writer_mode != "one batch")
    assert Person.objects.count() == persons_before


def test_a_title_above_the_header_is_skipped(grids, tmp_path):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["城南社区第1网格实有人口花名册"])
    sheet.append(["填报日期：2026年11月"])
    sheet.append([])
    sheet.append(HEADERS)
    for values in family("0001", 2):
        sheet.append(values)
    workbook.save(tmp_path / "titled.xlsx")
    result = run(tmp_path / "titled.xlsx")
    assert (result.errors, result.created) == ([], 2)


def test_a_gbk_csv_with_a_stray_utf8_bom_is_read_as_gbk(grids, tmp_path):
    path = write_csv(tmp_path / "roster.csv", family("0006", 2), "gbk")
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    result = run(path)
    assert (result.errors, result.created) == ([], 2)
    assert Person.objects.filter(name="王建国0006").exists()


def test_the_template_keeps_digits_as_text_shows_an_example_and_offers_lists(db, tmp_path):
    from jiceng.places.roster import write_template

    path = tmp_path / "template.xlsx"
    write_template(path)
    workbook = load_workbook(path)
    sheet = workbook["花名册"]
    header = [c.value.rstrip("*") for c in sheet[1]]
    assert header == HEADERS
    for name in ("身份证号", "联系电话", "户号", "网格编码"):
        letter = sheet.cell(row=1, column=header.index(name) + 1).column_letter
        assert sheet[f"{letter}2"].number_format == "@", name  # the example row
        assert sheet[f"{letter}500"].number_format == "@", name  # and rows to come
        assert isinstance(sheet[f"{letter}2"].value, str)
    example = [c.value for c in sheet[2]]
    assert example[header.index("姓名")]
    lists = {}
    for validation in sheet.data_validations.dataValidation:
        assert validation.type == "list"
        for cell_range in validation.sqref.ranges:
            lists[header[cell_range.min_col - 1]] = validation.formula1
    assert set(lists) >= {"与户主关系", "民族", "政治面貌", "居住类型"}
    options = workbook["选项"]
    assert options.sheet_state == "hidden"
    listed = [c.value for c in options["A"] if c.value]
    assert listed[1:] == ["户主", "配偶", "子", "女", "父母", "祖父母", "孙子女", "兄弟姐妹",
                          "儿媳", "女婿", "其他"]  # fmt: skip


def test_the_template_example_row_is_not_imported(grids, tmp_path):
    from jiceng.places.roster import write_template

    path = tmp_path / "template.xlsx"
    write_template(path)
    workbook = load_workbook(path)
    sheet = workbook["花名册"]
    for values in family("0001", 2):
        sheet.append(values)
    workbook.save(path)
    result = run(path)
    assert (result.errors, result.created) == ([], 2)


def test_the_error_workbook_repeats_the_offending_value(grids, tmp_path):
    from jiceng.places.roster import write_error_workbook

    rows = family("0001", 2)
    rows[1][HEADERS.index("与户主关系")] = "邻居"
    result = run(write_xlsx(tmp_path / "roster.xlsx", rows))
    target = tmp_path / "errors.xlsx"
    write_error_workbook(result.errors, target)
    assert list(load_workbook(target).active.iter_rows(values_only=True)) == [
        ("行号", "列", "填写的内容", "错误说明"),
        (3, "与户主关系", "邻居", result.errors[0].message),
    ]


def test_the_result_page_shows_first_errors_households_buildings_and_the_region(
    world, login, tmp_path, django_capture_on_commit_callbacks
):
    client = login(world.a("grid_worker"))
    rows = family("0001", 2) + family("0002", 2)
    for values in rows[:2]:
        values[HEADERS.index("楼栋")] = "8号楼"
    for values in rows[2:]:
        values[HEADERS.index("楼栋")] = "9号楼"
    rows[1][HEADERS.index("与户主关系")] = "邻居"
    with (
        open(write_xlsx(tmp_path / "bad.xlsx", rows), "rb") as handle,
        django_capture_on_commit_callbacks(execute=True),
    ):
        client.post("/imports/", {"region": GRID, "file": handle})
    job = ImportJob.objects.get()
    assert job.first_errors == [[3, "与户主关系", job.first_errors[0][2]]]
    assert "邻居" not in str(job.first_errors)  # values stay in the sealed workbook
    page = client.get(f"/imports/{job.pk}/").content.decode()
    assert "第 3 行" in page and "与户主关系应为" in page
    assert f'href="/regions/{GRID}/"' in page

    rows[1][HEADERS.index("与户主关系")] = "配偶"
    buildings_before = Building.objects.filter(region_code=GRID).count()
    with (
        open(write_xlsx(tmp_path / "good.xlsx", rows), "rb") as handle,
        django_capture_on_commit_callbacks(execute=True),
    ):
        client.post("/imports/", {"region": GRID, "file": handle})
    job = ImportJob.objects.order_by("-pk").first()
    assert (job.status, job.households_created, job.buildings_created) == ("done", 2, 2)
    assert Building.objects.filter(region_code=GRID).count() == buildings_before + 2
    page = client.get(f"/imports/{job.pk}/").content.decode()
    assert "新建 2 户、2 栋楼" in page
    assert f'href="/regions/{GRID}/"' in page and world.grid_a.name in page


def test_an_export_runs_as_a_job_with_progress_then_downloads(
    world, login, django_capture_on_commit_callbacks, monkeypatch
):
    from jiceng.places import imports, roster

    monkeypatch.setattr(roster, "EXPORT_PROGRESS_EVERY", 1)
    reported = []
    monkeypatch.setattr(
        imports, "_write_progress", lambda job_id, *progress: reported.append(progress)
    )
    worker = world.a("community_worker")
    community = "370829001001"
    client = login(worker)
    page = client.get(f"/regions/{community}/").content.decode()
    assert f'action="/regions/{community}/export/"' in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/regions/{community}/export/")
    job = ImportJob.objects.get(kind=ImportJob.Kind.EXPORT)
    assert response.url == f"/imports/{job.pk}/"
    persons = Person.objects.filter(region_code__within=community).count()
    assert persons > 0
    assert reported[0] == ("exporting", 0, persons)
    assert reported[-1] == ("exporting", persons, persons)
    assert (job.status, job.total_rows, job.created_by) == ("done", persons, worker)
    assert AuditEvent.objects.filter(action="roster.export", actor=worker).count() == 1
    page = client.get(f"/imports/{job.pk}/").content.decode()
    assert f"/imports/{job.pk}/roster.xlsx" in page
    download = client.get(f"/imports/{job.pk}/roster.xlsx")
    sheet = load_workbook(io.BytesIO(b"".join(download.streaming_content))).active
    assert sheet.max_row == persons + 1
    # A grid worker of the same community neither exports nor reads the file.
    other = login(world.a("grid_worker"))
    assert other.post(f"/regions/{community}/export/").status_code in (403, 404)
    assert other.get(f"/imports/{job.pk}/roster.xlsx").status_code == 404
    assert ImportJob.objects.filter(kind=ImportJob.Kind.EXPORT).count() == 1


def test_a_running_export_shows_how_far_it_got(world, login):
    from jiceng.places.imports import _write_progress

    worker = world.a("community_worker")
    job = ImportJob.objects.create(
        kind=ImportJob.Kind.EXPORT,
        region_code="370829001001",
        created_by=worker,
        original_name="x.xlsx",
        status=ImportJob.Status.RUNNING,
    )
    _write_progress(job.pk, "exporting", 4000, 10000)
    page = login(worker).get(f"/imports/{job.pk}/", headers={"HX-Request": "true"})
    assert "已导出 4000 / 10000 行" in page.content.decode()
    assert 'value="40"' in page.content.decode()
