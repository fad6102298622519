"""Residents: sign-in by one-time code, and staff confirming which person record a
resident is. (The code a resident shows at a store counter is the points app's.)"""

import datetime
import hashlib
import hmac
import secrets

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from jiceng.core import audit, outbox, personal, phones, refusals, throttle
from jiceng.core.access import has_permission, require
from jiceng.core.actors import Actor
from jiceng.core.errors import DomainError
from jiceng.core.masking import mask_phone
from jiceng.core.models import AuditEvent
from jiceng.residents.models import ClaimedCase, OneTimeCode, Resident, Rider

CODE_MINUTES = 5
MAX_ATTEMPTS = 5
OTP_PER_HOUR_ADDRESS = 10
HOUR = datetime.timedelta(hours=1)
SESSION_KEY = "resident_id"
NO_RESIDENT = "该手机号还没有注册居民账号，请居民先登录一次。"


def own_resident_id(actor: Actor) -> int | None:
    """The resident account this actor is: signed in as it, or staff whose own mobile it
    is (what a second person is there for: nobody confirms, pays or approves for
    themselves). One query at most."""
    if actor.is_resident:
        return actor.resident.pk
    mine = phones.mobile(personal.clear(actor.user.phone) or "") if actor.user else None
    if not mine:
        return None
    return Resident.objects.filter(phone=mine).values_list("pk", flat=True).first()


def is_self(actor: Actor, resident_id) -> bool:
    own = own_resident_id(actor)
    return own is not None and own == resident_id


def _digest(phone: str, code: str) -> str:
    return hmac.new(
        settings.SECRET_KEY.encode(), f"{phone}:{code}".encode(), hashlib.sha256
    ).hexdigest()


def normalize_phone(phone: str) -> str:
    number = phones.mobile(phone)
    if number is None:
        raise DomainError("请输入11位手机号。", code="phone_invalid", field="phone")
    return number


@refusals.atomic
def otp_request(*, actor: Actor, phone: str, address: str | None) -> None:
    """Send a 6-digit code by SMS (queued in the outbox): at most one a minute and five an
    hour per phone, and OTP_PER_HOUR_ADDRESS an hour from one client address (SMS costs
    the county money)."""
    phone = normalize_phone(phone)
    now = timezone.now()
    recent = OneTimeCode.objects.filter(phone=phone, created_at__gte=now - HOUR)
    if recent.filter(created_at__gte=now - datetime.timedelta(minutes=1)).exists():
        raise DomainError("验证码已发送，请一分钟后再试。", code="otp_too_soon")
    too_many = DomainError("验证码发送次数过多，请一小时后再试。", code="otp_too_many")
    if recent[:5].count() >= 5:
        raise too_many
    throttle.take(
        "otp.send.address", address, limit=OTP_PER_HOUR_ADDRESS, within=HOUR, error=too_many
    )
    code = f"{secrets.randbelow(10**6):06d}"
    otp = OneTimeCode.objects.create(
        phone=phone,
        digest=_digest(phone, code),
        expires_at=now + datetime.timedelta(minutes=CODE_MINUTES),
    )
    audit.record(
        actor=actor,
        action="resident.otp_sent",
        region_code=_region_of(phone),
        detail={"phone": mask_phone(phone)},
    )
    outbox.put(  # sent by the worker, or not at all once the code has expired
        [
            outbox.sms(
                phone=phone,
                template="resident_code",
                params={"code": code, "minutes": CODE_MINUTES},
                key=f"otp:{otp.pk}",
                expires_at=otp.expires_at,
            )
        ]
    )


def otp_verify(*, actor: Actor, phone: str, code: str, address: str | None) -> Resident:
    """Check a code; the first success for a phone creates the resident.

    Each try is counted before any code is compared, in a transaction of its own that
    commits first, so that however many guesses arrive at once, at most MAX_ATTEMPTS of
    them are compared with a code: after MAX_ATTEMPTS wrong ones the right one fails too.
    Tries are limited per phone (strictly) and per client address (generously: residents
    at one venue share its Wi-Fi). Every refusal is audited."""
    phone = normalize_phone(phone)
    otp = _otp_attempt(actor=actor, phone=phone, address=address)
    return _otp_check(actor=actor, otp=otp, code=code)


