"""Points operations: good deeds and their approval, adjustments and reversals, stores,
goods and stock, redemption at the counter, and expiry. Every movement goes through
points.ledger.post."""

import datetime
import hashlib
import hmac
import secrets
import unicodedata
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import F, Sum
from django.urls import reverse as reverse_url
from django.utils import timezone

from jiceng.core import approvals, audit, refusals, throttle
from jiceng.core.access import require, within
from jiceng.core.actors import Actor, user_of
from jiceng.core.errors import DomainError, NotFound
from jiceng.core.masking import mask_name
from jiceng.core.models import Approval, AuditEvent
from jiceng.core.process import actor_required
from jiceng.points.ledger import Entry, account_for, ledger_for, post, post_many
from jiceng.points.models import (
    Account,
    DeedClaim,
    EarningRule,
    Good,
    JournalEntry,
    Lot,
    PersonalCode,
    Posting,
    Redemption,
    RedemptionLine,
    Restock,
    Store,
)
from jiceng.residents.models import Resident
from jiceng.residents.services import is_self

MAX_LINES = 20
CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: a clerk may type it
CODE_LENGTH = 12


def resident_account(resident, region_code: str) -> Account:
    ledger = ledger_for(region_code)
    return account_for(ledger, Account.Kind.RESIDENT, resident)


def team_account(team, region_code: str) -> Account:
    """A volunteer team's account in its community (opened with the team)."""
    return account_for(ledger_for(region_code), Account.Kind.TEAM, team)


# --- points awarded for what another app settles ------------------------------------------


@dataclass
class Award:
    """Points for one resident or one team, keyed by their cause (`checkin:<sign-up>`)."""

    key: str
    memo: str
    points: int
    resident: object = None
    team: object = None


@transaction.atomic
def points_award(*, actor: Actor, region_code: str, awards: list[Award]) -> list[JournalEntry]:
    """积分奖励: each award is an entry from the community's issuance to the resident's or
    the team's account. The other apps post points through here only, never by building
    ledger lines. A key posts once, however often its cause is settled; the cause (an
    activity's settlement) is authorized and audited by its own service."""
    actor = actor_required(actor)
    ledger = ledger_for(region_code)
    issuance = account_for(ledger, Account.Kind.ISSUANCE)
    entries = []
    for award in awards:
        if (award.resident is None) == (award.team is None):
            raise DomainError("积分须奖励给一位居民或一支队伍。", code="award_holder")
        if award.points <= 0:
            raise DomainError("奖励积分须为正数。", code="amount_invalid")
        holder = (
            account_for(ledger, Account.Kind.RESIDENT, award.resident)
            if award.resident is not None
            else account_for(ledger, Account.Kind.TEAM, award.team)
        )
        entries.append(
            Entry(
                key=award.key,
                kind=JournalEntry.Kind.EARN,
                memo=award.memo,
                lines=[(holder, award.points), (issuance, -award.points)],
            )
        )
    # One batch: the ledger's lock is taken once for a whole settlement, not per attendee.
    return post_many(ledger=ledger, entries=entries, actor=actor.user)


# --- earning by deeds, and corrections -------------------------------------------------------


@transaction.atomic
def rule_create(
    *, actor: Actor, region_code: str, name: str, kind: str, points: int
) -> EarningRule:
    """积分规则: a good deed (环保卫士, 安全巡查员) or a deduction item, with its points."""
    require(actor, "points.manage", region_code)
    if not name.strip() or kind not in EarningRule.Kind.values or not 1 <= points <= 1000:
        raise DomainError("请填写规则名称、类型和分值（1至1000）。", code="rule_invalid")
    rule = EarningRule.objects.create(
        ledger=ledger_for(region_code), name=name.strip()[:32], kind=kind, points=points
    )
    audit.record(actor=actor, action="points.rule_create", obj=rule, region_code=region_code)
    return rule


DEED_APPROVAL = "points.deed"


