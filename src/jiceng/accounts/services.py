"""Writes for accounts: signing in, API tokens, staff accounts and the roles they hold.

Separation of duties (accounts.roles): the system administrator creates accounts and
grants roles without sensitive rights; a sensitive role takes effect once two security
administrators have signed it; administrator roles are held alone; the accounts of
security administrators and auditors are managed only on the server (`jiceng grant`).
"""

import datetime
import re
import secrets

from django.conf import settings
from django.contrib.auth import authenticate, logout, password_validation
from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from jiceng.accounts.hashers import generated_password
from jiceng.accounts.models import ApiToken, Department, GrantBatch, GrantRequest, Membership, User
from jiceng.accounts.roles import (
    ADMINISTRATOR_ROLES,
    ASSIGNMENT_KINDS,
    ROLES,
    SENSITIVE_PERMISSIONS,
)
from jiceng.accounts.selectors import SERVER_MANAGED, held_roles, held_roles_of
from jiceng.core import audit, outbox, personal, phones, refusals, step_up, throttle
from jiceng.core.access import has_permission, require
from jiceng.core.actors import Actor
from jiceng.core.errors import DomainError, NotFound
from jiceng.core.middleware import client_ip
from jiceng.core.models import AuditEvent
from jiceng.core.region_codes import community_of, is_within
from jiceng.places.models import Building, Region
from jiceng.places.selectors import region_get_any

USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,149}$")
USERNAME_RULE = "账号须为2至150位的小写英文字母、数字或 . _ -，并以字母或数字开头。"


def login_refused_message() -> str:
    """The one answer to every failed sign-in (it must not tell one failure from another)."""
    return (
        f"用户名或密码错误。同一账号在同一设备上连续输错{settings.JICENG_LOGIN_MAX_FAILURES}次后，"
        f"须等待{settings.JICENG_LOGIN_LOCK_MINUTES}分钟再试，或请管理员重置密码。"
    )


HOUR = datetime.timedelta(hours=1)

# --- signing in -----------------------------------------------------------------------------


def _lock_window() -> datetime.timedelta:
    return datetime.timedelta(minutes=settings.JICENG_LOGIN_LOCK_MINUTES)


def login_check(*, actor: Actor, request, username: str, password: str) -> User:
    """Check a username and password. Every failure — unknown account, wrong password,
    locked, deactivated, too many tries from this address or on this name — gets the same
    answer after the same work (one password hash), and is counted and audited.

    The lock holds for one account from one client address. Failures on one name from
    everywhere slow its tries down (one checked every JICENG_LOGIN_SLOWDOWN_SECONDS, the
    others refused at once, whether or not the name exists) and alert the auditor, but
    lock nobody out. Each try is counted before the password is checked (and taken back
    if it succeeds), so that tries sent all at once cannot pass the limits together."""
    address = throttle.address_key(client_ip(request) or "")
    name = username.strip().lower()[:150]
    window = _lock_window()
    known = User.objects.filter(username=username).first()
    address_try = throttle.hit("login.address", address)
    if known is not None:
        throttle.hit("login.pair", known.pk, address)
    slowed = False
    if _name_under_attack(name, window):
        throttle.hit("login.slow", name)
        slow = datetime.timedelta(seconds=settings.JICENG_LOGIN_SLOWDOWN_SECONDS)
        slowed = throttle.count("login.slow", name, within=slow, limit=2) > 1
    user = authenticate(request, username=username, password=password)
    address_limit = settings.JICENG_LOGIN_FAILURES_PER_HOUR_ADDRESS
    most = settings.JICENG_LOGIN_MAX_FAILURES
    if throttle.count("login.address", address, within=HOUR, limit=address_limit + 1) > (
        address_limit
    ):
        reason = "address"
    elif (
        known is not None
        and throttle.count(
            "login.pair",
            known.pk,
            address,
            within=window,
            since=known.login_unlocked_at,
            limit=most + 1,
        )
        > most
    ):
        reason = "locked"
    elif slowed:
        reason = "slowed"
    elif user is None:
        reason = "inactive" if known is not None and not known.is_active else "credentials"
    else:
        throttle.release(address_try)
        throttle.clear("login.pair", user.pk, address)
        audit.record(
            actor=Actor.staff(user),
            # An account that signs in with a second factor is not signed in yet: the
            # auditor reads the password step apart (its sign-in is the code's pass).
            action="auth.login_password" if step_up.needed(user) else "auth.login",
            obj=user,
            region_code=user.audit_region_code(),
        )
        return user
    refusals.refuse(
        DomainError(login_refused_message(), code="invalid_credentials"),
        record=lambda: _login_failed(actor, known, name, reason),
    )


