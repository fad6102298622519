"""The second factor (动态口令): enrolment at the first sign-in, codes checked once each,
recovery codes, the SMS fallback, the lock after wrong codes, a security administrator's
reset, asking again before signing a grant (step-up), and API tokens."""

import datetime

import pyotp
import pytest
import time_machine
from django.conf import settings as django_settings
from django.db import connection
from django.test import Client
from django.utils import timezone

from jiceng.accounts import second_factor
from jiceng.accounts.models import ApiToken, GrantRequest, RecoveryCode, SecondFactor, User
from jiceng.accounts.roles import ROLES
from jiceng.accounts.services import api_token_issue
from jiceng.core import checks, personal, step_up, throttle
from jiceng.core.actors import Actor
from jiceng.core.errors import DomainError
from jiceng.core.models import AuditEvent, ThrottleHit
from tests.factories import PASSWORD, UserFactory, enrol, totp_code


@pytest.fixture(autouse=True)
def second_factor_on(settings):
    settings.JICENG_SECOND_FACTOR = True


@pytest.fixture
def worker(world):
    return world.a("grid_worker")


def sign_in(client, user, next_url=""):
    data = {"username": user.username, "password": PASSWORD}
    if next_url:
        data["next"] = next_url
    return client.post("/accounts/login/", data)


def enter(client, code, url="/accounts/login/code/"):
    return client.post(url, {"code": code})


def signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def failures(user, reason=None):
    events = AuditEvent.objects.filter(
        action="auth.second_factor", outcome="failure", object_id=str(user.pk)
    )
    return [e for e in events if reason is None or e.detail["reason"] == reason]


def test_first_sign_in_enrols_with_a_qr_code_then_shows_ten_recovery_codes_once(worker):
    client = Client()
    response = sign_in(client, worker)
    assert response.status_code == 302 and response["Location"] == "/accounts/login/code/"
    assert not signed_in(client)
    page = client.get("/accounts/login/code/").content.decode()
    assert "绑定动态口令" in page and "<svg" in page  # the QR code, drawn here
    assert 'href="otpauth://totp/' in page  # for a phone that cannot scan its own screen
    factor = SecondFactor.objects.get(user=worker)
    secret = personal.clear(factor.secret)
    assert secret.replace(" ", "") in page.replace(" ", "")
    # Sealed at rest: the column does not hold the secret.
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret FROM accounts_secondfactor WHERE id = %s", [factor.pk])
        assert secret not in cursor.fetchone()[0]
    assert client.get("/accounts/login/code/").status_code == 200
    assert personal.clear(SecondFactor.objects.get(user=worker).secret) == secret  # same secret

    assert "动态口令不正确" in enter(client, "000000").content.decode()
    assert not signed_in(client) and SecondFactor.objects.get(user=worker).confirmed_at is None

    response = enter(client, pyotp.TOTP(secret).now())
    assert response.status_code == 200 and signed_in(client)
    codes = response.context["codes"]
    assert len(codes) == 10 and all(c in response.content.decode() for c in codes)
    stored = set(RecoveryCode.objects.filter(factor__user=worker).values_list("digest", flat=True))
    assert stored == {RecoveryCode.digest_of(c) for c in codes} and not stored & set(codes)
    assert SecondFactor.objects.get(user=worker).confirmed_at is not None
    assert AuditEvent.objects.filter(action="user.second_factor_enrol", actor=worker).count() == 1
    assert client.get("/").status_code == 200