@transaction.atomic
def deed_propose(*, actor: Actor, rule: EarningRule, resident, description: str) -> DeedClaim:
    """Put forward a good deed (or a deduction) for a resident: an approval of kind
    points.deed, which another member of staff decides (`deed_decide`, or the approval's
    own page)."""
    actor = actor_required(actor)
    region_code = rule.ledger.region_code
    require(actor, "points.manage", region_code)
    if not rule.is_active:
        raise DomainError("该积分规则已停用。", code="rule_inactive")
    if not description.strip():
        raise DomainError("请写明事由。", code="reason_required", field="description")
    if rule.kind == EarningRule.Kind.DEED:
        _refuse_adding_to_oneself(actor, resident)
    claim = DeedClaim.objects.create(
        rule=rule, resident=resident, description=description.strip()[:200], proposed_by=actor.user
    )
    sign = "+" if rule.kind == EarningRule.Kind.DEED else "−"
    approvals.ask(
        actor=actor,
        kind=DEED_APPROVAL,
        region_code=region_code,
        summary=f"{rule.name}（{sign}{rule.points}）：居民手机尾号{resident.phone[-4:]}",
        payload={"claim": claim.pk},
        reason=claim.description,
        obj=claim,
    )
    audit.record(actor=actor, action="points.deed_propose", obj=claim, region_code=region_code)
    return claim


def deed_decide(*, actor: Actor, claim: DeedClaim, approve: bool) -> DeedClaim:
    """Approve (the points are posted) or reject a proposed deed: its approval's decision.
    The proposer may not decide their own (two people see every award)."""
    actor = actor_required(actor)
    require(actor, "points.manage", claim.rule.ledger.region_code)
    approval = approvals.pending_of(kind=DEED_APPROVAL, obj=claim)
    if approval is None:
        raise DomainError("该申报已经审核过了。", code="already_decided")
    try:
        approvals.decide(actor=actor, approval=approval, action="approve" if approve else "refuse")
    except DomainError as refusal:
        if refusal.code == "second_person_required":  # the code this form has always had
            raise DomainError("不能审核自己提出的申报。", code="self_approval") from None
        raise
    claim.refresh_from_db()
    return claim


def _deed_decided(approval: Approval, actor: Actor, *, approved: bool) -> None:
    """The claim follows its approval; approved, its points are posted (keyed by the
    claim: once)."""
    claim = DeedClaim.objects.select_related("rule__ledger", "resident").get(
        pk=approval.payload["claim"]
    )
    decided = DeedClaim.objects.filter(pk=claim.pk, status=DeedClaim.Status.PENDING).update(
        status=DeedClaim.Status.APPROVED if approved else DeedClaim.Status.REJECTED,
        decided_by=actor.user,
        decided_at=timezone.now(),
    )
    if not decided:
        raise DomainError("该申报已经审核过了。", code="already_decided")
    if approved:
        rule, ledger = claim.rule, claim.rule.ledger
        sign = 1 if rule.kind == EarningRule.Kind.DEED else -1
        post(
            ledger=ledger,
            key=f"deed:{claim.pk}",
            kind=JournalEntry.Kind.EARN if sign > 0 else JournalEntry.Kind.DEDUCT,
            memo=f"{rule.name}：{claim.description}",
            lines=[
                (account_for(ledger, Account.Kind.RESIDENT, claim.resident), sign * rule.points),
                (account_for(ledger, Account.Kind.ISSUANCE), -sign * rule.points),
            ],
            actor=actor,
        )
    audit.record(
        actor=actor,
        action="points.deed_decide",
        obj=claim,
        region_code=approval.region_code,
        detail={"approved": approved, "approval": approval.pk},
    )


def _own_phone_refusal(actor: Actor, resident_id) -> DomainError | None:
    """Neither who decides nor who asked may be the resident: points on a worker's own
    phone are the case a second person is there for, and a colleague's approval of them
    is no second look at all."""
    if is_self(actor, resident_id):
        return DomainError("不能审批给本人手机号账户的积分。", code="own_account")
    return None


def _refuse_adding_to_oneself(actor: Actor, resident) -> None:
    if is_self(actor, resident.pk):
        raise DomainError(
            "不能给本人手机号的居民账户增加积分，请由其他工作人员办理。", code="own_account"
        )


def _ledger_link(approval: Approval) -> str:
    return f"{reverse_url('points:ledger')}?region={approval.region_code}"


def deed_approval_kind() -> approvals.Kind:
    return approvals.Kind(
        name=DEED_APPROVAL,
        label="好人好事积分",
        permission="points.manage",
        apply=lambda approval, actor: _deed_decided(approval, actor, approved=True),
        release=lambda approval, actor: _deed_decided(approval, actor, approved=False),
        check=lambda approval, actor: _own_phone_refusal(
            actor,
            DeedClaim.objects.filter(pk=approval.payload["claim"])
            .values_list("resident_id", flat=True)
            .first(),
        ),
        link=_ledger_link,
    )


