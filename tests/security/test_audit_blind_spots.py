"""Audit blind spots (M9): every event lies in the county it concerns where that is known,
the rest are read by an auditor above the counties (never by a county's); a name no
account has, typed at sign-in, is kept only as a digest; the operator's admin changes
and the residents who act are on the trail."""

import io
import json

import pytest
from django.core.management import call_command
from openpyxl import load_workbook

from jiceng.accounts.services import api_token_issue, api_token_revoke
from jiceng.core import audit
from jiceng.core.actors import Actor
from jiceng.core.errors import DomainError
from jiceng.core.models import AuditEvent, Holiday, ThrottleHit
from jiceng.party.models import FirstSecretary
from jiceng.residents import services as residents
from jiceng.residents.models import Resident
from tests.factories import PASSWORD, staff

TYPED = "Zhang.San-Secret1!"  # a password typed into the account box


@pytest.fixture
def other_county(world):
    """A grid worker of 汶上 (370830), the county of B's auditor."""
    return staff("grid_worker", "370830103001", username="c-grid_worker")


@pytest.fixture
def city_auditor(world):
    """济宁's auditor: above both counties."""
    return staff("auditor", "3708", username="city-auditor")


def _attempt(client, username, password=None):
    return client.post("/accounts/login/", {"username": username, "password": password or "not-it"})


def _count(client, query: str) -> int:
    import re

    page = client.get(f"/audit/?{query}").content.decode()
    return int(re.search(r"共 (\d+) 条", page).group(1))


def _failures(client) -> int:
    return _count(client, "action=auth.login&outcome=failure")


def test_a_refused_sign_in_lies_in_the_county_of_its_account(
    world, login, other_county, city_auditor
):
    from django.test import Client

    _attempt(Client(), world.a("grid_worker").username)
    _attempt(Client(), other_county.username)
    stored = AuditEvent.objects.filter(action="auth.login", outcome="failure")
    assert sorted(stored.values_list("region_code", flat=True)) == ["370829", "370830"]
    assert _failures(login(world.a("auditor"))) == 1  # A's, not 汶上's
    assert _failures(login(world.b("auditor"))) == 1  # 汶上's, not A's
    assert _failures(login(city_auditor)) == 2


def test_a_name_no_account_has_is_kept_as_a_digest_and_read_above_the_counties(
    world, login, city_auditor
):
    from django.test import Client

    for _ in range(2):
        _attempt(Client(), TYPED)
    _attempt(Client(), "another-name")
    stored = list(AuditEvent.objects.filter(action="auth.login", outcome="failure"))
    assert [e.region_code for e in stored] == ["", "", ""]
    assert [e.object_id for e in stored] == ["", "", ""]
    digests = [e.detail["name_digest"] for e in stored]
    assert digests[1] == digests[2] != digests[0]  # newest first: the burst shows
    assert digests[1] == audit.name_digest(TYPED) and len(digests[1]) == 32
    everything = json.dumps(list(AuditEvent.objects.values()), default=str).lower()
    assert TYPED.lower() not in everything and "another-name" not in everything
    counted = ThrottleHit.objects.values_list("key", flat=True)
    assert counted and not any(TYPED.lower() in key for key in counted)
    # A county's auditor reads none of them; the city's does, and finds them by the name.
    assert _failures(login(world.a("auditor"))) == 0
    assert _failures(login(world.b("auditor"))) == 0
    city = login(city_auditor)
    assert _failures(city) == 3
    page = city.get("/audit/", {"user": TYPED}).content.decode()
    assert "共 2 条" in page
    assert page.count(TYPED) == 1  # in the filter box the auditor typed it into, only


def test_signing_out_and_tokens_are_audited_in_the_county_of_the_account(world, login):
    worker = world.a("grid_worker")
    client = login(worker)
    assert client.post("/accounts/logout/").status_code == 302
    logout = AuditEvent.objects.get(action="auth.logout")
    assert (logout.actor, logout.region_code) == (worker, "370829")
    _, token = api_token_issue(actor=Actor.staff(worker))
    api_token_revoke(actor=Actor.staff(worker), token=token)
    assert set(
        AuditEvent.objects.filter(action__startswith="auth.token").values_list(
            "action", "region_code"
        )
    ) == {("auth.token_issue", "370829"), ("auth.token_revoke", "370829")}
    _attempt(login(None), worker.username, PASSWORD)
    signed_in = AuditEvent.objects.get(action="auth.login", outcome="success")
    assert signed_in.region_code == "370829"
    page = login(world.a("auditor")).get("/audit/?action=auth.").content.decode()
    assert "退出登录" in page and "申请 API 令牌" in page
    assert _count(login(world.a("auditor")), "action=auth.") == 4
    assert _count(login(world.b("auditor")), "action=auth.") == 0