def test_a_secret_shown_to_another_session_is_never_the_one_confirmed(worker):
    """Whoever signed in with a stolen password and left the enrolment page open does not
    learn the secret its owner then enrols: each session is shown its own, and confirms
    only that one."""
    thief, owner = Client(), Client()
    sign_in(thief, worker)
    assert "绑定动态口令" in thief.get("/accounts/login/code/").content.decode()
    stolen = personal.clear(SecondFactor.objects.get(user=worker).secret)
    sign_in(owner, worker)
    owner.get("/accounts/login/code/")
    secret = personal.clear(SecondFactor.objects.get(user=worker).secret)
    assert secret != stolen
    assert SecondFactor.objects.filter(user=worker).count() == 1
    # A code from the stolen secret passes nowhere, and the thief's page takes no code of
    # the owner's secret either: it is shown a new one instead.
    page = enter(owner, pyotp.TOTP(stolen).now()).content.decode()
    assert "动态口令不正确" in page and not signed_in(owner)
    page = enter(thief, pyotp.TOTP(secret).now()).content.decode()
    assert "密钥已更换" in page and not signed_in(thief)
    renewed = personal.clear(SecondFactor.objects.get(user=worker).secret)
    assert renewed not in (stolen, secret)
    # The owner reloads, scans what is shown now and enrols; the thief's secrets are dead.
    owner.get("/accounts/login/code/")
    final = personal.clear(SecondFactor.objects.get(user=worker).secret)
    assert final not in (stolen, secret, renewed)
    enter(owner, pyotp.TOTP(final).now())
    assert signed_in(owner) and not signed_in(thief)
    assert SecondFactor.objects.get(user=worker).confirmed_at is not None
    begun = AuditEvent.objects.filter(action="user.second_factor_begin", object_id=str(worker.pk))
    assert begun.count() == 4


