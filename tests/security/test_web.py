"""Web attacks: forged cross-site posts, script in free text, hostile uploads, and the
security headers every response carries."""

import datetime
import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from jiceng.activities import services as activity_services
from jiceng.activities.models import ServiceType
from jiceng.core.actors import Actor
from jiceng.core.errors import DomainError
from jiceng.core.photos import clean_photo
from jiceng.gatherings import services as gatherings
from jiceng.points import services as points_services
from jiceng.points.ledger import account_for, ledger_for, post
from jiceng.points.models import Account, JournalEntry
from tests.conftest import client_for
from tests.factories import resident
from tests.test_access_matrix import MATRIX, _resident, fingerprint

# Pages that show a form on GET and take it on POST (the matrix names them by their GET).
FORMS_ON_GET = [
    "accounts:login",
    "accounts:password",
    "cases:new",
    "patrols:new",
    "cases_public:intake",
    "cases_settings:category",
    "activities:new",
    "activities:needs",
    "gatherings:venues",
    "activities:teams",
    "stores:list",
    "stores:counter",
    "me:login",
    "calendar:check_in",
]
POSTED = sorted(
    name
    for name, case in MATRIX.items()
    # Open311 clients authenticate by API key, not by a browser's cookie: no CSRF there.
    if not case.api
    and not name.startswith("open311:")
    and (case.method == "post" or name in FORMS_ON_GET)
)


@pytest.mark.parametrize("name", POSTED)
def test_every_form_refuses_a_post_without_its_csrf_token(world, name):
    """A page in another site cannot make a signed-in user's browser post here."""
    case = MATRIX[name]
    url = case.url(world)
    data = case.data(world) if case.data else {"anything": "1"}
    client = Client(enforce_csrf_checks=True)
    if case.resident:
        session = client.session
        session["resident_id"] = _resident(world).pk
        session.save()
    elif case.role:
        client.force_login(world.a(case.role))
    before = fingerprint()
    response = client.post(url, data)
    assert response.status_code == 403, (name, response.status_code)
    assert fingerprint() == before


XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def _never_raw(content: bytes) -> None:
    text = content.decode()
    assert "<script>alert" not in text and "<img src=x" not in text


def test_script_in_free_text_is_shown_as_text_everywhere(world, login):
    staff = world.a("community_worker")
    start = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=3)
    venue = gatherings.venue_create(
        actor=staff, region_code="370829001001", name=XSS[:60], kind="station", capacity=30,
        opens_at=datetime.time(0), closes_at=datetime.time(23, 59),
    )  # fmt: skip
    team = activity_services.team_create(
        actor=staff,
        region_code="370829001001",
        name=XSS[:60],
        leader=resident(display_name=XSS[:30]),
    )
    activity = activity_services.activity_create(
        actor=staff, region_code="370829001001", title=XSS[:80], description=XSS,
        service_type=ServiceType.objects.get(code="health"), starts_at=start,
        ends_at=start + datetime.timedelta(hours=1), capacity=10, place=XSS, holiday_tag=XSS[:16],
    )  # fmt: skip
    activity = activity_services.activity_publish(actor=staff, activity=activity)
    activity_services.activity_assign(actor=staff, activity=activity, team=team)
    activity_services.need_record(
        actor=world.a("grid_worker"), region_code=world.grid_a.code, text=XSS
    )
    store = points_services.store_create(
        actor=Actor.staff(staff), region_code="370829001001", name=XSS[:60], address=XSS
    )
    points_services.good_create(
        actor=Actor.staff(staff), store=store, name=XSS[:60], price=1, stock=1
    )
    ledger = ledger_for("370829001001")
    someone = resident(display_name=XSS[:30])
    post(
        ledger=ledger, key="xss", kind=JournalEntry.Kind.ADJUST, memo=XSS,
        lines=[(account_for(ledger, Account.Kind.RESIDENT, someone), 5),
               (account_for(ledger, Account.Kind.ISSUANCE), -5)],
    )  # fmt: skip
    staff_pages = [
        f"/activities/?month={start:%Y-%m}",
        f"/activities/{activity.pk}/",
        f"/activities/teams/{team.pk}/",
        "/activities/teams/",
        "/venues/",
        "/activities/needs/",
        "/points/",
        f"/stores/{store.pk}/",
        "/stores/",
    ]
    client = login(staff)
    for url in staff_pages:
        response = client.get(url)
        assert response.status_code == 200, url
        _never_raw(response.content)
    public = Client()
    for url in [
        f"/calendar/370829001001/?month={start:%Y-%m}",
        f"/a/{activity.gathering_id}/",
        "/calendar/370829001001/rss/",
        f"/rank/370829001001/?period={datetime.date.today():%Y-%m}",
    ]:
        response = public.get(url)
        assert response.status_code == 200, url
        _never_raw(response.content)
    detail = client.get(f"/activities/{activity.pk}/").content.decode()
    assert "&lt;script&gt;alert" in detail  # shown, as text
    assert venue.name.startswith("<script>")


