"""双报到: a unit's party organization reports to a community, its in-service members to
the community where they live (by themselves, signed in as residents, or entered by the
branch); what they did there is read from the activities' attendance into the unit's
year report, and the community records its evaluation."""

import datetime
import io
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone
from openpyxl import load_workbook

from jiceng.core.actors import Actor
from jiceng.core.errors import DomainError, NotFound
from jiceng.core.models import AuditEvent
from jiceng.gatherings.models import Gathering, SignUp
from jiceng.party import services
from jiceng.party.imports import write_dual_year
from jiceng.party.models import DualEvaluation, DualReport, PartyMember, PartyOrganization
from jiceng.party.selectors import overview
from tests import factories
from tests.conftest import client_for

K = PartyOrganization.Kind
TODAY = timezone.localdate()


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


def _signed_in(resident) -> Client:
    client = Client()
    session = client.session
    session["resident_id"] = resident.pk
    session.save()
    return client


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
    page = _signed_in(unit["resident"]).post("/me/party-report/")
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


def test_the_year_report_counts_what_members_did_and_the_community_rates_them(world, unit):
    department = Actor.staff(world.a("org_department"))
    services.unit_report(
        actor=department, organization=unit["branch"], community_code="370829001001",
        reported_on=TODAY,
    )  # fmt: skip
    mine = services.member_report(actor=department, member=unit["member"])
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
        {"year": TODAY.year, "grade": "excellent", "comment": "积极参加"},
    )
    assert DualEvaluation.objects.get(report=mine).grade == "excellent"
    with pytest.raises(NotFound):  # another town's community worker
        services.dual_evaluate(
            actor=Actor.staff(world.b("community_worker")), report=mine, year=TODAY.year,
            grade="poor",
        )  # fmt: skip
    services.dual_evaluate(actor=Actor.staff(community), report=mine, year=TODAY.year, grade="good")
    assert DualEvaluation.objects.get(report=mine).grade == "good"  # replaced, once a year
    assert AuditEvent.objects.filter(action="party.dual_evaluate").count() == 2
    target = io.BytesIO()
    assert write_dual_year(actor=department, organization=unit["branch"], year=TODAY.year,
                           target=target) == 1  # fmt: skip
    book = load_workbook(io.BytesIO(target.getvalue()))
    rows = list(book["在职党员报到"].iter_rows(values_only=True))
    assert rows[1][0] == unit["member"].name
    assert rows[1][3:] == (1, 2.5, "良好")
    assert list(book["单位报到"].iter_rows(values_only=True))[1][4] == "未评价"
    assert AuditEvent.objects.filter(action="party.dual_export").count() == 1
    listed = client_for(community).get("/party/dual/370829001001/").content.decode()
    assert "县民政局机关党支部" in listed and unit["member"].name in listed
    figures = overview(user=world.a("org_department"), region_code="370829")
    assert (figures.units_reported, figures.members_reported) == (1, 1)
    assert overview(user=world.b("town_organizer"), region_code="370829002").units_reported == 0
