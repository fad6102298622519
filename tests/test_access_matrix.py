"""The authorization matrix: every route, as its owner, as the same role in another region,
as a signed-in outsider with no role, and anonymously. A route missing from the matrix fails
`test_every_route_is_declared`.

Denied requests must change nothing: each denial (GET, POST or DELETE) compares a fingerprint of
every model of every jiceng app before and after, less what `DENIAL_LEAVES` says a refusal
is meant to leave (and why).
"""

import datetime
import functools
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.apps import apps
from django.core.files.storage import default_storage
from django.db import connection
from django.db.models import Q
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from jiceng.accounts.models import User
from jiceng.accounts.services import api_token_issue
from jiceng.api import api
from jiceng.cases.models import Photo
from jiceng.core import approvals, audit
from jiceng.core.actors import Actor
from jiceng.core.masking import mask_id_number
from jiceng.party.models import FirstSecretary
from jiceng.places.models import ImportJob, MoveCheck, Person
from jiceng.places.roster import RowError, write_error_workbook
from tests.conftest import World, client_for

PUBLIC = Actor.public("test")

PAGE_LOGIN = 302  # anonymous page visits are sent to the login page
API_LOGIN = 401


@dataclass
class Case:
    name: str
    role: str  # the role whose holder in region A owns the object
    url: Callable[[World], str]
    method: str = "get"
    data: Callable[[World], dict] | None = None
    owner: int = 200
    other: int = 404
    outsider: int = 404
    anonymous: int = PAGE_LOGIN
    api: bool = False
    marker: Callable[[World], str] | None = None  # owner sees it; other and outsider must not
    # A resident's page: owner and other are residents of communities A and B (signed in
    # by phone), the outsider a staff account with no resident session.
    resident: bool = False
    open_to_other: bool = False  # "other" acting for themselves is allowed, not a denial
    # The address is the credential (a resident's tracking link): whoever holds it may act,
    # so a redirect is the action done, not a denial.
    open_to_link: bool = False
    # Checked with the second factor on (tests turn it off by default): its own pages.
    second_factor: bool = False


def _job(world: World, with_errors: bool = False) -> ImportJob:
    owner = world.a("grid_worker")
    job = ImportJob.objects.create(
        region_code=world.grid_a.code,
        created_by=owner,
        original_name="甲网格花名册.csv",
        file="imports/test.csv",
        status=ImportJob.Status.REJECTED,
        error_file="imports/errors/test.xlsx" if with_errors else "",
    )
    return job


def _move_check(world: World) -> MoveCheck:
    """Grid B imported grid A's person: grid A is to confirm or dispute."""
    person = world.person_a
    incoming = Person.objects.create(
        region_code=world.grid_b.code,
        name=person.name,
        id_number=person.id_number,
        id_tail=person.id_tail,
        gender=person.gender,
        birth_date=person.birth_date,
        registration=Person.Registration.PENDING,
    )
    return MoveCheck.objects.create(
        region_code=world.grid_a.code,
        person=person,
        incoming=incoming,
        to_region_code=world.grid_b.code,
        incoming_name=person.name,
    )


def _error_job_url(world: World) -> str:
    job = _job(world, with_errors=True)
    write_error_workbook(
        [RowError(2, "姓名", "姓名不能为空。")], Path(default_storage.path(job.error_file.name))
    )
    return f"/imports/{job.pk}/errors.xlsx"


def _export_url(world: World) -> str:
    """A finished export of community A, by its community worker."""
    from django.core.files.base import ContentFile

    job = ImportJob.objects.create(
        kind=ImportJob.Kind.EXPORT,
        region_code="370829001001",
        created_by=world.a("community_worker"),
        original_name="甲社区花名册.xlsx",
        status=ImportJob.Status.DONE,
    )
    job.file.save("roster.xlsx", ContentFile(b"PK exported"), save=True)
    return f"/imports/{job.pk}/roster.xlsx"


def _first_secretary(world: World) -> FirstSecretary:
    return FirstSecretary.objects.create(
        region_code="370829001001",
        name="甲书记",
        level="province",
        sending_unit="省农业农村厅",
        term_start="2025-03-01",
    )


def _member_a(world: World):
    from jiceng.party.models import PartyMember

    return PartyMember.objects.get(organization=world.branch_a, person=world.person_a)


def _appointment(world: World):
    from jiceng.party.models import Appointment

    return Appointment.objects.create(
        region_code=world.branch_a.region_code,
        organization=world.branch_a,
        person=world.person_a,
        post="deputy",
        started_on=datetime.date(2024, 1, 1),
    )


def _term_due(world: World) -> str:
    from jiceng.party.models import PartyOrganization

    PartyOrganization.objects.filter(pk=world.branch_a.pk).update(
        term_started_on=datetime.date(2023, 12, 20), term_ends_on=datetime.date.today()
    )
    return "/party/terms/"


def _transfer(world: World):
    from jiceng.party.models import Transfer

    return Transfer.objects.create(
        region_code=world.branch_a.region_code,
        member=_member_a(world),
        from_organization=world.branch_a,
        to_organization=world.branch_b,
        to_region_code=world.branch_b.region_code,
        reason="居住地变更",
        requested_at=datetime.datetime.now(datetime.timezone.utc),
    )


def _meeting(world: World):
    from django.utils import timezone

    from jiceng.gatherings.services import gathering_schedule
    from jiceng.party.models import Meeting

    start = timezone.now() + datetime.timedelta(minutes=10)
    gathering = gathering_schedule(
        actor=Actor.system("test"),
        kind="party_meeting",
        region_code=world.branch_a.region_code,
        title="甲支部主题党日",
        starts_at=start,
        ends_at=start + datetime.timedelta(hours=1),
        capacity=10,
        audience="branch",
        phase="planned",
    )
    return Meeting.objects.create(
        region_code=world.branch_a.region_code,
        organization=world.branch_a,
        gathering=gathering,
        kind="theme_day",
        held_on=start.date(),
    )


def _valid_id(seed: str = "37082919800101123") -> str:
    from jiceng.core.idnumber import check_character

    return seed + check_character(seed)


def _audit_event(world: World) -> str:
    audit.record(
        actor=world.a("grid_worker"), action="matrix.marker", region_code=world.grid_a.code
    )
    return "matrix.marker"


# A kind of approval for the matrix alone: decided by who holds points.manage there.
approvals.register(
    approvals.Kind(name="matrix.thing", label="矩阵事项", permission="points.manage")
)


def _approval(world: World):
    """Community A's worker asks; the owner (town A's staff) may decide."""
    return approvals.ask(
        actor=Actor.staff(world.a("community_worker")),
        kind="matrix.thing",
        region_code="370829001001",
        summary="甲社区矩阵事项",
    )


def _managed_user(world: World) -> User:
    return world.a("grid_worker")


def _pending_grant(world: World, batch: bool = False):
    """A sensitive role asked for by A's system administrator, not yet signed."""
    from jiceng.accounts.models import GrantBatch, GrantRequest
    from tests.factories import UserFactory

    grantee = UserFactory(username="matrix-grantee", full_name="甲待授权人", region_code="370829")
    return GrantRequest.objects.create(
        user=grantee,
        role="town_staff",
        region_code="370829001",
        requested_by=world.a("county_admin"),
        batch=GrantBatch.objects.create(
            region_code="370829", name="甲县账号导入", created_by=world.a("county_admin")
        )
        if batch
        else None,
    )


def _enrolled(world: World) -> User:
    from tests.factories import enrol

    enrol(_managed_user(world))
    return _managed_user(world)


def _own_token(world: World):
    from jiceng.accounts.models import ApiToken

    api_token_issue(actor=Actor.staff(world.a("grid_worker")), name="甲的令牌")
    return ApiToken.objects.get(name="甲的令牌")


def _a_case(world: World, closed: bool = False):
    """A request in grid A, dispatched to A's grid worker (or closed), with one photo."""
    from django.core.files.base import ContentFile

    from jiceng.cases import services
    from jiceng.cases.catalogue import catalogue_seed
    from jiceng.cases.models import Category

    catalogue_seed(county_code="370829")
    worker = world.a("grid_worker")
    case, _ = services.case_submit(
        actor=PUBLIC,
        channel="qr",
        region_code=world.grid_a.code,
        description="甲网格路灯不亮",
        category=Category.objects.get(code="facilities.street-light"),
        reporter_phone="13912345678",
    )
    Photo.objects.create(case=case, kind="report", image=ContentFile(_JPEG, name="a.jpg"))
    case = services.case_accept(actor=worker, case=case)
    case = services.case_dispatch(actor=worker, case=case, handler=worker)
    if closed:
        case = services.case_start(actor=worker, case=case)
        case = services.case_handle(actor=worker, case=case, result="已修复")
        case = services.case_check(actor=world.a("community_worker"), case=case, passed=True)
    return case


def _a_suspect(world: World):
    """A suspect submission in grid A (past the grid's hourly limit)."""
    from jiceng.cases import services

    case, _ = services.case_submit(
        actor=PUBLIC,
        channel="qr",
        region_code=world.grid_a.code,
        description="甲网格可疑提交",
        is_suspect=True,
    )
    return case


def _jpeg() -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (4, 4)).save(buffer, "JPEG")
    return buffer.getvalue()


_JPEG = _jpeg()


def _catalogue(world: World, url: str) -> str:
    from jiceng.cases.catalogue import catalogue_seed

    catalogue_seed(county_code="370829")
    return url


def _category(world: World):
    from jiceng.cases.models import Category

    _catalogue(world, "")
    return Category.objects.get(region_code="370829", code="facilities.gas")


def _open311_client(world: World):
    from jiceng.cases.services import open311_client_create

    _catalogue(world, "")
    return open311_client_create(
        actor=world.a("county_admin"), name="甲县小程序", county_code="370829"
    )


