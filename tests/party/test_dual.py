"""双报到: a unit's party organization reports to a community, its in-service members to
the community where they live (by themselves, signed in as residents, or entered by the
branch); what they did there is read from the activities' attendance into the unit's
year report, and the community records its evaluation."""

import datetime
import io
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from openpyxl import load_workbook

from jiceng.core.actors import Actor
from jiceng.core.errors import DomainError, NotFound
from jiceng.core.masking import mask_id_number
from jiceng.core.models import AuditEvent
from jiceng.core.personal import clear
from jiceng.gatherings.models import Gathering, SignUp
from jiceng.party import services
from jiceng.party.imports import write_dual_year
from jiceng.party.models import DualEvaluation, DualReport, PartyMember, PartyOrganization
from jiceng.party.selectors import overview
from tests import factories
from tests.conftest import client_for, resident_client

K = PartyOrganization.Kind
TODAY = timezone.localdate()
COMMUNITY_A, COMMUNITY_B = "370829001001", "370829002001"


def at(*args) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime(*args))


@pytest.fixture
def clock():
    """A year with room on both sides (every report below is dated inside it)."""
    with time_machine.travel(at(2026, 6, 15, 9, 0), tick=False) as traveller:
        yield traveller


def _attended(resident, region_code: str, starts_at: datetime.datetime, hours: str) -> SignUp:
    activity = Gathering.objects.create(
        kind="activity", region_code=region_code, title="志愿服务", starts_at=starts_at,
        ends_at=starts_at + datetime.timedelta(hours=3), capacity=10,
        phase=Gathering.Phase.CLOSED, check_in_secret="x" * 32,
    )  # fmt: skip
    return SignUp.objects.create(
        gathering=activity, resident=resident, status="confirmed", attendance="confirmed",
        hours=Decimal(hours),
    )  # fmt: skip


def _rows(book, sheet: str) -> list[tuple]:
    return list(book[sheet].iter_rows(values_only=True))[1:]


@pytest.fixture
def unit(world):
    """县民政局机关党支部 under the county committee, with an in-service member who lives in
    grid A (community A) and signs in as a resident."""
    department = Actor.staff(world.a("org_department"))
    county = PartyOrganization.objects.get(kind=K.COUNTY_COMMITTEE, region_code="370829")
    branch = services.organization_create(
        actor=department, kind=K.ORGAN_BRANCH, name="县民政局机关党支部", region_code="370829",
        parent=county,
    )  # fmt: skip
    person = factories.PersonFactory(region_code=world.grid_a.code)
    member = PartyMember.objects.create(
        region_code="370829", organization=branch, person=person, name=person.name,
        joined_on="2005-07-01",
    )  # fmt: skip
    return {"branch": branch, "member": member, "resident": factories.resident(person=person)}


def test_a_unit_reports_to_a_community_once(world, unit):
    department = Actor.staff(world.a("org_department"))
    report = services.unit_report(
        actor=department, organization=unit["branch"], community_code="370829001001",
        reported_on=TODAY, commitments="认领助老服务",
    )  # fmt: skip
    assert (report.kind, report.region_code, report.organization) == (
        "unit", "370829001001", unit["branch"],
    )  # fmt: skip
    for kwargs, code in (
        ({"organization": unit["branch"], "community_code": "370829002001"}, "already_reported"),
        ({"organization": world.branch_a, "community_code": "370829001001"}, "not_a_unit"),
        ({"organization": unit["branch"], "community_code": "370830103001"}, "community_unknown"),
    ):
        with pytest.raises(DomainError) as refused:
            services.unit_report(actor=department, reported_on=TODAY, **kwargs)
        assert refused.value.code == code
    assert DualReport.objects.count() == 1
    services.dual_report_end(actor=department, report=report, reason="改到住地社区")
    again = services.unit_report(
        actor=department, organization=unit["branch"], community_code="370829002001",
        reported_on=TODAY,
    )  # fmt: skip
    assert again.pk != report.pk and DualReport.objects.count() == 2


