"""Separation of duties (H2, H3): the system administrator cannot make itself a data user
or silence the auditor; sensitive roles take two security administrators; the platform
operator holds no data role and changes nothing unaudited.

Each test asserts what persisted: memberships, pending grants, accounts, audit rows."""

import io

import pytest
from django.contrib import admin as django_admin
from django.core.management import call_command
from openpyxl import Workbook

from jiceng.accounts import services
from jiceng.accounts.models import GrantBatch, GrantRequest, Membership, User
from jiceng.core.actors import Actor
from jiceng.core.admin import AuditedAdmin
from jiceng.core.errors import DomainError, NotFound
from jiceng.core.models import AuditEvent, Holiday
from tests.conftest import first_password
from tests.factories import PASSWORD, staff


def _memberships() -> set:
    return set(
        Membership.objects.filter(is_active=True).values_list("user_id", "role", "region_code")
    )


def test_the_county_admin_cannot_make_itself_a_data_user(world, login):
    """The attack of the review: a puppet account given town_staff and auditor, the
    auditor silenced, a data role granted back to the admin."""
    admin = world.a("county_admin")
    client = login(admin)
    client.post(
        "/accounts/users/",
        {"username": "puppet", "full_name": "傀儡", "region_code": "370829",
         "phone": "13905370000"},
    )  # fmt: skip
    puppet = User.objects.get(username="puppet")
    before = _memberships()
    client.post(
        f"/accounts/users/{puppet.pk}/grant/", {"role": "town_staff", "region_code": "370829001"}
    )
    client.post(f"/accounts/users/{puppet.pk}/grant/", {"role": "auditor", "region_code": "370829"})
    client.post(
        f"/accounts/users/{puppet.pk}/grant/", {"role": "county_admin", "region_code": "370829"}
    )
    assert _memberships() == before
    assert puppet.scope_codes("people.view_sensitive") == ()
    # Asked for, the data role waits for two security administrators; an administrator
    # role cannot be added to it, and the auditor's cannot even be asked for from a page.
    assert set(GrantRequest.objects.values_list("role", "first_signed_by")) == {
        ("town_staff", None),
    }
    auditor = world.a("auditor")
    client.post(f"/accounts/users/{auditor.pk}/password/")
    client.post(f"/accounts/users/{auditor.pk}/active/", {"active": "0"})
    auditor.refresh_from_db()
    assert auditor.is_active and auditor.check_password(PASSWORD)
    for user in (world.a("auditor"), world.a("security_admin")):
        with pytest.raises(DomainError) as refusal:
            services.user_set_active(actor=Actor.staff(admin), user=user, is_active=False)
        assert refusal.value.code == "server_managed"
    with pytest.raises(DomainError):
        services.membership_grant(
            actor=Actor.staff(admin), user=admin, role="store_clerk", region_code="370829001001"
        )


def test_a_sensitive_role_takes_two_different_security_administrators(world, login):
    first, second = world.a("security_admin"), world.a("security_admin_2")
    account = world.outsider
    grant = services.grant_request(
        actor=Actor.staff(first), user=account, role="town_staff", region_code="370829001"
    )
    assert grant.first_signed_by == first
    assert not Membership.objects.filter(user=account).exists()
    for who, code in [(first, "second_signer_required"), (account, None)]:
        with pytest.raises((DomainError, NotFound)) as refusal:
            services.grant_sign(actor=Actor.staff(who), request=grant)
        if code:
            assert refusal.value.code == code
    assert not Membership.objects.filter(user=account).exists()
    response = login(second).post(f"/accounts/grants/{grant.pk}/sign/")
    assert response.status_code == 302
    grant.refresh_from_db()
    assert (grant.status, grant.second_signed_by) == (GrantRequest.Status.APPROVED, second)
    assert Membership.objects.filter(user=account, role="town_staff", is_active=True).exists()
    event = AuditEvent.objects.filter(action="user.grant").first()
    assert (event.detail["granted_by"], event.detail["approved_by"]) == (
        first.username,
        second.username,
    )
    with pytest.raises(DomainError):  # once decided, it stays decided
        services.grant_sign(actor=Actor.staff(second), request=grant)