def _patrol(world: World):
    from django.utils import timezone

    from jiceng.patrols.services import patrol_log

    now = timezone.now()
    return patrol_log(
        actor=world.a("grid_worker"), grid=world.grid_a, started_at=now, ended_at=now,
        notes="甲网格巡查记录",
    )  # fmt: skip


def _visit(world: World):
    from jiceng.patrols.services import visit_log

    return visit_log(actor=world.a("grid_worker"), household=world.household_a, notes="甲户走访")


def _today() -> str:
    from django.utils import timezone

    return timezone.localdate().isoformat()


def _tracking_photo(case) -> str:
    return f"/t/{case.tracking_code}/{case.access_token}/photos/{case.photos.get().pk}/"


def _supervised(world: World):
    from jiceng.cases import services

    return services.case_supervise(actor=world.a("town_staff"), case=_a_case(world), note="请加快")


def _tracking(world: World, closed: bool = False, suffix: str = "") -> str:
    case = _a_case(world, closed)
    return f"/t/{case.tracking_code}/{case.access_token}/{suffix}"


def _my_case(world: World) -> str:
    """A request of grid A made with resident A's phone: under A's 我的诉求 only."""
    from jiceng.cases import services
    from jiceng.core.personal import clear

    case, _ = services.case_submit(
        actor=PUBLIC,
        channel="qr",
        region_code=world.grid_a.code,
        description="甲居民反映楼道灯坏了",
        reporter_phone=clear(_resident(world).phone),
    )
    return case.tracking_code


# --- residents, activities, points, stores ------------------------------------------------


def _resident(world: World, side: str = "a"):
    from jiceng.residents.models import Resident

    person = world.person_a if side == "a" else world.person_b
    resident, _ = Resident.objects.get_or_create(
        phone=f"1390000000{1 if side == 'a' else 2}",
        defaults={"person": person, "region_code": person.region_code},
    )
    return resident


def _team(world: World, side: str = "a"):
    from jiceng.activities.models import VolunteerTeam
    from jiceng.activities.services import team_create

    code = "370829001001" if side == "a" else "370829002001"
    existing = VolunteerTeam.objects.filter(region_code=code).first()
    if existing:
        return existing
    return team_create(
        actor=world.a("community_worker") if side == "a" else world.b("community_worker"),
        region_code=code,
        name=f"{side}红帆志愿队",
        leader=_resident(world, side),
    )


def _captain_of_own_building(world: World) -> str:
    """Resident A (person A) captains their own building."""
    building = world.household_a.dwelling.building
    building.captain = _resident(world).person
    building.save(update_fields=["captain"])
    return "/me/building/"


def _rider(world: World):
    from django.utils import timezone

    from jiceng.residents.models import Rider

    worker = world.a("grid_worker")
    return Rider.objects.create(
        resident=_resident(world),
        region_code=world.grid_a.code,
        platform="美团",
        paired_with=worker,
        registered_by=worker,
        registered_on=timezone.localdate(),
    )


def _unit_report(world: World):
    """An organ's branch under the county committee, reported to community A."""
    from django.utils import timezone

    from jiceng.party.models import DualReport, PartyOrganization

    existing = DualReport.objects.filter(kind="unit").first()
    if existing:
        return existing
    county = PartyOrganization.objects.get(kind="county_committee", region_code="370829")
    branch = PartyOrganization.objects.create(
        region_code="370829", name="县民政局机关党支部", kind="organ_branch", parent=county
    )
    return DualReport.objects.create(
        kind="unit", region_code="370829001001", organization=branch,
        reported_on=timezone.localdate(),
    )  # fmt: skip


def _week_ahead():
    import datetime

    from django.utils import timezone

    return timezone.localtime() + datetime.timedelta(days=7)


def _activity(world: World, status: str = "draft", title: str = "甲社区义诊"):
    """An activity of community A a week ahead, taken to `status` (claimed by A's team)."""
    import datetime

    from jiceng.activities import services as activity_services
    from jiceng.activities.models import ServiceType

    staff_a = world.a("community_worker")
    start = _week_ahead()
    activity = activity_services.activity_create(
        actor=staff_a,
        region_code="370829001001",
        title=title,
        service_type=ServiceType.objects.get(code="health"),
        starts_at=start,
        ends_at=start + datetime.timedelta(hours=2),
        capacity=20,
        points=10,
    )
    if status == "draft":
        return activity
    activity = activity_services.activity_publish(actor=staff_a, activity=activity)
    if status == "published":
        return activity
    activity = activity_services.activity_claim(
        actor=Actor.of_resident(_resident(world)), activity=activity, team=_team(world)
    )
    if status == "claimed":
        return activity
    activity = activity_services.activity_open_signup(actor=staff_a, activity=activity)
    if status == "signup":
        return activity
    # Held: a week ahead it cannot be started, so the row is moved there directly.
    from jiceng.activities.workflow import PHASE

    type(activity).objects.filter(pk=activity.pk).update(status=status)
    type(activity.gathering).objects.filter(pk=activity.gathering_id).update(phase=PHASE[status])
    activity.refresh_from_db()
    activity.gathering.refresh_from_db()
    return activity


def _signup(world: World):
    from jiceng.gatherings.services import signup_create

    return signup_create(
        actor=Actor.of_resident(_resident(world)), gathering=_activity(world, "signup").gathering
    )


def _sheet_page(world: World) -> str:
    """A page of the paper sheet of a held activity of community A, photographed."""
    from tests.factories import paper_sheet

    page = paper_sheet(_activity(world, "held").gathering)
    return f"/a/{page.gathering_id}/sheet/{page.pk}.jpg"


def _need(world: World):
    from jiceng.activities.services import need_record

    return need_record(actor=world.a("grid_worker"), region_code=world.grid_a.code, text="甲需求")


def _venue(world: World):
    import datetime

    from jiceng.gatherings.services import venue_create

    return venue_create(
        actor=world.a("community_worker"), region_code="370829001001", name="甲红帆驿站",
        kind="station", capacity=30, opens_at=datetime.time(8), closes_at=datetime.time(20),
    )  # fmt: skip


def _entry(world: World):
    """Ten points for resident A in community A."""
    from jiceng.points.ledger import account_for, ledger_for, post
    from jiceng.points.models import Account, JournalEntry

    ledger = ledger_for("370829001001")
    return post(
        ledger=ledger,
        key="matrix:award",
        kind=JournalEntry.Kind.EARN,
        memo="甲社区奖励",
        lines=[
            (account_for(ledger, Account.Kind.RESIDENT, _resident(world)), 10),
            (account_for(ledger, Account.Kind.ISSUANCE), -10),
        ],
    )


def _claim(world: World):
    from jiceng.points import services as points_services

    rule = points_services.rule_create(
        actor=Actor.staff(world.a("community_worker")), region_code="370829001001", name="环保卫士",
        kind="deed", points=5,
    )  # fmt: skip
    return points_services.deed_propose(
        actor=Actor.staff(world.a("town_staff")),
        rule=rule,
        resident=_resident(world),
        description="捡垃圾",
    )


def _store(world: World, side: str = "a"):
    from jiceng.points import services as points_services
    from jiceng.points.models import Store

    code = "370829001001" if side == "a" else "370829002001"
    existing = Store.objects.filter(region_code=code).first()
    if existing:
        return existing
    manager = world.a("community_worker") if side == "a" else world.b("community_worker")
    store = points_services.store_create(
        actor=Actor.staff(manager), region_code=code, name=f"{side}文明超市"
    )
    clerk = world.a("store_clerk") if side == "a" else world.b("store_clerk")
    points_services.store_add_clerk(actor=Actor.staff(manager), store=store, clerk=clerk)
    points_services.good_create(
        actor=Actor.staff(manager), store=store, name="肥皂", price=5, stock=10
    )
    return store


def _order(world: World):
    from jiceng.points import services as points_services

    _entry(world)
    store = _store(world)
    return points_services.redemption_open(
        actor=Actor.staff(world.a("store_clerk")), store=store, resident=_resident(world),
        items={store.goods.get().pk: 1},
    )  # fmt: skip


def _token(world: World) -> str:
    from jiceng.points.services import personal_code_issue

    return personal_code_issue(actor=Actor.of_resident(_resident(world)))


def _check_in(world: World) -> str:
    from jiceng.gatherings.services import check_in_code

    gathering = _signup(world).gathering
    return f"/a/{gathering.pk}/checkin/{check_in_code(gathering)}/"


