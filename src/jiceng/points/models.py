"""Points (积分, 幸福币, 文明积分): one currency per community, kept as an append-only,
double-entry ledger. Each journal entry's postings sum to zero; an account's balance never
goes below its floor (the database refuses it); every entry has an idempotency key from
what caused it; corrections are reversal entries, never edits; entries are chained by hash
per community, so `jiceng points verify` can prove nothing was changed afterwards."""

import datetime

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from jiceng.core.fields import RegionCodeField
from jiceng.core.history import AppendOnly


class Ledger(models.Model):
    """One community's points currency, with the head of its hash chain."""

    region_code = RegionCodeField(unique=True, help_text="社区（村）")
    name = models.CharField("积分名称", max_length=16, default="文明积分")
    expiry_months = models.PositiveSmallIntegerField(
        "有效期（月）", null=True, blank=True, help_text="空白表示不过期"
    )
    last_hash = models.CharField("链尾摘要", max_length=64, default="0" * 64)
    entry_count = models.PositiveIntegerField("分录数", default=0)

    class Meta:
        verbose_name = verbose_name_plural = "积分账本"

    def __str__(self) -> str:
        return f"{self.region_code} {self.name}"


class Account(models.Model):
    """A points account in one community: a resident's, a household's, a team's, a store's,
    or a system account (issuance, expiry) that has no floor."""

    class Kind(models.TextChoices):
        RESIDENT = "resident", "居民"
        HOUSEHOLD = "household", "家庭"
        TEAM = "team", "志愿服务队"
        STORE = "store", "文明超市"
        ISSUANCE = "issuance", "积分发放"
        EXPIRY = "expiry", "积分过期"

    ledger = models.ForeignKey(Ledger, on_delete=models.PROTECT, related_name="accounts")
    kind = models.CharField("类型", max_length=16, choices=Kind.choices)
    resident = models.ForeignKey(
        "residents.Resident",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="accounts",
    )
    household = models.ForeignKey(
        "places.Household", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    team = models.ForeignKey(
        "activities.VolunteerTeam",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    store = models.ForeignKey(
        "Store", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    balance = models.BigIntegerField("余额", default=0)
    floor = models.BigIntegerField("下限", null=True, blank=True, default=0)

    class Meta:
        verbose_name = verbose_name_plural = "积分账户"
        constraints = [
            models.CheckConstraint(
                condition=Q(floor__isnull=True) | Q(balance__gte=F("floor")),
                name="account_balance_floor",
            ),
            *[
                models.UniqueConstraint(
                    fields=["ledger", owner], condition=Q(kind=owner), name=f"account_{owner}_once"
                )
                for owner in ("resident", "household", "team", "store")
            ],
            models.UniqueConstraint(
                fields=["ledger", "kind"],
                condition=Q(kind__in=["issuance", "expiry"]),
                name="account_system_once",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.pk}"


# Deductions, adjustments and reversals: shown on the public board with their reasons,
# and rare among the earnings, so a small partial index finds them.
CORRECTION_KINDS = ("deduct", "adjust", "reverse")


class JournalEntry(AppendOnly):
    """记账凭证: one event that moves points, with its postings."""

    class Kind(models.TextChoices):
        EARN = "earn", "获得积分"
        DEDUCT = "deduct", "扣减积分"
        REDEEM = "redeem", "兑换"
        ADJUST = "adjust", "调整"
        REVERSE = "reverse", "冲正"
        EXPIRE = "expire", "过期"

    ledger = models.ForeignKey(Ledger, on_delete=models.PROTECT, related_name="entries")
    at = models.DateTimeField("时间")
    kind = models.CharField("类型", max_length=16, choices=Kind.choices)
    key = models.CharField("幂等键", max_length=100, help_text="来自起因，如 checkin:123")
    memo = models.CharField("摘要", max_length=200)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reverses = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="reversals"
    )
    sequence = models.PositiveIntegerField("序号")
    prev_hash = models.CharField("前一摘要", max_length=64)
    hash = models.CharField("摘要", max_length=64)

    class Meta:
        verbose_name = verbose_name_plural = "积分分录"
        ordering = ["ledger", "sequence"]
        indexes = [
            models.Index(
                fields=["ledger", "at"],
                name="entry_correction_idx",
                condition=models.Q(kind__in=CORRECTION_KINDS),
            ),
        ]
        constraints = [
            models.UniqueConstraint(fields=["key"], name="entry_key_once"),
            models.UniqueConstraint(fields=["ledger", "sequence"], name="entry_sequence"),
        ]

    def __str__(self) -> str:
        return self.key


class Posting(AppendOnly):
    """One line of an entry: points into (+) or out of (−) one account."""

    entry = models.ForeignKey(JournalEntry, on_delete=models.PROTECT, related_name="postings")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="postings")
    amount = models.BigIntegerField("数额")

    class Meta:
        verbose_name = verbose_name_plural = "积分过账"
        constraints = [models.CheckConstraint(condition=~Q(amount=0), name="posting_not_zero")]

    def __str__(self) -> str:
        return f"{self.account_id} {self.amount:+d}"


class Lot(models.Model):
    """An earned amount with its expiry date; spending takes the oldest first (FIFO)."""

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="lots")
    entry = models.ForeignKey(JournalEntry, on_delete=models.PROTECT, related_name="+")
    amount = models.BigIntegerField("数额")
    remaining = models.BigIntegerField("剩余")
    expires_at = models.DateTimeField("过期时间", null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "积分批次"
        ordering = ["account", "expires_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(remaining__gte=0) & Q(remaining__lte=F("amount")), name="lot_remaining"
            )
        ]

    def __str__(self) -> str:
        return f"{self.account_id} {self.remaining}/{self.amount}"


class MonthlyEarning(models.Model):
    """Points earned by an account in a month (张榜公示 ranks by this, never by balance).
    Kept with each entry that counts as earning; `points verify` checks it against the
    postings. The account's kind and community are repeated here so a ranking reads one
    index."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="months")
    ledger = models.ForeignKey(Ledger, on_delete=models.CASCADE, related_name="+")
    region_code = RegionCodeField(help_text="社区（村）")
    kind = models.CharField("账户类型", max_length=16, choices=Account.Kind.choices)
    month = models.DateField("月份")
    earned = models.BigIntegerField("获得")

    class Meta:
        verbose_name = verbose_name_plural = "月度积分"
        constraints = [
            models.UniqueConstraint(fields=["account", "month"], name="monthly_once"),
        ]
        indexes = [
            models.Index(fields=["ledger", "kind", "month", "-earned"], name="ranking_ledger_idx"),
            models.Index(fields=["kind", "month", "-earned"], name="ranking_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.account_id} {self.month:%Y-%m} {self.earned}"


class EarningRule(models.Model):
    """积分规则: points for taking part in an activity, for a good deed (环保卫士, 安全巡查员)
    approved by staff, or a deduction item where a community uses them."""

    class Kind(models.TextChoices):
        DEED = "deed", "好人好事"
        DEDUCTION = "deduction", "扣分事项"

    ledger = models.ForeignKey(Ledger, on_delete=models.CASCADE, related_name="rules")
    name = models.CharField("名称", max_length=32)
    kind = models.CharField("类型", max_length=16, choices=Kind.choices)
    points = models.PositiveIntegerField("分值")
    is_active = models.BooleanField("启用", default=True)

    class Meta:
        verbose_name = verbose_name_plural = "积分规则"
        ordering = ["ledger", "kind", "name"]

    def __str__(self) -> str:
        return self.name


class DeedClaim(models.Model):
    """A good deed (or a deduction) put forward for a resident, awaiting staff approval."""

    class Status(models.TextChoices):
        PENDING = "pending", "待审核"
        APPROVED = "approved", "已通过"
        REJECTED = "rejected", "未通过"

    rule = models.ForeignKey(EarningRule, on_delete=models.PROTECT, related_name="claims")
    resident = models.ForeignKey("residents.Resident", on_delete=models.PROTECT, related_name="+")
    description = models.CharField("事由", max_length=200)
    status = models.CharField("状态", max_length=16, choices=Status.choices, default=Status.PENDING)
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    proposed_at = models.DateTimeField("提出时间", auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField("审核时间", null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "积分申报"
        ordering = ["-proposed_at"]

    def __str__(self) -> str:
        return f"{self.rule} {self.resident_id}"


class Store(models.Model):
    """文明超市: a points store of one community, with its clerks."""

    region_code = RegionCodeField(db_index=True, help_text="所在社区或网格（积分记入其社区的账本）")
    name = models.CharField("名称", max_length=64)
    address = models.CharField("地址", max_length=200, blank=True)
    hours = models.CharField("营业时间", max_length=64, blank=True, help_text="如：每天 8:30–17:30")
    clerks = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name="店员", blank=True, related_name="stores"
    )
    is_active = models.BooleanField("营业", default=True)

    class Meta:
        verbose_name = verbose_name_plural = "文明超市"
        ordering = ["region_code", "name"]

    def __str__(self) -> str:
        return self.name


class Good(models.Model):
    """A good on a store's shelf, priced in points, with its stock."""

    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="goods")
    name = models.CharField("名称", max_length=64)
    price = models.PositiveIntegerField("积分价格")
    stock = models.PositiveIntegerField("库存", default=0)
    is_active = models.BooleanField("上架", default=True)

    class Meta:
        verbose_name = verbose_name_plural = "商品"
        ordering = ["store", "name"]
        constraints = [
            models.CheckConstraint(condition=Q(price__gte=1), name="good_price"),
            models.CheckConstraint(condition=Q(stock__gte=0), name="good_stock"),
        ]

    def __str__(self) -> str:
        return self.name


