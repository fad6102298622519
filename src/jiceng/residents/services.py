"""Residents: sign-in by one-time code, the personal code shown at a store counter, and
staff confirming which person record a resident is."""

import datetime
import hashlib
import hmac
import re
import secrets

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.utils import timezone

from jiceng.core import audit
from jiceng.core.access import require
from jiceng.core.errors import DomainError, NotFound
from jiceng.core.masking import mask_phone
from jiceng.residents import sms
from jiceng.residents.models import OneTimeCode, Resident

MOBILE = re.compile(r"^1[3-9]\d{9}$")
CODE_MINUTES = 5
MAX_ATTEMPTS = 5
OTP_PER_HOUR_CLIENT = 10
SESSION_KEY = "resident_id"
PERSONAL_CODE_SECONDS = 120
SIGNER_SALT = "jiceng.residents.personal-code"


def _digest(phone: str, code: str) -> str:
    return hmac.new(
        settings.SECRET_KEY.encode(), f"{phone}:{code}".encode(), hashlib.sha256
    ).hexdigest()


def normalize_phone(phone: str) -> str:
    phone = re.sub(r"[\s-]", "", phone or "")
    if not MOBILE.match(phone):
        raise DomainError("请输入11位手机号。", code="phone_invalid", field="phone")
    return phone


def otp_request(*, phone: str, fingerprint: str) -> None:
    """Send a 6-digit code by SMS: at most one a minute and five an hour per phone, and
    OTP_PER_HOUR_CLIENT an hour from one device or address (SMS costs the county money)."""
    phone = normalize_phone(phone)
    now = timezone.now()
    hour = OneTimeCode.objects.filter(created_at__gte=now - datetime.timedelta(hours=1))
    recent = hour.filter(phone=phone)
    if recent.filter(created_at__gte=now - datetime.timedelta(minutes=1)).exists():
        raise DomainError("验证码已发送，请一分钟后再试。", code="otp_too_soon")
    if (
        recent[:5].count() >= 5
        or hour.filter(client_fingerprint=fingerprint)[:OTP_PER_HOUR_CLIENT].count()
        >= OTP_PER_HOUR_CLIENT
    ):
        raise DomainError("验证码发送次数过多，请一小时后再试。", code="otp_too_many")
    code = f"{secrets.randbelow(10**6):06d}"
    with transaction.atomic():
        OneTimeCode.objects.create(
            phone=phone,
            client_fingerprint=fingerprint,
            digest=_digest(phone, code),
            expires_at=now + datetime.timedelta(minutes=CODE_MINUTES),
        )
        audit.record(actor=None, action="resident.otp_sent", detail={"phone": mask_phone(phone)})
        transaction.on_commit(
            lambda: sms.send(
                phone, f"【基层治理】您的登录验证码为 {code}，{CODE_MINUTES}分钟内有效。"
            )
        )


@transaction.atomic
def otp_verify(*, phone: str, code: str) -> Resident:
    """Check a code; the first success for a phone creates the resident."""
    phone = normalize_phone(phone)
    now = timezone.now()
    otp = (
        OneTimeCode.objects.select_for_update()
        .filter(phone=phone, used_at__isnull=True, expires_at__gt=now)
        .order_by("-created_at")
        .first()
    )
    if otp is None or otp.attempts >= MAX_ATTEMPTS:
        raise DomainError("验证码已失效，请重新获取。", code="otp_expired")
    if not hmac.compare_digest(otp.digest, _digest(phone, (code or "").strip())):
        OneTimeCode.objects.filter(pk=otp.pk).update(attempts=otp.attempts + 1)
        audit.record(
            actor=None,
            action="resident.login",
            outcome="failure",
            detail={"phone": mask_phone(phone)},
        )
        raise DomainError("验证码不正确。", code="otp_wrong")
    OneTimeCode.objects.filter(pk=otp.pk).update(used_at=now)
    resident, _ = Resident.objects.get_or_create(phone=phone)
    if not resident.is_active:
        raise DomainError("该账号已停用，请联系社区。", code="resident_inactive")
    Resident.objects.filter(pk=resident.pk).update(last_login_at=now)
    audit.record(actor=None, action="resident.login", obj=resident)
    return resident


def resident_by_phone(phone: str) -> Resident:
    """The resident with this mobile number, registered now if staff name them first (a
    team leader, a member, someone given points); they sign in later with a code."""
    resident, _ = Resident.objects.get_or_create(phone=normalize_phone(phone))
    return resident


def resident_login(request, resident: Resident) -> None:
    request.session.cycle_key()
    request.session[SESSION_KEY] = resident.pk


def resident_logout(request) -> None:
    request.session.pop(SESSION_KEY, None)


def current_resident(request) -> Resident | None:
    pk = request.session.get(SESSION_KEY)
    if not pk:
        return None
    return Resident.objects.filter(pk=pk, is_active=True).select_related("person").first()


def personal_code(resident: Resident) -> str:
    """A short-lived signed code naming the resident, for the store counter's QR."""
    return signing.TimestampSigner(salt=SIGNER_SALT).sign(str(resident.pk))


def resident_from_personal_code(code: str) -> Resident:
    try:
        pk = signing.TimestampSigner(salt=SIGNER_SALT).unsign(code, max_age=PERSONAL_CODE_SECONDS)
    except signing.SignatureExpired:
        raise DomainError("居民码已过期，请让居民刷新后重新出示。", code="code_expired") from None
    except signing.BadSignature:
        raise DomainError("无效的居民码。", code="code_invalid") from None
    resident = Resident.objects.filter(pk=pk, is_active=True).first()
    if resident is None:
        raise NotFound("未找到该居民。")
    return resident


@transaction.atomic
def resident_confirm(*, actor, resident: Resident, person) -> Resident:
    """Staff confirm that a signed-in resident is a given person (by their records)."""
    require(actor, "residents.confirm", person.region_code)
    if Resident.objects.filter(person=person).exclude(pk=resident.pk).exists():
        raise DomainError("该人员已对应其他居民账号。", code="person_taken")
    resident.person = person
    resident.region_code = person.region_code
    resident.confirmed_by = actor
    resident.confirmed_at = timezone.now()
    resident.save(update_fields=["person", "region_code", "confirmed_by", "confirmed_at"])
    audit.record(
        actor=actor, action="resident.confirm", obj=resident, region_code=person.region_code
    )
    return resident