@refusals.atomic
def _otp_attempt(*, actor: Actor, phone: str, address: str | None) -> OneTimeCode:
    """Count one try at the phone's live code, or refuse it."""
    limited = DomainError("验证次数过多，请一小时后再试。", code="otp_verify_too_many")
    per_phone = settings.JICENG_OTP_VERIFY_PER_HOUR_PHONE
    per_address = settings.JICENG_OTP_VERIFY_PER_HOUR_ADDRESS
    try:
        throttle.take("otp.verify.phone", phone, limit=per_phone, within=HOUR, error=limited)
        throttle.take("otp.verify.address", address, limit=per_address, within=HOUR, error=limited)
    except DomainError as refusal:
        refusals.refuse(refusal, record=lambda: _login_failed(actor, phone, "limited"))
    now = timezone.now()
    otp = (
        OneTimeCode.objects.filter(phone=phone, used_at__isnull=True, expires_at__gt=now)
        .order_by("-created_at")
        .first()
    )
    counted = []
    if otp is not None:  # kept: the try stays counted whatever happens to this transaction
        refusals.keep(
            lambda: counted.append(
                OneTimeCode.objects.filter(
                    pk=otp.pk, used_at__isnull=True, expires_at__gt=now, attempts__lt=MAX_ATTEMPTS
                ).update(attempts=F("attempts") + 1)
            )
        )
    if not any(counted):
        refusals.refuse(
            DomainError("验证码已失效，请重新获取。", code="otp_expired"),
            record=lambda: _login_failed(actor, phone, "expired"),
        )
    return otp


def _matches(otp: OneTimeCode, code: str) -> bool:
    return hmac.compare_digest(otp.digest, _digest(personal.clear(otp.phone), (code or "").strip()))


@refusals.atomic
def _otp_check(*, actor: Actor, otp: OneTimeCode, code: str) -> Resident:
    """Compare a code whose try has been counted, and sign the resident in."""
    phone = personal.clear(otp.phone)
    if not _matches(otp, code):
        refusals.refuse(
            DomainError(
                "验证码不正确。如重新获取过，请输入最新一条短信中的验证码。", code="otp_wrong"
            ),
            record=lambda: _login_failed(actor, phone, "wrong"),
        )
    now = timezone.now()
    if not OneTimeCode.objects.filter(pk=otp.pk, used_at__isnull=True).update(used_at=now):
        refusals.refuse(  # the same code was used a moment ago, by another request
            DomainError("验证码已失效，请重新获取。", code="otp_expired"),
            record=lambda: _login_failed(actor, phone, "expired"),
        )
    resident, _ = Resident.objects.get_or_create(phone=phone)
    if not resident.is_active:
        refusals.refuse(
            DomainError("该账号已停用，请联系社区。", code="resident_inactive"),
            record=lambda: _login_failed(actor, phone, "inactive"),
        )
    Resident.objects.filter(pk=resident.pk).update(last_login_at=now)
    audit.record(actor=Actor.of_resident(resident), action="resident.login", obj=resident)
    return resident


def _region_of(phone: str) -> str:
    """Where a code sent to `phone`, or a try at one, is audited: the community of the
    resident with that phone, once staff have confirmed who they are; else nowhere (an
    auditor above the counties reads it)."""
    return Resident.objects.filter(phone=phone).values_list("region_code", flat=True).first() or ""


def _login_failed(actor: Actor, phone: str, reason: str) -> None:
    audit.record(
        actor=actor,
        action="resident.login",
        region_code=_region_of(phone),
        outcome=AuditEvent.FAILURE,
        detail={"phone": mask_phone(phone), "reason": reason},
    )


def resident_by_phone(phone: str) -> Resident:
    """The resident with this mobile number, registered now if staff name them first (a
    team leader, a member, someone given points); they sign in later with a code."""
    resident, _ = Resident.objects.get_or_create(phone=normalize_phone(phone))
    return resident


def resident_login(request, resident: Resident) -> None:
    request.session.cycle_key()
    request.session[SESSION_KEY] = resident.pk


def resident_logout(request) -> None:
    """Sign the resident out, audited in their community like their sign-in."""
    resident = current_resident(request)
    if resident is not None:
        actor = Actor.of_resident(resident)
        audit.record(actor=actor, action="auth.logout", obj=resident, region_code=actor.region_code)
    request.session.pop(SESSION_KEY, None)


def current_resident(request) -> Resident | None:
    pk = request.session.get(SESSION_KEY)
    if not pk:
        return None
    return Resident.objects.filter(pk=pk, is_active=True).select_related("person").first()