def test_a_member_reports_where_they_live_by_themselves(world, unit):
    page = resident_client(unit["resident"]).post("/me/party-report/")
    assert page.status_code == 302
    report = DualReport.objects.get(member=unit["member"])
    assert report.region_code == "370829001001" and report.registered_by is None
    assert AuditEvent.objects.filter(action="party.dual_report").count() == 1
    # Someone else's resident account cannot report for them.
    other = factories.resident(person=world.person_b)
    with pytest.raises(NotFound):
        services.member_report(actor=Actor.of_resident(other), member=unit["member"])
    # A grid branch's member lives where their branch is: no 双报到.
    grid_member = PartyMember.objects.get(organization=world.branch_a, person=world.person_a)
    with pytest.raises(DomainError) as refused:
        services.member_report(actor=Actor.staff(world.a("org_department")), member=grid_member)
    assert refused.value.code == "not_in_service"


def test_the_year_report_counts_what_members_did_and_the_community_rates_them(clock, world, unit):
    department = Actor.staff(world.a("org_department"))
    today = timezone.localdate()
    services.unit_report(
        actor=department, organization=unit["branch"], community_code="370829001001",
        reported_on=today,
    )  # fmt: skip
    mine = services.member_report(
        actor=department, member=unit["member"], reported_on=today - datetime.timedelta(days=5)
    )
    start = timezone.now() - datetime.timedelta(days=3)
    activity = Gathering.objects.create(
        kind="activity", region_code=world.grid_a.code, title="助老服务", starts_at=start,
        ends_at=start + datetime.timedelta(hours=3), capacity=10,
        phase=Gathering.Phase.CLOSED, check_in_secret="x" * 32,
    )  # fmt: skip
    SignUp.objects.create(
        gathering=activity, resident=unit["resident"], status="confirmed",
        attendance="confirmed", hours=Decimal("2.5"),
    )  # fmt: skip
    community = world.a("community_worker")
    client_for(community).post(
        f"/party/dual/reports/{mine.pk}/evaluate/",
        {"year": today.year, "grade": "excellent", "comment": "积极参加"},
    )
    assert DualEvaluation.objects.get(report=mine).grade == "excellent"
    with pytest.raises(NotFound):  # another town's community worker
        services.dual_evaluate(
            actor=Actor.staff(world.b("community_worker")), report=mine, year=today.year,
            grade="poor",
        )  # fmt: skip
    services.dual_evaluate(actor=Actor.staff(community), report=mine, year=today.year, grade="good")
    assert DualEvaluation.objects.get(report=mine).grade == "good"  # replaced, once a year
    assert AuditEvent.objects.filter(action="party.dual_evaluate").count() == 2
    target = io.BytesIO()
    assert write_dual_year(actor=department, organization=unit["branch"], year=today.year,
                           target=target) == 1  # fmt: skip
    book = load_workbook(io.BytesIO(target.getvalue()))
    rows = list(book["在职党员报到"].iter_rows(values_only=True))
    assert rows[1][0] == unit["member"].name
    assert rows[1][5:] == (1, 2.5, "良好", None)
    # The unit reported today, after the activity: its members' service before does not count.
    assert list(book["单位报到"].iter_rows(values_only=True))[1][5:8] == (0, 0, "未评价")
    assert AuditEvent.objects.filter(action="party.dual_export").count() == 1
    listed = client_for(community).get("/party/dual/370829001001/").content.decode()
    assert "县民政局机关党支部" in listed and unit["member"].name in listed
    figures = overview(user=world.a("org_department"), region_code="370829")
    assert (figures.units_reported, figures.members_reported) == (1, 1)
    assert overview(user=world.b("town_organizer"), region_code="370829002").units_reported == 0


def _workbook(actor, branch, year: int):
    target = io.BytesIO()
    write_dual_year(actor=actor, organization=branch, year=year, target=target)
    return load_workbook(io.BytesIO(target.getvalue()))


