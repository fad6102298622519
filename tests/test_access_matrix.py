"""The authorization matrix: every route, as its owner, as the same role in another region,
as a signed-in outsider with no role, and anonymously. A route missing from the matrix fails
`test_every_route_is_declared`.

Denied writes must change nothing: each POST case compares a fingerprint of the tables a
write could touch before and after.
"""

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from jiceng.accounts.models import Membership, User
from jiceng.accounts.services import api_token_issue
from jiceng.api import api
from jiceng.cases.models import Photo, Question
from jiceng.core import audit
from jiceng.core.masking import mask_id_number
from jiceng.party.models import FirstSecretary
from jiceng.places.models import Household, ImportJob, Person, Region
from jiceng.places.roster import RowError, write_error_workbook
from tests.conftest import World, client_for

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


def _error_job_url(world: World) -> str:
    job = _job(world, with_errors=True)
    write_error_workbook(
        [RowError(2, "姓名", "姓名不能为空。")], Path(default_storage.path(job.error_file.name))
    )
    return f"/imports/{job.pk}/errors.xlsx"


def _first_secretary(world: World) -> FirstSecretary:
    return FirstSecretary.objects.create(
        region_code="370829001001",
        name="甲书记",
        level="province",
        sending_unit="省农业农村厅",
        term_start="2025-03-01",
    )


def _audit_event(world: World) -> str:
    audit.record(
        actor=world.a("grid_worker"), action="matrix.marker", region_code=world.grid_a.code
    )
    return "matrix.marker"


def _managed_user(world: World) -> User:
    return world.a("grid_worker")


def _a_case(world: World, closed: bool = False):
    """A request in grid A, dispatched to A's grid worker (or closed), with one photo."""
    from django.core.files.base import ContentFile

    from jiceng.cases import services
    from jiceng.cases.catalogue import catalogue_seed
    from jiceng.cases.models import Category

    catalogue_seed(county_code="370829")
    worker = world.a("grid_worker")
    case, _ = services.case_submit(
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

    from jiceng.cases.services import patrol_log

    now = timezone.now()
    return patrol_log(
        actor=world.a("grid_worker"), grid=world.grid_a, started_at=now, ended_at=now,
        notes="甲网格巡查记录",
    )  # fmt: skip


def _visit(world: World):
    from jiceng.cases.services import visit_log

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
    Case("places:region_export", "community_worker", lambda w: "/regions/370829001001/roster.xlsx"),
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
        "cases:supervision",
        "town_staff",
        lambda w: "/cases/supervision/",
        other=200,
        outsider=403,
        marker=lambda w: _supervised(w).tracking_code,
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
        "grid_worker",
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
        "party:first_secretaries",
        "community_worker",
        lambda w: "/party/first-secretaries/",
        other=200,
        outsider=403,
        marker=lambda w: _first_secretary(w).name,
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
        anonymous=200,
        api=True,
    ),
    Case(
        "api:openapi-view",
        "grid_worker",
        lambda w: "/api/v1/docs",
        other=200,
        outsider=200,
        anonymous=200,
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


def fingerprint() -> str:
    """Everything a denied write could have touched."""
    rows = [
        list(User.objects.order_by("pk").values_list("pk", "is_active", "password")),
        list(
            Membership.objects.order_by("pk").values_list("pk", "role", "region_code", "is_active")
        ),
        list(Region.objects.order_by("code").values_list("code", "name", "grid_kind", "leader_id")),
        list(Household.objects.order_by("pk").values_list("pk", "region_code", "head_id")),
        list(Person.objects.order_by("pk").values_list("pk", "region_code", "name")),
        list(Question.objects.order_by("pk").values_list("pk", "code")),
    ]
    return hashlib.sha256(repr(rows).encode()).hexdigest()


def _request(case: Case, world: World, user: User | None, url: str):
    client = Client() if case.api else client_for(user)
    headers = {}
    if case.api and user is not None:
        token, _ = api_token_issue(user=user)
        headers["Authorization"] = f"Bearer {token}"
    data = case.data(world) if case.data else {}
    if case.method == "post":
        if case.api:
            return client.post(url, data, content_type="application/json", headers=headers)
        return client.post(url, data, headers=headers)
    if case.method == "delete":
        return client.delete(url, headers=headers)
    return client.get(url, headers=headers)


IDENTITIES = ["owner", "other", "outsider", "anonymous"]


@pytest.mark.parametrize("identity", IDENTITIES)
@pytest.mark.parametrize("name", sorted(MATRIX))
def test_route_access(world, name, identity):
    case = MATRIX[name]
    user = {
        "owner": world.a(case.role),
        "other": world.b(case.role),
        "outsider": world.outsider,
        "anonymous": None,
    }[identity]
    marker = case.marker(world) if case.marker else None
    url = case.url(world)
    before = fingerprint()
    response = _request(case, world, user, url)
    expected = getattr(case, identity)
    assert response.status_code == expected, (name, identity, response.status_code)
    denied = identity != "owner" and (expected >= 400 or expected == PAGE_LOGIN)
    if (
        case.method == "post"
        and denied
        and name not in ("accounts:logout", "POST /api/v1/auth/token")
    ):
        assert fingerprint() == before, f"{name}: a denied {identity} request changed data"
    if marker and response.status_code == 200:
        content = response.content.decode()
        if identity == "owner":
            assert marker in content, (name, "owner should see", marker)
        else:
            assert marker not in content, (name, identity, "must not see", marker)


@pytest.mark.parametrize(
    "url", ["/admin/", "/admin/places/region/", "/admin/accounts/user/", "/admin/core/holiday/"]
)
def test_admin_is_for_the_operator_only(world, url):
    assert client_for(world.operator).get(url).status_code == 200
    assert client_for(world.a("county_admin")).get(url, follow=True).status_code == 403
    assert client_for(None).get(url).status_code == 302
