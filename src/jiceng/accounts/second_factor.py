"""Writes for the second factor (动态口令) of staff accounts: enrolment, checking a code,
an SMS code as the fallback, and a security administrator's reset.

Who needs one is core.step_up.needed (JICENG_SECOND_FACTOR_ROLES). A code is a TOTP code
(RFC 6238, 30-second steps, one step of clock drift either way), a recovery code, or the
last SMS code sent. Every try is counted before it is compared, in a write that survives
the refusal (core.throttle under core.refusals): after JICENG_LOGIN_MAX_FAILURES wrong
codes in JICENG_LOGIN_LOCK_MINUTES the account takes no code, right or wrong, until the
time has passed or a security administrator resets its second factor.
"""

import datetime
import hashlib
import hmac
import re
import secrets

import pyotp
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.crypto import salted_hmac

from jiceng.accounts.models import ApiToken, RecoveryCode, SecondFactor, User
from jiceng.accounts.selectors import SERVER_MANAGED, held_roles
from jiceng.core import audit, outbox, personal, phones, refusals, throttle
from jiceng.core.access import require
from jiceng.core.actors import Actor
from jiceng.core.errors import DomainError, NotFound
from jiceng.core.models import AuditEvent

ISSUER = "基层治理"
STEP_SECONDS = 30
DRIFT_STEPS = 1
RECOVERY_CODES = 10
SMS_MINUTES = 5
SMS_PER_HOUR = 5
SCOPE = "second_factor"
HOUR = datetime.timedelta(hours=1)


def _lock_window() -> datetime.timedelta:
    return datetime.timedelta(minutes=settings.JICENG_LOGIN_LOCK_MINUTES)


def confirmed(user: User) -> SecondFactor | None:
    """The account's enrolled second factor, or None."""
    return SecondFactor.objects.filter(user=user, confirmed_at__isnull=False).first()


def provisioning_uri(factor: SecondFactor) -> str:
    """What the enrolment QR code holds: an otpauth:// address any authenticator app reads."""
    return pyotp.TOTP(personal.clear(factor.secret)).provisioning_uri(
        name=factor.user.username, issuer_name=ISSUER
    )


def may_send_sms(user: User) -> bool:
    return phones.mobile(personal.clear(user.phone) or "") is not None


def shown(factor: SecondFactor) -> str:
    """A keyed digest of an unconfirmed secret, kept by the session it was shown to: only
    that session confirms it (`second_factor_begin`)."""
    return salted_hmac(SCOPE, personal.clear(factor.secret)).hexdigest()


@transaction.atomic
def second_factor_begin(*, actor: Actor, user: User, seen: str = "") -> SecondFactor:
    """A secret for an account not yet enrolled. A session that was shown the secret
    (`seen`, its `shown` digest) keeps it, so that a reload does not undo what the phone
    has scanned; any other session gets a new one. A secret seen elsewhere (by whoever
    signed in with a stolen password and left the page open) is never the one confirmed."""
    factor = SecondFactor.objects.select_for_update().filter(user=user).first()
    if factor is not None and factor.confirmed_at is not None:
        raise DomainError("该账号已绑定动态口令。", code="second_factor_enrolled")
    if factor is not None and seen and hmac.compare_digest(seen, shown(factor)):
        return factor
    if factor is None:
        factor = SecondFactor.objects.create(user=user, secret=pyotp.random_base32())
    else:
        factor.secret = pyotp.random_base32()
        factor.last_step = 0
        factor.save(update_fields=["secret", "last_step"])
    audit.record(
        actor=actor,
        action="user.second_factor_begin",
        obj=user,
        detail={"username": user.username},
    )
    return factor


def _new_recovery_codes(factor: SecondFactor) -> list[str]:
    codes = [
        "-".join(secrets.token_hex(3) for _ in range(2)) for _ in range(RECOVERY_CODES)
    ]  # 48 bits each, typed as 3a5f09-c41d2e
    RecoveryCode.objects.filter(factor=factor).delete()
    RecoveryCode.objects.bulk_create(
        [RecoveryCode(factor=factor, digest=RecoveryCode.digest_of(code)) for code in codes]
    )
    return codes


def _counted_try(actor: Actor, user: User, method: str) -> int:
    """Count one try at a code, or refuse it once the account has had too many. Outside
    any transaction, as a sign-in's tries are (accounts.services.login_check): each try is
    written, and seen by every other, before it is counted and before any code is
    compared, so that however many arrive at once no more than the limit are compared."""
    attempt = throttle.hit(SCOPE, user.pk)
    most = settings.JICENG_LOGIN_MAX_FAILURES
    tries = throttle.count(
        SCOPE, user.pk, within=_lock_window(), since=user.login_unlocked_at, limit=most + 1
    )
    if tries > most:
        refusals.refuse(
            DomainError(
                f"动态口令连续输错{most}次，请{settings.JICENG_LOGIN_LOCK_MINUTES}分钟后再试，"
                "或请安全管理员重置动态口令。",
                code="second_factor_locked",
            ),
            record=lambda: _failed(actor, user, method, "locked"),
        )
    return attempt