ADJUST_MOST = 10_000  # either way: a larger correction is a mistake, whoever approves it
ADJUST_APPROVAL = "points.adjust"


@transaction.atomic
def adjust(
    *, actor: Actor, resident, region_code: str, amount: int, reason: str, key: str
) -> JournalEntry | Approval:
    """A correction of a resident's points (+ or −) with its reason; shown publicly.

    Adding points mints them, so one worker alone adds at most
    JICENG_POINTS_ADJUST_MAX_ENTRY in one entry and JICENG_POINTS_ADJUST_MAX_DAY_PER_WORKER
    in a day, counting what they posted alone today and what they have waiting. A larger
    addition is not posted: it is asked for approval (大额积分调整) and returned as the
    pending Approval; a second person's approval posts it (`_adjust_approved`). The day's
    count is taken under a lock on the worker, so two additions at once cannot both pass
    on the same remainder. Deductions post at once."""
    actor = actor_required(actor)
    require(actor, "points.manage", region_code)
    if not reason.strip():
        raise DomainError("调整积分须说明理由。", code="reason_required", field="reason")
    if not amount or abs(amount) > ADJUST_MOST:
        raise DomainError(
            "调整数额须在 ±10000 以内且不为零。", code="amount_invalid", field="amount"
        )
    ledger = ledger_for(region_code)
    key = f"adjust:{actor.user_id}:{key}"
    if amount > 0:
        _refuse_adding_to_oneself(actor, resident)
        # One worker's additions one at a time (FOR NO KEY UPDATE: rows that refer to the
        # worker, such as their audit events, are still written meanwhile).
        get_user_model().objects.select_for_update(no_key=True).filter(pk=actor.user_id).get()
        done = (
            JournalEntry.objects.filter(key=key).first()
            or Approval.objects.filter(
                kind=ADJUST_APPROVAL, requested_by_id=actor.user_id, payload__key=key
            ).first()
        )
        if done is not None:  # the same form sent again: what it did the first time
            return done
        today = _added_alone_today(actor)
        if (
            amount > settings.JICENG_POINTS_ADJUST_MAX_ENTRY
            or today + amount > settings.JICENG_POINTS_ADJUST_MAX_DAY_PER_WORKER
        ):
            return _adjust_ask(
                actor=actor, ledger=ledger, resident=resident, amount=amount,
                reason=reason.strip(), key=key, today=today,
            )  # fmt: skip
    entry = _adjust_post(
        actor=actor, ledger=ledger, resident=resident, amount=amount, reason=reason.strip(),
        key=key,
    )  # fmt: skip
    audit.record(
        actor=actor,
        action="points.adjust",
        obj=entry,
        region_code=ledger.region_code,
        detail={"amount": amount},
    )
    return entry


def _adjust_post(*, actor, ledger, resident, amount: int, reason: str, key: str) -> JournalEntry:
    return post(
        ledger=ledger,
        key=key,
        kind=JournalEntry.Kind.ADJUST,
        memo=reason,
        lines=[
            (account_for(ledger, Account.Kind.RESIDENT, resident), amount),
            (account_for(ledger, Account.Kind.ISSUANCE), -amount),
        ],
        actor=actor,
    )


def _added_alone_today(actor: Actor) -> int:
    """Points `actor` added by adjustment on their own today, and those they asked for
    that are still waiting. An addition another person approved is the approver's posting
    under the asker's key, so it counts against neither's cap."""
    midnight = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    posted = Posting.objects.filter(
        entry__kind=JournalEntry.Kind.ADJUST,
        entry__actor_id=actor.user_id,
        entry__key__startswith=f"adjust:{actor.user_id}:",
        entry__at__gte=midnight,
        account__kind=Account.Kind.RESIDENT,
        amount__gt=0,
    ).aggregate(total=Sum("amount"))["total"]
    waiting = Approval.objects.filter(
        kind=ADJUST_APPROVAL, requested_by_id=actor.user_id, status=Approval.Status.PENDING
    ).values_list("payload", flat=True)
    return (posted or 0) + sum(payload["amount"] for payload in waiting)


def _adjust_ask(
    *, actor, ledger, resident, amount: int, reason: str, key: str, today: int
) -> Approval:
    approval = approvals.ask(
        actor=actor,
        kind=ADJUST_APPROVAL,
        region_code=ledger.region_code,
        summary=f"为居民（手机尾号{resident.phone[-4:]}）增加 {amount} 分",
        payload={"resident": resident.pk, "amount": amount, "reason": reason, "key": key},
        reason=reason,
        obj=resident,
    )
    audit.record(
        actor=actor,
        action="points.adjust_ask",
        obj=approval,
        region_code=ledger.region_code,
        detail={"amount": amount, "added_today": today},
    )
    return approval