def test_the_database_refuses_one_person_signing_twice(world):
    from django.db import IntegrityError, transaction

    first = world.a("security_admin")
    grant = services.grant_request(
        actor=Actor.staff(first), user=world.outsider, role="town_staff", region_code="370829001"
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        GrantRequest.objects.filter(pk=grant.pk).update(second_signed_by=first)


def test_security_administrators_of_another_county_sign_nothing_here(world):
    grant = services.grant_request(
        actor=Actor.staff(world.a("security_admin")),
        user=world.outsider,
        role="town_staff",
        region_code="370829001",
    )
    with pytest.raises(NotFound):
        services.grant_sign(actor=Actor.staff(world.b("security_admin")), request=grant)
    grant.refresh_from_db()
    assert grant.second_signed_by is None


def test_administrator_roles_are_held_alone(world):
    first = world.a("security_admin")
    town_staff = world.a("town_staff")
    auditor = world.a("auditor")
    for user, role, region in [
        (town_staff, "auditor", "370829"),
        (auditor, "town_staff", "370829001"),
        (first, "town_staff", "370829001"),
        (world.a("county_admin"), "auditor", "370829"),
    ]:
        with pytest.raises(DomainError) as refusal:
            services.grant_request(
                actor=Actor.staff(world.a("security_admin_2")),
                user=user,
                role=role,
                region_code=region,
            )
        assert refusal.value.code in ("separation_of_duties", "server_managed"), (user, role)
    assert not GrantRequest.objects.exists()
    with pytest.raises(DomainError) as refusal:
        services.grant_request(
            actor=Actor.staff(first), user=first, role="town_staff", region_code="370829001"
        )
    assert refusal.value.code == "self_grant"


def test_a_role_asked_for_on_an_account_that_changed_is_refused_at_approval(world):
    """No chain: what held when a grant was asked for is checked again when it takes
    effect (the account became an auditor meanwhile)."""
    account = staff("store_clerk", "370829001001", username="later-auditor")
    grant = services.grant_request(
        actor=Actor.staff(world.a("security_admin")),
        user=account,
        role="town_staff",
        region_code="370829001",
    )
    Membership.objects.filter(user=account).delete()
    Membership.objects.create(user=account, role="auditor", region_code="370829")
    with pytest.raises(DomainError) as refusal:
        services.grant_sign(actor=Actor.staff(world.a("security_admin_2")), request=grant)
    assert refusal.value.code == "separation_of_duties"
    assert not Membership.objects.filter(user=account, role="town_staff").exists()


def _accounts_file(rows) -> io.BytesIO:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["账号", "姓名", "手机号", "所属区划", "角色", "任职区划"])
    for row in rows:
        sheet.append(row)
    handle = io.BytesIO()
    workbook.save(handle)
    handle.seek(0)
    handle.name = "网格员.xlsx"
    return handle


