"""A branch's members from a real workbook through the one import pipeline: all or
nothing, an error workbook for a refused file, idempotent on the ID number, persons
matched only inside the importer's reveal scope; and the branch's masked ledger."""

import datetime
import io

import pytest
from openpyxl import Workbook, load_workbook

from jiceng.accounts.models import Membership
from jiceng.core.actors import Actor
from jiceng.core.idnumber import check_character
from jiceng.core.masking import mask_id_number
from jiceng.core.models import AuditEvent
from jiceng.core.personal import clear
from jiceng.party.imports import member_import
from jiceng.party.models import PartyMember
from jiceng.places.models import ImportJob
from jiceng.places.roster import AS_NUMBER
from tests.factories import PersonFactory

pytestmark = pytest.mark.django_db
HEADERS = ["姓名*", "身份证号*", "党员类别*", "入党日期*", "转正日期", "手机号", "工作单位"]


def _id(serial: int) -> str:
    first = f"37082919700101{serial:03d}"
    return first + check_character(first)


def _xlsx(path, rows):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(HEADERS)
    for row in rows:
        sheet.append(row)
    workbook.save(path)
    return path


def _rows(count: int = 3, bad: bool = False):
    rows = [
        [f"党员{n}", _id(n), "正式党员", "2001-07-01", "2002-07-01", "", "县供电公司"]
        for n in range(1, count + 1)
    ]
    if bad:
        rows[1][3] = "去年"  # not a date
    return rows


def _members(branch) -> int:
    return PartyMember.objects.filter(organization=branch).count()


def test_a_bad_row_writes_nothing_and_the_error_workbook_names_it(
    world, login, tmp_path, django_capture_on_commit_callbacks
):
    branch = world.branch_a
    before = _members(branch)
    client = login(world.a("branch_secretary"))
    path = _xlsx(tmp_path / "党员.xlsx", _rows(bad=True))
    with open(path, "rb") as handle, django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/party/o/{branch.pk}/members/import/", {"file": handle})
    job = ImportJob.objects.get()
    assert response.status_code == 302 and response.url == f"/imports/{job.pk}/"
    assert (job.importer, job.target_id, job.status) == ("party_members", branch.pk, "rejected")
    assert _members(branch) == before
    assert job.first_errors == [[3, "入党日期", "日期应写作 2001-07-01。"]]
    page = client.get(f"/imports/{job.pk}/").content.decode()
    assert "下载错误清单" in page and "返回党支部" in page
    errors = client.get(f"/imports/{job.pk}/errors.xlsx")
    target = tmp_path / "errors.xlsx"
    target.write_bytes(b"".join(errors.streaming_content))
    rows = list(load_workbook(target).active.iter_rows(values_only=True))
    assert rows[1] == (3, "入党日期", "去年", "日期应写作 2001-07-01。")
    # Fixed, it writes every row; again, it changes nothing.
    path = _xlsx(tmp_path / "党员.xlsx", _rows())
    for _ in range(2):
        with open(path, "rb") as handle, django_capture_on_commit_callbacks(execute=True):
            client.post(f"/party/o/{branch.pk}/members/import/", {"file": handle})
    first, second = ImportJob.objects.filter(status="done").order_by("pk")
    assert (first.created_count, second.created_count, second.unchanged_count) == (3, 0, 3)
    assert _members(branch) == before + 3
    member = PartyMember.objects.get(organization=branch, name="党员1")
    assert member.person is None and clear(member.id_number) == _id(1)
    assert member.full_on == datetime.date(2002, 7, 1) and member.work_unit == "县供电公司"
    assert AuditEvent.objects.filter(action="party.member_import", outcome="success").count() == 2


def test_the_second_secretary_of_the_grid_cannot_import_into_the_branch(world, login, tmp_path):
    client = login(world.b("branch_secretary"))
    path = _xlsx(tmp_path / "党员.xlsx", _rows())
    with open(path, "rb") as handle:
        response = client.post(f"/party/o/{world.branch_a.pk}/members/import/", {"file": handle})
    assert response.status_code == 404
    assert not ImportJob.objects.exists()