def _name_under_attack(name: str, window: datetime.timedelta) -> bool:
    limit = settings.JICENG_LOGIN_ACCOUNT_ALERT
    return throttle.count("login.name", name, within=window, limit=limit) >= limit


def _login_failed(actor: Actor, known: User | None, name: str, reason: str) -> None:
    """Audit a refused sign-in: against an account, in that account's county; against a
    name no account has, with no region (an auditor above the counties reads it) and the
    name only as a keyed digest: people type their password into the wrong box. The same
    name gives the same digest, so a burst against one name still shows."""
    throttle.hit("login.name", name)
    window = _lock_window()
    region_code = known.audit_region_code() if known is not None else ""
    if (
        known is not None
        and _name_under_attack(name, window)
        and not throttle.count("login.alerted", known.pk, within=window)
    ):
        throttle.hit("login.alerted", known.pk)
        audit.alert(
            kind="login_attack",
            text=f"账号 {known.username} 短时间内登录失败 "
            f"{settings.JICENG_LOGIN_ACCOUNT_ALERT} 次以上，已放慢对它的尝试。",
            region_code=region_code,
            detail={"username": known.username},
        )
    typed = (
        {"username": known.username}
        if known is not None
        else {"name_digest": audit.name_digest(name)}
    )
    audit.record(
        actor=actor,
        action="auth.login",
        object_type="accounts.user",
        object_id=known.pk if known else "",
        region_code=region_code,
        outcome=AuditEvent.FAILURE,
        detail={**typed, "reason": reason},
    )


def user_logout(*, actor: Actor, request) -> None:
    """Sign the staff member out, audited in their county like their sign-in."""
    if actor.is_staff:
        audit.record(
            actor=actor, action="auth.logout", obj=actor.user, region_code=actor.region_code
        )
    logout(request)


# --- API tokens -----------------------------------------------------------------------------


def api_token_issue(
    *, actor: Actor, name: str = "", second_factor: bool = False
) -> tuple[str, ApiToken]:
    """Create a personal access token for the acting user. The raw token is returned once
    and never stored. `second_factor`: its issue passed the second factor."""
    user = actor.user
    if user.password_must_change:
        raise DomainError("请先登录网页修改初始密码，再申请访问令牌。", code="password_must_change")
    raw = ApiToken.PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        name=name[:64],
        digest=ApiToken.digest_of(raw),
        expires_at=timezone.now() + datetime.timedelta(days=settings.JICENG_API_TOKEN_DAYS),
        second_factor_at=timezone.now() if second_factor else None,
    )
    audit.record(actor=actor, action="auth.token_issue", obj=token)
    return raw, token


def api_token_authenticate(raw: str) -> ApiToken | None:
    """The token (with its user) for a bearer string, or None if it is unknown, expired,
    revoked, unused for JICENG_API_TOKEN_IDLE_DAYS, its user has been deactivated, or was
    issued without a second factor to an account that now needs one."""
    if not raw.startswith(ApiToken.PREFIX):
        return None
    now = timezone.now()
    idle_since = now - datetime.timedelta(days=settings.JICENG_API_TOKEN_IDLE_DAYS)
    token = (
        ApiToken.objects.select_related("user")
        .filter(digest=ApiToken.digest_of(raw), revoked_at__isnull=True, expires_at__gt=now)
        .filter(
            Q(last_used_at__gte=idle_since)
            | Q(last_used_at__isnull=True, created_at__gte=idle_since)
        )
        .first()
    )
    if token is None or not token.user.is_active:
        return None
    if token.second_factor_at is None and step_up.needed(token.user):
        return None
    if token.last_used_at is None or now - token.last_used_at > datetime.timedelta(minutes=5):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token


def api_token_revoke(*, actor: Actor, token: ApiToken) -> None:
    if token.user_id != actor.user_id:
        raise NotFound()
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    audit.record(actor=actor, action="auth.token_revoke", obj=token)