def test_a_thousand_grid_workers_are_imported_and_approved_as_one_batch(
    world, login, sms, django_capture_on_commit_callbacks
):
    rows = [
        [
            f"GW{n:04d}",
            f"网格员{n}",
            f"+86 139{n:08d}",
            "370829001",
            "专职网格员",
            "370829001001001",
        ]
        for n in range(40)
    ] + [["clerk01", "店员", "13800000001", "370829001", "文明超市店员", "370829001001"]]
    with django_capture_on_commit_callbacks(execute=True):
        response = login(world.a("county_admin")).post(
            "/accounts/users/import/", {"file": _accounts_file(rows)}
        )
    page = response.content.decode()
    assert "已创建 41 个账号" in page
    created = User.objects.filter(username__startswith="gw")  # lower-cased on the way in
    assert created.count() == 40 and all(u.password_must_change for u in created)
    # Each first password went to its holder's phone, and to nobody else.
    assert len(sms) == 41
    password = first_password(sms, "13900000000")
    assert User.objects.get(username="gw0000").check_password(password)
    assert password not in page
    # The clerk works at once; the grid workers wait for two security administrators.
    assert Membership.objects.filter(user__username="clerk01", role="store_clerk").exists()
    assert not Membership.objects.filter(user__username__startswith="gw").exists()
    batch = GrantBatch.objects.get()
    assert batch.requests.filter(status="pending", first_signed_by=None).count() == 40
    first = login(world.a("security_admin"))
    listed = first.get(f"/accounts/grants/batches/{batch.pk}/").content.decode()
    assert "签批全部 40 项" in listed
    first.post(f"/accounts/grants/batches/{batch.pk}/sign/")
    first.post(f"/accounts/grants/batches/{batch.pk}/sign/")  # signing twice adds nothing
    assert not Membership.objects.filter(user__username__startswith="gw").exists()
    assert batch.requests.filter(first_signed_by=world.a("security_admin")).count() == 40
    login(world.a("security_admin_2")).post(f"/accounts/grants/batches/{batch.pk}/sign/")
    assert (
        Membership.objects.filter(user__username__startswith="gw", role="grid_worker").count() == 40
    )
    assert AuditEvent.objects.filter(action="user.grant").count() >= 41


def test_an_account_file_as_offices_make_it(world, login, sms, tmp_path):
    """A title above the header, full-width digits, a GBK CSV."""
    path = tmp_path / "账号.csv"
    path.write_text(
        "嘉祥县网格员名单（2026年12月）\n账号,姓名,手机号,所属区划,角色,任职区划\n"
        "wangwu,王五,１３９０５３７１２３４,370829001,专职网格员,370829001001001\n",
        encoding="gbk",
    )
    with open(path, "rb") as handle:
        login(world.a("county_admin")).post("/accounts/users/import/", {"file": handle})
    assert User.objects.get(username="wangwu").phone == "13905371234"
    path.write_text(
        "账号,姓名,手机号,所属区划,角色,任职区划\n"
        "zhaoliu,赵六,13905371235,3.70829E+11,专职网格员,3.70829E+14\n",
        encoding="gbk",
    )
    with open(path, "rb") as handle:
        page = login(world.a("county_admin")).post("/accounts/users/import/", {"file": handle})
    assert "科学计数法" in page.content.decode()
    assert not User.objects.filter(username="zhaoliu").exists()


def test_an_account_file_with_one_bad_row_creates_nothing(world, login):
    rows = [
        ["good01", "甲", "", "370829001", "专职网格员", "370829001001001"],
        ["Bad Name", "乙", "", "370829001", "", ""],
        ["good02", "丙", "", "370830", "", ""],  # another county
        ["good03", "丁", "", "370829001", "审计管理员", "370829"],
    ]
    response = login(world.a("county_admin")).post(
        "/accounts/users/import/", {"file": _accounts_file(rows)}
    )
    page = response.content.decode()
    assert "未创建任何账号" in page and "不在您管理的范围内" in page
    assert not User.objects.filter(username__startswith="good").exists()
    assert not GrantRequest.objects.exists()


def test_the_operator_holds_no_data_role_and_changes_nothing_unaudited(world, login):
    operator = world.operator
    Membership.objects.create(user=operator, role="town_staff", region_code="370829001")
    assert User.objects.get(pk=operator.pk).scope_codes("people.view_sensitive") == ()
    with pytest.raises(NotFound):
        services.grant_request(
            actor=Actor.staff(world.a("security_admin")),
            user=operator,
            role="town_staff",
            region_code="370829001",
        )
    client = login(operator)
    worker = world.a("grid_worker")
    User.objects.filter(pk=worker.pk).update(phone="13912348765")
    before = _memberships()
    client.post(
        f"/admin/accounts/user/{worker.pk}/change/",
        {"username": worker.username, "is_superuser": "on", "memberships-TOTAL_FORMS": "1",
         "memberships-INITIAL_FORMS": "0", "memberships-0-role": "county_admin",
         "memberships-0-region_code": "370829"},
    )  # fmt: skip
    client.post(
        f"/admin/accounts/user/{worker.pk}/password/",
        {"password1": "Taken-Over-1x", "password2": "Taken-Over-1x"},
    )
    worker.refresh_from_db()
    assert not worker.is_superuser and worker.check_password(PASSWORD)
    assert _memberships() == before
    page = client.get(f"/admin/accounts/user/{worker.pk}/change/").content.decode()
    assert "139****8765" in page and "13912348765" not in page
    response = client.post(
        "/admin/core/holiday/add/", {"date": "2031-01-02", "is_workday": "", "name": "调休"}
    )
    assert response.status_code == 302
    holiday = Holiday.objects.get(date="2031-01-02")
    assert AuditEvent.objects.filter(
        action="admin.add", actor=operator, object_id=str(holiday.pk)
    ).exists()


