"""The roster import is not an ID-number oracle (C1).

An importer learns nothing of registrations outside their reveal scope: a file of
candidate ID numbers gets the same answer — page, counts, error workbook, lookups —
whether the candidates are registered elsewhere or not. A row that meets a confirmed
registration outside the scope is written as a pending registration, and the grid holding
the other one confirms or disputes the move (迁入迁出核实).
"""

import datetime
import re

import pytest
import time_machine
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook

from jiceng.core.actors import Actor
from jiceng.core.errors import DomainError, NotFound
from jiceng.core.models import AuditEvent
from jiceng.places import services
from jiceng.places.models import Household, ImportJob, MoveCheck, Person
from jiceng.places.roster import _rows_per_day, roster_import
from tests import factories
from tests.factories import make_id_number
from tests.places.test_roster_import import HEADERS, row, write_xlsx

GRID_A = "370829001001001"


def candidates(ids: list[str], numbers: str, *, bad_last: bool = False) -> list[list[str]]:
    """One household per candidate, as an attacker would guess them."""
    rows = [
        row(
            户号=f"{numbers}{n:02d}",
            姓名=f"候选{n:02d}",
            身份证号=id_number,
            楼栋=f"{numbers}号楼",
            房号=f"{n}01",
        )
        for n, id_number in enumerate(ids)
    ]
    if bad_last:
        rows[-1][HEADERS.index("姓名")] = ""
    return rows


@pytest.fixture
def elsewhere(world):
    """ID numbers of persons confirmed in grid B, outside grid A's worker's reveal scope,
    and as many valid ID numbers that nobody holds."""
    registered = [world.person_b.id_number] + [
        factories.household_with_people(world.grid_b.code, size=1).head.id_number for _ in range(4)
    ]
    unknown = [make_id_number() for _ in registered]
    assert not Person.objects.filter(id_number__in=unknown).exists()
    return registered, unknown


def upload(client, path, tmp_path, django_capture_on_commit_callbacks):
    with open(path, "rb") as handle, django_capture_on_commit_callbacks(execute=True):
        response = client.post("/imports/", {"region": GRID_A, "file": handle})
    assert response.status_code == 302
    job = ImportJob.objects.latest("pk")
    page = client.get(f"/imports/{job.pk}/").content.decode()
    workbook = None
    if job.error_file:
        errors = client.get(f"/imports/{job.pk}/errors.xlsx")
        target = tmp_path / f"errors-{job.pk}.xlsx"
        target.write_bytes(b"".join(errors.streaming_content))
        workbook = list(load_workbook(target).active.iter_rows(values_only=True))
    return job, page, workbook


def answer(job, page, workbook, numbers: str) -> tuple:
    """What the importer sees, with what differs by design taken out: the job's number,
    its time, the file's name and the household numbers chosen for each file."""
    page = re.sub(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}|用时 \d+ 秒|/imports/\d+/", "", page)
    page = page.replace(numbers, "户号")
    fields = (
        job.status,
        job.total_rows,
        job.created_count,
        job.updated_count,
        job.unchanged_count,
        job.error_count,
        re.sub(r"用时 \d+ 秒", "", job.message),
    )
    page = re.sub(r'(csrfmiddlewaretoken" value="|"X-CSRFToken": ")[^"]+', "", page)
    return fields, page, workbook