def _revoke_tokens(user: User) -> int:
    return ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )


# --- accounts -------------------------------------------------------------------------------


def _require_manageable(actor: Actor, user: User) -> None:
    """The system administrator manages accounts in scope, except the platform operator's
    and those of security administrators and auditors (managed on the server only)."""
    if not user.region_code or user.is_superuser:
        raise NotFound()
    require(actor, "users.manage", user.region_code)
    if held_roles(user) & set(SERVER_MANAGED):
        raise DomainError(
            "安全管理员、审计管理员的账号只能由服务器上的 jiceng grant 命令管理。",
            code="server_managed",
        )


def _validated_password(password: str, user: User) -> str:
    try:
        password_validation.validate_password(password, user)
    except ValidationError as error:
        raise DomainError(
            " ".join(error.messages), code="weak_password", field="password"
        ) from None
    return password


def check_username(username: str) -> str:
    """New account names: lowercase ASCII letters, digits, dot, dash, underscore — no
    look-alikes (AUDITOR, Cyrillic а) of an existing account."""
    username = username.strip()
    if not username:
        raise DomainError("请填写账号。", code="username_required", field="username")
    if not USERNAME.match(username):
        raise DomainError(USERNAME_RULE, code="username_invalid", field="username")
    if User.objects.filter(username__iexact=username).exists():
        raise DomainError("该账号已存在。", code="username_taken", field="username")
    return username


def first_password_message(user: User, password: str) -> outbox.Message:
    """The SMS that carries a first password (each one a new occurrence: a reset sends
    another)."""
    return outbox.sms(
        phone=user.phone,
        template="first_password",
        params={"username": user.username, "password": password},
        key=f"password:{user.pk}:{secrets.token_hex(8)}",
    )


def _send_first_password(user: User, password: str) -> None:
    """A first password goes to the account's own phone, through the outbox (sent once
    the account's transaction commits): no administrator ever sees it, so none can sign
    in as the account it made."""
    outbox.put([first_password_message(user, password)])


def check_phone(phone: str) -> str:
    number = phones.mobile(phone)
    if number is None:
        raise DomainError(
            "请填写本人的11位手机号：初始密码将以短信发到这个手机。",
            code="phone_invalid",
            field="phone",
        )
    return number


@transaction.atomic
def user_create(
    *,
    actor: Actor,
    username: str,
    full_name: str,
    region_code: str,
    phone: str,
    department: Department | None = None,
) -> User:
    """A staff account, its first password sent by SMS to its holder's phone."""
    require(actor, "users.manage", region_code)
    region_get_any(code=region_code)
    username = check_username(username)
    phone = check_phone(phone)
    if department is not None and not is_within(region_code, department.region_code):
        raise DomainError("所属部门不在本区划内。", code="department_scope", field="department")
    password = generated_password()
    user = User.objects.create(
        username=username,
        full_name=full_name.strip(),
        region_code=region_code,
        phone=phone,
        department=department,
        password=make_password(password, hasher="generated_sha256"),
        password_must_change=True,
    )
    _send_first_password(user, password)
    audit.record(actor=actor, action="user.create", obj=user)
    return user


@transaction.atomic
def user_set_active(*, actor: Actor, user: User, is_active: bool) -> None:
    _require_manageable(actor, user)
    if user.pk == actor.user_id:
        raise DomainError("不能停用自己的账号。", code="self_deactivate")
    User.objects.filter(pk=user.pk).update(is_active=is_active)
    if not is_active:
        _revoke_tokens(user)
    audit.record(actor=actor, action="user.activate" if is_active else "user.deactivate", obj=user)


@transaction.atomic
def user_set_password(*, actor: Actor, password: str) -> None:
    """Change one's own password. The account's API tokens die with the old one."""
    user = actor.user  # the signed-in instance: its session is kept on the new password's hash
    user.set_password(_validated_password(password, user))
    user.password_must_change = False
    user.save(update_fields=["password", "password_must_change"])
    revoked = _revoke_tokens(user)
    audit.record(actor=actor, action="user.password", obj=user, detail={"tokens_revoked": revoked})