def test_the_year_workbook_lists_the_reports_of_that_year_and_what_was_done_there(
    clock, world, unit
):
    """2025's workbook, read in June 2026: the reports in force in 2025 (one ended that
    year, the one after it, not one ended in 2024 nor one made in 2026), each counting only
    what was done in its community while it was in force, with the year's comment; two
    members of one name told apart by their masked ID numbers."""
    department = Actor.staff(world.a("org_department"))
    community = Actor.staff(world.a("community_worker"))
    branch, first, resident = unit["branch"], unit["member"], unit["resident"]
    clock.move_to(at(2024, 5, 1, 9))
    old = services.unit_report(
        actor=department, organization=branch, community_code=COMMUNITY_B,
        reported_on=datetime.date(2024, 5, 1),
    )  # fmt: skip
    clock.move_to(at(2024, 12, 31, 9))
    services.dual_report_end(actor=department, report=old, reason="改到城南社区")
    clock.move_to(at(2025, 2, 1, 9))
    commitments = "认领助老服务：每月组织党员为社区独居老人上门送餐、打扫卫生、陪同就医。" * 3
    services.unit_report(
        actor=department, organization=branch, community_code=COMMUNITY_A,
        reported_on=datetime.date(2025, 2, 1), commitments=commitments,
    )  # fmt: skip
    clock.move_to(at(2025, 3, 1, 9))
    in_a = services.member_report(actor=department, member=first)
    clock.move_to(at(2025, 6, 1, 9))
    services.dual_evaluate(
        actor=community, report=in_a, year=2025, grade="excellent", comment="积极参加助老服务"
    )
    clock.move_to(at(2025, 9, 30, 9))
    services.dual_report_end(actor=department, report=in_a, reason="搬家")
    first.person.region_code = world.grid_b.code  # moved to community B
    first.person.save(update_fields=["region_code"])
    clock.move_to(at(2025, 10, 1, 9))
    in_b = services.member_report(actor=department, member=first)
    assert in_b.region_code == COMMUNITY_B
    clock.move_to(at(2026, 1, 10, 9))
    namesake = PartyMember.objects.create(
        region_code="370829", organization=branch, name=first.name, joined_on="2010-07-01",
        person=factories.PersonFactory(region_code=world.grid_a.code, name=first.name),
    )  # fmt: skip
    services.member_report(actor=department, member=namesake)
    for day, region_code, hours in (
        (at(2025, 2, 15, 9), world.grid_a.code, "4"),  # before the member's report
        (at(2025, 5, 10, 9), world.grid_a.code, "2"),  # counted in A
        (at(2025, 6, 1, 14), world.grid_b.code, "3"),  # in B, before reporting there
        (at(2025, 10, 15, 9), world.grid_a.code, "1"),  # in A, after that report ended
        (at(2025, 11, 1, 9), world.grid_b.code, "1.5"),  # counted in B
        (at(2026, 2, 1, 9), world.grid_b.code, "5"),  # another year
    ):
        _attended(resident, region_code, day, hours)
    clock.move_to(at(2026, 6, 15, 9))

    book = _workbook(department, branch, 2025)
    number = mask_id_number(clear(first.person.id_number))
    assert _rows(book, "在职党员报到") == [
        (first.name, number, "城南社区", datetime.datetime(2025, 3, 1),
         datetime.datetime(2025, 9, 30), 1, 2.0, "优秀", "积极参加助老服务"),
        (first.name, number, "卧龙山社区", datetime.datetime(2025, 10, 1), None, 1, 1.5,
         "未评价", None),
    ]  # fmt: skip
    # The unit's report in force in 2025 (not the one ended in 2024): its members' service in
    # community A from the unit's report on, whether or not the member had reported there.
    assert _rows(book, "单位报到") == [
        ("县民政局机关党支部", "城南社区", datetime.datetime(2025, 2, 1), None, commitments,
         3, 7.0, "未评价", None),
    ]  # fmt: skip
    widths = book["单位报到"].column_dimensions
    assert widths["E"].width >= 40 and widths["A"].width >= 20
    assert book["在职党员报到"].column_dimensions["B"].width >= 20

    this_year = _rows(_workbook(department, branch, 2026), "在职党员报到")
    # By name, then member: the first member's report to B (its 2026 activity), the namesake's.
    assert [(row[0], row[2], row[5]) for row in this_year] == [
        (first.name, "卧龙山社区", 1),
        (first.name, "城南社区", 0),
    ]
    numbers = {row[1] for row in this_year}
    assert numbers == {number, mask_id_number(clear(namesake.person.id_number))}
    assert len(numbers) == 2