def _adjust_approved(approval: Approval, actor: Actor) -> None:
    """A second person approved a large addition: it is posted now, under the key it was
    asked with (approving twice cannot post twice)."""
    payload = approval.payload
    ledger = ledger_for(approval.region_code)
    entry = _adjust_post(
        actor=actor,
        ledger=ledger,
        resident=Resident.objects.get(pk=payload["resident"]),
        amount=payload["amount"],
        reason=payload["reason"],
        key=payload["key"],
    )
    audit.record(
        actor=actor,
        action="points.adjust",
        obj=entry,
        region_code=ledger.region_code,
        detail={"amount": payload["amount"], "approval": approval.pk},
    )


def adjustment_facts(approval: Approval) -> approvals.Details:
    """What the decider of a large addition reads: whose account (masked), its balance now,
    and what the same account was added by hand in the last 30 days."""
    resident = Resident.objects.select_related("person").get(pk=approval.payload["resident"])
    ledger = ledger_for(approval.region_code)
    account = Account.objects.filter(
        ledger=ledger, kind=Account.Kind.RESIDENT, resident=resident
    ).first()
    since = timezone.now() - datetime.timedelta(days=30)
    added = (
        Posting.objects.filter(
            account=account, amount__gt=0, entry__kind=JournalEntry.Kind.ADJUST,
            entry__at__gte=since,
        ).aggregate(total=Sum("amount"))["total"]
        if account
        else None
    )  # fmt: skip
    name = mask_name(resident.person.name) if resident.person_id else "（未认证）"
    return approvals.Details(
        title="调整对象",
        columns=("居民", "手机尾号", "当前余额", "本次增加", "近30天手工增加"),
        rows=[
            (
                name,
                resident.phone[-4:],
                str(account.balance if account else 0),
                str(approval.payload["amount"]),
                str(added or 0),
            )
        ],
        total=1,
    )


def adjust_approval_kind() -> approvals.Kind:
    return approvals.Kind(
        name=ADJUST_APPROVAL,
        label="大额积分调整",
        permission="points.manage",
        apply=_adjust_approved,
        check=lambda approval, actor: _own_phone_refusal(actor, approval.payload["resident"]),
        link=_ledger_link,
        details=adjustment_facts,
    )


@transaction.atomic
def reverse(*, actor: Actor, entry: JournalEntry, reason: str) -> JournalEntry:
    """冲正: undo an entry by posting its mirror image; the original stays as it was."""
    require(actor, "points.manage", entry.ledger.region_code)
    if entry.kind in (JournalEntry.Kind.REVERSE, JournalEntry.Kind.REDEEM):
        raise DomainError("冲正单和兑换单不能再冲正；兑换请在超市办理退货。", code="not_reversible")
    if not reason.strip():
        raise DomainError("冲正须说明理由。", code="reason_required", field="reason")
    lines = [
        (posting.account, -posting.amount) for posting in entry.postings.select_related("account")
    ]
    reversal = post(
        ledger=entry.ledger,
        key=f"reverse:{entry.pk}",
        kind=JournalEntry.Kind.REVERSE,
        memo=f"冲正第{entry.sequence}号（{entry.memo[:40]}）：{reason.strip()}",
        lines=lines,
        actor=actor,
        reverses=entry,
    )
    audit.record(
        actor=actor, action="points.reverse", obj=reversal, region_code=entry.ledger.region_code
    )
    return reversal


def expire_lots(*, actor: Actor, now=None) -> int:
    """Move the unspent part of every expired lot to its community's expiry account, one
    entry per lot (keyed by the lot, so running again changes nothing)."""
    now = now or timezone.now()
    done = 0
    for lot in Lot.objects.filter(expires_at__lte=now, remaining__gt=0).select_related(
        "account__ledger"
    ):
        with transaction.atomic():
            locked = Lot.objects.select_for_update().get(pk=lot.pk)
            if not locked.remaining:
                continue
            ledger = lot.account.ledger
            post(
                ledger=ledger,
                key=f"expire:{lot.pk}",
                kind=JournalEntry.Kind.EXPIRE,
                memo="积分到期",
                lines=[
                    (lot.account, -locked.remaining),
                    (account_for(ledger, Account.Kind.EXPIRY), locked.remaining),
                ],
                actor=actor,
            )
            done += 1
    return done