@transaction.atomic
def user_reset_password(*, actor: Actor, user: User) -> None:
    """A new first password for an account the actor manages, sent by SMS to the account's
    own phone (never shown to the administrator); its sign-in locks open and its API
    tokens die."""
    _require_manageable(actor, user)
    if user.pk == actor.user_id:
        raise DomainError("请在“修改密码”页修改自己的密码。", code="self_reset")
    if phones.mobile(personal.clear(user.phone)) is None:
        raise DomainError(
            "该账号没有登记手机号，无法发送新密码；"
            "请由服务器上的 jiceng grant --reset-password 办理。",
            code="no_phone",
        )
    password = generated_password()
    User.objects.filter(pk=user.pk).update(
        password=make_password(password, hasher="generated_sha256"),
        password_must_change=True,
        login_unlocked_at=timezone.now(),
    )
    revoked = _revoke_tokens(user)
    _send_first_password(user, password)
    audit.record(
        actor=actor, action="user.password_reset", obj=user, detail={"tokens_revoked": revoked}
    )


# --- roles ----------------------------------------------------------------------------------


def _check_grant(
    *,
    user: User,
    role: str,
    region_code: str,
    building: Building | None = None,
    held: set[str] | None = None,
    region=None,
):
    """What holds for any grant, direct or signed: a known role at its level (a role held
    at buildings: at one building of the grid), to an active staff account that is not the
    platform operator, and administrator roles held alone."""
    if role not in ROLES:
        raise DomainError("未知角色。", code="unknown_role", field="role")
    if user.is_superuser:
        raise DomainError("平台运维账号不担任业务角色。", code="operator_no_role")
    if not user.is_active:
        raise DomainError("该账号已停用。", code="user_inactive")
    region = region or region_get_any(code=region_code)
    _check_building(role, region_code, building)
    kind = ROLES[role].department_kind
    if kind and (user.department is None or user.department.kind != kind):
        raise DomainError(
            f"“{ROLES[role].label}”只能授予{Department.Kind(kind).label}的账号。",
            code="role_department",
            field="role",
        )
    if building is None and region.level not in ROLES[role].levels:
        raise DomainError(
            f"“{ROLES[role].label}”不能设在{region.get_level_display()}一级。",
            code="role_level",
            field="region_code",
        )
    others = (held_roles(user) if held is None else held) - {role}
    if others and (role in ADMINISTRATOR_ROLES or others & set(ADMINISTRATOR_ROLES)):
        raise DomainError(
            "系统管理员、安全管理员、审计管理员须各用单独的账号，不能兼任其他角色。",
            code="separation_of_duties",
        )
    return region


def _check_building(role: str, region_code: str, building: Building | None) -> None:
    """A role held at buildings needs one building of the grid; no other role takes one."""
    if "building" not in ROLES[role].levels:
        if building is not None:
            raise DomainError(
                f"“{ROLES[role].label}”不设在楼栋。", code="building_refused", field="building"
            )
        return
    if building is None:
        raise DomainError(
            f"“{ROLES[role].label}”须指定所在楼栋。", code="building_required", field="building"
        )
    if building.region_code != region_code:
        raise DomainError("该楼栋不在所填网格内。", code="building_scope", field="building")


def _membership_activate(
    *,
    user: User,
    role: str,
    region_code: str,
    granted_by: User | None,
    building: Building | None = None,
) -> Membership:
    membership, created = Membership.objects.get_or_create(
        user=user,
        role=role,
        region_code=region_code,
        defaults={"created_by": granted_by, "building": building},
    )
    if created:
        return membership
    if membership.building_id != (building.pk if building else None):
        if membership.is_active and membership.building_id is not None:
            raise DomainError("该账号已在本网格另一楼栋任此岗位，请先撤销。", code="building_taken")
        membership.building = building
    membership.is_active, membership.created_by = True, granted_by
    membership.save(update_fields=["building", "is_active", "created_by"])
    return membership


@transaction.atomic
def membership_grant(
    *, actor: Actor, user: User, role: str, region_code: str, building: Building | None = None
) -> Membership:
    """The system administrator gives `user` a role without sensitive rights at a node it
    manages (a role held at buildings: at one `building` of the grid `region_code`). A
    sensitive role goes through `grant_request` instead."""
    _require_manageable(actor, user)
    require(actor, "users.manage", region_code)
    if user.pk == actor.user_id:
        raise DomainError("不能给自己授予角色。", code="self_grant")
    _check_grant(user=user, role=role, region_code=region_code, building=building)
    if ROLES[role].is_sensitive:
        raise DomainError(
            f"“{ROLES[role].label}”含敏感权限，须经两名安全管理员审批后生效。",
            code="needs_security_approval",
            field="role",
        )
    membership = _membership_activate(
        user=user, role=role, region_code=region_code, granted_by=actor.user, building=building
    )
    audit.record(
        actor=actor,
        action="user.grant",
        obj=membership,
        detail={"user": user.username, "role": role, "role_label": ROLES[role].label}
        | ({"building": building.pk} if building else {}),
    )
    return membership