@pytest.mark.parametrize("bad_last", [True, False], ids=["refused file", "clean file"])
def test_the_answer_is_the_same_whether_the_candidates_exist_or_not(
    world, elsewhere, login, tmp_path, django_capture_on_commit_callbacks, bad_last
):
    registered, unknown = elsewhere
    client = login(world.a("grid_worker"))
    answers, selects = [], []
    # Six digits each: no shorter number on the page (a user's name, 测试员8886) holds them.
    for ids, numbers in ((registered, "775577"), (unknown, "885588")):
        path = write_xlsx(tmp_path / "候选.xlsx", candidates(ids, numbers, bad_last=bad_last))
        with CaptureQueriesContext(connection) as queries:
            job, page, workbook = upload(client, path, tmp_path, django_capture_on_commit_callbacks)
        answers.append(answer(job, page, workbook, numbers))
        selects.append(sum(q["sql"].lstrip().upper().startswith("SELECT") for q in queries))
    assert answers[0] == answers[1]
    assert selects[0] == selects[1]  # the same lookups whatever exists
    events = AuditEvent.objects.filter(action="roster.import").order_by("pk")
    assert [e.outcome for e in events] == [AuditEvent.FAILURE if bad_last else "success"] * 2
    if bad_last:
        assert answers[0][2] == [
            ("行号", "列", "填写的内容", "错误说明"),
            (6, "姓名", None, "姓名不能为空。"),
        ]
        assert not Person.objects.filter(name__startswith="候选").exists()
        assert not MoveCheck.objects.exists()
        return
    assert answers[0][0][2] == len(registered)  # all counted as new, both times
    # What persists differs, out of the importer's sight: pending registrations and
    # checks for grid B, counted for the auditor.
    pending = Person.objects.filter(id_number__in=registered, region_code=GRID_A)
    assert set(pending.values_list("registration", flat=True)) == {"pending"}
    assert pending.count() == len(registered)
    assert set(
        Person.objects.filter(id_number__in=unknown).values_list("registration", flat=True)
    ) == {"confirmed"}
    checks = MoveCheck.objects.order_by("pk")
    assert [(c.region_code, c.status) for c in checks] == [(world.grid_b.code, "open")] * 5
    assert {c.person.id_number for c in checks} == set(registered)
    assert [e.detail["elsewhere"] for e in events] == [len(registered), 0]
    # Grid B's registrations are untouched and were never revealed.
    assert Person.objects.get(pk=world.person_b.pk).region_code == world.grid_b.code
    assert not AuditEvent.objects.filter(action="person.reveal").exists()


def test_a_pending_registration_shows_nothing_of_the_other(world, elsewhere, login, tmp_path):
    registered, _ = elsewhere
    roster_import(
        actor=Actor.staff(world.a("grid_worker")),
        region_code=GRID_A,
        path=write_xlsx(tmp_path / "r.xlsx", candidates(registered[:1], "77")),
        original_name="r.xlsx",
    )
    pending = Person.objects.get(id_number=registered[0], region_code=GRID_A)
    other = world.person_b
    assert (pending.name, pending.phone) == ("候选00", "13905370001")  # the file's, not B's
    page = login(world.a("grid_worker")).get(f"/persons/{pending.pk}/").content.decode()
    assert other.name not in page and other.phone[-4:] not in page
    assert "待迁入核实" not in page and "迁入" not in page


def test_inside_the_reveal_scope_the_person_simply_moves(world, tmp_path):
    """Town staff may reveal both grids of their town: no check, the person moves."""
    neighbour = factories.household_with_people("370829001001002", size=1).head
    result = roster_import(
        actor=Actor.staff(world.a("town_staff")),
        region_code=GRID_A,
        path=write_xlsx(tmp_path / "r.xlsx", candidates([neighbour.id_number], "77")),
        original_name="r.xlsx",
    )
    assert (result.created, result.updated) == (0, 1)
    moved = Person.objects.get(pk=neighbour.pk)
    assert (moved.region_code, moved.registration) == (GRID_A, "confirmed")
    assert not MoveCheck.objects.exists()


