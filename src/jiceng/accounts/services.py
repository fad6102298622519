"""Writes for accounts: login, API tokens, and managing staff accounts within one's scope."""

import datetime
import secrets

from django.conf import settings
from django.contrib.auth import authenticate, password_validation
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from jiceng.accounts.backends import is_locked
from jiceng.accounts.models import ApiToken, Department, Membership, User
from jiceng.accounts.roles import ROLES
from jiceng.core import audit
from jiceng.core.access import require
from jiceng.core.errors import DomainError, NotFound
from jiceng.core.models import AuditEvent
from jiceng.places.models import Building
from jiceng.places.selectors import region_get_any


def login_check(*, request, username: str, password: str) -> User:
    """Check a username and password; lockout and audit included. Raises DomainError."""
    user = authenticate(request, username=username, password=password)
    if user is not None:
        audit.record(actor=user, action="auth.login", obj=user)
        return user
    known = User.objects.filter(username=username).first()
    locked = known is not None and is_locked(known)
    audit.record(
        actor=None,
        action="auth.login",
        object_type="accounts.user",
        object_id=known.pk if known else "",
        region_code=known.region_code if known else "",
        outcome=AuditEvent.FAILURE,
        detail={"username": username[:150], "reason": "locked" if locked else "credentials"},
    )
    if locked:
        raise DomainError(
            f"连续登录失败次数过多，账号已锁定，请{settings.JICENG_LOGIN_LOCK_MINUTES}分钟后再试。",
            code="account_locked",
        )
    raise DomainError("用户名或密码错误。", code="invalid_credentials")


def api_token_issue(*, user: User, name: str = "") -> tuple[str, ApiToken]:
    """Create a personal access token. The raw token is returned once and never stored."""
    raw = ApiToken.PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        name=name[:64],
        digest=ApiToken.digest_of(raw),
        expires_at=timezone.now() + datetime.timedelta(days=settings.JICENG_API_TOKEN_DAYS),
    )
    audit.record(actor=user, action="auth.token_issue", obj=token)
    return raw, token


def api_token_authenticate(raw: str) -> ApiToken | None:
    """The token (with its user) for a bearer string, or None if it is unknown, expired,
    revoked, or its user has been deactivated."""
    if not raw.startswith(ApiToken.PREFIX):
        return None
    now = timezone.now()
    token = (
        ApiToken.objects.select_related("user")
        .filter(digest=ApiToken.digest_of(raw), revoked_at__isnull=True, expires_at__gt=now)
        .first()
    )
    if token is None or not token.user.is_active:
        return None
    if token.last_used_at is None or now - token.last_used_at > datetime.timedelta(minutes=5):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token


def api_token_revoke(*, actor: User, token: ApiToken) -> None:
    if token.user_id != actor.pk:
        raise NotFound()
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    audit.record(actor=actor, action="auth.token_revoke", obj=token)


def _require_manageable(actor: User, user: User) -> None:
    if not user.region_code:
        raise NotFound()
    require(actor, "users.manage", user.region_code)


def _validated_password(password: str, user: User) -> str:
    try:
        password_validation.validate_password(password, user)
    except ValidationError as error:
        raise DomainError(
            " ".join(error.messages), code="weak_password", field="password"
        ) from None
    return password


@transaction.atomic
def user_create(
    *,
    actor: User,
    username: str,
    full_name: str,
    region_code: str,
    password: str,
    phone: str = "",
    department: Department | None = None,
) -> User:
    require(actor, "users.manage", region_code)
    region_get_any(code=region_code)
    username = username.strip()
    if not username:
        raise DomainError("请填写账号。", code="username_required", field="username")
    if User.objects.filter(username=username).exists():
        raise DomainError("该账号已存在。", code="username_taken", field="username")
    if department is not None and not region_code.startswith(department.region_code):
        raise DomainError("所属部门不在本区划内。", code="department_scope", field="department")
    user = User(
        username=username,
        full_name=full_name.strip(),
        region_code=region_code,
        phone=phone.strip(),
        department=department,
    )
    user.set_password(_validated_password(password, user))
    user.save()
    audit.record(actor=actor, action="user.create", obj=user)
    return user


@transaction.atomic
def membership_grant(
    *, actor: User, user: User, role: str, region_code: str, building: Building | None = None
) -> Membership:
    """Give `user` a role at a node (for a role held at buildings, at one `building` of the
    grid `region_code`). The actor must manage both the user and the node, and may not
    raise their own rights."""
    _require_manageable(actor, user)
    require(actor, "users.manage", region_code)
    if user.pk == actor.pk:
        raise DomainError("不能给自己授予角色。", code="self_grant")
    if role not in ROLES:
        raise DomainError("未知角色。", code="unknown_role", field="role")
    region = region_get_any(code=region_code)
    _check_building(role, region_code, building)
    if building is None and region.level not in ROLES[role].levels:
        raise DomainError(
            f"“{ROLES[role].label}”不能设在{region.get_level_display()}一级。",
            code="role_level",
            field="region_code",
        )
    membership, created = Membership.objects.get_or_create(
        user=user,
        role=role,
        region_code=region_code,
        defaults={"created_by": actor, "building": building},
    )
    if not created and membership.building_id != (building.pk if building else None):
        if membership.is_active and membership.building_id is not None:
            raise DomainError("该账号已在本网格另一楼栋任此岗位，请先撤销。", code="building_taken")
        membership.building = building
        membership.save(update_fields=["building"])
    if not created and not membership.is_active:
        membership.is_active = True
        membership.save(update_fields=["is_active"])
    audit.record(
        actor=actor,
        action="user.grant",
        obj=membership,
        detail={"user": user.username, "role": role}
        | ({"building": building.pk} if building else {}),
    )
    return membership


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


@transaction.atomic
def membership_revoke(*, actor: User, membership: Membership) -> None:
    _require_manageable(actor, membership.user)
    require(actor, "users.manage", membership.region_code)
    Membership.objects.filter(pk=membership.pk).update(is_active=False)
    audit.record(
        actor=actor,
        action="user.revoke",
        obj=membership,
        detail={"user": membership.user.username, "role": membership.role},
    )


@transaction.atomic
def user_set_active(*, actor: User, user: User, is_active: bool) -> None:
    _require_manageable(actor, user)
    if user.pk == actor.pk:
        raise DomainError("不能停用自己的账号。", code="self_deactivate")
    User.objects.filter(pk=user.pk).update(is_active=is_active)
    if not is_active:
        ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
    audit.record(actor=actor, action="user.activate" if is_active else "user.deactivate", obj=user)


@transaction.atomic
def user_set_password(*, actor: User, user: User, password: str) -> None:
    """Change a password: one's own, or (with users.manage) another account's."""
    if user.pk != actor.pk:
        _require_manageable(actor, user)
    user.set_password(_validated_password(password, user))
    user.failed_login_count = 0
    user.locked_until = None
    user.save(update_fields=["password", "failed_login_count", "locked_until"])
    audit.record(actor=actor, action="user.password", obj=user)