@transaction.atomic
def grant_request(
    *, actor: Actor, user: User, role: str, region_code: str, batch: GrantBatch | None = None
) -> GrantRequest:
    """Ask for a sensitive role. A security administrator's request carries their
    signature; the system administrator's (for accounts it manages) carries none. Either
    way it takes effect only when two security administrators have signed."""
    if user.pk == actor.user_id:
        raise DomainError("不能给自己授予角色。", code="self_grant")
    signs = has_permission(actor, "security.grant", region_code)
    if not signs:
        _require_manageable(actor, user)
        require(actor, "users.manage", region_code)
    elif user.is_superuser or not user.region_code:
        raise NotFound()
    else:
        require(actor, "security.grant", user.region_code)
    _check_grant(user=user, role=role, region_code=region_code)
    if not ROLES[role].is_sensitive:
        raise DomainError("该角色无需审批，请由系统管理员直接授予。", code="not_sensitive")
    if GrantRequest.objects.filter(
        user=user, role=role, region_code=region_code, status=GrantRequest.Status.PENDING
    ).exists():
        raise DomainError("已有一份相同的授权在等待审批。", code="grant_pending")
    now = timezone.now()
    request = GrantRequest.objects.create(
        user=user,
        role=role,
        region_code=region_code,
        batch=batch,
        requested_by=actor.user,
        first_signed_by=actor.user if signs else None,
        first_signed_at=now if signs else None,
    )
    audit.record(
        actor=actor,
        action="user.grant_request",
        obj=request,
        detail={
            "user": user.username,
            "role": role,
            "role_label": ROLES[role].label,
            "signed": signs,
        },
    )
    return request


def _locked_pending(request: GrantRequest) -> GrantRequest:
    locked = (
        GrantRequest.objects.select_for_update(of=("self",))
        .select_related("user")
        .get(pk=request.pk)
    )
    if locked.status != GrantRequest.Status.PENDING:
        raise DomainError("该授权已办结。", code="grant_decided")
    return locked


def signable_refusal(actor: Actor, request: GrantRequest) -> str:
    """Why this security administrator may not sign this request ("" if they may)."""
    if not has_permission(actor, "security.grant", request.region_code):
        return "scope"
    if actor.user_id == request.user_id:
        return "self_grant"
    if actor.user_id == request.first_signed_by_id:
        return "second_signer_required"
    return ""


def _sign_all(actor: Actor, requests: list[GrantRequest]) -> None:
    """Sign locked, pending, signable requests: the first signature grants, the second
    (another person) approves, and the role takes effect. Checked and written a batch at
    a time, so that approving a thousand imported grid workers is one short click."""
    now = timezone.now()
    first = [r for r in requests if r.first_signed_by_id is None]
    second = [r for r in requests if r.first_signed_by_id is not None]
    events = []
    if first:
        GrantRequest.objects.filter(pk__in=[r.pk for r in first]).update(
            first_signed_by=actor.user, first_signed_at=now
        )
        for request in first:
            request.first_signed_by, request.first_signed_at = actor.user, now
            events.append(
                audit.event(
                    actor=actor,
                    action="user.grant_sign",
                    obj=request,
                    detail={
                        "user": request.user.username,
                        "role": request.role,
                        "role_label": ROLES[request.role].label,
                    },
                )
            )
    if second:
        # What held when each was asked for must hold still (the account may have changed).
        held = held_roles_of({r.user_id for r in second})
        regions = {
            r.code: r for r in Region.objects.filter(code__in={r.region_code for r in second})
        }
        for request in second:
            try:
                _check_grant(
                    user=request.user,
                    role=request.role,
                    region_code=request.region_code,
                    held=held[request.user_id],
                    region=regions.get(request.region_code),
                )
            except DomainError as refusal:
                account = f"{request.user.full_name or request.user.username}（{request.user}）"
                raise DomainError(f"{account}：{refusal.message}", code=refusal.code) from None
        GrantRequest.objects.filter(pk__in=[r.pk for r in second]).update(
            second_signed_by=actor.user,
            decided_by=actor.user,
            status=GrantRequest.Status.APPROVED,
            decided_at=now,
        )
        for request in second:
            request.second_signed_by = request.decided_by = actor.user
            request.status, request.decided_at = GrantRequest.Status.APPROVED, now
        memberships = _memberships_activate(second)
        for request in second:
            events.append(
                audit.event(
                    actor=actor,
                    action="user.grant",
                    obj=memberships[(request.user_id, request.role, request.region_code)],
                    detail={
                        "user": request.user.username,
                        "role": request.role,
                        "role_label": ROLES[request.role].label,
                        "granted_by": request.first_signed_by.username,
                        "approved_by": actor.user.username,
                    },
                )
            )
    audit.record_all(events)