PAGES = [
    Case("home", "grid_worker", lambda w: "/", other=200, outsider=200),
    Case("healthz", "grid_worker", lambda w: "/healthz", other=200, outsider=200, anonymous=200),
    Case(
        "audit_list",
        "auditor",
        lambda w: "/audit/?action=matrix",
        other=200,
        outsider=403,
        marker=_audit_event,
    ),
    # The .xlsx of the same filters (a workbook is compressed: what it holds is checked in
    # tests/core/test_audit.py, another county's auditor getting none of A's events).
    Case(
        "audit_export",
        "auditor",
        lambda w: "/audit/export.xlsx?action=matrix",
        other=200,
        outsider=403,
    ),
    Case(
        "approval_list",
        "town_staff",
        lambda w: "/approvals/",
        other=200,
        outsider=200,
        marker=lambda w: _approval(w).summary,
    ),
    Case("approval_detail", "town_staff", lambda w: f"/approvals/{_approval(w).pk}/"),
    Case(
        "approval_decide",
        "town_staff",
        lambda w: f"/approvals/{_approval(w).pk}/approve",
        method="post",
        owner=302,
    ),
    # Asking for more of one's own reveal quota: anyone who holds a reveal right asks for
    # themselves (B's grid worker too); an account with none has no quota to ask about.
    Case(
        "reveal_more",
        "grid_worker",
        lambda w: "/reveals/more/",
        method="post",
        data=lambda w: {"extra": "5", "reason": "入户核对"},
        owner=302,
        other=302,
        open_to_other=True,
    ),
    Case(
        "reveal_emergency",
        "grid_worker",
        lambda w: "/reveals/emergency/",
        method="post",
        data=lambda w: {"cause": "flood", "reason": "转移群众"},
        owner=302,
        other=302,
        open_to_other=True,
    ),
    Case(
        "accounts:login",
        "grid_worker",
        lambda w: "/accounts/login/",
        other=200,
        outsider=200,
        anonymous=200,
    ),
    Case(
        "accounts:logout",
        "grid_worker",
        lambda w: "/accounts/logout/",
        method="post",
        owner=302,
        other=302,
        outsider=302,
    ),
    Case(
        "accounts:password", "grid_worker", lambda w: "/accounts/password/", other=200, outsider=200
    ),
    # The second step of signing in reads only the session's pending mark (set when a
    # password passes, tests/accounts/test_second_factor.py): without one, everybody,
    # signed in or not, goes back to the login page and nothing is written.
    Case(
        "accounts:second_factor",
        "grid_worker",
        lambda w: "/accounts/login/code/",
        method="post",
        data=lambda w: {"code": "123456"},
        owner=302,
        other=302,
        outsider=302,
        second_factor=True,
    ),
    # 再次验证: one's own second factor (enrolment for one who has none); an account that
    # needs none (the outsider holds no role) is sent straight on.
    Case(
        "accounts:step_up",
        "grid_worker",
        lambda w: "/accounts/verify/?next=/",
        other=200,
        outsider=302,
        open_to_other=True,
        second_factor=True,
    ),
    Case(
        "accounts:user_second_factor_reset",
        "security_admin",
        lambda w: f"/accounts/users/{_enrolled(w).pk}/second-factor/reset/",
        method="post",
        owner=302,
    ),
    Case(
        "accounts:user_list",
        "county_admin",
        lambda w: "/accounts/users/",
        other=200,
        outsider=403,
        marker=lambda w: _managed_user(w).username,
    ),
    Case(
        "accounts:user_detail", "county_admin", lambda w: f"/accounts/users/{_managed_user(w).pk}/"
    ),
    Case(
        "accounts:user_grant",
        "county_admin",
        lambda w: f"/accounts/users/{_managed_user(w).pk}/grant/",
        method="post",
        data=lambda w: {"role": "grid_worker", "region_code": "370829001001002"},
        owner=302,
    ),
    Case(
        "accounts:grant_buildings",
        "county_admin",
        lambda w: (
            f"/accounts/users/{_managed_user(w).pk}/grant/buildings/?region_code={w.grid_a.code}"
        ),
        marker=lambda w: w.household_a.dwelling.building.name,
    ),
    Case(
        "accounts:user_revoke",
        "county_admin",
        lambda w: (
            f"/accounts/users/{_managed_user(w).pk}/revoke/"
            f"{_managed_user(w).memberships.first().pk}/"
        ),
        method="post",
        owner=302,
    ),
    Case(
        "accounts:user_set_active",
        "county_admin",
        lambda w: f"/accounts/users/{_managed_user(w).pk}/active/",
        method="post",
        data=lambda w: {"active": "0"},
        owner=302,
    ),
    Case(
        "accounts:user_reset_password",
        "county_admin",
        lambda w: f"/accounts/users/{_managed_user(w).pk}/password/",
        method="post",
        data=lambda w: {"password": "N3w-Passw0rd!x"},
        owner=302,
    ),
    Case(
        "accounts:user_import",
        "county_admin",
        lambda w: "/accounts/users/import/",
        other=200,
        outsider=403,
    ),
    Case(
        "accounts:user_import_template",
        "county_admin",
        lambda w: "/accounts/users/import/template.xlsx",
        other=200,
        outsider=403,
    ),
    Case(
        "accounts:grant_list",
        "security_admin",
        lambda w: "/accounts/grants/",
        other=200,
        outsider=403,
        marker=lambda w: _pending_grant(w).user.full_name,
    ),
    Case(
        "accounts:grant_sign",
        "security_admin",
        lambda w: f"/accounts/grants/{_pending_grant(w).pk}/sign/",
        method="post",
        owner=302,
    ),
    Case(
        "accounts:grant_refuse",
        "security_admin",
        lambda w: f"/accounts/grants/{_pending_grant(w).pk}/refuse/",
        method="post",
        data=lambda w: {"reason": "不认识此人"},
        owner=302,
    ),
    Case(
        "accounts:grant_batch",
        "security_admin",
        lambda w: f"/accounts/grants/batches/{_pending_grant(w, batch=True).batch_id}/",
        marker=lambda w: "甲待授权人",
    ),
    Case(
        "accounts:grant_batch_sign",
        "security_admin",
        lambda w: f"/accounts/grants/batches/{_pending_grant(w, batch=True).batch_id}/sign/",
        method="post",
        owner=302,
    ),
    Case(
        "accounts:token_list",
        "grid_worker",
        lambda w: "/accounts/tokens/",
        other=200,
        outsider=200,
        marker=lambda w: _own_token(w).name,
    ),
    Case(
        "accounts:token_revoke",
        "grid_worker",
        lambda w: f"/accounts/tokens/{_own_token(w).pk}/revoke/",
        method="post",
        owner=302,
    ),
    Case("places:region", "grid_worker", lambda w: f"/regions/{w.grid_a.code}/"),
    Case(
        "places:region_child_create",
        "county_admin",
        lambda w: "/regions/370829001001/children/",
        method="post",
        data=lambda w: {"code": "370829001001009", "name": "新网格", "grid_kind": "comprehensive"},
        owner=302,
    ),
    Case(
        "places:grid_update",
        "county_admin",
        lambda w: f"/regions/{w.grid_a.code}/grid/",
        method="post",
        data=lambda w: {"name": "改名网格", "grid_kind": "dedicated"},
        owner=302,
    ),
    Case(
        "places:region_export",
        "community_worker",
        lambda w: "/regions/370829001001/export/",
        method="post",
        owner=302,
    ),
    Case("places:export_file", "community_worker", _export_url),
    Case(
        "places:building",
        "grid_worker",
        lambda w: f"/buildings/{w.household_a.dwelling.building_id}/",
    ),
    Case("places:household", "grid_worker", lambda w: f"/households/{w.household_a.pk}/"),
    Case("places:person", "grid_worker", lambda w: f"/persons/{w.person_a.pk}/"),
    Case(
        "places:person_reveal",
        "grid_worker",
        lambda w: f"/persons/{w.person_a.pk}/reveal/id_number/",
        method="post",
    ),
    Case(
        "places:search",
        "grid_worker",
        lambda w: "/search/?q=甲测试人",
        other=200,
        outsider=403,
        marker=lambda w: mask_id_number(w.person_a.id_number),
    ),
    Case(
        "places:region_picker",
        "county_admin",
        lambda w: "/region-picker/?name=region_code&for=users.manage&region_code=370829",
        other=200,
        outsider=403,
        marker=lambda w: "嘉祥街道",
    ),
    Case(
        "places:import_list",
        "grid_worker",
        lambda w: "/imports/",
        other=200,
        outsider=403,
        marker=lambda w: _job(w).original_name,
    ),
    Case(
        "places:import_template",
        "grid_worker",
        lambda w: "/imports/template.xlsx",
        other=200,
        outsider=403,
    ),
    Case("places:import_detail", "grid_worker", lambda w: f"/imports/{_job(w).pk}/"),
    Case(
        "places:moves",
        "grid_worker",
        lambda w: "/moves/",
        other=200,
        outsider=403,
        marker=lambda w: f"/moves/{_move_check(w).pk}/",
    ),
    Case(
        "places:move",
        "grid_worker",
        lambda w: f"/moves/{_move_check(w).pk}/",
        method="post",
        data=lambda w: {"action": "confirm"},
        owner=302,
    ),
    Case("places:import_errors", "grid_worker", _error_job_url),
    Case(
        "cases:queue",
        "grid_worker",
        lambda w: "/cases/?queue=open",
        other=200,
        outsider=403,
        marker=lambda w: _a_case(w).tracking_code,
    ),
    Case("cases:new", "grid_worker", lambda w: "/cases/new/", other=200, outsider=403),
    Case(
        "cases:suspects_void",
        "grid_worker",
        lambda w: "/cases/suspects/void/",
        method="post",
        data=lambda w: {"case": [_a_suspect(w).pk], "reason": "刷单"},
        owner=302,
        outsider=403,
    ),
    Case(
        "cases:supervision",
        "town_staff",
        lambda w: "/cases/supervision/",
        other=200,
        outsider=403,
        marker=lambda w: _supervised(w).tracking_code,
    ),
    Case(
        "cases:supervision_export",
        "town_staff",
        lambda w: _supervised(w) and "/cases/supervision/export.xlsx?community=370829001001",
        other=404,  # town B's supervisor: 城南社区 is no community of theirs
        outsider=403,
    ),
    Case("cases:detail", "grid_worker", lambda w: f"/cases/{_a_case(w).pk}/"),
    Case(
        "cases:act",
        "grid_worker",
        lambda w: f"/cases/{_a_case(w).pk}/act/note/",
        method="post",
        data=lambda w: {"note": "已联系居民"},
        owner=302,
    ),
    Case(
        "cases:reporter",
        "community_worker",  # the grid's worker is not shown a reporter who did not allow it
        lambda w: f"/cases/{_a_case(w).pk}/reporter/",
        method="post",
    ),
    Case(
        "cases:photo",
        "grid_worker",
        lambda w: f"/cases/{(c := _a_case(w)).pk}/photos/{c.photos.get().pk}/",
    ),
    Case(
        "cases:inbox",
        "grid_worker",
        lambda w: "/inbox/",
        other=200,
        outsider=200,
        marker=lambda w: _a_case(w).tracking_code,
    ),
    Case(
        "cases:inbox_read",
        "grid_worker",
        lambda w: "/inbox/read/",
        method="post",
        owner=302,
        other=302,
        outsider=302,
    ),
    Case(
        "cases_public:intake",
        "grid_worker",
        lambda w: f"/q/{w.grid_a.code}/",
        other=200,
        outsider=200,
        anonymous=200,
    ),
    Case(
        "cases_public:questions",
        "grid_worker",
        lambda w: f"/q/{w.grid_a.code}/questions/?category=1",
        other=200,
        outsider=200,
        anonymous=200,
    ),
    Case(
        "cases_public:lookup",
        "grid_worker",
        lambda w: "/t/",
        other=200,
        outsider=200,
        anonymous=200,
    ),
    Case(
        "cases_public:lookup_code",
        "grid_worker",
        lambda w: f"/t/{_a_case(w).tracking_code}/",
        other=200,
        outsider=200,
        anonymous=200,
    ),
    Case(
        "cases_public:tracking",
        "grid_worker",
        lambda w: _tracking(w),
        other=200,
        outsider=200,
        anonymous=200,
    ),
    Case(
        "cases_public:rate",
        "grid_worker",
        lambda w: _tracking(w, True, "rate/"),
        method="post",
        open_to_link=True,
        data=lambda w: {"rating": "5"},
        owner=302,
        other=302,
        outsider=302,
        anonymous=302,
    ),
    Case(
        "cases_public:reopen",
        "grid_worker",
        lambda w: _tracking(w, True, "reopen/"),
        method="post",
        open_to_link=True,
        data=lambda w: {"reason": "又不亮了"},
        owner=302,
        other=302,
        outsider=302,
        anonymous=302,
    ),
    Case(
        "cases_public:photo",
        "grid_worker",
        lambda w: _tracking_photo(_a_case(w)),
        other=200,
        outsider=200,
        anonymous=200,
    ),
    Case(
        "cases_settings:catalogue",
        "county_admin",
        lambda w: _catalogue(w, "/settings/catalogue/"),
        other=200,
        outsider=403,
        marker=lambda w: "暴露垃圾",
    ),
    Case(
        "cases_settings:category",
        "county_admin",
        lambda w: f"/settings/catalogue/{_category(w).pk}/",
        outsider=403,
    ),
    Case(
        "cases_settings:question_add",
        "county_admin",
        lambda w: f"/settings/catalogue/{_category(w).pk}/questions/",
        method="post",
        data=lambda w: {"code": "floor", "label": "几楼？", "datatype": "number"},
        owner=302,
        outsider=403,
    ),
    Case(
        "cases_settings:question_remove",
        "county_admin",
        lambda w: (
            f"/settings/catalogue/{_category(w).pk}/questions/"
            f"{_category(w).questions.get().pk}/delete/"
        ),
        method="post",
        owner=302,
        outsider=403,
    ),
    Case(
        "cases_settings:open311",
        "county_admin",
        lambda w: "/settings/open311/",
        other=200,
        outsider=403,
        marker=lambda w: _open311_client(w)[0].name,
    ),
    Case(
        "cases_settings:open311_active",
        "county_admin",
        lambda w: f"/settings/open311/{_open311_client(w)[0].pk}/active/",
        method="post",
        data=lambda w: {"active": "0"},
        owner=302,
    ),
    Case(
        "open311:openapi",
        "grid_worker",
        lambda w: "/open311/v2/openapi.json",
        other=200,
        outsider=200,
        anonymous=200,
    ),
    Case(
        "open311:unknown",
        "grid_worker",
        lambda w: "/open311/v2/nothing-here.json",
        owner=404,
        other=404,
        outsider=404,
        anonymous=404,
    ),
    Case(
        "open311:root",
        "grid_worker",
        lambda w: "/open311/v2/",
        other=200,
        outsider=200,
        anonymous=200,
    ),
    Case(
        "open311:discovery",
        "grid_worker",
        lambda w: "/open311/v2/discovery.json",
        other=200,
        outsider=200,
        anonymous=200,
    ),
    Case(
        "open311:services",
        "grid_worker",
        lambda w: _catalogue(w, "/open311/v2/services.xml"),
        other=200,
        outsider=200,
        anonymous=200,
    ),
    Case(
        "open311:service",
        "grid_worker",
        lambda w: _catalogue(w, "/open311/v2/services/facilities.gas.json"),
        other=200,
        outsider=200,
        anonymous=200,
    ),
    Case(
        "open311:requests",
        "grid_worker",
        lambda w: "/open311/v2/requests.json",
        method="post",
        data=lambda w: {
            "api_key": _open311_client(w)[1],
            "service_code": "facilities.gas",
            "address_id": w.grid_a.code,
            "attribute[smell]": "no",
        },
        owner=201,
        other=201,
        outsider=201,
        anonymous=201,
    ),
    Case(
        "open311:request",
        "grid_worker",
        lambda w: f"/open311/v2/requests/{_a_case(w).tracking_code}.xml",
        other=200,
        outsider=200,
        anonymous=200,
    ),
    Case(
        "open311:token",
        "grid_worker",
        lambda w: f"/open311/v2/tokens/{_a_case(w).tracking_code}.json",
        other=200,
        outsider=200,
        anonymous=200,
    ),
    Case(
        "cases:figures",
        "community_worker",
        lambda w: "/cases/figures/",
        other=200,
        outsider=403,
        marker=lambda w: f'data-figure="received">{_a_case(w) and 1}<',
    ),
    Case("cases:posters", "grid_worker", lambda w: f"/regions/{w.grid_a.code}/posters/"),
    Case("cases:poster", "grid_worker", lambda w: f"/regions/{w.grid_a.code}/poster.svg"),
    Case(
        "cases:work_phones",
        "community_worker",
        lambda w: "/regions/370829001001/work-phones/",
        method="post",
        data=lambda w: {"grid": w.grid_a.code, "work_phone": "0537-6812345"},
        owner=302,
    ),
    Case(
        "patrols:list",
        "grid_worker",
        lambda w: "/patrols/",
        other=200,
        outsider=403,
        marker=lambda w: f"/patrols/{_patrol(w).pk}/",
    ),
    Case("patrols:new", "grid_worker", lambda w: "/patrols/new/", other=200, outsider=403),
    Case("patrols:detail", "grid_worker", lambda w: f"/patrols/{_patrol(w).pk}/"),
    Case(
        "patrols:finding",
        "grid_worker",
        lambda w: f"/patrols/{_patrol(w).pk}/finding/",
        method="post",
        data=lambda w: {"description": "井盖松动"},
        owner=302,
    ),
    Case(
        "patrols:visit",
        "grid_worker",
        lambda w: f"/patrols/{_patrol(w).pk}/visit/",
        method="post",
        data=lambda w: {"household": w.household_a.pk, "notes": "老人身体尚好"},
        owner=302,
    ),
    Case(
        "patrols:visit_reveal",
        "grid_worker",
        lambda w: f"/patrols/visits/{_visit(w).pk}/reveal/",
        method="post",
    ),
    Case("party:region", "community_worker", lambda w: "/party/370829001001/"),
    Case(
        "party:home",
        "org_department",
        lambda w: "/party/",
        owner=302,
        other=302,
        outsider=403,
        open_to_other=True,
    ),
    Case(
        "party:organization",
        "branch_secretary",
        lambda w: f"/party/o/{w.branch_a.pk}/",
        marker=lambda w: w.person_a.name,
    ),
    Case(
        "party:organization_new",
        "org_department",
        lambda w: f"/party/o/new/?parent={w.branch_a.parent_id}",
        method="post",
        data=lambda w: {
            "kind": "grid_branch",
            "name": "新网格党支部",
            "region_code": "370829001001002",
        },
        owner=302,
        outsider=403,
    ),
    Case(
        "party:organization_edit",
        "org_department",
        lambda w: f"/party/o/{w.branch_a.pk}/edit/",
        method="post",
        data=lambda w: {"name": "改名网格党支部"},
        owner=302,
    ),
    Case(
        "party:organization_close",
        "org_department",
        lambda w: f"/party/o/{w.branch_a2.pk}/close/",
        method="post",
        data=lambda w: {"closed_on": datetime.date.today().isoformat(), "reason": "合并"},
        owner=302,
    ),
    Case(
        "party:organization_elect",
        "town_organizer",
        lambda w: f"/party/o/{w.branch_a.pk}/elect/",
        method="post",
        data=lambda w: {"started_on": datetime.date.today().isoformat()},
        owner=302,
    ),
    Case(
        "party:appoint",
        "org_department",
        lambda w: f"/party/o/{w.branch_a.pk}/appoint/",
        method="post",
        data=lambda w: {
            "member": _member_a(w).pk,
            "post": "secretary",
            "started_on": datetime.date.today().isoformat(),
        },
        owner=302,
    ),
    Case(
        "party:appointment_end",
        "org_department",
        lambda w: f"/party/appointments/{_appointment(w).pk}/end/",
        method="post",
        data=lambda w: {"reason": "调离"},
        owner=302,
    ),
    Case(
        "party:twin",
        "org_department",
        lambda w: f"/party/o/{w.branch_a.pk}/twin/?q=卧龙山",
        marker=lambda w: w.branch_b.name,
    ),
    Case(
        "party:member_new",
        "branch_secretary",
        lambda w: f"/party/o/{w.branch_a.pk}/members/new/",
        method="post",
        data=lambda w: {
            "name": "县外党员",
            "id_number": _valid_id(),
            "category": "full",
            "joined_on": "2001-07-01",
        },
        owner=302,
    ),
    Case(
        "party:member",
        "branch_secretary",
        lambda w: f"/party/members/{_member_a(w).pk}/",
        marker=lambda w: w.person_a.name,
    ),
    Case(
        "party:member_full",
        "branch_secretary",
        lambda w: f"/party/members/{_member_a(w).pk}/full/",
        method="post",
        owner=302,
    ),
    Case(
        "party:member_link",
        "town_organizer",
        lambda w: f"/party/members/{_member_a(w).pk}/link/",
    ),
    Case(
        "party:transfer_new",
        "branch_secretary",
        lambda w: f"/party/members/{_member_a(w).pk}/transfer/",
        method="post",
        data=lambda w: {"to": w.branch_b.pk, "reason": "居住地变更"},
        owner=302,
    ),
    Case(
        "party:transfers",
        "branch_secretary",
        lambda w: (_transfer(w), "/party/transfers/")[1],
        other=200,
        outsider=403,
        open_to_other=True,
        marker=lambda w: w.person_a.name,
    ),
    Case(
        "party:transfer",
        "branch_secretary",
        lambda w: f"/party/transfers/{_transfer(w).pk}/",
        marker=lambda w: w.person_a.name,
    ),
    Case(
        "party:transfer_act",
        "branch_secretary",
        lambda w: f"/party/transfers/{_transfer(w).pk}/release/",
        method="post",
        owner=302,
    ),
    Case(
        "party:meetings",
        "branch_secretary",
        lambda w: f"/party/o/{w.branch_a.pk}/meetings/",
        marker=lambda w: _meeting(w).gathering.title,
    ),
    Case(
        "party:meeting_new",
        "branch_secretary",
        lambda w: f"/party/o/{w.branch_a.pk}/meetings/new/",
        method="post",
        data=lambda w: {
            "kind": "lecture",
            "title": "党课",
            "date": (datetime.date.today() + datetime.timedelta(days=3)).isoformat(),
            "start": "09:00",
            "end": "10:00",
            "place": "党群服务站",
        },
        owner=302,
    ),
    Case(
        "party:meeting",
        "branch_secretary",
        lambda w: f"/party/meetings/{_meeting(w).pk}/",
        marker=lambda w: "甲支部主题党日",
    ),
    Case(
        "party:meeting_act",
        "branch_secretary",
        lambda w: f"/party/meetings/{_meeting(w).pk}/begin/",
        method="post",
        owner=302,
    ),
    Case(
        "party:themes",
        "org_department",
        lambda w: "/party/themes/",
        method="post",
        data=lambda w: {"month": f"{datetime.date.today():%Y-%m}", "title": "学习党章"},
        owner=302,
        other=302,  # the other county's department sets its own county's theme
        open_to_other=True,
        outsider=403,
    ),
    Case(
        "party:completeness",
        "town_organizer",
        lambda w: "/party/completeness/?region=370829001",
        outsider=403,
        marker=lambda w: w.branch_a.name,
    ),
    Case(
        "party:member_import",
        "branch_secretary",
        lambda w: f"/party/o/{w.branch_a.pk}/members/import/",
        marker=lambda w: w.branch_a.name,
    ),
    Case(
        "party:member_template",
        "branch_secretary",
        lambda w: "/party/members/template.xlsx",
        other=200,
        open_to_other=True,
        outsider=403,
    ),
    Case(
        "party:ledger",
        "branch_secretary",
        lambda w: f"/party/o/{w.branch_a.pk}/ledger.xlsx",
    ),
    Case(
        "party:dual_unit",
        "org_department",
        lambda w: f"/party/o/{_unit_report(w).organization_id}/dual/",
    ),
    Case(
        "party:dual_year",
        "org_department",
        lambda w: f"/party/o/{_unit_report(w).organization_id}/dual/2026.xlsx",
    ),
    Case(
        "party:dual_community",
        "community_worker",
        lambda w: _unit_report(w) and "/party/dual/370829001001/",
        marker=lambda w: "县民政局机关党支部",
    ),
    Case(
        "party:dual_evaluate",
        "community_worker",
        lambda w: f"/party/dual/reports/{_unit_report(w).pk}/evaluate/",
        method="post",
        data=lambda w: {"year": 2026, "grade": "good"},
        owner=302,
    ),
    Case(
        "party:dual_end",
        "community_worker",
        lambda w: f"/party/dual/reports/{_unit_report(w).pk}/end/",
        method="post",
        data=lambda w: {"reason": "单位撤并"},
        owner=302,
    ),
    Case("me:dual", "", lambda w: "/me/party-report/", other=200, outsider=302, resident=True),
    Case(
        "party:duplicates",
        "org_department",
        lambda w: "/party/duplicates/?region=370829",
        outsider=403,
    ),
    Case(
        "party:overview",
        "org_department",
        lambda w: "/party/overview/?region=370829",
        outsider=403,
    ),
    Case(
        "GET /api/v1/party/overview",
        "org_department",
        lambda w: "/api/v1/party/overview?region=370829",
        anonymous=API_LOGIN,
        api=True,
    ),
    Case(
        "party:terms",
        "org_department",
        _term_due,
        other=200,
        outsider=403,
        open_to_other=True,
        marker=lambda w: w.branch_a.name,
    ),
    Case(
        "party:first_secretaries",
        "community_worker",
        lambda w: "/party/first-secretaries/",
        other=200,
        outsider=403,
        marker=lambda w: _first_secretary(w).name,
    ),
    Case(
        "activities:list",
        "community_worker",
        lambda w: f"/activities/?status=draft&month={_week_ahead():%Y-%m}",
        other=200,
        outsider=403,
        marker=lambda w: _activity(w).gathering.title,
    ),
    Case(
        "activities:new", "community_worker", lambda w: "/activities/new/", other=200, outsider=403
    ),
    # 据此策划: the form opened from a need shows it ticked to its own community only.
    Case(
        "activities:new",
        "community_worker",
        lambda w: f"/activities/new/?need={_need(w).pk}",
        other=200,
        outsider=403,
        marker=lambda w: "甲需求",
    ),
    Case(
        "activities:figures",
        "community_worker",
        lambda w: "/activities/figures/",
        other=200,
        outsider=403,
    ),
    Case(
        "activities:needs",
        "grid_worker",
        lambda w: "/activities/needs/",
        other=200,
        outsider=403,
        marker=lambda w: _need(w).text,
    ),
    Case(
        "gatherings:venues",
        "community_worker",
        lambda w: "/venues/",
        other=200,
        outsider=403,
        marker=lambda w: _venue(w).name,
    ),
    Case(
        "activities:teams",
        "community_worker",
        lambda w: "/activities/teams/",
        other=200,
        outsider=403,
        marker=lambda w: _team(w).name,
    ),
    Case("activities:team", "community_worker", lambda w: f"/activities/teams/{_team(w).pk}/"),
    Case(
        "activities:team_member_add",
        "community_worker",
        lambda w: f"/activities/teams/{_team(w).pk}/members/",
        method="post",
        data=lambda w: {"phone": "13900000009", "kind": "student"},
        owner=302,
    ),
    Case("activities:detail", "community_worker", lambda w: f"/activities/{_activity(w).pk}/"),
    Case(
        "activities:act",
        "community_worker",
        lambda w: f"/activities/{_activity(w).pk}/act/publish/",
        method="post",
        owner=302,
    ),
    Case(
        "activities:reschedule",
        "community_worker",
        lambda w: f"/activities/{_activity(w).pk}/reschedule/",
        method="post",
        data=lambda w: {
            "date": f"{_week_ahead() + datetime.timedelta(days=1):%Y-%m-%d}",
            "start": "09:00",
            "end": "10:00",
        },
        owner=302,
    ),
    Case(
        "calendar:index",
        "community_worker",
        lambda w: "/calendar/",
        other=200,
        outsider=200,
        anonymous=200,
    ),
    Case(
        "calendar:month",
        "community_worker",
        lambda w: (
            f"/calendar/370829001001/?month={_activity(w, 'published').gathering.starts_at:%Y-%m}"
        ),
        other=200,
        outsider=200,
        anonymous=200,
    ),
    Case(
        "calendar:ical",
        "community_worker",
        lambda w: "/calendar/370829001/activities.ics",
        other=200,
        outsider=200,
        anonymous=200,
    ),
    Case(
        "calendar:rss",
        "community_worker",
        lambda w: "/calendar/370829/rss/",
        other=200,
        outsider=200,
        anonymous=200,
    ),
    Case(
        "calendar:gathering",
        "community_worker",
        lambda w: f"/a/{_activity(w, 'published').gathering_id}/",
        other=200,
        outsider=200,
        anonymous=200,
    ),
    Case(
        "calendar:signup",
        "",
        lambda w: f"/a/{_activity(w, 'signup').gathering_id}/signup/",
        method="post",
        owner=302,
        other=302,
        outsider=302,
        resident=True,
        open_to_other=True,
    ),
    Case(
        "calendar:signup_cancel",
        "",
        lambda w: f"/a/{_signup(w).gathering_id}/cancel/",
        method="post",
        owner=302,
        other=302,
        outsider=302,
        resident=True,
        open_to_other=True,
    ),
    Case(
        "calendar:check_in",
        "",
        _check_in,
        other=302,  # a resident with no place there is sent back to its page, told so
        outsider=302,
        resident=True,
    ),
    Case(
        "calendar:check_out",
        "",
        lambda w: f"/a/{_signup(w).gathering_id}/checkout/",
        method="post",
        owner=302,
        other=302,
        outsider=302,
        resident=True,
        open_to_other=True,
    ),
    Case("me:login", "", lambda w: "/me/login/", other=200, outsider=200, anonymous=200),
    Case(
        "me:logout",
        "",
        lambda w: "/me/logout/",
        method="post",
        owner=302,
        other=302,
        outsider=302,
        resident=True,
        open_to_other=True,
    ),
    Case(
        "me:home",
        "",
        lambda w: "/me/",
        other=200,
        outsider=302,
        resident=True,
        marker=lambda w: _order(w) and "待确认兑换",
    ),
    Case(
        "me:points",
        "",
        lambda w: "/me/points/",
        other=200,
        outsider=302,
        resident=True,
        marker=lambda w: _entry(w).memo,
    ),
    Case("me:code", "", lambda w: "/me/code/", other=200, outsider=302, resident=True),
    Case(
        "me:requests",
        "",
        lambda w: "/me/requests/",
        other=200,
        outsider=302,
        resident=True,
        marker=_my_case,
    ),
    Case(
        "me:stores",
        "",
        lambda w: "/me/stores/",
        other=200,
        outsider=302,
        resident=True,
        marker=lambda w: _store(w).name,
    ),
    Case(
        "me:code_number",
        "",
        lambda w: f"/me/code/number/?store={_store(w).pk}",
        other=200,
        outsider=302,
        resident=True,
        marker=lambda w: _store(w).name,
    ),
    Case(
        "me:redemption",
        "",
        lambda w: f"/me/redemptions/{_order(w).pk}/",
        outsider=302,
        resident=True,
    ),
    Case(
        "me:redemption_confirm",
        "",
        lambda w: f"/me/redemptions/{_order(w).pk}/confirm/",
        method="post",
        owner=302,
        outsider=302,
        resident=True,
    ),
    Case(
        "me:redemption_cancel",
        "",
        lambda w: f"/me/redemptions/{_order(w).pk}/cancel/",
        method="post",
        owner=302,
        outsider=302,
        resident=True,
    ),
    Case(
        "me:building",
        "",
        _captain_of_own_building,
        other=200,
        outsider=302,
        resident=True,
        marker=lambda w: f'data-building="{w.household_a.dwelling.building_id}"',
    ),
    Case(
        "places:building_captain",
        "grid_worker",
        lambda w: f"/buildings/{w.household_a.dwelling.building_id}/captain/",
        method="post",
        data=lambda w: {"person": w.person_a.pk},
        owner=302,
    ),
    Case(
        "residents:riders",
        "grid_worker",
        lambda w: _rider(w) and f"/regions/{w.grid_a.code}/riders/",
        marker=lambda w: "美团",
    ),
    Case(
        "residents:rider_end",
        "grid_worker",
        lambda w: f"/riders/{_rider(w).pk}/end/",
        method="post",
        data=lambda w: {"reason": "离开本区"},
        owner=302,
    ),
    Case(
        "residents:confirm",
        "grid_worker",
        lambda w: _resident(w, "b") and f"/persons/{w.person_a.pk}/resident/",
        method="post",
        data=lambda w: {"phone": "13900000003"},
        owner=302,
    ),
    Case(
        "leader:team",
        "",
        lambda w: f"/me/teams/{_team(w).pk}/",
        outsider=302,
        resident=True,
        marker=lambda w: _activity(w, "published").gathering.title,
    ),
    Case(
        "leader:claim",
        "",
        lambda w: f"/me/teams/{_team(w).pk}/claim/{_activity(w, 'published').pk}/",
        method="post",
        owner=302,
        outsider=302,
        resident=True,
    ),
    Case(
        "leader:activity",
        "",
        lambda w: f"/me/activities/{_activity(w, 'claimed').pk}/",
        outsider=302,
        resident=True,
    ),
    Case(
        "leader:act",
        "",
        lambda w: f"/me/activities/{_activity(w, 'claimed').pk}/act/open_signup/",
        method="post",
        owner=302,
        outsider=302,
        resident=True,
    ),
    # The organizer's pages: a team's leader organizes its activity (staff of its community
    # too, tested in tests/gatherings); another community's leader and staff find nothing.
    Case(
        "gatherings:roster",
        "",
        lambda w: f"/a/{_activity(w, 'held').gathering_id}/roster/",
        outsider=404,
        resident=True,
    ),
    Case(
        "gatherings:code",
        "",
        lambda w: f"/a/{_activity(w, 'held').gathering_id}/code/",
        outsider=404,
        resident=True,
    ),
    Case(
        "gatherings:attendance",
        "",
        lambda w: f"/a/{(s := _signup(w)).gathering_id}/attendance/{s.pk}/",
        method="post",
        data=lambda w: {"attended": "1"},
        owner=302,
        outsider=404,
        resident=True,
    ),
    Case(
        "gatherings:leave",
        "",
        lambda w: f"/a/{(s := _signup(w)).gathering_id}/leave/{s.pk}/",
        method="post",
        data=lambda w: {"reason": "住院"},
        owner=302,
        outsider=404,
        resident=True,
    ),
    Case(
        "gatherings:sheet",
        "",
        lambda w: f"/a/{_activity(w, 'held').gathering_id}/sheet/",
        method="post",
        data=lambda w: {},
        owner=302,
        outsider=404,
        resident=True,
    ),
    Case(
        "gatherings:sheet_photo",
        "",
        _sheet_page,
        outsider=404,
        resident=True,
    ),
    # Staff of the community put someone of their register on the roster (no phone).
    Case(
        "gatherings:add",
        "community_worker",
        lambda w: f"/a/{_activity(w, 'held').gathering_id}/add/?q=测试",
    ),
    Case(
        "gatherings:add",
        "community_worker",
        lambda w: f"/a/{_activity(w, 'held').gathering_id}/add/",
        method="post",
        data=lambda w: {"person": w.household_a.members.first().pk},
        owner=302,
    ),
    Case(
        "gatherings:confirm_claims",
        "",
        lambda w: f"/a/{_activity(w, 'held').gathering_id}/attendance/confirm/",
        method="post",
        owner=302,
        outsider=404,
        resident=True,
    ),
    Case(
        "points:ledger",
        "community_worker",
        lambda w: "/points/",
        other=200,
        outsider=403,
        marker=lambda w: _entry(w).memo,
    ),
    Case(
        "points:adjust",
        "community_worker",
        lambda w: "/points/adjust/",
        method="post",
        data=lambda w: {
            "region": "370829001001",
            "phone": _resident(w).phone,
            "amount": "5",
            "reason": "补录",
            "submission": "matrix",
        },
        owner=302,
    ),
    Case(
        "points:reverse",
        "community_worker",
        lambda w: f"/points/entries/{_entry(w).pk}/reverse/",
        method="post",
        data=lambda w: {"reason": "重复"},
        owner=302,
    ),
    Case(
        "points:rule_create",
        "community_worker",
        lambda w: "/points/rules/",
        method="post",
        data=lambda w: {
            "region": "370829001001",
            "name": "安全巡查员",
            "kind": "deed",
            "points": "3",
        },
        owner=302,
    ),
    Case(
        "points:deed_propose",
        "community_worker",
        lambda w: "/points/deeds/",
        method="post",
        data=lambda w: {
            "region": "370829001001",
            "rule": _claim(w).rule_id,
            "phone": _resident(w).phone,
            "description": "扶老人过马路",
        },
        owner=302,
    ),
    Case(
        "points:deed_decide",
        "community_worker",
        lambda w: f"/points/deeds/{_claim(w).pk}/decide/",
        method="post",
        data=lambda w: {"approve": "1"},
        owner=302,
    ),
    Case(
        "points:ranking",
        "community_worker",
        lambda w: "/rank/370829001001/",
        other=200,
        outsider=200,
        anonymous=200,
    ),
    Case(
        "stores:list",
        "community_worker",
        lambda w: "/stores/",
        other=200,
        outsider=403,
        marker=lambda w: _store(w).name,
    ),
    Case("stores:detail", "community_worker", lambda w: f"/stores/{_store(w).pk}/"),
    Case(
        "stores:good_create",
        "community_worker",
        lambda w: f"/stores/{_store(w).pk}/goods/",
        method="post",
        data=lambda w: {"name": "牙膏", "price": "8", "stock": "5"},
        owner=302,
    ),
    Case(
        "stores:restock",
        "community_worker",
        lambda w: f"/stores/{(s := _store(w)).pk}/goods/{s.goods.get().pk}/restock/",
        method="post",
        data=lambda w: {"quantity": "5"},
        owner=302,
    ),
    Case(
        "stores:good_edit",
        "community_worker",
        lambda w: f"/stores/{(s := _store(w)).pk}/goods/{s.goods.get().pk}/edit/",
        method="post",
        data=lambda w: {"action": "price", "price": "6"},
        owner=302,
    ),
    Case(
        "stores:update",
        "community_worker",
        lambda w: f"/stores/{_store(w).pk}/update/",
        method="post",
        data=lambda w: {"address": "城南路1号", "hours": "每天 8:30–17:30"},
        owner=302,
    ),
    Case(
        "stores:clerk_add",
        "community_worker",
        lambda w: f"/stores/{_store(w).pk}/clerks/",
        method="post",
        data=lambda w: {"username": "a-store_clerk"},
        owner=302,
    ),
    Case("stores:report", "community_worker", lambda w: f"/stores/{_store(w).pk}/report/"),
    Case(
        "stores:scan",
        "store_clerk",
        lambda w: _store(w) and _store(w, "b") and f"/stores/scan/{_token(w)}/",
        owner=302,
        other=302,
    ),
    Case("stores:counter", "store_clerk", lambda w: f"/stores/{_store(w).pk}/counter/"),
    Case(
        "stores:order",
        "store_clerk",
        lambda w: f"/stores/{(o := _order(w)).store_id}/orders/{o.pk}/",
    ),
    Case(
        "stores:order_cancel",
        "store_clerk",
        lambda w: f"/stores/{(o := _order(w)).store_id}/orders/{o.pk}/cancel/",
        method="post",
        owner=302,
    ),
]