# --- stores and goods -----------------------------------------------------------------


@transaction.atomic
def store_create(
    *, actor: Actor, region_code: str, name: str, address: str = "", hours: str = ""
) -> Store:
    require(actor, "stores.manage", region_code)
    if not name.strip():
        raise DomainError("请填写超市名称。", code="name_required", field="name")
    store = Store.objects.create(
        region_code=region_code,
        name=name.strip()[:64],
        address=address.strip()[:200],
        hours=hours.strip()[:64],
    )
    account_for(ledger_for(region_code), Account.Kind.STORE, store)
    audit.record(actor=actor, action="store.create", obj=store)
    return store


@transaction.atomic
def store_add_clerk(*, actor: Actor, store: Store, clerk) -> None:
    require(actor, "stores.manage", store.region_code)
    if not within(store.region_code, clerk.scope_codes("stores.serve")):
        raise DomainError("该账号不是本社区的超市店员。", code="clerk_invalid")
    store.clerks.add(clerk)
    audit.record(actor=actor, action="store.clerk_add", obj=store, detail={"clerk": clerk.username})


@transaction.atomic
def good_create(*, actor: Actor, store: Store, name: str, price: int, stock: int = 0) -> Good:
    require(actor, "stores.manage", store.region_code)
    if not name.strip() or not 1 <= price <= 100_000 or not 0 <= stock <= 100_000:
        raise DomainError(
            "请填写商品名称、积分价格（1至100000）和库存（0至100000）。", code="good_invalid"
        )
    good = Good.objects.create(store=store, name=name.strip()[:64], price=price, stock=stock)
    audit.record(actor=actor, action="good.create", obj=good, region_code=store.region_code)
    return good


@transaction.atomic
def good_restock(*, actor: Actor, good: Good, quantity: int) -> Good:
    """补货: the stock goes up by `quantity` (a conditional update: no lost restock)."""
    require(actor, "stores.manage", good.store.region_code)
    if not 1 <= quantity <= 100_000:
        raise DomainError("补货数量须为正数。", code="quantity_invalid", field="quantity")
    Good.objects.filter(pk=good.pk).update(stock=F("stock") + quantity)
    Restock.objects.create(good=good, quantity=quantity, actor=actor.user)
    good.refresh_from_db()
    audit.record(
        actor=actor,
        action="good.restock",
        obj=good,
        region_code=good.store.region_code,
        detail={"quantity": quantity},
    )
    return good


@transaction.atomic
def good_correct_stock(*, actor: Actor, good: Good, stock: int, reason: str) -> Good:
    """盘点更正: the shelf holds fewer than the books say (broken, spoilt, miscounted).
    Only down: more is a restock. A conditional update, so a redemption confirmed
    meanwhile is not undone."""
    require(actor, "stores.manage", good.store.region_code)
    if not reason.strip():
        raise DomainError("请说明盘点更正的原因。", code="reason_required", field="reason")
    before = Good.objects.filter(pk=good.pk).values_list("stock", flat=True).first()
    if before is None:
        raise NotFound()
    if not 0 <= stock < before:
        raise DomainError(
            f"盘点更正只能调低库存（现有 {before}）；增加库存请用“补货”。",
            code="stock_invalid",
            field="stock",
        )
    if not Good.objects.filter(pk=good.pk, stock=before).update(stock=stock):
        raise DomainError("库存刚刚变动过，请刷新后重新更正。", code="stock_changed")
    good.refresh_from_db()
    audit.record(
        actor=actor,
        action="good.stock_correct",
        obj=good,
        region_code=good.store.region_code,
        detail={"from": before, "to": stock, "reason": reason.strip()[:200]},
    )
    return good


@transaction.atomic
def good_reprice(*, actor: Actor, good: Good, price: int) -> Good:
    """调价: orders already opened keep the price they were opened at."""
    require(actor, "stores.manage", good.store.region_code)
    if not 1 <= price <= 100_000:
        raise DomainError("积分价格须在1至100000之间。", code="price_invalid", field="price")
    before = good.price
    if price == before:
        return good
    Good.objects.filter(pk=good.pk).update(price=price)
    good.refresh_from_db()
    audit.record(
        actor=actor,
        action="good.reprice",
        obj=good,
        region_code=good.store.region_code,
        detail={"from": before, "to": price},
    )
    return good