class Restock(models.Model):
    """补货: goods put on the shelf (the daily report lists them)."""

    good = models.ForeignKey(Good, on_delete=models.PROTECT, related_name="restocks")
    quantity = models.PositiveIntegerField("数量")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField("时间", auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = "补货记录"
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.good_id}+{self.quantity}"


class Redemption(models.Model):
    """兑换单: the clerk picks goods for a resident; the resident confirms; balance and
    stock change together, or not at all."""

    PENDING_FOR = datetime.timedelta(minutes=15)

    class Status(models.TextChoices):
        PENDING = "pending", "待居民确认"
        CONFIRMED = "confirmed", "已兑换"
        CANCELLED = "cancelled", "已取消"

    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="redemptions")
    resident = models.ForeignKey(
        "residents.Resident", on_delete=models.PROTECT, related_name="redemptions"
    )
    clerk = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    status = models.CharField("状态", max_length=16, choices=Status.choices, default=Status.PENDING)
    total = models.PositiveIntegerField("合计积分")
    created_at = models.DateTimeField("开单时间", auto_now_add=True)
    confirmed_at = models.DateTimeField("兑换时间", null=True, blank=True)
    receipt_no = models.CharField("小票号", max_length=24, blank=True)
    entry = models.OneToOneField(
        JournalEntry, null=True, blank=True, on_delete=models.PROTECT, related_name="redemption"
    )

    class Meta:
        verbose_name = verbose_name_plural = "兑换单"
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["store", "confirmed_at"], name="redemption_day_idx")]

    def __str__(self) -> str:
        return self.receipt_no or f"#{self.pk}"

    @property
    def lapsed(self) -> bool:
        """A pending order not confirmed within PENDING_FOR has lapsed (worked out when
        read, like lateness): it can no longer be confirmed."""
        return (
            self.status == self.Status.PENDING
            and self.created_at < timezone.now() - self.PENDING_FOR
        )