def test_a_person_is_matched_only_inside_the_reveal_scope(world):
    """A town organizer who is also town staff (people.view_sensitive in their town) has
    the person of their town linked; a person registered elsewhere enters as a member
    without a person, exactly as an ID nobody holds."""
    importer = world.a("town_organizer")
    Membership.objects.create(user=importer, role="town_staff", region_code="370829001")
    importer = type(importer).objects.get(pk=importer.pk)
    inside = PersonFactory(region_code=world.grid_a.code)
    outside = PersonFactory(region_code=world.grid_b.code)  # town 002
    rows = [
        ["甲", clear(inside.id_number), "正式党员", "2001-07-01", "", "", ""],
        ["乙", clear(outside.id_number), "正式党员", "2001-07-01", "", "", ""],
        ["丙", _id(9), "预备党员", str(datetime.date.today()), "", "", ""],
    ]
    buffer = io.BytesIO()
    _xlsx(buffer, rows)
    result = member_import(
        actor=Actor.staff(importer), organization=world.branch_a, path=buffer,
        original_name="党员.xlsx",
    )  # fmt: skip
    assert result.errors == [] and result.created == 3
    linked = PartyMember.objects.get(organization=world.branch_a, name=inside.name)
    assert linked.person == inside and not linked.id_number_index
    assert PartyMember.objects.get(name="乙").person is None  # outside: not matched
    assert PartyMember.objects.get(name="丙").category == "probationary"
    # Someone of the importer's scope who is a member elsewhere is a transfer, said so.
    rows = [["甲", clear(world.person_a.id_number), "正式党员", "2001-07-01", "", "", ""]]
    buffer = io.BytesIO()
    _xlsx(buffer, rows)
    refused = member_import(
        actor=Actor.staff(importer), organization=world.branch_a2, path=buffer,
        original_name="党员.xlsx",
    )  # fmt: skip
    assert [e.message for e in refused.errors] == [
        f"该身份证号已在“{world.branch_a.name}”登记为党员；如需转到本支部，请办理组织关系转接。"
    ]


def test_the_ledger_is_masked_and_audited(world, login):
    client = login(world.a("branch_secretary"))
    response = client.get(f"/party/o/{world.branch_a.pk}/ledger.xlsx?year=2026")
    assert response.status_code == 200
    workbook = load_workbook(io.BytesIO(response.content))
    rows = list(workbook["党员名册"].iter_rows(values_only=True))
    number = clear(world.person_a.id_number)
    assert rows[1][0] == world.person_a.name and rows[1][1] == mask_id_number(number)
    assert number not in repr(rows)
    assert set(workbook.sheetnames) == {"党员名册", "组织生活", "组织关系转接"}
    assert AuditEvent.objects.filter(action="party.ledger_export").count() == 1
    assert (
        login(world.b("branch_secretary"))
        .get(f"/party/o/{world.branch_a.pk}/ledger.xlsx")
        .status_code
        == 404
    )


def test_an_id_number_stored_as_a_number_is_refused_even_when_it_looks_whole(world):
    """Excel keeps 15 digits of 370829198003121008 and makes up the rest: the 18 digits it
    gives back may even carry a right check digit. A numeric cell is never trusted."""
    number = 370829198003121024  # what Excel hands back; its check digit happens to be right
    assert check_character(str(number)[:17]) == str(number)[17]
    buffer = io.BytesIO()
    _xlsx(buffer, [["孙立新", number, "正式党员", "2001-07-01", "", "", ""]])
    result = member_import(
        actor=Actor.staff(world.a("branch_secretary")), organization=world.branch_a,
        path=buffer, original_name="党员.xlsx",
    )  # fmt: skip
    assert [e.message for e in result.errors] == [AS_NUMBER]
    assert not PartyMember.objects.filter(name="孙立新").exists()