API = [
    Case(
        "GET /api/v1/cases",
        "grid_worker",
        lambda w: "/api/v1/cases?queue=open",
        other=200,
        outsider=403,
        anonymous=API_LOGIN,
        api=True,
        marker=lambda w: _a_case(w).tracking_code,
    ),
    Case(
        "GET /api/v1/cases/supervision",
        "town_staff",
        lambda w: "/api/v1/cases/supervision",
        other=200,
        outsider=403,
        anonymous=API_LOGIN,
        api=True,
        marker=lambda w: _supervised(w).tracking_code,
    ),
    Case(
        "GET /api/v1/cases/figures",
        "community_worker",
        lambda w: f"/api/v1/cases/figures?region=370829001001&start={_today()}&end={_today()}",
        outsider=404,
        anonymous=API_LOGIN,
        api=True,
    ),
    Case(
        "GET /api/v1/cases/{case_id}",
        "grid_worker",
        lambda w: f"/api/v1/cases/{_a_case(w).pk}",
        anonymous=API_LOGIN,
        api=True,
    ),
    Case(
        "POST /api/v1/cases",
        "grid_worker",
        lambda w: _catalogue(w, "/api/v1/cases"),
        method="post",
        data=lambda w: {"region_code": w.grid_a.code, "description": "路灯不亮"},
        owner=201,
        anonymous=API_LOGIN,
        api=True,
    ),
    Case(
        "POST /api/v1/cases/{case_id}/steps/{action}",
        "grid_worker",
        lambda w: f"/api/v1/cases/{_a_case(w).pk}/steps/note",
        method="post",
        data=lambda w: {"note": "已联系"},
        anonymous=API_LOGIN,
        api=True,
    ),
    Case(
        "POST /api/v1/auth/token",
        "grid_worker",
        lambda w: "/api/v1/auth/token",
        method="post",
        data=lambda w: {"username": "a-grid_worker", "password": "Test-Passw0rd!"},
        other=200,
        outsider=200,
        anonymous=200,
        api=True,
    ),
    Case(
        "DELETE /api/v1/auth/token",
        "grid_worker",
        lambda w: "/api/v1/auth/token",
        method="delete",
        owner=204,
        other=204,
        outsider=204,
        anonymous=API_LOGIN,
        api=True,
    ),
    Case(
        "GET /api/v1/regions",
        "grid_worker",
        lambda w: "/api/v1/regions",
        other=200,
        outsider=200,
        anonymous=API_LOGIN,
        api=True,
        marker=lambda w: w.grid_a.name,
    ),
    Case(
        "GET /api/v1/regions/{code}",
        "grid_worker",
        lambda w: f"/api/v1/regions/{w.grid_a.code}",
        anonymous=API_LOGIN,
        api=True,
    ),
    Case(
        "GET /api/v1/grids",
        "grid_worker",
        lambda w: "/api/v1/grids",
        other=200,
        outsider=200,
        anonymous=API_LOGIN,
        api=True,
        marker=lambda w: w.grid_a.code,
    ),
    Case(
        "GET /api/v1/grids/{code}",
        "grid_worker",
        lambda w: f"/api/v1/grids/{w.grid_a.code}",
        anonymous=API_LOGIN,
        api=True,
    ),
    Case(
        "GET /api/v1/households",
        "grid_worker",
        lambda w: "/api/v1/households",
        other=200,
        outsider=200,
        anonymous=API_LOGIN,
        api=True,
        marker=lambda w: w.household_a.number,
    ),
    Case(
        "GET /api/v1/households/{household_id}",
        "grid_worker",
        lambda w: f"/api/v1/households/{w.household_a.pk}",
        anonymous=API_LOGIN,
        api=True,
    ),
    Case(
        "GET /api/v1/persons",
        "grid_worker",
        lambda w: "/api/v1/persons",
        other=200,
        outsider=200,
        anonymous=API_LOGIN,
        api=True,
        marker=lambda w: "甲测试人",
    ),
    Case(
        "GET /api/v1/persons/{person_id}",
        "grid_worker",
        lambda w: f"/api/v1/persons/{w.person_a.pk}",
        anonymous=API_LOGIN,
        api=True,
    ),
    Case(
        "POST /api/v1/persons/{person_id}/reveal",
        "grid_worker",
        lambda w: f"/api/v1/persons/{w.person_a.pk}/reveal",
        method="post",
        data=lambda w: {"field": "phone"},
        anonymous=API_LOGIN,
        api=True,
    ),
    Case(
        "GET /api/v1/party/organizations",
        "branch_secretary",
        lambda w: "/api/v1/party/organizations",
        other=200,
        outsider=200,
        anonymous=API_LOGIN,
        api=True,
        marker=lambda w: w.branch_a.name,
    ),
    Case(
        "GET /api/v1/party/organizations/{organization_id}",
        "branch_secretary",
        lambda w: f"/api/v1/party/organizations/{w.branch_a.pk}",
        anonymous=API_LOGIN,
        api=True,
    ),
    Case(
        "POST /api/v1/party/organizations",
        "org_department",
        lambda w: "/api/v1/party/organizations",
        method="post",
        data=lambda w: {
            "kind": "grid_branch",
            "name": "新网格党支部",
            "region_code": "370829001001002",
            "parent": w.branch_a.parent_id,
        },
        owner=201,
        anonymous=API_LOGIN,
        api=True,
    ),
    Case(
        "GET /api/v1/party/organizations/{organization_id}/members",
        "branch_secretary",
        lambda w: f"/api/v1/party/organizations/{w.branch_a.pk}/members",
        anonymous=API_LOGIN,
        api=True,
        marker=lambda w: w.person_a.name,
    ),
    Case(
        "POST /api/v1/party/organizations/{organization_id}/members",
        "branch_secretary",
        lambda w: f"/api/v1/party/organizations/{w.branch_a.pk}/members",
        method="post",
        data=lambda w: {"name": "县外党员", "id_number": _valid_id(), "joined_on": "2001-07-01"},
        owner=201,
        anonymous=API_LOGIN,
        api=True,
    ),
    Case(
        "GET /api/v1/party/organizations/{organization_id}/meetings",
        "branch_secretary",
        lambda w: f"/api/v1/party/organizations/{w.branch_a.pk}/meetings",
        anonymous=API_LOGIN,
        api=True,
        marker=lambda w: _meeting(w).gathering.title,
    ),
    Case(
        "GET /api/v1/party/meetings/{meeting_id}",
        "branch_secretary",
        lambda w: f"/api/v1/party/meetings/{_meeting(w).pk}",
        anonymous=API_LOGIN,
        api=True,
    ),
    Case(
        "GET /api/v1/party/completeness",
        "town_organizer",
        lambda w: "/api/v1/party/completeness?region=370829001",
        outsider=403,
        anonymous=API_LOGIN,
        api=True,
        marker=lambda w: w.branch_a.name,
    ),
    Case(
        "GET /api/v1/activities",
        "community_worker",
        lambda w: f"/api/v1/activities?month={_week_ahead():%Y-%m}",
        other=200,
        outsider=200,
        anonymous=API_LOGIN,
        api=True,
        marker=lambda w: _activity(w).gathering.title,
    ),
    Case(
        "GET /api/v1/activities/{activity_id}",
        "community_worker",
        lambda w: f"/api/v1/activities/{_activity(w).pk}",
        anonymous=API_LOGIN,
        api=True,
    ),
    Case(
        "GET /api/v1/activities/figures",
        "community_worker",
        lambda w: f"/api/v1/activities/figures?region=370829001001&start={_today()}&end={_today()}",
        anonymous=API_LOGIN,
        api=True,
    ),
    Case(
        "GET /api/v1/gatherings",
        "community_worker",
        lambda w: f"/api/v1/gatherings?month={_week_ahead():%Y-%m}&kind=activity",
        other=200,
        outsider=200,
        anonymous=API_LOGIN,
        api=True,
        marker=lambda w: _activity(w, "published").gathering.title,
    ),
    Case(
        "GET /api/v1/gatherings/attendance",
        "community_worker",
        lambda w: (
            f"/api/v1/gatherings/attendance?region=370829001001&start={_today()}&end={_today()}"
        ),
        anonymous=API_LOGIN,
        api=True,
    ),
    Case(
        "GET /api/v1/gatherings/{gathering_id}",
        "community_worker",
        lambda w: f"/api/v1/gatherings/{_activity(w, 'published').gathering_id}",
        anonymous=API_LOGIN,
        api=True,
    ),
    Case(
        "GET /api/v1/gatherings/{gathering_id}/signups",
        "community_worker",
        lambda w: f"/api/v1/gatherings/{_signup(w).gathering_id}/signups",
        anonymous=API_LOGIN,
        api=True,
        marker=lambda w: "甲**人",
    ),
    Case(
        "GET /api/v1/points/rankings",
        "community_worker",
        lambda w: _entry(w) and "/api/v1/points/rankings?region=370829001001",
        anonymous=API_LOGIN,
        api=True,
        marker=lambda w: "甲**人",
    ),
    Case(
        "api:api-root",
        "grid_worker",
        lambda w: "/api/v1/",
        owner=404,
        other=404,
        outsider=404,
        anonymous=404,
        api=True,
    ),
    Case(
        "api:openapi-json",
        "grid_worker",
        lambda w: "/api/v1/openapi.json",
        other=200,
        outsider=200,
        anonymous=API_LOGIN,
        api=True,
    ),
    Case(
        "api:openapi-view",
        "grid_worker",
        lambda w: "/api/v1/docs",
        other=200,
        outsider=200,
        anonymous=API_LOGIN,
        api=True,
    ),
]