@transaction.atomic
def good_set_listed(*, actor: Actor, good: Good, listed: bool) -> Good:
    """下架 (no longer offered at the counter; confirming an order already opened for it
    is refused) or 重新上架."""
    require(actor, "stores.manage", good.store.region_code)
    if not Good.objects.filter(pk=good.pk, is_active=not listed).update(is_active=listed):
        raise DomainError(
            "该商品已在售。" if listed else "该商品已下架。", code="listing_unchanged"
        )
    good.refresh_from_db()
    audit.record(
        actor=actor,
        action="good.relist" if listed else "good.delist",
        obj=good,
        region_code=good.store.region_code,
    )
    return good


@transaction.atomic
def store_update(*, actor: Actor, store: Store, address: str, hours: str) -> Store:
    """The place and opening hours residents read."""
    require(actor, "stores.manage", store.region_code)
    Store.objects.filter(pk=store.pk).update(
        address=address.strip()[:200], hours=hours.strip()[:64]
    )
    store.refresh_from_db()
    audit.record(actor=actor, action="store.update", obj=store)
    return store


# --- redemption at the counter ----------------------------------------------------------


def _serving(clerk, store: Store) -> None:
    """A clerk (an Actor, or a staff user) serves only at their own store."""
    require(clerk, "stores.serve", store.region_code)
    if not store.clerks.filter(pk=user_of(clerk).pk).exists():
        raise NotFound("您不是该超市的店员。")


def _code_digest(code: str) -> str:
    message = f"personal-code:{code.strip().upper()}".encode()
    return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()


def personal_code_issue(*, actor: Actor) -> str:
    """A fresh 居民码 for the resident's phone, valid for PersonalCode.LIFETIME and one
    scan. Only its digest is stored; the resident's earlier codes that expired unused are
    dropped (a scanned one stays: it is the record of the scan)."""
    resident = actor.resident
    if resident is None:
        raise NotFound()
    now = timezone.now()
    PersonalCode.objects.filter(
        resident=resident, used_at__isnull=True, expires_at__lte=now
    ).delete()
    code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    PersonalCode.objects.create(
        resident=resident, digest=_code_digest(code), expires_at=now + PersonalCode.LIFETIME
    )
    return code


def _number_digest(store: Store, digits: str) -> str:
    message = f"counter-code:{store.pk}:{digits}".encode()
    return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()


def _counter_number(code: str) -> str | None:
    """The six digits of a 数字码 as the clerk typed it ("816 603", full-width digits from
    a Chinese input method), or None for anything else (a scanned QR code)."""
    digits = "".join(unicodedata.normalize("NFKC", code or "").split())
    if len(digits) == PersonalCode.NUMBER_LENGTH and digits.isascii() and digits.isdigit():
        return digits
    return None


@transaction.atomic
def counter_number_issue(*, actor: Actor, store: Store) -> str:
    """数字码: six digits the resident reads out at `store`'s counter when it cannot scan
    the QR code. Valid PersonalCode.NUMBER_LIFETIME, one use, only at that store; only the
    digest of the digits (keyed with the store) is stored. A store one of the resident's
    communities has, and open."""
    from jiceng.points.selectors import resident_stores

    resident = actor.resident
    if resident is None:
        raise NotFound()
    if not resident_stores(resident).filter(pk=store.pk).exists():
        raise NotFound("未找到该超市。")
    now = timezone.now()
    PersonalCode.objects.filter(
        resident=resident, used_at__isnull=True, expires_at__lte=now
    ).delete()
    # A new 数字码 for this store replaces the one shown before: only the latest is valid.
    PersonalCode.objects.filter(
        resident=resident, issued_store=store, number_digest__isnull=False, used_at__isnull=True
    ).delete()
    for _ in range(10):  # another resident may hold the same six digits here right now
        digits = "".join(secrets.choice("0123456789") for _ in range(PersonalCode.NUMBER_LENGTH))
        digest = _number_digest(store, digits)
        # An unused code with these digits that has expired is nobody's any more.
        PersonalCode.objects.filter(
            number_digest=digest, used_at__isnull=True, expires_at__lte=now
        ).delete()
        try:
            with transaction.atomic():
                PersonalCode.objects.create(
                    resident=resident,
                    number_digest=digest,
                    issued_store=store,
                    expires_at=now + PersonalCode.NUMBER_LIFETIME,
                )
        except IntegrityError:
            continue
        return digits
    raise DomainError("暂时无法生成数字码，请稍后再试。", code="code_busy")