def test_a_daily_row_quota_counts_the_rows_written(world, tmp_path, settings):
    settings.JICENG_IMPORT_ROWS_PER_DAY = 5
    importer = world.a("grid_worker")

    def attempt(size: int, numbers: str, bad: bool = False):
        ids = [make_id_number() for _ in range(size)]
        path = write_xlsx(tmp_path / "r.xlsx", candidates(ids, numbers, bad_last=bad))
        return roster_import(
            actor=Actor.staff(importer), region_code=GRID_A, path=path, original_name="r.xlsx"
        )

    assert attempt(4, "11", bad=True).errors  # refused: writes nothing, takes nothing
    assert attempt(4, "22").created == 4
    with pytest.raises(DomainError) as refusal:
        attempt(2, "33")
    assert refusal.value.code == "import_quota"
    assert Person.objects.filter(name__startswith="候选").count() == 4
    events = AuditEvent.objects.filter(action="roster.import", actor=importer).order_by("pk")
    assert [(e.outcome, e.detail.get("refused")) for e in events] == [
        ("failure", None),
        ("success", None),
        ("failure", "import_quota"),
    ]
    assert attempt(1, "44").created == 1  # what is left of the day's five
    with time_machine.travel(datetime.datetime.now() + datetime.timedelta(hours=25)):
        assert attempt(3, "55").created == 3


def test_the_default_quota_moves_with_no_import_of_the_day(world, elsewhere, tmp_path):
    """Twice the persons registered before the day plus 1,000: real and invented
    candidates alike leave it where it was (it was once a counter of rows met elsewhere)."""
    registered, unknown = elsewhere
    with time_machine.travel(datetime.datetime.now() - datetime.timedelta(days=2)):
        factories.household_with_people(GRID_A, size=3)
    before = Person.objects.filter(region_code__startswith=GRID_A).count()
    assert _rows_per_day(GRID_A) == 2 * (before - 2) + 1000  # the world's own are new today
    for ids, numbers in ((registered, "77"), (unknown, "88")):
        roster_import(
            actor=Actor.staff(world.a("grid_worker")),
            region_code=GRID_A,
            path=write_xlsx(tmp_path / "r.xlsx", candidates(ids, numbers)),
            original_name="r.xlsx",
        )
        assert _rows_per_day(GRID_A) == 2 * (before - 2) + 1000


def test_a_second_target_tells_nothing_of_the_first_imports(world, elsewhere, tmp_path):
    """Town staff import candidates into one grid, then the same file into another of
    their town: real and invented candidates both move on, and none stays behind."""
    registered, unknown = elsewhere
    town = world.a("town_staff")
    other_grid = "370829001001002"
    results = []
    for target in (GRID_A, other_grid):
        for ids, numbers in ((registered, "77"), (unknown, "88")):
            rows = candidates(ids, numbers)
            for values in rows:
                values[HEADERS.index("网格编码")] = target
            results.append(
                roster_import(
                    actor=Actor.staff(town),
                    region_code=target,
                    path=write_xlsx(tmp_path / "r.xlsx", rows),
                    original_name="r.xlsx",
                )
            )
    counts = [(r.created, r.updated, r.unchanged) for r in results]
    assert counts == [(5, 0, 0), (5, 0, 0), (0, 5, 0), (0, 5, 0)]
    assert not Person.objects.filter(region_code=GRID_A, name__startswith="候选").exists()
    assert set(MoveCheck.objects.values_list("to_region_code", flat=True)) == {other_grid}
    assert MoveCheck.objects.count() == len(registered)


def test_the_alert_adds_up_an_accounts_imports_of_the_day(world, tmp_path, settings):
    settings.JICENG_IMPORT_ELSEWHERE_ALERT = 5
    for numbers in ("11", "22", "33"):
        persons = [factories.household_with_people(world.grid_b.code, size=1).head for _ in "ab"]
        roster_import(
            actor=Actor.staff(world.a("grid_worker")),
            region_code=GRID_A,
            path=write_xlsx(
                tmp_path / "r.xlsx", candidates([p.id_number for p in persons], numbers)
            ),
            original_name="r.xlsx",
        )
        alerts = AuditEvent.objects.filter(action="alert.roster_elsewhere")
        assert alerts.count() == (numbers == "33")
    assert alerts.get().detail["rows"] == 6


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL")
def test_imports_sent_at_once_take_turns_under_the_quota(reference_data, tmp_path, settings):
    """Five uploads of four rows at once with a quota of ten: the quota is read after the
    import has its turn, so two pass and the rest are refused."""
    from tests.points.test_concurrency import race

    settings.JICENG_IMPORT_ROWS_PER_DAY = 10
    factories.community("370829001001")
    factories.grid(GRID_A)
    importer = factories.staff("grid_worker", GRID_A, username="racer")
    paths = []
    for n in range(5):
        ids = [make_id_number() for _ in range(4)]
        paths.append(write_xlsx(tmp_path / f"r{n}.xlsx", candidates(ids, f"{n}{n}")))
    results = race(
        [
            (lambda path=path: roster_import(
                actor=Actor.staff(importer), region_code=GRID_A, path=path, original_name=path.name
            ))
            for path in paths
        ]
    )  # fmt: skip
    written = [r for r in results if not isinstance(r, Exception)]
    refused = [r for r in results if isinstance(r, DomainError)]
    assert (len(written), len(refused)) == (2, 3)
    assert all(r.code == "import_quota" for r in refused)
    assert Person.objects.filter(name__startswith="候选").count() == 8