def test_a_session_that_now_needs_a_second_factor_passes_it_before_anything_else(world):
    """Signed in by password while the role did not need a second factor (or the setting
    was off), the session is sent to pass one once it does, enrolling if need be."""
    from jiceng.accounts.models import Membership

    user = UserFactory(username="a-store-clerk")
    Membership.objects.create(user=user, role="store_clerk", region_code="370829001001")
    client = Client()
    sign_in(client, user)
    assert signed_in(client) and client.get("/").status_code == 200
    Membership.objects.filter(user=user).update(  # given a role that needs one
        role="grid_worker", region_code="370829001001001"
    )
    response = client.get("/cases/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/verify/?next=%2Fcases%2F"
    page = client.get(response["Location"]).content.decode()
    assert "绑定动态口令" in page  # no factor yet: it enrols here
    secret = personal.clear(SecondFactor.objects.get(user=user).secret)
    back = client.post(response["Location"], {"code": pyotp.TOTP(secret).now()})
    assert back.status_code == 200 and "恢复码" in back.content.decode()
    assert client.get("/cases/").status_code == 200
    assert client.post("/accounts/logout/").status_code == 302


def test_a_session_between_password_and_code_reaches_nothing_else(worker):
    enrol(worker)
    client = Client()
    sign_in(client, worker)
    for url in ("/", "/accounts/users/", "/accounts/tokens/", "/accounts/verify/"):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert not signed_in(client)


def test_the_code_page_without_a_password_first_sends_to_the_login_page(worker):
    enrol(worker)
    response = Client().post("/accounts/login/code/", {"code": totp_code(worker)})
    assert response["Location"] == "/accounts/login/"
    assert SecondFactor.objects.get(user=worker).last_step == 0


def test_an_enrolled_account_signs_in_with_its_code_and_goes_where_it_asked(worker):
    enrol(worker)
    client = Client()
    sign_in(client, worker, next_url="/accounts/tokens/")
    response = enter(client, totp_code(worker))
    assert response.status_code == 302 and response["Location"] == "/accounts/tokens/"
    assert signed_in(client) and step_up.SESSION_KEY in client.session
    event = AuditEvent.objects.get(action="auth.second_factor", outcome="success")
    assert event.actor_id == worker.pk and event.detail["method"] == "totp"


def test_a_code_is_accepted_once(worker):
    enrol(worker)
    code = totp_code(worker)
    first, second = Client(), Client()
    sign_in(first, worker)
    sign_in(second, worker)
    assert enter(first, code).status_code == 302
    response = enter(second, code)
    assert "动态口令不正确或已用过" in response.content.decode() and not signed_in(second)
    assert len(failures(worker, "replayed")) == 1


def test_codes_of_steps_older_than_the_drift_are_refused(worker):
    enrol(worker)
    old = pyotp.TOTP(personal.clear(SecondFactor.objects.get(user=worker).secret)).at(
        timezone.now() - datetime.timedelta(seconds=95)
    )
    client = Client()
    sign_in(client, worker)
    assert not signed_in(client) and enter(client, old).status_code == 200
    assert len(failures(worker, "wrong")) == 1


def _enrolled_with_codes(user) -> list[str]:
    client = Client()
    sign_in(client, user)
    client.get("/accounts/login/code/")
    secret = personal.clear(SecondFactor.objects.get(user=user).secret)
    return enter(client, pyotp.TOTP(secret).now()).context["codes"]


def test_a_recovery_code_signs_in_once(worker):
    codes = _enrolled_with_codes(worker)
    client = Client()
    sign_in(client, worker)
    assert enter(client, codes[3].upper()).status_code == 302 and signed_in(client)
    assert RecoveryCode.objects.filter(factor__user=worker, used_at__isnull=False).count() == 1
    again = Client()
    sign_in(again, worker)
    assert enter(again, codes[3]).status_code == 200 and not signed_in(again)
    assert len(failures(worker, "wrong")) == 1
    assert enter(again, codes[4]).status_code == 302
    third = Client()
    sign_in(third, worker)
    assert enter(third, codes[5].replace("-", "")).status_code == 302  # typed without its dash
    assert RecoveryCode.objects.filter(factor__user=worker, used_at__isnull=False).count() == 3


def test_the_code_page_greets_without_an_error(worker):
    enrol(worker)
    client = Client()
    sign_in(client, worker)
    assert "请输入动态口令" not in client.get("/accounts/login/code/").content.decode()


def test_wrong_codes_lock_the_account_even_for_the_right_code_and_stay_counted(worker):
    enrol(worker)
    most = django_settings.JICENG_LOGIN_MAX_FAILURES
    client = Client()
    sign_in(client, worker)
    for _ in range(most):
        enter(client, "123456" if totp_code(worker) != "123456" else "654321")
    response = enter(client, totp_code(worker))
    assert "连续输错" in response.content.decode() and not signed_in(client)
    # Every try stayed counted though each refusal rolled its transaction back.
    window = datetime.timedelta(minutes=django_settings.JICENG_LOGIN_LOCK_MINUTES)
    assert throttle.count("second_factor", worker.pk, within=window) == most + 1
    assert len(failures(worker)) == most + 1 and len(failures(worker, "locked")) == 1
    assert SecondFactor.objects.get(user=worker).last_step == 0
    later = timezone.now() + window + datetime.timedelta(minutes=1)
    with time_machine.travel(later):
        sign_in(client, worker)
        assert enter(client, totp_code(worker)).status_code == 302 and signed_in(client)


def test_an_sms_code_to_the_own_phone_signs_in_once(world, sms):
    worker = world.a("grid_worker")
    User.objects.filter(pk=worker.pk).update(phone="13905370001")
    worker.refresh_from_db()
    enrol(worker)
    client = Client()
    sign_in(client, worker)
    assert "发送短信验证码" in client.get("/accounts/login/code/").content.decode()
    client.post("/accounts/login/code/", {"send": "sms"})
    phone, text = sms[-1]
    assert phone == "13905370001" and "工作账号登录验证码" in text
    code = text.split("验证码为 ")[1][:6]
    assert enter(client, code).status_code == 302 and signed_in(client)
    assert AuditEvent.objects.get(action="auth.second_factor", outcome="success").detail == {
        "username": worker.username,
        "method": "sms",
        "recovery_left": 0,
    }
    again = Client()
    sign_in(again, worker)
    assert enter(again, code).status_code == 200 and not signed_in(again)
    # A second SMS within the minute is refused.
    again.post("/accounts/login/code/", {"send": "sms"})
    assert AuditEvent.objects.filter(action="auth.second_factor_sms").count() == 1


def test_without_the_setting_nobody_is_asked(settings, worker):
    settings.JICENG_SECOND_FACTOR = False
    client = Client()
    assert sign_in(client, worker)["Location"] == "/" and signed_in(client)
    assert not SecondFactor.objects.exists()
    assert "动态口令（第二因素）已关闭" in Client().get("/accounts/login/").content.decode()


def test_roles_outside_the_list_are_not_asked(world):
    clerk = world.a("store_clerk")
    client = Client()
    assert sign_in(client, clerk)["Location"] == "/" and signed_in(client)


def test_the_default_roles_are_those_holding_sensitive_rights():
    from jiceng.accounts.roles import SENSITIVE_PERMISSIONS

    sensitive = {code for code, role in ROLES.items() if role.permissions & SENSITIVE_PERMISSIONS}
    assert set(django_settings.JICENG_SECOND_FACTOR_ROLES) == sensitive


def test_deploy_check_warns_when_it_is_off(settings):
    assert checks.second_factor(None) == []
    settings.JICENG_SECOND_FACTOR = False
    assert [m.id for m in checks.second_factor(None)] == ["jiceng.W001"]


# --- a security administrator's reset ----------------------------------------------------


def _admin_client(user) -> Client:
    """Signed in with a second factor just checked."""
    client = Client()
    client.force_login(user)
    session = client.session
    session[step_up.SESSION_KEY] = timezone.now().timestamp()
    session.save()
    return client


def test_a_security_administrator_resets_a_lost_second_factor(world, worker):
    enrol(worker)
    url = f"/accounts/users/{worker.pk}/second-factor/reset/"
    assert _admin_client(world.b("security_admin")).post(url).status_code == 404
    _admin_client(world.a("county_admin")).post(url)  # no security.grant: refused, said why
    assert SecondFactor.objects.filter(user=worker).exists()
    response = _admin_client(world.a("security_admin")).post(url)
    assert response.status_code == 302 and not SecondFactor.objects.filter(user=worker).exists()
    event = AuditEvent.objects.get(action="user.second_factor_reset")
    assert event.actor_id == world.a("security_admin").pk and event.object_id == str(worker.pk)
    client = Client()
    sign_in(client, worker)
    assert "绑定动态口令" in client.get("/accounts/login/code/").content.decode()


def test_a_security_administrators_own_factor_is_reset_only_on_the_server(world):
    """One security administrator who could take the other's second factor (and knew the
    password) would sign grants as both."""
    from tests.factories import staff

    other = staff("security_admin", "370829", username="security-two")
    enrol(other)
    client = _admin_client(world.a("security_admin"))
    assert "重置动态口令" not in client.get(f"/accounts/users/{other.pk}/").content.decode()
    client.post(f"/accounts/users/{other.pk}/second-factor/reset/")
    assert SecondFactor.objects.filter(user=other).exists()
    assert not AuditEvent.objects.filter(action="user.second_factor_reset").exists()


def test_a_reset_revokes_the_accounts_tokens(world, worker):
    enrol(worker)
    raw, _ = api_token_issue(actor=Actor.staff(worker), second_factor=True)
    bearer = {"Authorization": f"Bearer {raw}"}
    assert Client(headers=bearer).get("/api/v1/cases").status_code == 200
    _admin_client(world.a("security_admin")).post(
        f"/accounts/users/{worker.pk}/second-factor/reset/"
    )
    assert ApiToken.objects.get(user=worker).revoked_at is not None
    assert Client(headers=bearer).get("/api/v1/cases").status_code == 401


def test_a_reset_ends_the_accounts_signed_in_sessions(world, worker):
    """A lost phone may go with a laptop still signed in: that session must not go on, nor
    enrol the next factor for whoever holds it."""
    enrol(worker)
    laptop = Client()
    sign_in(laptop, worker)
    enter(laptop, totp_code(worker))
    assert laptop.get("/cases/").status_code == 200
    _admin_client(world.a("security_admin")).post(
        f"/accounts/users/{worker.pk}/second-factor/reset/"
    )
    assert not signed_in(laptop) or laptop.get("/cases/").status_code == 302
    assert laptop.get("/cases/")["Location"].startswith("/accounts/login/")
    laptop.get("/accounts/verify/?next=/cases/")
    assert not SecondFactor.objects.filter(user=worker).exists()  # it enrolled nothing
    fresh = Client()
    sign_in(fresh, worker)
    assert "绑定动态口令" in fresh.get("/accounts/login/code/").content.decode()


@pytest.mark.parametrize("action", ["create", "import", "refuse-grant", "decide-deed"])
def test_creating_importing_and_deciding_ask_for_the_code_again(world, action):
    """Every way to give an account a role, or to decide for two, is stepped up."""
    admin = world.a("county_admin" if action in ("create", "import") else "security_admin")
    if action == "decide-deed":
        admin = world.a("town_staff")
    enrol(admin)
    client = Client()
    sign_in(client, admin)
    enter(client, totp_code(admin))
    grant = _pending_grant(world) if action == "refuse-grant" else None
    urls = {
        "create": ("/accounts/users/", {"username": "zz-new", "region_code": "370829"}),
        "import": ("/accounts/users/import/", {}),
        "refuse-grant": (f"/accounts/grants/{grant.pk if grant else 0}/refuse/", {}),
        "decide-deed": ("/points/deeds/1/decide/", {"approve": "1"}),
    }
    url, data = urls[action]
    users, audited = User.objects.count(), AuditEvent.objects.count()
    later = timezone.now() + datetime.timedelta(minutes=django_settings.JICENG_STEP_UP_MINUTES + 1)
    with time_machine.travel(later):
        if action in ("create", "import"):
            assert client.get(url).status_code == 200  # the page itself is read at once
        response = client.post(url, data, headers={"referer": url})
        assert response["Location"].startswith("/accounts/verify/")
    assert (User.objects.count(), AuditEvent.objects.count()) == (users, audited)


def test_a_token_issued_without_a_second_factor_dies_when_one_is_needed(world, settings):
    """A token taken while the account's role needed no second factor (or the setting was
    off) does not outlive that: it stops once the account needs one."""
    from jiceng.accounts.models import Membership

    user = UserFactory(username="a-store-clerk")
    Membership.objects.create(user=user, role="store_clerk", region_code="370829001001")
    body = {"username": user.username, "password": PASSWORD}
    issued = Client().post("/api/v1/auth/token", body, content_type="application/json")
    bearer = {"Authorization": f"Bearer {issued.json()['token']}"}
    assert ApiToken.objects.get(user=user).second_factor_at is None
    assert Client(headers=bearer).get("/api/v1/cases").status_code in (200, 403)
    Membership.objects.filter(user=user).update(role="grid_worker", region_code="370829001001001")
    assert Client(headers=bearer).get("/api/v1/cases").status_code == 401
    enrol(user)
    again = Client().post(
        "/api/v1/auth/token", {**body, "code": totp_code(user)}, content_type="application/json"
    )
    assert ApiToken.objects.get(digest=ApiToken.digest_of(again.json()["token"])).second_factor_at
    fresh = {"Authorization": f"Bearer {again.json()['token']}"}
    assert Client(headers=fresh).get("/api/v1/cases").status_code == 200


def test_a_reset_unlocks_the_code(world, worker):
    enrol(worker)
    client = Client()
    sign_in(client, worker)
    for _ in range(django_settings.JICENG_LOGIN_MAX_FAILURES + 1):
        enter(client, "abcdef-123456")
    url = f"/accounts/users/{worker.pk}/second-factor/reset/"
    _admin_client(world.a("security_admin")).post(url)
    assert not ThrottleHit.objects.filter(scope="second_factor").exists()


# --- step-up before signing a grant --------------------------------------------------------


def _pending_grant(world) -> GrantRequest:
    grantee = UserFactory(username="grantee", region_code="370829")
    return GrantRequest.objects.create(
        user=grantee,
        role="town_staff",
        region_code="370829001",
        requested_by=world.a("county_admin"),
    )


def test_signing_a_grant_asks_for_the_code_again_once_the_last_check_is_old(world):
    admin = world.a("security_admin")
    enrol(admin)
    grant = _pending_grant(world)
    client = Client()
    sign_in(client, admin)
    enter(client, totp_code(admin))
    later = timezone.now() + datetime.timedelta(minutes=django_settings.JICENG_STEP_UP_MINUTES + 1)
    with time_machine.travel(later):
        response = client.post(
            f"/accounts/grants/{grant.pk}/sign/", headers={"referer": "/accounts/grants/"}
        )
        assert response["Location"] == "/accounts/verify/?next=%2Faccounts%2Fgrants%2F"
        grant.refresh_from_db()
        assert grant.first_signed_by is None
        assert client.get(response["Location"]).status_code == 200
        back = client.post(response["Location"], {"code": totp_code(admin)})
        assert back["Location"] == "/accounts/grants/"
        client.post(f"/accounts/grants/{grant.pk}/sign/")
        grant.refresh_from_db()
        assert grant.first_signed_by_id == admin.pk


def test_deciding_an_approval_asks_for_the_code_again_once_the_last_check_is_old(world):
    from jiceng.core import approvals
    from jiceng.core.models import Approval

    approvals.register(approvals.Kind(name="test.stepup", label="测试", permission="points.manage"))
    approval = approvals.ask(
        actor=Actor.staff(world.a("community_worker")), kind="test.stepup",
        region_code="370829001001", summary="测试事项",
    )  # fmt: skip
    decider = world.a("town_staff")
    enrol(decider)
    client = Client()
    sign_in(client, decider)
    enter(client, totp_code(decider))
    url = f"/approvals/{approval.pk}/approve"
    later = timezone.now() + datetime.timedelta(minutes=django_settings.JICENG_STEP_UP_MINUTES + 1)
    try:
        with time_machine.travel(later):
            response = client.post(url, headers={"referer": f"/approvals/{approval.pk}/"})
            assert response["Location"].startswith("/accounts/verify/")
            assert Approval.objects.get(pk=approval.pk).status == Approval.Status.PENDING
            client.post(response["Location"], {"code": totp_code(decider)})
            client.post(url)
            assert Approval.objects.get(pk=approval.pk).status == Approval.Status.APPROVED
    finally:
        approvals._kinds.pop("test.stepup", None)


@pytest.mark.parametrize("action", ["grant", "revoke", "set-active", "reset-password"])
def test_managing_an_account_asks_for_the_code_again_once_the_last_check_is_old(world, action):
    """Granting, revoking, (de)activating and resetting a password change who may do what:
    they are stepped up like signing a grant, and nothing changes before the code."""
    admin, account = world.a("county_admin"), world.a("grid_worker")
    membership = account.memberships.get()
    enrol(admin)
    client = Client()
    sign_in(client, admin)
    enter(client, totp_code(admin))
    urls = {
        "grant": (f"/accounts/users/{account.pk}/grant/", {"role": "grid_worker"}),
        "revoke": (f"/accounts/users/{account.pk}/revoke/{membership.pk}/", {}),
        "set-active": (f"/accounts/users/{account.pk}/active/", {"active": "0"}),
        "reset-password": (f"/accounts/users/{account.pk}/password/", {}),
    }
    url, data = urls[action]
    before = AuditEvent.objects.count()
    later = timezone.now() + datetime.timedelta(minutes=django_settings.JICENG_STEP_UP_MINUTES + 1)
    with time_machine.travel(later):
        response = client.post(url, data, headers={"referer": f"/accounts/users/{account.pk}/"})
        assert response["Location"].startswith("/accounts/verify/")
    account.refresh_from_db()
    assert account.is_active and account.memberships.count() == 1
    assert AuditEvent.objects.count() == before


def test_a_fresh_check_signs_at_once(world):
    admin = world.a("security_admin")
    enrol(admin)
    grant = _pending_grant(world)
    client = Client()
    sign_in(client, admin)
    enter(client, totp_code(admin))
    assert client.post(f"/accounts/grants/{grant.pk}/sign/")["Location"] == "/accounts/grants/"
    grant.refresh_from_db()
    assert grant.first_signed_by_id == admin.pk


def test_the_verify_page_leads_back_only_to_this_site(world):
    admin = world.a("security_admin")
    enrol(admin)
    client = Client()
    client.force_login(admin)
    response = client.post(
        "/accounts/verify/?next=https://evil.example/", {"code": totp_code(admin)}
    )
    assert response["Location"] == "/"


# --- API tokens ------------------------------------------------------------------------------


def test_an_api_token_for_an_account_with_a_second_factor_needs_its_code(worker):
    enrol(worker)
    client = Client()
    body = {"username": worker.username, "password": PASSWORD}
    response = client.post("/api/v1/auth/token", body, content_type="application/json")
    assert response.status_code == 400 and response.json()["code"] == "second_factor_required"
    response = client.post(
        "/api/v1/auth/token", {**body, "code": "000000"}, content_type="application/json"
    )
    assert response.json()["code"] == "second_factor_wrong"
    response = client.post(
        "/api/v1/auth/token", {**body, "code": totp_code(worker)}, content_type="application/json"
    )
    assert response.status_code == 200 and response.json()["token"].startswith("jct_")


def test_an_api_token_is_refused_before_enrolment(worker):
    body = {"username": worker.username, "password": PASSWORD, "code": "123456"}
    response = Client().post("/api/v1/auth/token", body, content_type="application/json")
    assert response.json()["code"] == "second_factor_none"


def test_the_server_command_resets_what_no_page_may(world):
    from django.core.management import call_command

    enrol(world.operator)
    call_command("grant", world.operator.username, "--reset-second-factor")
    assert not SecondFactor.objects.filter(user=world.operator).exists()
    assert AuditEvent.objects.filter(
        action="user.second_factor_reset", object_id=str(world.operator.pk)
    ).exists()
    assert AuditEvent.objects.filter(action="alert.server_grant").exists()


def test_the_platform_operator_signs_in_with_a_second_factor_too(world):
    client = Client()
    assert sign_in(client, world.operator)["Location"] == "/accounts/login/code/"
    assert not signed_in(client)


# --- at once, on PostgreSQL ------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_one_code_sent_forty_times_at_once_passes_once(reference_data, world, settings):
    from tests.points.test_concurrency import CONNECTIONS, race

    settings.JICENG_LOGIN_MAX_FAILURES = 1000
    worker = world.a("grid_worker")
    enrol(worker)
    code = totp_code(worker)
    results = race(
        [
            lambda: second_factor.second_factor_verify(
                actor=Actor.staff(worker), user=worker, code=code
            )
            for _ in range(CONNECTIONS)
        ]
    )
    assert results.count("totp") == 1
    assert sorted({r.code for r in results if isinstance(r, DomainError)}) == [
        "second_factor_wrong"
    ]
    assert len(failures(worker, "replayed")) == CONNECTIONS - 1


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_of_forty_wrong_codes_at_once_at_most_the_limit_are_compared(
    reference_data, world, settings
):
    from tests.points.test_concurrency import CONNECTIONS, race

    worker = world.a("grid_worker")
    enrol(worker)
    results = race(
        [
            lambda n=n: second_factor.second_factor_verify(
                actor=Actor.staff(worker), user=worker, code=f"wrong-{n:06d}"
            )
            for n in range(CONNECTIONS)
        ]
    )
    codes = [r.code for r in results]
    assert codes.count("second_factor_wrong") <= settings.JICENG_LOGIN_MAX_FAILURES
    assert codes.count("second_factor_locked") >= CONNECTIONS - settings.JICENG_LOGIN_MAX_FAILURES
    assert len(failures(worker)) == CONNECTIONS