MATRIX = {case.name: case for case in PAGES + API}


def _route_names(patterns, namespace: str = "") -> set[str]:
    names = set()
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            names |= _route_names(pattern.url_patterns, inner)
        elif isinstance(pattern, URLPattern):
            names.add(f"{namespace}{pattern.name}" if pattern.name else f"{namespace}<unnamed>")
    return names


API_PAGES = {"api:api-root", "api:openapi-json", "api:openapi-view"}


def test_every_route_is_declared():
    """Pages by URL name; API operations by method and path (several share one URL)."""
    names = _route_names(get_resolver().url_patterns)
    pages = {n for n in names if not n.startswith(("admin:", "api:"))}
    assert names >= API_PAGES
    schema = api.get_openapi_schema()
    operations = {f"{m.upper()} {path}" for path, ops in schema["paths"].items() for m in ops}
    routes = pages | API_PAGES | operations
    assert routes - MATRIX.keys() == set(), "add these routes to the authorization matrix"
    assert MATRIX.keys() - routes == set(), "the matrix names routes that no longer exist"


@dataclass(frozen=True)
class Leaves:
    """What a denied request may leave behind in one model, and why."""

    reason: str
    fields: tuple[str, ...] = ()  # columns a denial may change (left out of the hash)
    rows: Q | None = None  # rows a denial may add or change (left out of the fingerprint)
    everything: bool = False  # the whole table (a counter that every try writes)