def test_importing_and_exporting_take_the_reveal_right(world, login, tmp_path):
    admin = world.a("county_admin")
    path = write_xlsx(tmp_path / "r.xlsx", candidates([make_id_number()], "77"))
    with pytest.raises(NotFound):
        roster_import(
            actor=Actor.staff(admin), region_code=GRID_A, path=path, original_name="r.xlsx"
        )
    client = login(admin)
    assert client.get("/imports/").status_code == 403
    assert client.post("/regions/370829/export/").status_code == 404
    assert not ImportJob.objects.exists()
    assert not Person.objects.filter(name__startswith="候选").exists()
    assert not AuditEvent.objects.filter(action__in=["roster.import", "roster.export"]).exists()


def test_one_confirmed_registration_per_id_number(world):
    with pytest.raises(IntegrityError), transaction.atomic():
        factories.PersonFactory(region_code=GRID_A, id_number=world.person_b.id_number)
    factories.PersonFactory(
        region_code=GRID_A, id_number=world.person_b.id_number, registration="pending"
    )
    assert Person.objects.filter(id_number=world.person_b.id_number).count() == 2


# --- 迁入迁出核实 ----------------------------------------------------------------------


@pytest.fixture
def check(world, tmp_path):
    """Grid A's worker imported person B into a new household of grid A."""
    factories.resident(person=world.person_b)
    roster_import(
        actor=Actor.staff(world.a("grid_worker")),
        region_code=GRID_A,
        path=write_xlsx(tmp_path / "r.xlsx", candidates([world.person_b.id_number], "77")),
        original_name="r.xlsx",
    )
    return MoveCheck.objects.get()


def test_the_current_grid_confirms_and_the_one_record_moves(world, check, login):
    assert check.region_code == world.grid_b.code and check.to_region_code == GRID_A
    b_worker = login(world.b("grid_worker"))
    assert world.person_b.name in b_worker.get("/moves/").content.decode()
    assert login(world.a("grid_worker")).get(f"/moves/{check.pk}/").status_code == 404
    assert login(world.outsider).get(f"/moves/{check.pk}/").status_code == 404
    response = b_worker.post(f"/moves/{check.pk}/", {"action": "confirm"})
    assert response.status_code == 302
    person = Person.objects.get(pk=world.person_b.pk)
    # It moves where the file says, keeping what its grid registered of it.
    assert (person.region_code, person.registration, person.name, person.phone) == (
        GRID_A,
        "confirmed",
        world.person_b.name,
        world.person_b.phone,
    )
    assert Person.objects.filter(id_number=person.id_number).count() == 1
    assert Household.objects.get(number="7700").head_id == person.pk
    assert Household.objects.get(pk=world.household_b.pk).head_id is None
    assert person.resident.pk  # the resident account follows the person
    check.refresh_from_db()
    assert (check.status, check.incoming_id, check.decided_by) == (
        "moved",
        None,
        world.b("grid_worker"),
    )
    assert AuditEvent.objects.filter(action="move.confirm", object_id=str(check.pk)).exists()
    # Decided once: a second confirmation changes nothing.
    b_worker.post(f"/moves/{check.pk}/", {"action": "confirm"})
    assert AuditEvent.objects.filter(action="move.confirm").count() == 1