@refusals.atomic
def resident_confirm(*, actor: Actor, person, phone: str) -> Resident:
    """Staff confirm that the resident who signed in with `phone` is `person` (by their
    records). A resident already confirmed as a person outside the actor's scope is refused
    exactly as a phone without an account is (same answer, same record), so that the
    answer tells nothing about residents elsewhere."""
    require(actor, "residents.confirm", person.region_code)
    phone = normalize_phone(phone)
    resident = (
        Resident.objects.select_for_update(of=("self",))
        .select_related("person")
        .filter(phone=phone)
        .first()
    )
    if resident is None or (
        resident.person_id
        and not has_permission(actor, "residents.confirm", resident.person.region_code)
    ):
        refusals.refuse(
            DomainError(NO_RESIDENT, code="no_resident"),
            record=lambda: audit.record(
                actor=actor,
                action="resident.confirm",
                obj=person,
                outcome=AuditEvent.FAILURE,
                detail={"phone": mask_phone(phone)},
            ),
        )
    if Resident.objects.filter(person=person).exclude(pk=resident.pk).exists():
        raise DomainError("该人员已对应其他居民账号。", code="person_taken")
    resident.person = person
    resident.region_code = person.region_code
    resident.confirmed_by = actor.user
    resident.confirmed_at = timezone.now()
    resident.save(update_fields=["person", "region_code", "confirmed_by", "confirmed_at"])
    audit.record(
        actor=actor, action="resident.confirm", obj=resident, region_code=person.region_code
    )
    return resident


def case_claim(
    *, actor: Actor, resident: Resident, fingerprint: str, tracking_code: str, tail: str
):
    """认领: a resident adds a request made with another phone (a landline, a family
    member's mobile) to 我的诉求 by its 查询码 and that phone's last four digits; the
    lookup is cases' own, rate-limited and the same answer whichever part is wrong."""
    from jiceng.cases.services import case_lookup

    # The lookup counts its tries outside the claim's transaction: a miss is refused
    # without rolling its count back.
    case = case_lookup(fingerprint=fingerprint, tracking_code=tracking_code, tail=tail)
    with transaction.atomic():
        _, created = ClaimedCase.objects.get_or_create(resident=resident, case=case)
        if created:
            audit.record(
                actor=actor, action="case.claim", obj=case, detail={"resident": resident.pk}
            )
    return case


# --- 红骑手 ------------------------------------------------------------------------------


@refusals.atomic
def rider_register(
    *, actor: Actor, phone: str, grid_code: str, platform: str, paired_with
) -> Rider:
    """Register the resident who signed in with `phone` as a rider of `grid_code`, paired
    with one of that grid's workers. A resident confirmed as a person outside the actor's
    scope, or riding for another grid outside it, is refused exactly as a phone without an
    account is (same answer, same record)."""
    from jiceng.accounts.selectors import staff_at

    require(actor, "residents.riders", grid_code)
    phone = normalize_phone(phone)
    platform = platform.strip()
    if not platform:
        raise DomainError("请填写所属平台或单位。", code="platform_required", field="platform")
    resident = (
        Resident.objects.select_for_update(of=("self",))
        .select_related("person")
        .filter(phone=phone, is_active=True)
        .first()
    )
    current = resident and Rider.objects.filter(resident=resident, ended_on__isnull=True).first()
    places = [
        resident.person.region_code if resident and resident.person_id else None,
        current.region_code if current else None,
    ]
    if resident is None or any(
        code and not has_permission(actor, "residents.riders", code) for code in places
    ):
        refusals.refuse(
            DomainError(NO_RESIDENT, code="no_resident", field="phone"),
            record=lambda: audit.record(
                actor=actor,
                action="rider.register",
                region_code=grid_code,
                outcome=AuditEvent.FAILURE,
                detail={"phone": mask_phone(phone)},
            ),
        )
    if current is not None:
        raise DomainError("该居民已登记为红骑手。", code="rider_registered", field="phone")
    if (
        paired_with is None
        or not staff_at(roles=["grid_worker"], region_codes=[grid_code])
        .filter(pk=paired_with.pk)
        .exists()
    ):
        raise DomainError(
            "结对的须是本网格的专职网格员。", code="pair_not_grid_worker", field="paired_with"
        )
    rider = Rider.objects.create(
        resident=resident,
        region_code=grid_code,
        platform=platform[:32],
        paired_with=paired_with,
        registered_by=actor.user,
        registered_on=timezone.localdate(),
    )
    audit.record(actor=actor, action="rider.register", obj=rider, region_code=grid_code)
    return rider


@transaction.atomic
def rider_end(*, actor: Actor, rider: Rider, reason: str) -> Rider:
    require(actor, "residents.riders", rider.region_code)
    reason = reason.strip()
    if not reason:
        raise DomainError("请填写退出原因。", code="reason_required", field="reason")
    rider = Rider.objects.select_for_update().get(pk=rider.pk)
    if rider.ended_on is not None:
        raise DomainError("该红骑手已退出。", code="rider_ended")
    rider.ended_on = timezone.localdate()
    rider.ended_reason = reason[:100]
    rider.save(update_fields=["ended_on", "ended_reason"])
    audit.record(actor=actor, action="rider.end", obj=rider, region_code=rider.region_code)
    return rider