def _memberships_activate(requests: list[GrantRequest]) -> dict[tuple, Membership]:
    """The memberships approved requests give, created or made active again."""
    keys = {(r.user_id, r.role, r.region_code): r for r in requests}
    existing = {
        (m.user_id, m.role, m.region_code): m
        for m in Membership.objects.filter(
            user_id__in={k[0] for k in keys}, role__in={k[1] for k in keys}
        )
        if (m.user_id, m.role, m.region_code) in keys
    }
    Membership.objects.filter(pk__in=[m.pk for m in existing.values()]).update(is_active=True)
    Membership.objects.bulk_create(
        [
            Membership(user_id=key[0], role=key[1], region_code=key[2],
                       created_by=request.first_signed_by)
            for key, request in keys.items()
            if key not in existing
        ]
    )  # fmt: skip
    return {
        (m.user_id, m.role, m.region_code): m
        for m in Membership.objects.filter(
            user_id__in={k[0] for k in keys}, role__in={k[1] for k in keys}, is_active=True
        )
    }


@transaction.atomic
def grant_sign(*, actor: Actor, request: GrantRequest) -> GrantRequest:
    """Sign a pending grant: the first security administrator's signature grants it, the
    second (another person) approves it, and the role takes effect."""
    require(actor, "security.grant", request.region_code)
    request = _locked_pending(request)
    refusal = signable_refusal(actor, request)
    if refusal == "self_grant":
        raise DomainError("不能审批给自己的授权。", code="self_grant")
    if refusal:
        raise DomainError("须由另一名安全管理员审批。", code="second_signer_required")
    _sign_all(actor, [request])
    return request


@transaction.atomic
def grant_batch_sign(*, actor: Actor, batch: GrantBatch) -> tuple[int, int]:
    """Sign every pending grant of a batch that this security administrator may sign;
    return (signed, left for someone else)."""
    requests = list(
        batch.requests.select_for_update(of=("self",))
        .filter(status=GrantRequest.Status.PENDING)
        .select_related("user", "first_signed_by")
        .order_by("pk")
    )
    signable = [r for r in requests if not signable_refusal(actor, r)]
    _sign_all(actor, signable)
    left = len(requests) - len(signable)
    audit.record(
        actor=actor,
        action="user.grant_batch_sign",
        obj=batch,
        detail={"signed": len(signable), "left": left},
    )
    return len(signable), left


@transaction.atomic
def grant_refuse(*, actor: Actor, request: GrantRequest, reason: str) -> GrantRequest:
    require(actor, "security.grant", request.region_code)
    request = _locked_pending(request)
    reason = reason.strip()
    if not reason:
        raise DomainError("请填写驳回理由。", code="reason_required", field="reason")
    request.status, request.reason = GrantRequest.Status.REFUSED, reason[:200]
    request.decided_by, request.decided_at = actor.user, timezone.now()
    request.save(update_fields=["status", "reason", "decided_by", "decided_at"])
    audit.record(actor=actor, action="user.grant_refuse", obj=request, detail={"reason": reason})
    return request