def test_every_admin_is_audited():
    for model, model_admin in django_admin.site._registry.items():
        assert isinstance(model_admin, AuditedAdmin), model


def test_the_operator_changes_its_password_where_everyone_does(world, login):
    client = login(world.operator)
    assert client.get("/admin/password_change/")["Location"] == "/accounts/password/"


def test_nobody_revokes_their_own_role_or_an_administrator_role_from_a_page(world):
    admin = world.a("county_admin")
    own = admin.memberships.get()
    for actor, membership in [
        (admin, own),
        (world.a("security_admin"), own),  # one person alone removing the county's admin
        (world.a("security_admin"), world.a("security_admin_2").memberships.get()),
    ]:
        with pytest.raises((DomainError, NotFound)):
            services.membership_revoke(actor=Actor.staff(actor), membership=membership)
    assert (
        Membership.objects.filter(
            role__in=["county_admin", "security_admin"], is_active=False
        ).count()
        == 0
    )


def test_no_administrator_resets_its_own_password_without_the_old_one(world, login):
    admin = world.a("county_admin")
    login(admin).post(f"/accounts/users/{admin.pk}/password/")
    admin.refresh_from_db()
    assert admin.check_password(PASSWORD) and not admin.password_must_change


def test_a_specialist_who_may_call_reporters_back_takes_two_signatures(world):
    """Handling a request shows its reporter's phone: a reveal right, so the county admin
    cannot give it to an account of its own alone."""
    with pytest.raises(DomainError) as refusal:
        services.membership_grant(
            actor=Actor.staff(world.a("county_admin")),
            user=world.outsider,
            role="specialist_grid_worker",
            region_code="370829001",
        )
    assert refusal.value.code == "needs_security_approval"
    assert not Membership.objects.filter(user=world.outsider).exists()


def test_a_padded_account_file_is_refused_before_it_is_read(world, login, tmp_path):
    path = tmp_path / "big.csv"
    path.write_bytes(b"a,b\n" * (2 * 1024 * 1024))  # 8 MB
    with open(path, "rb") as handle:
        page = login(world.a("county_admin")).post("/accounts/users/import/", {"file": handle})
    assert "账号表过大" in page.content.decode()


@pytest.mark.parametrize("who", ["county_admin", "auditor", "anonymous"])
def test_the_admin_is_not_there_for_anyone_but_the_operator(world, login, who):
    client = login(None if who == "anonymous" else world.a(who))
    assert client.get("/admin/").status_code == 404
    assert client.get("/admin/login/").status_code == 404


def test_the_first_administrators_come_from_the_server(db, capsys):
    from jiceng.places.models import Region

    Region.objects.get_or_create(code="370829", defaults={"name": "嘉祥县", "level": "county"})
    call_command("grant", "sec-one", "security_admin", "370829", "--full-name", "安全员甲")
    out = capsys.readouterr().out
    password = out.split("初始密码：")[1].split("（")[0]
    user = User.objects.get(username="sec-one")
    assert user.check_password(password) and user.password_must_change
    assert user.scope_codes("security.grant") == ("370829",)
    assert AuditEvent.objects.filter(action="user.grant", detail__via="jiceng grant").exists()
    assert AuditEvent.objects.filter(action="alert.server_grant", region_code="370829").exists()