COUNTER_NUMBER_TRIES = 5  # wrong 数字码 entries at one counter before it stops taking them
COUNTER_NUMBER_LOCK = datetime.timedelta(minutes=15)
COUNTER_NUMBER_SCOPE = "stores.counter_number"


def counter_number_locked(store: Store) -> bool:
    return (
        throttle.count(
            COUNTER_NUMBER_SCOPE,
            store.pk,
            within=COUNTER_NUMBER_LOCK,
            limit=COUNTER_NUMBER_TRIES,
        )
        >= COUNTER_NUMBER_TRIES
    )


@refusals.atomic
def personal_code_use(*, actor: Actor, store: Store, code: str) -> PersonalCode:
    """A clerk scans a resident's code at their store's counter (or types the 数字码 the
    resident's page shows for this store). The first scan binds the code to this store and
    clerk and names the resident; any other scan of it, at this store or another, is
    refused (a screenshot passed on is worth nothing) and audited. Six digits are few:
    after COUNTER_NUMBER_TRIES wrong ones the counter takes no 数字码 for a while (scanning
    still works)."""
    _serving(actor, store)
    clerk = actor.user
    now = timezone.now()
    number = _counter_number(code)
    if number:
        if counter_number_locked(store):
            error = DomainError(
                "数字码输错次数过多，本收银台暂停输入数字码15分钟，请扫描居民的二维码。",
                code="counter_locked",
            )
            refusals.refuse(
                error,
                record=lambda: audit.record(
                    actor=actor,
                    action="personal_code.use",
                    object_type="points.store",
                    object_id=store.pk,
                    region_code=store.region_code,
                    outcome=AuditEvent.FAILURE,
                    detail={"store": store.pk, "reason": error.code},
                ),
            )
        found = {"number_digest": _number_digest(store, number), "issued_store": store}
    else:
        found = {"digest": _code_digest(code or "")}
    taken = PersonalCode.objects.filter(
        **found, used_at__isnull=True, expires_at__gt=now, resident__is_active=True
    ).update(used_at=now, store=store, clerk=clerk)
    scans = PersonalCode.objects.select_related("resident").filter(**found)
    if taken:
        scan = scans.filter(used_at=now, clerk=clerk).first()
    else:  # of a 数字码's digits: an expired unused one first, else the latest used
        scan = scans.order_by(F("used_at").desc(nulls_first=True), "-created_at").first()
    if not taken:
        if number:  # counted where the refusal cannot roll it back
            throttle.hit(COUNTER_NUMBER_SCOPE, store.pk)
        if scan is None:
            error = DomainError("无效的居民码。", code="code_invalid")
        elif scan.used_at is not None:
            error = DomainError(
                "该居民码已被扫过，每个码只能用一次。请居民刷新居民码后重新出示。",
                code="code_used",
            )
        elif not scan.resident.is_active:
            error = NotFound("未找到该居民。")
        else:
            error = DomainError("居民码已过期，请让居民刷新后重新出示。", code="code_expired")
        refusals.refuse(
            error,
            record=lambda: audit.record(
                actor=actor,
                action="personal_code.use",
                obj=scan,
                region_code=store.region_code,
                outcome=AuditEvent.FAILURE,
                detail={"store": store.pk, "reason": error.code},
            ),
        )
    audit.record(
        actor=actor,
        action="personal_code.use",
        obj=scan,
        region_code=store.region_code,
        detail={"store": store.pk, "resident": scan.resident_id},
    )
    return scan