def may_revoke(actor: Actor, membership: Membership) -> bool:
    """The system administrator may take any role from an account it manages, a security
    administrator a sensitive role within its scope; nobody their own, and administrator
    roles only on the server (jiceng grant --revoke): one person alone must not be able to
    remove the county's system administrator."""
    if membership.user_id == actor.user_id or membership.role in ADMINISTRATOR_ROLES:
        return False
    role = ROLES.get(membership.role)  # None for a post held by assignment
    if (
        role is not None
        and role.is_sensitive
        and has_permission(actor, "security.grant", membership.region_code)
    ):
        return True
    try:
        _require_manageable(actor, membership.user)
    except DomainError:
        return False
    return has_permission(actor, "users.manage", membership.region_code)


@transaction.atomic
def membership_revoke(*, actor: Actor, membership: Membership) -> None:
    if membership.user_id == actor.user_id:
        raise DomainError("不能撤销自己的岗位。", code="self_revoke")
    if not may_revoke(actor, membership):
        _require_manageable(actor, membership.user)  # says why, if it can
        raise NotFound()
    Membership.objects.filter(pk=membership.pk).update(is_active=False)
    audit.record(
        actor=actor,
        action="user.revoke",
        obj=membership,
        detail={
            "user": membership.user.username,
            "role": membership.role,
            "role_label": membership.get_role_display(),
        },
    )


WORK_PHONE_MESSAGE = "工作电话应为11位手机号，或带区号的固定电话（如 0537-1234567）。"


def membership_set_work_phone(*, actor: Actor, membership: Membership, work_phone: str) -> None:
    """公开工作电话: the number a grid post publishes on its poster and intake page, set by
    the staff of the grid's community (or above), never the worker's own phone, which
    stays masked. Empty takes it off."""
    if membership.role != "grid_worker" or not membership.is_active:
        raise NotFound()
    require(actor, "cases.triage", community_of(membership.region_code))
    number = ""
    if (work_phone or "").strip():
        number = phones.reachable(work_phone)
        if number is None:
            raise DomainError(WORK_PHONE_MESSAGE, code="phone_invalid", field="work_phone")
        own = phones.mobile(personal.clear(membership.user.phone) or "")
        if own and phones.mobile(number) == own:
            raise DomainError(
                "这是网格员本人的手机号，不能作为公开工作电话；请填写岗位的工作电话。",
                code="own_phone",
                field="work_phone",
            )
    Membership.objects.filter(pk=membership.pk).update(work_phone=number)
    audit.record(
        actor=actor,
        action="user.work_phone",
        obj=membership,
        detail={"user": membership.user.username, "work_phone": number},
    )


def _require_assignable(actor: Actor, user: User, spec) -> None:
    """Who may assign `user` to a post of `spec`: the system administrator for accounts it
    manages; for a post that a department grants itself (party.manage for a branch's
    secretary), its holder, for accounts managed within its scope. Nobody assigns
    themselves, nor an administrator's account (held alone)."""
    if spec.granted_with == "users.manage":
        _require_manageable(actor, user)
    elif (
        not user.region_code
        or user.is_superuser
        or not has_permission(actor, spec.granted_with, user.region_code)
    ):
        raise DomainError("找不到该账号，或该账号不在您的管理范围内。", code="account_unknown")
    if user.pk == actor.user_id:
        raise DomainError("不能给自己授予角色。", code="self_grant")
    if held_roles(user) & set(ADMINISTRATOR_ROLES):
        raise DomainError(
            "系统管理员、安全管理员、审计管理员须各用单独的账号，不能兼任其他角色。",
            code="separation_of_duties",
        )
    if not user.is_active:
        raise DomainError("该账号已停用。", code="user_inactive")


@transaction.atomic
def assignment_grant(
    *,
    actor: Actor,
    user: User,
    kind: str,
    obj,
    valid_from: datetime.date | None = None,
    valid_until: datetime.date | None = None,
) -> Membership:
    """Assign an account to one object for a term (党支部书记 of a branch): the post's
    permissions there and in what lies in it, nothing else of its grid (core.access).
    Made by whoever the kind names (accounts.roles.AssignmentKind.granted_with) at the
    object's region; never a post with sensitive rights (those take two signatures)."""
    spec = ASSIGNMENT_KINDS.get(kind)
    if spec is None or obj._meta.label_lower != spec.object_type:
        raise DomainError("未知任命类别。", code="unknown_assignment", field="kind")
    require(actor, spec.granted_with, obj.region_code)
    _require_assignable(actor, user, spec)
    if spec.permissions & SENSITIVE_PERMISSIONS:
        raise DomainError("含敏感权限的任命须经安全管理员审批。", code="needs_security_approval")
    if valid_from and valid_until and valid_until < valid_from:
        raise DomainError("任期结束早于开始。", code="term_order", field="valid_until")
    membership, _ = Membership.objects.update_or_create(
        user=user,
        role=kind,
        object_id=obj.pk,
        defaults={
            "region_code": obj.region_code,
            "is_active": True,
            "created_by": actor.user,
            "valid_from": valid_from,
            "valid_until": valid_until,
        },
    )
    audit.record(
        actor=actor,
        action="user.assign",
        obj=membership,
        detail={"user": user.username, "kind": kind, "object": obj.pk, "label": spec.label},
    )
    return membership