def test_an_account_in_two_counties_is_audited_at_their_city(
    world, login, other_county, city_auditor
):
    from jiceng.accounts.models import Membership

    worker = world.a("grid_worker")
    Membership.objects.create(user=worker, role="grid_worker", region_code="370830103001")
    api_token_issue(actor=Actor.staff(worker))
    issued = AuditEvent.objects.get(action="auth.token_issue")
    assert issued.region_code == "3708"
    assert _count(login(world.a("auditor")), "action=auth.token_issue") == 0
    assert _count(login(city_auditor), "action=auth.token_issue") == 1


def test_the_server_makes_a_city_auditor_who_reads_what_no_county_owns(world, login, capsys):
    call_command("grant", "city-two", "auditor", "3708", "--full-name", "市审计员")
    from jiceng.accounts.models import User

    User.objects.filter(username="city-two").update(password_must_change=False)
    auditor = User.objects.get(username="city-two")
    audit.alert(kind="login_attack", text="无区划的告警", region_code="")
    page = login(auditor).get("/audit/").content.decode()
    assert "无区划的告警" in page
    assert "嘉祥县" in page  # the region filter offers the counties
    assert "无区划的告警" not in login(world.a("auditor")).get("/audit/").content.decode()


# --- the operator's admin ------------------------------------------------------------------


def test_admin_changes_are_stored_with_their_fields_not_their_values(world, login, city_auditor):
    operator = login(world.operator)
    secretary = FirstSecretary.objects.create(
        region_code="370829001001",
        name="甲书记",
        level="province",
        sending_unit="省农业农村厅",
        term_start="2025-03-01",
    )
    response = operator.post(
        f"/admin/party/firstsecretary/{secretary.pk}/change/",
        {
            "region_code": "370829001001",
            "name": "甲书记",
            "level": "province",
            "sending_unit": "某某单位丙",
            "term_start": "2025-03-01",
            "term_end": "",
        },
    )
    assert response.status_code == 302
    change = AuditEvent.objects.get(action="admin.change")
    assert change.actor == world.operator
    assert (change.object_type, change.object_id) == ("party.firstsecretary", str(secretary.pk))
    assert change.region_code == "370829001001"
    assert change.detail["fields"] == ["派出单位"]
    assert "某某单位丙" not in json.dumps(change.detail, ensure_ascii=False)
    page = login(world.a("auditor")).get("/audit/?action=admin.").content.decode()
    assert "运维后台修改" in page and "改动的字段：派出单位" in page

    # A row that lies nowhere (a holiday) is read above the counties, never by one.
    holiday = Holiday.objects.create(date="2031-01-02", is_workday=False, name="调休")
    operator.post(
        f"/admin/core/holiday/{holiday.pk}/change/",
        {"date": "2031-01-02", "is_workday": "on", "name": "调休"},
    )
    operator.post(
        "/admin/core/holiday/",
        {"action": "delete_selected", "_selected_action": [holiday.pk], "post": "yes"},
    )
    stored = AuditEvent.objects.filter(object_type="core.holiday")
    assert sorted(stored.values_list("action", "region_code")) == [
        ("admin.change", ""),
        ("admin.delete", ""),
    ]
    assert stored.get(action="admin.change").detail["fields"] == ["是否工作日"]
    assert not Holiday.objects.exists()
    assert _count(login(city_auditor), "action=admin.delete") == 1
    assert _count(login(world.a("auditor")), "action=admin.delete") == 0


# --- residents -----------------------------------------------------------------------------


def test_a_resident_who_acts_is_named_by_their_masked_phone(world, login):
    resident = Resident.objects.create(phone="13900001234", region_code="370829001001")
    audit.record(
        actor=Actor.of_resident(resident), action="gathering.signup", region_code="370829001"
    )
    client = login(world.a("auditor"))
    page = client.get("/audit/").content.decode()
    assert f"居民 139****1234 #{resident.pk}" in page
    assert "13900001234" not in page
    response = client.get("/audit/export.xlsx?action=gathering.")
    content = b"".join(response.streaming_content)
    rows = list(load_workbook(io.BytesIO(content), read_only=True).active.values)
    assert rows[1][1] == f"居民 139****1234 #{resident.pk}"
    assert rows[1][2] == "居民"


def test_a_residents_codes_lie_in_their_community_once_known(world, login, sms):
    Resident.objects.create(phone="13900001234", region_code="370829001001")
    residents.otp_request(actor=Actor.public(), phone="13900001234", address="10.0.0.1")
    with pytest.raises(DomainError):
        residents.otp_verify(
            actor=Actor.public(), phone="13900001234", code="000000x", address="10.0.0.1"
        )
    residents.otp_request(actor=Actor.public(), phone="13900005678", address="10.0.0.1")
    stored = AuditEvent.objects.filter(action__startswith="resident.").order_by("id")
    assert list(stored.values_list("action", "region_code")) == [
        ("resident.otp_sent", "370829001001"),
        ("resident.login", "370829001001"),
        ("resident.otp_sent", ""),  # a phone no confirmed resident has: above the counties
    ]
    assert _count(login(world.a("auditor")), "action=resident.") == 2