@transaction.atomic
def redemption_open(
    *,
    actor: Actor,
    store: Store,
    resident,
    items: dict[int, int],
    scan: PersonalCode | None = None,
) -> Redemption:
    """The clerk picks goods for a resident (who showed their code: `scan`, which serves
    one order); nothing moves until the resident confirms on their own phone."""
    _serving(actor, store)
    clerk = actor.user
    if not store.is_active:
        raise DomainError("该超市已停业。", code="store_closed")
    items = {good_id: qty for good_id, qty in items.items() if qty}
    if not items or len(items) > MAX_LINES or any(q < 1 or q > 99 for q in items.values()):
        raise DomainError("请选择商品和数量（每种1至99件）。", code="items_invalid")
    goods = {g.pk: g for g in Good.objects.filter(store=store, is_active=True, pk__in=list(items))}
    if len(goods) != len(items):
        raise DomainError("有商品不属于本超市或已下架。", code="good_invalid")
    for good_id, quantity in items.items():
        if goods[good_id].stock < quantity:
            raise DomainError(f"“{goods[good_id].name}”库存不足。", code="out_of_stock")
    total = sum(goods[g].price * q for g, q in items.items())
    account = account_for(ledger_for(store.region_code), Account.Kind.RESIDENT, resident)
    if account.balance < total:
        raise DomainError(
            f"积分不足：需要 {total}，余额 {account.balance}。", code="insufficient_points"
        )
    redemption = Redemption.objects.create(store=store, resident=resident, clerk=clerk, total=total)
    if scan is not None and not PersonalCode.objects.filter(
        pk=scan.pk, resident=resident, store=store, clerk=clerk, redemption__isnull=True
    ).update(redemption=redemption):
        raise DomainError(
            "这次扫码已开过一张兑换单。请居民刷新居民码后重新出示。", code="code_used"
        )
    RedemptionLine.objects.bulk_create(
        [
            RedemptionLine(redemption=redemption, good=goods[g], quantity=q, price=goods[g].price)
            for g, q in sorted(items.items())
        ]
    )
    audit.record(
        actor=actor, action="redemption.open", obj=redemption, region_code=store.region_code
    )
    return redemption


def redemption_confirm(*, actor: Actor, redemption: Redemption) -> Redemption:
    """The resident confirms: stock and balance change together, or not at all. Goods are
    locked in id order and taken with conditional updates that the stock constraint
    guards; replaying a confirmed redemption changes nothing."""
    resident = actor.resident
    if resident is None or redemption.resident_id != resident.pk:
        raise NotFound()
    with transaction.atomic():
        locked = Redemption.objects.select_for_update().get(pk=redemption.pk)
        if locked.status == Redemption.Status.CONFIRMED:
            return locked
        if locked.status != Redemption.Status.PENDING:
            raise DomainError("该兑换单已取消。", code="redemption_cancelled")
        if locked.lapsed:
            raise DomainError(
                "兑换单超过15分钟未确认，已失效，请让店员重新开单。", code="redemption_lapsed"
            )
        store = locked.store
        ledger = ledger_for(store.region_code)
        lines = list(locked.lines.select_related("good").order_by("good_id"))
        for line in lines:
            try:
                with transaction.atomic():
                    taken = Good.objects.filter(
                        pk=line.good_id, stock__gte=line.quantity, is_active=True
                    ).update(stock=F("stock") - line.quantity)
            except IntegrityError:
                taken = 0
            if not taken:
                raise DomainError(f"“{line.good.name}”库存不足，兑换未完成。", code="out_of_stock")
        entry = post(
            ledger=ledger,
            key=f"redeem:{locked.pk}",
            kind=JournalEntry.Kind.REDEEM,
            memo=f"{store.name}兑换",
            lines=[
                (account_for(ledger, Account.Kind.RESIDENT, resident), -locked.total),
                (account_for(ledger, Account.Kind.STORE, store), locked.total),
            ],
        )
        now = timezone.now()
        locked.status = Redemption.Status.CONFIRMED
        locked.confirmed_at = now
        locked.entry = entry
        locked.receipt_no = f"{timezone.localtime(now):%Y%m%d}{locked.pk:08d}"
        locked.save(update_fields=["status", "confirmed_at", "entry", "receipt_no"])
        audit.record(
            actor=actor, action="redemption.confirm", obj=locked, region_code=store.region_code
        )
    return locked


@transaction.atomic
def redemption_cancel(*, actor: Actor, redemption: Redemption) -> Redemption:
    """A pending redemption is cancelled by its resident or by a clerk of its store; any
    other actor (none, the public, the system, other staff) cancels nothing."""
    actor = actor_required(actor)
    if actor.is_resident:
        if redemption.resident_id != actor.resident.pk:
            raise NotFound()
    elif actor.is_staff:
        _serving(actor.user, redemption.store)
    else:
        raise NotFound()
    updated = Redemption.objects.filter(pk=redemption.pk, status=Redemption.Status.PENDING).update(
        status=Redemption.Status.CANCELLED
    )
    if not updated:
        raise DomainError("只能取消待确认的兑换单。", code="not_pending")
    redemption.refresh_from_db()
    audit.record(
        actor=actor,
        action="redemption.cancel",
        obj=redemption,
        region_code=redemption.store.region_code,
    )
    return redemption