def _failed(actor: Actor, user: User, method: str, reason: str) -> None:
    audit.record(
        actor=actor,
        action="auth.second_factor",
        obj=user,
        outcome=AuditEvent.FAILURE,
        detail={"username": user.username, "method": method, "reason": reason},
    )


def _wrong(actor: Actor, user: User, method: str, reason: str = "wrong"):
    refusals.refuse(
        DomainError("动态口令不正确或已用过，请输入新的一组。", code="second_factor_wrong"),
        record=lambda: _failed(actor, user, method, reason),
    )


def _totp_step(factor: SecondFactor, code: str) -> int | None:
    """The time step `code` is the TOTP code of, within the drift allowed, or None."""
    totp = pyotp.TOTP(personal.clear(factor.secret))
    now = int(timezone.now().timestamp()) // STEP_SECONDS
    for step in range(now - DRIFT_STEPS, now + DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.at(step * STEP_SECONDS), code):
            return step
    return None


def _accept_totp(actor: Actor, factor: SecondFactor, code: str) -> None:
    """A TOTP code, once: its step must be later than the last one accepted (a conditional
    update, so two requests with the same code cannot both pass)."""
    step = _totp_step(factor, code)
    if step is None:
        _wrong(actor, factor.user, "totp")
    if not SecondFactor.objects.filter(pk=factor.pk, last_step__lt=step).update(last_step=step):
        _wrong(actor, factor.user, "totp", "replayed")


SIX_DIGITS = re.compile(r"^[0-9]{6}$")
UNDASHED = re.compile(r"^([0-9a-f]{6})([0-9a-f]{6})$")


def second_factor_confirm(*, actor: Actor, user: User, code: str, seen: str) -> list[str]:
    """Finish enrolment with a code from the secret this session was shown (`seen`);
    return the recovery codes, to be shown this once (only their digests are kept)."""
    attempt = _counted_try(actor, user, "enrol")
    return _confirm(actor, user, (code or "").strip().replace(" ", ""), seen, attempt)


@refusals.atomic
def _confirm(actor: Actor, user: User, code: str, seen: str, attempt: int) -> list[str]:
    factor = SecondFactor.objects.select_for_update().filter(user=user).first()
    if factor is None or factor.confirmed_at is not None:
        raise DomainError("请重新登录后绑定动态口令。", code="second_factor_not_begun")
    if not hmac.compare_digest(seen or "", shown(factor)):
        raise DomainError(
            "密钥已更换（这个账号在别处打开了绑定页面），请扫描本页新的二维码后再输入。",
            code="second_factor_secret_changed",
        )
    factor.user = user
    _accept_totp(actor, factor, code)
    throttle.release(attempt)
    SecondFactor.objects.filter(pk=factor.pk).update(confirmed_at=timezone.now())
    codes = _new_recovery_codes(factor)
    audit.record(
        actor=actor,
        action="user.second_factor_enrol",
        obj=user,
        detail={"username": user.username},
    )
    return codes


def second_factor_verify(*, actor: Actor, user: User, code: str) -> str:
    """Check a code of an enrolled account: a TOTP code, a recovery code (used up), or the
    SMS code last sent. Returns which it was."""
    factor = confirmed(user)
    if factor is None:
        raise DomainError("该账号尚未绑定动态口令，请先在网页登录绑定。", code="second_factor_none")
    code = (code or "").strip().replace(" ", "").lower()
    if not code:  # not a try: nothing to count
        raise DomainError("请填写动态口令。", code="second_factor_required", field="code")
    factor.user = user
    attempt = _counted_try(actor, user, "code")
    return _verify(actor, factor, code, attempt)


@refusals.atomic
def _verify(actor: Actor, factor: SecondFactor, code: str, attempt: int) -> str:
    user = factor.user
    now = timezone.now()
    if SIX_DIGITS.match(code) and factor.sms_digest:
        if hmac.compare_digest(factor.sms_digest, _sms_digest(user, code)):
            if not SecondFactor.objects.filter(
                pk=factor.pk, sms_digest=factor.sms_digest, sms_expires_at__gt=now
            ).update(sms_digest="", sms_expires_at=None):
                _wrong(actor, user, "sms", "expired")
            method = "sms"
        else:
            _accept_totp(actor, factor, code)
            method = "totp"
    elif SIX_DIGITS.match(code):
        _accept_totp(actor, factor, code)
        method = "totp"
    else:
        code = UNDASHED.sub(r"\1-\2", code)  # 3a5f09c41d2e, typed without its dash
        used = RecoveryCode.objects.filter(
            factor=factor, digest=RecoveryCode.digest_of(code), used_at__isnull=True
        ).update(used_at=now)
        if not used:
            _wrong(actor, user, "recovery")
        method = "recovery"
    throttle.release(attempt)
    left = RecoveryCode.objects.filter(factor=factor, used_at__isnull=True).count()
    audit.record(
        actor=actor,
        action="auth.second_factor",
        obj=user,
        detail={"username": user.username, "method": method, "recovery_left": left},
    )
    return method