def test_the_ical_feed_carries_text_not_markup(world):
    staff = world.a("community_worker")
    start = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=3)
    activity = activity_services.activity_create(
        actor=staff, region_code="370829001001", title="换行\r\nBEGIN:VEVENT", description=XSS,
        service_type=ServiceType.objects.get(code="health"), starts_at=start,
        ends_at=start + datetime.timedelta(hours=1), capacity=10,
    )  # fmt: skip
    activity_services.activity_publish(actor=staff, activity=activity)
    feed = Client().get("/calendar/370829001001/activities.ics").content.decode()
    events = [line for line in feed.splitlines() if line == "BEGIN:VEVENT"]
    assert len(events) == 1  # the title's line break is escaped: it cannot open an event


def test_a_polyglot_photo_loses_its_payload():
    """A JPEG with a script (or a zip) appended is re-encoded: only pixels survive."""
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), (10, 20, 30)).save(buffer, "JPEG")
    hostile = buffer.getvalue() + b"<script>alert(1)</script>PK\x03\x04payload"
    photo = clean_photo(SimpleUploadedFile("x.jpg", hostile, "image/jpeg"))
    cleaned = photo.content.read()
    assert b"<script>" not in cleaned and b"payload" not in cleaned
    assert Image.open(io.BytesIO(cleaned)).format == "JPEG"


def test_an_xlsx_zip_bomb_is_refused_before_it_is_opened(world, tmp_path, monkeypatch):
    from jiceng.places import roster

    monkeypatch.setattr(roster, "MAX_XLSX_UNCOMPRESSED", 5 * 1024 * 1024)
    path = tmp_path / "bomb.xlsx"
    with (
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive,
        archive.open("xl/worksheets/sheet1.xml", "w") as member,
    ):
        for _ in range(6):
            member.write(b"\0" * 1024 * 1024)
    assert path.stat().st_size < 100_000  # tiny on disk, six megabytes inside
    with pytest.raises(DomainError) as refused:
        roster.roster_import(
            actor=Actor.system("import-roster"),
            region_code=world.grid_a.code,
            path=path,
            original_name="bomb.xlsx",
        )
    assert refused.value.code == "xlsx_too_large"


@pytest.mark.parametrize("url", ["/accounts/login/", "/me/login/", "/calendar/", "/healthz"])
def test_security_headers(world, url):
    response = Client().get(url)
    csp = response.headers["Content-Security-Policy"]
    assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"


def test_the_form_list_names_real_routes():
    assert set(FORMS_ON_GET) <= MATRIX.keys()


def test_a_nul_character_is_refused_before_any_view(world):
    api = Client().post(
        "/api/v1/auth/token", '{"username": "a\\u0000b", "password": "x"}', "application/json"
    )
    assert (api.status_code, api.json()["code"]) == (400, "nul_character")
    assert Client().get("/api/v1/grids?q=%00").status_code == 400
    page = Client().post(
        "/me/login/", "phone=139%0000000000&step=send", "application/x-www-form-urlencoded"
    )
    assert page.status_code == 400 and "非法字符" in page.content.decode()


def _no_store(response) -> bool:
    return "no-store" in response.headers.get("Cache-Control", "")


def test_answers_with_personal_data_are_not_stored_by_caches(world, settings):
    from jiceng.accounts.services import api_token_issue
    from tests.test_access_matrix import _tracking

    token, _ = api_token_issue(actor=Actor.staff(world.a("grid_worker")))
    staff = client_for(world.a("grid_worker"))
    resident_phone = Client()
    session = resident_phone.session
    session["resident_id"] = _resident(world).pk
    session.save()
    private = [
        staff.get("/"),
        staff.get(f"/persons/{world.person_a.pk}/"),
        staff.get("/no-such-page/"),
        resident_phone.get("/me/"),
        resident_phone.get("/rank/370829001001/"),  # public, but for a signed-in resident
        Client().get("/api/v1/persons", headers={"Authorization": f"Bearer {token}"}),
        Client().get("/api/v1/persons"),  # refused, and still an API answer
        Client().get(_tracking(world)),  # a resident's private link
    ]
    assert [r.status_code for r in private] == [200, 200, 404, 200, 200, 200, 401, 200]
    assert all(_no_store(r) for r in private)
    assert not _no_store(Client().get("/rank/370829001001/"))


def test_static_files_keep_their_caching(world, settings):
    settings.WHITENOISE_USE_FINDERS = True
    settings.WHITENOISE_AUTOREFRESH = True
    staff = client_for(world.a("grid_worker"))
    response = staff.get("/static/jiceng/site.css")
    assert response.status_code == 200
    assert not _no_store(response)