def test_an_ended_report_is_rated_for_the_years_it_held_and_no_later(world, unit):
    """Reported two years ago, ended last June: rated for last year (from last year's
    page), refused for this year, and nothing written by the refusal."""
    department = Actor.staff(world.a("org_department"))
    report = services.member_report(actor=department, member=unit["member"])
    services.dual_report_end(actor=department, report=report, reason="调离本县")
    last = TODAY.year - 1
    DualReport.objects.filter(pk=report.pk).update(
        reported_on=datetime.date(last - 1, 3, 1), ended_on=datetime.date(last, 6, 30)
    )
    report.refresh_from_db()
    community = world.a("community_worker")
    with pytest.raises(DomainError) as refused:
        services.dual_evaluate(
            actor=Actor.staff(community), report=report, year=TODAY.year, grade="good"
        )
    assert refused.value.code == "report_ended"
    page = client_for(community).post(
        f"/party/dual/reports/{report.pk}/evaluate/",
        {"year": TODAY.year, "grade": "good"},
        follow=True,
    )
    assert "该报到已于此前结束，不能评价这一年度。" in page.content.decode()
    assert not DualEvaluation.objects.exists()
    assert not AuditEvent.objects.filter(action="party.dual_evaluate").exists()
    # This year's page does not list it; last year's does, and rates it.
    code = report.region_code
    assert (
        f'data-report="{report.pk}"'
        not in client_for(community).get(f"/party/dual/{code}/").content.decode()
    )
    listed = client_for(community).get(f"/party/dual/{code}/?year={last}").content.decode()
    assert f'data-report="{report.pk}"' in listed and f"{last}-06-30结束" in listed
    client_for(community).post(
        f"/party/dual/reports/{report.pk}/evaluate/", {"year": last, "grade": "good"}
    )
    assert DualEvaluation.objects.get().year == last
    assert client_for(community).get(f"/party/dual/{code}/?year=1990").status_code == 404


def test_a_rating_replaced_keeps_what_it_replaced_in_the_audit_trail(world, unit):
    department = Actor.staff(world.a("org_department"))
    report = services.member_report(actor=department, member=unit["member"])
    community = Actor.staff(world.a("community_worker"))
    services.dual_evaluate(
        actor=community, report=report, year=TODAY.year, grade="fair", comment="很少参加"
    )
    services.dual_evaluate(
        actor=community, report=report, year=TODAY.year, grade="good", comment="下半年积极"
    )
    first, second = AuditEvent.objects.filter(action="party.dual_evaluate").order_by("pk")
    assert first.detail == {
        "year": TODAY.year, "grade": "fair", "comment": "很少参加", "before": None,
    }  # fmt: skip
    assert second.detail == {
        "year": TODAY.year, "grade": "good", "comment": "下半年积极",
        "before": {"grade": "fair", "comment": "很少参加"},
    }  # fmt: skip
    assert DualEvaluation.objects.get(report=report).comment == "下半年积极"


def test_the_community_rates_from_an_empty_grade_beside_what_each_did(world, unit):
    department = Actor.staff(world.a("org_department"))
    report = services.member_report(actor=department, member=unit["member"])
    start = timezone.now() - datetime.timedelta(minutes=5)
    if start.date() < report.reported_on:  # just after midnight: the activity is today's
        start = timezone.now()
    _attended(unit["resident"], world.grid_a.code, start, "2.5")
    _attended(unit["resident"], world.grid_b.code, start, "4")  # another community's
    community = client_for(world.a("community_worker"))
    page = community.get(f"/party/dual/{COMMUNITY_A}/").content.decode()
    assert '<select name="grade" aria-label="评价等次" required>' in page
    assert '<option value="" selected>请选择</option>' in page
    assert f'data-participation="{report.pk}">1 次 · 2.50 小时' in page
    assert mask_id_number(clear(unit["member"].person.id_number)) in page
    # No grade chosen: refused, nothing written.
    community.post(f"/party/dual/reports/{report.pk}/evaluate/", {"year": TODAY.year})
    assert not DualEvaluation.objects.exists()