def _sms_digest(user: User, code: str) -> str:
    return hmac.new(
        settings.SECRET_KEY.encode(), f"second_factor:{user.pk}:{code}".encode(), hashlib.sha256
    ).hexdigest()


@refusals.atomic
def second_factor_sms_send(*, actor: Actor, user: User) -> None:
    """Send a 6-digit code to the account's own phone through the county's SMS gateway (the
    outbox): for one who has not the authenticator at hand. At most one a minute and
    SMS_PER_HOUR an hour (each costs the county money)."""
    factor = confirmed(user)
    if factor is None or not may_send_sms(user):
        raise DomainError("该账号没有登记手机号，不能发送短信验证码。", code="no_phone")
    too_soon = DomainError("验证码已发送，请一分钟后再试。", code="sms_too_soon")
    if throttle.count("second_factor.sms", user.pk, within=datetime.timedelta(minutes=1)):
        raise too_soon
    throttle.take(
        "second_factor.sms",
        user.pk,
        limit=SMS_PER_HOUR,
        within=HOUR,
        error=DomainError("验证码发送次数过多，请一小时后再试。", code="sms_too_many"),
    )
    code = f"{secrets.randbelow(10**6):06d}"
    expires_at = timezone.now() + datetime.timedelta(minutes=SMS_MINUTES)
    SecondFactor.objects.filter(pk=factor.pk).update(
        sms_digest=_sms_digest(user, code), sms_expires_at=expires_at
    )
    outbox.put(
        [
            outbox.sms(
                phone=user.phone,
                template="staff_code",
                params={"code": code, "minutes": SMS_MINUTES},
                key=f"second_factor:{user.pk}:{secrets.token_hex(8)}",
                expires_at=expires_at,
            )
        ]
    )
    audit.record(
        actor=actor, action="auth.second_factor_sms", obj=user, detail={"username": user.username}
    )


def _forget(user: User) -> None:
    """What went with a second factor taken away: its lock, the account's tokens, and its
    signed-in sessions (one left open could enrol the next factor)."""
    throttle.clear(SCOPE, user.pk)
    User.objects.filter(pk=user.pk).update(session_epoch=F("session_epoch") + 1)
    ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=timezone.now())


@transaction.atomic
def second_factor_reset(*, actor: Actor, user: User) -> None:
    """A security administrator takes an account's second factor away (a lost phone, used
    up recovery codes): its holder enrols a new one at the next sign-in, and a lock from
    wrong codes opens; the account's tokens and signed-in sessions end. The accounts of
    security administrators and auditors are reset only on the server (a security
    administrator who could take a colleague's would sign grants as both)."""
    if not user.region_code or user.is_superuser:
        raise NotFound()
    require(actor, "security.grant", user.region_code)
    if user.pk == actor.user_id:
        raise DomainError("不能重置自己的动态口令。", code="self_reset")
    if held_roles(user) & set(SERVER_MANAGED):
        raise DomainError(
            "安全管理员、审计管理员的动态口令只能由服务器上的 jiceng grant 命令重置。",
            code="server_managed",
        )
    deleted, _ = SecondFactor.objects.filter(user=user).delete()
    if not deleted:
        raise DomainError("该账号尚未绑定动态口令。", code="second_factor_none")
    _forget(user)
    audit.record(
        actor=actor,
        action="user.second_factor_reset",
        obj=user,
        detail={"username": user.username},
    )


@transaction.atomic
def server_reset_second_factor(*, actor: Actor, username: str) -> None:
    """`jiceng grant --reset-second-factor`: the way back in for an account no security
    administrator may reset (the platform operator's, or a security administrator's own
    when no other is at hand). Audited, with an alert to the auditor."""
    user = User.objects.filter(username=username).first()
    if user is None:
        raise DomainError("没有这个账号。", code="not_found")
    SecondFactor.objects.filter(user=user).delete()
    _forget(user)
    detail = {"username": username, "via": "jiceng grant"}
    audit.record(actor=actor, action="user.second_factor_reset", obj=user, detail=detail)
    audit.alert(
        kind="server_grant",
        text=f"服务器命令重置了账号 {username} 的动态口令。",
        region_code=user.region_code,
        detail=detail,
    )