# Everything else in every model of every jiceng app must be exactly as it was. (Sessions
# are Django's, not a jiceng model: the matrix signs its clients in before the first print.)
DENIAL_LEAVES = {
    "core.AuditEvent": Leaves(
        "a refusal is itself recorded (等保 2.0 audits failures as well as successes)",
        rows=Q(outcome="failure"),
    ),
    "core.ThrottleHit": Leaves(
        "each try counts under its limit whether or not it is refused", everything=True
    ),
    "accounts.ApiToken": Leaves(
        "the token authenticates the request before the route refuses it",
        fields=("last_used_at",),
    ),
}


def _plain(value):
    return bytes(value) if isinstance(value, memoryview) else value


@functools.cache
def _fingerprint_queries() -> list[tuple[str, str, tuple, int]]:
    """One query per model of every jiceng app (through tables included): its rows in key
    order, less the rows and columns `DENIAL_LEAVES` allows. Compiled once: the matrix
    takes two fingerprints for each denied write."""
    queries = []
    for model in apps.get_models(include_auto_created=True):
        if not model._meta.app_config.name.startswith("jiceng."):
            continue
        label = model._meta.label
        leaves = DENIAL_LEAVES.get(label)
        if leaves is not None and leaves.everything:
            continue
        rows = model._base_manager.order_by("pk")
        if leaves is not None and leaves.rows is not None:
            rows = rows.exclude(leaves.rows)
        skipped = set(leaves.fields) if leaves is not None else set()
        columns = [f.attname for f in model._meta.concrete_fields if f.name not in skipped]
        sql, params = rows.values_list(*columns).query.sql_with_params()
        queries.append((label, sql, params, columns.index(model._meta.pk.attname)))
    return queries