class RedemptionLine(models.Model):
    redemption = models.ForeignKey(Redemption, on_delete=models.CASCADE, related_name="lines")
    good = models.ForeignKey(Good, on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveSmallIntegerField("数量")
    price = models.PositiveIntegerField("单价")

    class Meta:
        verbose_name = verbose_name_plural = "兑换明细"
        constraints = [models.CheckConstraint(condition=Q(quantity__gte=1), name="line_quantity")]

    def __str__(self) -> str:
        return f"{self.good_id}×{self.quantity}"


class PersonalCode(models.Model):
    """居民码: the code a resident's phone shows at a store counter. It lives
    PERSONAL_CODE_SECONDS (the page renews it) and is used once: the first clerk to scan it
    binds it to their store, and every later scan, there or anywhere, is refused. Only its
    digest is kept. A used code is the record of the scan: the clerk then picks that
    resident's goods at that counter (within COUNTER_FOR) without scanning again, for one
    order — the next order needs a new code. A 数字码 (six digits for a counter that cannot
    scan) is the same record with the digest of its digits, issued for one store."""

    LIFETIME = datetime.timedelta(seconds=60)
    COUNTER_FOR = datetime.timedelta(minutes=15)
    # 数字码: when the counter cannot scan, the resident's page shows six digits instead,
    # issued for one store (a clerk elsewhere typing them finds nothing) and living long
    # enough to be read out and typed.
    NUMBER_LIFETIME = datetime.timedelta(minutes=3)
    NUMBER_LENGTH = 6

    resident = models.ForeignKey(
        "residents.Resident", verbose_name="居民", on_delete=models.PROTECT, related_name="+"
    )
    digest = models.CharField("摘要", max_length=64, unique=True, null=True, blank=True)
    number_digest = models.CharField("数字码摘要", max_length=64, blank=True, default="")
    issued_store = models.ForeignKey(
        Store,
        verbose_name="数字码所属超市",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField("生成时间", auto_now_add=True)
    expires_at = models.DateTimeField("过期时间")
    used_at = models.DateTimeField("扫码时间", null=True, blank=True)
    store = models.ForeignKey(
        Store,
        verbose_name="扫码超市",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    clerk = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="扫码店员",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    redemption = models.OneToOneField(
        "Redemption",
        verbose_name="兑换单",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="personal_code",
    )

    class Meta:
        verbose_name = verbose_name_plural = "居民码"
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(used_at__isnull=True, store__isnull=True, clerk__isnull=True)
                | Q(used_at__isnull=False, store__isnull=False, clerk__isnull=False),
                name="personal_code_used_by_a_store",
            ),
            # A QR code has its digest; a 数字码 has the digest of its digits and its store.
            models.CheckConstraint(
                condition=Q(digest__isnull=False, number_digest="", issued_store__isnull=True)
                | (Q(digest__isnull=True, issued_store__isnull=False) & ~Q(number_digest="")),
                name="personal_code_qr_or_number",
            ),
            # Six digits are few: one store never has two unused codes with the same ones.
            models.UniqueConstraint(
                fields=["number_digest"],
                condition=Q(used_at__isnull=True) & ~Q(number_digest=""),
                name="counter_number_unused_once",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.resident_id} {self.created_at:%H:%M:%S}"