def test_a_dispute_goes_to_the_town_which_may_undo_the_incoming(world, check, login):
    b_worker = login(world.b("grid_worker"))
    b_worker.post(f"/moves/{check.pk}/", {"action": "dispute", "reason": ""})
    assert MoveCheck.objects.get().status == "open"  # a reason is needed
    b_worker.post(f"/moves/{check.pk}/", {"action": "dispute", "reason": "本人仍在本小区居住"})
    assert MoveCheck.objects.get().status == "disputed"
    # not the worker's to settle
    b_worker.post(f"/moves/{check.pk}/", {"action": "stayed", "reason": "我说了算"})
    assert MoveCheck.objects.get().status == "disputed"
    assert world.person_b.name in b_worker.get("/moves/?tab=disputed").content.decode()
    assert login(world.a("town_staff")).get(f"/moves/{check.pk}/").status_code == 404
    town = login(world.b("town_staff"))
    assert world.person_b.name in town.get("/moves/?tab=disputed").content.decode()
    town.post(f"/moves/{check.pk}/", {"action": "stayed"})
    assert MoveCheck.objects.get().status == "disputed"  # a decision needs its reason
    town.post(f"/moves/{check.pk}/", {"action": "stayed", "reason": "社区入户核实仍居住"})
    check.refresh_from_db()
    assert (check.status, check.decision) == ("stayed", "社区入户核实仍居住")
    assert Person.objects.filter(id_number=world.person_b.id_number).count() == 1
    assert Person.objects.get(pk=world.person_b.pk).region_code == world.grid_b.code
    assert not Household.objects.filter(number="7700").exists()  # made for them alone
    assert AuditEvent.objects.filter(action="move.settle", detail__moved=False).exists()


def test_the_town_may_settle_a_dispute_as_a_move(world, check):
    services.move_dispute(actor=Actor.staff(world.b("grid_worker")), check=check, reason="未见本人")
    with pytest.raises(NotFound):
        services.move_settle(
            actor=Actor.staff(world.a("town_staff")), check=check, moved=True, reason="x"
        )
    services.move_settle(
        actor=Actor.staff(world.b("town_staff")), check=check, moved=True, reason="已搬"
    )
    assert Person.objects.get(pk=world.person_b.pk).region_code == GRID_A
    assert MoveCheck.objects.get().status == "moved"


def test_whoever_disputes_does_not_settle(world, check):
    both = world.b("grid_worker")
    factories.Membership.objects.create(user=both, role="town_staff", region_code="370829002")
    services.move_dispute(actor=Actor.staff(both), check=check, reason="未见本人")
    with pytest.raises(DomainError) as refusal:
        services.move_settle(actor=Actor.staff(both), check=check, moved=False, reason="仍居住")
    assert refusal.value.code == "settle_own_dispute"
    assert MoveCheck.objects.get().status == "disputed"


def test_a_reimport_cannot_rewrite_the_record_a_move_brings(world, check, tmp_path, login):
    """The importer changes the pending row's name and phone after the check opened: the
    verifier sees the name it bears now, and a confirmed move keeps the record's own."""
    rows = candidates([world.person_b.id_number], "77")
    rows[0][HEADERS.index("姓名")] = "冒名顶替"
    rows[0][HEADERS.index("联系电话")] = "13912345678"
    roster_import(
        actor=Actor.staff(world.a("grid_worker")),
        region_code=GRID_A,
        path=write_xlsx(tmp_path / "r.xlsx", rows),
        original_name="r.xlsx",
    )
    page = login(world.b("grid_worker")).get(f"/moves/{check.pk}/").content.decode()
    assert "姓名不一致" in page and "冒名顶替" in page
    services.move_confirm(actor=Actor.staff(world.b("grid_worker")), check=check)
    person = Person.objects.get(pk=world.person_b.pk)
    assert (person.name, person.phone) == (world.person_b.name, world.person_b.phone)