def fingerprint() -> dict[str, tuple]:
    """Everything a denied write could have touched: for every model of every jiceng app,
    its row count, its largest key and a digest of its rows (see `_fingerprint_queries`)."""
    prints = {}
    with connection.cursor() as cursor:
        for label, sql, params, pk_index in _fingerprint_queries():
            cursor.execute(sql, params)
            rows = [tuple(_plain(v) for v in row) for row in cursor.fetchall()]
            prints[label] = (
                len(rows),
                max((row[pk_index] for row in rows), default=None),
                hashlib.sha256(repr(rows).encode()).hexdigest(),
            )
    return prints


def changed(before: dict[str, tuple], after: dict[str, tuple]) -> list[str]:
    return sorted(
        label for label in before.keys() | after.keys() if before.get(label) != after.get(label)
    )


def _client(case: Case, user) -> tuple[Client, dict]:
    """A client signed in as `user`, and its headers (an API token of its own)."""
    client = Client() if case.api or case.resident else client_for(user)
    if case.resident and user is not None:
        if isinstance(user, User):
            client.force_login(user)
        else:
            session = client.session
            session["resident_id"] = user.pk
            session.save()
    headers = {}
    if case.api and user is not None:
        token, _ = api_token_issue(actor=Actor.staff(user))
        headers["Authorization"] = f"Bearer {token}"
    return client, headers