@transaction.atomic
def assignment_end(*, actor: Actor, user: User, kind: str, obj) -> bool:
    """End an account's assignment to one object (the post ended); False if it held none."""
    spec = ASSIGNMENT_KINDS[kind]
    require(actor, spec.granted_with, obj.region_code)
    membership = Membership.objects.filter(
        user=user, role=kind, object_id=obj.pk, is_active=True
    ).first()
    if membership is None:
        return False
    Membership.objects.filter(pk=membership.pk).update(is_active=False)
    audit.record(
        actor=actor,
        action="user.unassign",
        obj=membership,
        detail={"user": user.username, "kind": kind, "object": obj.pk, "label": spec.label},
    )
    return True


# --- the server's own command -----------------------------------------------------------------


@transaction.atomic
def server_grant(
    *,
    actor: Actor,
    username: str,
    role: str,
    region_code: str,
    full_name: str = "",
    phone: str = "",
    revoke: bool = False,
) -> tuple[User, str]:
    """`jiceng grant`: what only someone at the server may do — make the first
    administrators of an installation, and manage security administrators' and
    auditors' accounts. Creates the account if it does not exist (returning its first
    password, to be changed at its first sign-in). Audited, with an alert to the auditor."""
    password = ""
    user = User.objects.filter(username=username).first()
    if user is None:
        if revoke:
            raise DomainError("没有这个账号。", code="not_found")
        username = check_username(username)
        region_get_any(code=region_code)
        password = generated_password()
        user = User(
            username=username,
            full_name=full_name.strip() or username,
            region_code=region_code,
            phone=phone.strip(),
            password_must_change=True,
        )
        user.password = make_password(password, hasher="generated_sha256")
        user.save()
        audit.record(actor=actor, action="user.create", obj=user, detail={"via": "jiceng grant"})
    if revoke:
        updated = Membership.objects.filter(
            user=user, role=role, region_code=region_code, is_active=True
        ).update(is_active=False)
        if not updated:
            raise DomainError("该账号没有这个角色。", code="not_found")
        action, text = "user.revoke", f"服务器命令撤销了 {username} 的{ROLES[role].label}角色。"
    else:
        _check_grant(user=user, role=role, region_code=region_code)
        _membership_activate(user=user, role=role, region_code=region_code, granted_by=None)
        action, text = "user.grant", f"服务器命令授予 {username} {ROLES[role].label}角色。"
    detail = {"user": username, "role": role, "via": "jiceng grant"}
    audit.record(actor=actor, action=action, obj=user, region_code=region_code, detail=detail)
    audit.alert(kind="server_grant", text=text, region_code=region_code, detail=detail)
    return user, password


@transaction.atomic
def server_reset_password(*, actor: Actor, username: str) -> str:
    """`jiceng grant --reset-password`: a new first password for any staff account (the
    way back in for a security administrator or auditor who lost theirs)."""
    user = User.objects.filter(username=username, is_superuser=False).first()
    if user is None:
        raise DomainError("没有这个账号。", code="not_found")
    password = generated_password()
    User.objects.filter(pk=user.pk).update(
        password=make_password(password, hasher="generated_sha256"),
        password_must_change=True,
        login_unlocked_at=timezone.now(),
    )
    _revoke_tokens(user)
    text = f"服务器命令重置了账号 {username} 的密码。"
    audit.record(actor=actor, action="user.password", obj=user, detail={"via": "jiceng grant"})
    audit.alert(kind="server_grant", text=text, region_code=user.region_code)
    return password