def _many_members(world, branch, n: int, start: int = 0) -> None:
    for i in range(start, start + n):
        member = PartyMember.objects.create(
            region_code="370829", organization=branch, name=f"在职党员{i:03d}",
            joined_on="2010-07-01",
        )  # fmt: skip
        DualReport.objects.create(
            kind="member", region_code=COMMUNITY_A, member=member, reported_on=TODAY
        )


def _read(client, url: str) -> tuple[str, int]:
    client.get(url)  # caches filled
    with CaptureQueriesContext(connection) as captured:
        page = client.get(url)
    assert page.status_code == 200
    return page.content.decode(), len(captured.captured_queries)


def test_the_community_and_unit_lists_are_paged_at_a_fixed_cost(world, unit):
    branch = unit["branch"]
    community = client_for(world.a("community_worker"))
    department = client_for(world.a("org_department"))
    _many_members(world, branch, 3)
    _, few_community = _read(community, f"/party/dual/{COMMUNITY_A}/")
    _, few_unit = _read(department, f"/party/o/{branch.pk}/dual/")
    _many_members(world, branch, 50, start=3)
    page, many_community = _read(community, f"/party/dual/{COMMUNITY_A}/")
    assert "共 53 条" in page and "第 1 / 2 页" in page and page.count("data-report=") == 50
    assert "在职党员052" in community.get(f"/party/dual/{COMMUNITY_A}/?page=2").content.decode()
    page, many_unit = _read(department, f"/party/o/{branch.pk}/dual/")
    assert "共 53 条" in page and page.count("data-member-report=") == 50
    assert (many_community, many_unit) == (few_community, few_unit)


def test_the_unit_page_confirms_a_report_and_ends_one(world, unit):
    branch = unit["branch"]
    department = client_for(world.a("org_department"))
    url = f"/party/o/{branch.pk}/dual/"
    page = department.get(url).content.decode()
    assert 'class="stack" data-confirm="单位报到登记后不能修改' in page
    member = unit["member"]  # offered with the masked ID that tells two of a name apart
    shown = mask_id_number(clear(member.person.id_number))
    assert f'<option value="{member.pk}">{member.name}（{shown}）</option>' in page
    department.post(
        url, {"form": "unit", "community": COMMUNITY_A, "reported_on": TODAY.isoformat()}
    )
    own = DualReport.objects.get(organization=branch)
    mine = services.member_report(
        actor=Actor.staff(world.a("org_department")), member=unit["member"]
    )
    page = department.get(url).content.decode()
    for report in (own, mine):
        assert f'action="/party/dual/reports/{report.pk}/end/"' in page
        assert f'data-end-report="{report.pk}" data-confirm="结束' in page
    ended = department.post(f"/party/dual/reports/{own.pk}/end/", {"reason": "", "back": "unit"})
    own.refresh_from_db()
    assert ended.status_code == 302 and own.ended_on is None  # a reason is required
    ended = department.post(
        f"/party/dual/reports/{own.pk}/end/", {"reason": "单位撤并", "back": "unit"}
    )
    own.refresh_from_db()
    assert ended["Location"] == url
    assert (own.ended_on, own.end_reason) == (TODAY, "单位撤并")
    # Ended: the unit may report again.
    assert 'data-confirm="单位报到登记后不能修改' in department.get(url).content.decode()


def test_my_party_report_names_the_community_reported_to(world, unit):
    services.member_report(actor=Actor.staff(world.a("org_department")), member=unit["member"])
    person = unit["member"].person
    person.region_code = world.grid_b.code  # moved since
    person.save(update_fields=["region_code"])
    page = resident_client(unit["resident"]).get("/me/party-report/").content.decode()
    assert f'<strong data-reported-to="{COMMUNITY_A}">城南社区</strong>' in page
    assert "卧龙山社区" not in page