def _request(case: Case, client: Client, headers: dict, url: str, data: dict):
    if case.method == "post":
        if case.api:
            return client.post(url, data, content_type="application/json", headers=headers)
        return client.post(url, data, headers=headers)
    if case.method == "delete":
        return client.delete(url, headers=headers)
    return client.get(url, headers=headers)


IDENTITIES = ["owner", "other", "outsider", "anonymous"]


def check_route(world: World, name: str, identity: str) -> None:
    """The matrix's check of one route as one identity."""
    case = MATRIX[name]
    if case.resident:
        owner, other = _resident(world, "a"), _resident(world, "b")
    elif case.role:
        owner, other = world.a(case.role), world.b(case.role)
    else:
        owner, other = world.outsider, world.outsider
    user = {"owner": owner, "other": other, "outsider": world.outsider, "anonymous": None}[identity]
    marker = case.marker(world) if case.marker else None
    url = case.url(world)
    data = case.data(world) if case.data else {}
    client, headers = _client(case, user)
    before = fingerprint()
    response = _request(case, client, headers, url, data)
    expected = getattr(case, identity)
    assert response.status_code == expected, (name, identity, response.status_code)
    denied = identity != "owner" and (expected >= 400 or expected == PAGE_LOGIN)
    if (identity == "other" and case.open_to_other) or case.open_to_link:
        denied = False
    if denied and name not in ("accounts:logout", "POST /api/v1/auth/token"):
        assert changed(before, fingerprint()) == [], (
            f"{name}: a denied {identity} request changed data"
        )
    if marker and response.status_code == 200:
        content = response.content.decode()
        if identity == "owner":
            assert marker in content, (name, "owner should see", marker)
        else:
            assert marker not in content, (name, identity, "must not see", marker)


@pytest.mark.parametrize("identity", IDENTITIES)
@pytest.mark.parametrize("name", sorted(MATRIX))
def test_route_access(world, name, identity, settings):
    settings.JICENG_SECOND_FACTOR = MATRIX[name].second_factor
    check_route(world, name, identity)


@pytest.mark.parametrize(
    "url",
    [
        "/admin/",
        "/admin/places/region/",
        "/admin/accounts/user/",
        "/admin/core/holiday/",
        "/admin/activities/servicetype/",
        "/admin/points/ledger/",
        "/admin/points/journalentry/",
    ],
)
def test_admin_is_for_the_operator_only(world, url):
    assert client_for(world.operator).get(url).status_code == 200
    assert client_for(world.a("county_admin")).get(url, follow=True).status_code == 404
    assert client_for(None).get(url).status_code == 404


# --- the fingerprint sees denied writes -------------------------------------------------


def _patterns(patterns=None):
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            yield from _patterns(pattern.url_patterns)
        else:
            yield pattern


def _write_event(world: World, kwargs: dict) -> None:
    """An event appended to the request in the address (another region's, for "other")."""
    from django.utils import timezone

    from jiceng.cases.models import Case as Request
    from jiceng.cases.models import Event

    request = Request.objects.get(pk=kwargs.get("pk", kwargs.get("case_id")))
    Event.objects.create(
        case=request, at=timezone.now(), actor_label="变异", action="note",
        from_status=request.status, to_status=request.status, note="越权写入",
    )  # fmt: skip


def _touch_request(world: World, kwargs: dict) -> None:
    from jiceng.cases.models import Case as Request

    Request.objects.filter(pk=kwargs.get("pk", kwargs.get("case_id"))).update(rework_count=9)


def _write_patrol(world: World, kwargs: dict) -> None:
    from django.utils import timezone

    from jiceng.patrols.models import Patrol

    now = timezone.now()
    Patrol.objects.create(
        region_code=world.grid_a.code, worker=world.a("grid_worker"), started_at=now,
        ended_at=now, notes="越权巡查",
    )  # fmt: skip


def _write_success_audit(world: World, kwargs: dict) -> None:
    audit.record(actor=Actor.system("test"), action="case.noted", region_code=world.grid_a.code)


MUTANTS = [
    ("cases:act", "other", _write_event),
    ("cases:act", "outsider", _touch_request),
    ("cases:act", "other", _write_patrol),
    ("cases:act", "other", _write_success_audit),
    ("POST /api/v1/cases/{case_id}/steps/{action}", "other", _write_event),
]


@pytest.mark.parametrize(("name", "identity", "write"), MUTANTS)
def test_a_view_that_writes_before_its_check_fails_the_matrix(
    world, monkeypatch, name, identity, write
):
    """Mutate the route's view to write before it checks anything: the matrix must fail.
    Unmutated, the same check passes."""
    check_route(world, name, identity)
    case = MATRIX[name]
    match = get_resolver().resolve(case.url(world).split("?")[0])
    real = match.func

    @functools.wraps(real)
    def mutant(request, *args, **kwargs):
        write(world, kwargs)
        return real(request, *args, **kwargs)

    patched = [p for p in _patterns() if p.callback is real]
    assert patched, name
    for pattern in patched:
        monkeypatch.setattr(pattern, "callback", mutant)
    with pytest.raises(AssertionError, match=r"a denied .* request changed data"):
        check_route(world, name, identity)
