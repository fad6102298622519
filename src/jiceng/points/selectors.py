"""Reading points: a resident's balances and history, the public rankings (张榜公示) with
the period's corrections, stores and their daily report, and the points figures."""

import datetime
import unicodedata
from dataclasses import dataclass

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery, Sum
from django.utils import timezone

from jiceng.core import phones
from jiceng.core.access import has_permission, require, scope_filter
from jiceng.core.errors import DomainError, NotFound
from jiceng.core.masking import mask_name
from jiceng.core.region_codes import COMMUNITY, community_of, is_above
from jiceng.places.models import Household
from jiceng.points.models import (
    CORRECTION_KINDS,
    Account,
    JournalEntry,
    Ledger,
    MonthlyEarning,
    PersonalCode,
    Posting,
    Redemption,
    Restock,
    Store,
)

RANKING_SIZE = 100


def resident_label(resident) -> str:
    """How a resident appears in public: 张*明, or their phone's last four digits."""
    return resident.label if resident is not None else ""


def account_label(account: Account) -> str:
    if account.kind == Account.Kind.RESIDENT:
        return resident_label(account.resident)
    if account.kind == Account.Kind.HOUSEHOLD:
        head = account.household.head if account.household_id else None
        return f"{mask_name(head.name)}家" if head else "家庭"
    if account.kind == Account.Kind.TEAM:
        return account.team.name
    if account.kind == Account.Kind.STORE:
        return account.store.name
    return account.get_kind_display()


LABEL_RELATED = (
    "resident__person",
    "household__head",
    "team",
    "store",
)


# --- a resident's own points -----------------------------------------------------------


def resident_accounts(resident) -> list[Account]:
    """The resident's account in every community where they hold points."""
    return list(
        Account.objects.filter(kind=Account.Kind.RESIDENT, resident=resident)
        .select_related("ledger")
        .order_by("ledger__region_code")
    )


def account_history(account: Account, limit: int = 100) -> list[tuple[JournalEntry, int]]:
    """The latest entries that moved the account, with the amount each moved it by."""
    rows = (
        Posting.objects.filter(account=account)
        .select_related("entry")
        .order_by("-entry__sequence")[:limit]
    )
    return [(row.entry, row.amount) for row in rows]


def resident_communities(resident) -> list[str]:
    """The communities whose stores serve the resident: where they hold points, where
    their account says they live, and where their person record is registered."""
    codes = set(
        Account.objects.filter(kind=Account.Kind.RESIDENT, resident=resident).values_list(
            "ledger__region_code", flat=True
        )
    )
    for code in (resident.region_code, resident.person.region_code if resident.person else ""):
        if code and not is_above(code, COMMUNITY):
            codes.add(community_of(code))
    return sorted(codes)


def resident_stores(resident) -> QuerySet:
    """The open stores of the resident's communities (their goods, place and hours)."""
    communities = resident_communities(resident)
    if not communities:
        return Store.objects.none()
    where = Q()
    for code in communities:
        where |= Q(region_code__within=code)
    return Store.objects.filter(where, is_active=True).order_by("region_code", "name")


# --- rankings (张榜公示) ------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """A month (2026-11) or a year (2026) of rankings."""

    year: int
    month: int | None = None

    @classmethod
    def parse(cls, text: str | None) -> "Period":
        today = timezone.localdate()
        if not text:
            return cls(today.year, today.month)
        try:
            if len(text) == 4:
                period = cls(int(text))
            else:
                year, month = text.split("-")
                period = cls(int(year), int(month))
                datetime.date(period.year, period.month, 1)
        except (ValueError, OverflowError):  # 2026-99999999999999999999 overflows a date
            raise DomainError(
                "期间格式应为 2026-11（月）或 2026（年）。", code="bad_period"
            ) from None
        if not 2000 <= period.year <= today.year:  # no board of a year still to come
            raise DomainError("期间超出范围。", code="bad_period")
        return period

    @property
    def months(self) -> tuple[datetime.date, datetime.date]:
        if self.month:
            first = datetime.date(self.year, self.month, 1)
            return first, first
        return datetime.date(self.year, 1, 1), datetime.date(self.year, 12, 1)

    @property
    def bounds(self) -> tuple[datetime.datetime, datetime.datetime]:
        first, last = self.months
        end = datetime.date(last.year + last.month // 12, last.month % 12 + 1, 1)
        return (
            timezone.make_aware(datetime.datetime.combine(first, datetime.time.min)),
            timezone.make_aware(datetime.datetime.combine(end, datetime.time.min)),
        )

    def __str__(self) -> str:
        return f"{self.year}年{self.month}月" if self.month else f"{self.year}年"

    @property
    def key(self) -> str:
        return f"{self.year}-{self.month:02d}" if self.month else str(self.year)

    @property
    def previous(self) -> "Period":
        if not self.month:
            return Period(self.year - 1)
        return Period(self.year - (self.month == 1), (self.month - 2) % 12 + 1)

    @property
    def following(self) -> "Period":
        if not self.month:
            return Period(self.year + 1)
        return Period(self.year + (self.month == 12), self.month % 12 + 1)

    @property
    def is_future(self) -> bool:
        today = timezone.localdate()
        return (self.year, self.month or 0) > (today.year, today.month if self.month else 0)


def latest_period(*, region_code: str, kind: str) -> Period:
    """The latest month in which anyone of `kind` earned points here (a household ranks
    with its members too), or this month: the board opens on it."""
    kinds = [kind, Account.Kind.RESIDENT] if kind == Account.Kind.HOUSEHOLD else [kind]
    rows = MonthlyEarning.objects.filter(kind__in=kinds, month__lte=timezone.localdate())
    if not is_above(region_code, COMMUNITY):
        ledger = Ledger.objects.filter(region_code=community_of(region_code)).first()
        rows = rows.filter(ledger=ledger) if ledger else rows.none()
    else:
        rows = rows.filter(region_code__within=region_code)
    month = rows.order_by("-month").values_list("month", flat=True).first()
    if month is None:
        today = timezone.localdate()
        return Period(today.year, today.month)
    return Period(month.year, month.month)


@dataclass
class Rank:
    place: int
    name: str
    earned: int


def _earnings(region_code: str, kind: str, period: Period) -> QuerySet:
    first, last = period.months
    months = {"month": first} if first == last else {"month__range": (first, last)}
    rows = MonthlyEarning.objects.filter(kind=kind, **months)  # a month walks the index
    if not is_above(region_code, COMMUNITY):  # one community: its ledger's own index
        ledger = Ledger.objects.filter(region_code=community_of(region_code)).first()
        return rows.filter(ledger=ledger) if ledger else rows.none()
    return rows.filter(region_code__within=region_code)


def _places(pairs: list[tuple[str, int]]) -> list[Rank]:
    """Equal points share a place (1, 2, 2, 4)."""
    ranks, place = [], 0
    for index, (name, earned) in enumerate(pairs, start=1):
        if not ranks or earned != ranks[-1].earned:
            place = index
        ranks.append(Rank(place, name, earned))
    return ranks


def ranking(*, region_code: str, kind: str, period: Period, size: int = RANKING_SIZE) -> list[Rank]:
    """The top accounts of one kind by points earned in the period, names masked.

    A month reads one row per account from the ranking index; a year adds up twelve.
    A household ranks with what its own account earned plus what its members earned."""
    if kind == Account.Kind.HOUSEHOLD:
        return _household_ranking(region_code, period, size)
    rows = _earnings(region_code, kind, period).filter(earned__gt=0)
    if period.month:
        top = list(
            rows.order_by("-earned", "account_id").values_list("account_id", "earned")[:size]
        )
    else:
        top = list(
            rows.values("account_id")
            .annotate(total=Sum("earned"))
            .filter(total__gt=0)
            .order_by("-total", "account_id")
            .values_list("account_id", "total")[:size]
        )
    accounts = Account.objects.select_related(*LABEL_RELATED).in_bulk([pk for pk, _ in top])
    return _places([(account_label(accounts[pk]), earned) for pk, earned in top])


def _household_ranking(region_code: str, period: Period, size: int) -> list[Rank]:
    totals: dict[int, int] = {}
    own = (
        _earnings(region_code, Account.Kind.HOUSEHOLD, period)
        .values("account__household_id")
        .annotate(total=Sum("earned"))
        .values_list("account__household_id", "total")
    )
    members = (
        _earnings(region_code, Account.Kind.RESIDENT, period)
        .filter(account__resident__person__household__isnull=False)
        .values("account__resident__person__household_id")
        .annotate(total=Sum("earned"))
        .values_list("account__resident__person__household_id", "total")
    )
    for household_id, total in [*own, *members]:
        totals[household_id] = totals.get(household_id, 0) + total
    top = sorted(
        ((pk, total) for pk, total in totals.items() if total > 0), key=lambda r: (-r[1], r[0])
    )[:size]
    households = Household.objects.select_related("head").in_bulk([pk for pk, _ in top])
    return _places(
        [
            (f"{mask_name(households[pk].head.name)}家" if households[pk].head_id else "家庭", n)
            for pk, n in top
        ]
    )


@dataclass
class Correction:
    at: datetime.datetime
    name: str
    amount: int
    kind: str
    reason: str


def corrections(*, region_code: str, period: Period, limit: int = 200) -> list[Correction]:
    """Adjustments, deductions and reversals in the period, with their reasons: the part
    of the board that shows why someone's points changed other than by taking part."""
    start, end = period.bounds
    postings = (
        Posting.objects.filter(
            entry__ledger__region_code__within=region_code,
            entry__at__gte=start,
            entry__at__lt=end,
            entry__kind__in=CORRECTION_KINDS,  # as entry_correction_idx
            account__kind__in=(Account.Kind.RESIDENT, Account.Kind.HOUSEHOLD, Account.Kind.TEAM),
        )
        .select_related("entry", *(f"account__{r}" for r in LABEL_RELATED))
        .order_by("entry__at", "entry_id")[:limit]
    )
    return [
        Correction(
            at=p.entry.at,
            name=account_label(p.account),
            amount=p.amount,
            kind=p.entry.get_kind_display(),
            reason=p.entry.memo,
        )
        for p in postings
    ]


# --- staff: the ledger of a community --------------------------------------------------


def ledger_entries(*, user, region_code: str) -> QuerySet:
    require(user, "points.view", region_code)
    return (
        JournalEntry.objects.filter(ledger__region_code__within=region_code)
        .select_related("ledger", "actor", "reverses")
        .prefetch_related("reversals")
        .order_by("-at", "-id")
    )


class LedgerSearchError(DomainError):
    pass


def ledger_search(entries: QuerySet, text: str) -> QuerySet:
    """The entries of a resident found by name (姓名 or 称呼), by the last four digits of
    their phone, or by the whole number. What `entries` holds is already scoped."""
    text = unicodedata.normalize("NFKC", text or "").strip()
    if not text:
        return entries
    kind = Q(account__kind=Account.Kind.RESIDENT)
    # a number as people type it: "155 6062 1534", "+8615560621534", full-width digits
    digits = "".join(text.split())
    text = phones.mobile(digits) or digits if digits.lstrip("+").isdigit() else text
    if text.isascii() and text.isdigit():
        if len(text) == 4:
            who = Q(account__resident__phone_tail=text) | Q(
                account__resident__person__phone_tail=text
            )
        elif len(text) == 11:
            who = Q(account__resident__phone=text)
        else:
            raise LedgerSearchError(
                "请输入姓名、手机号后四位或完整的11位手机号。", code="search_invalid"
            )
    else:
        who = Q(account__resident__person__name__icontains=text) | Q(
            account__resident__display_name__icontains=text
        )
    holders = Posting.objects.filter(kind & who).values("entry_id")
    return entries.filter(pk__in=holders)


@dataclass
class LedgerLine:
    """One account holder's side of an entry: who (masked), by how much, and the balance
    their account had after it."""

    label: str
    phone: str
    amount: int
    balance_after: int
    person_id: int | None


def ledger_lines(entries: list[JournalEntry]) -> dict[int, list[LedgerLine]]:
    """The holders' lines of a page of entries (not the issuance, expiry or store side),
    with each account's balance after the entry: one query for the page."""
    running = (
        Posting.objects.filter(
            account_id=OuterRef("account_id"), entry__sequence__lte=OuterRef("entry__sequence")
        )
        .values("account_id")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    postings = (
        Posting.objects.filter(
            entry_id__in=[e.pk for e in entries],
            account__kind__in=(Account.Kind.RESIDENT, Account.Kind.HOUSEHOLD, Account.Kind.TEAM),
        )
        .select_related("entry", *(f"account__{r}" for r in LABEL_RELATED))
        .annotate(balance_after=Subquery(running))
        .order_by("entry_id", "id")
    )
    lines: dict[int, list[LedgerLine]] = {}
    for posting in postings:
        account = posting.account
        holder = account.resident if account.kind == Account.Kind.RESIDENT else None
        lines.setdefault(posting.entry_id, []).append(
            LedgerLine(
                label=account_label(account),
                phone=str(holder.phone) if holder else "",
                amount=posting.amount,
                balance_after=posting.balance_after,
                person_id=holder.person_id if holder else None,
            )
        )
    return lines


def entry_get(*, user, pk: int) -> JournalEntry:
    entry = JournalEntry.objects.select_related("ledger").filter(pk=pk).first()
    if entry is None:
        raise NotFound()
    require(user, "points.view", entry.ledger.region_code)
    return entry


# --- stores -------------------------------------------------------------------------------


def store_list(*, user, permission: str = "stores.manage") -> QuerySet:
    return (
        scope_filter(Store.objects.all(), user, permission)
        .annotate(goods_count=Count("goods", filter=Q(goods__is_active=True)))
        .order_by("region_code", "name")
    )


def store_get(*, user, pk: int) -> Store:
    """A store the user manages, or one they serve at as a clerk."""
    store = Store.objects.filter(pk=pk).first()
    if store is None:
        raise NotFound()
    if has_permission(user, "stores.manage", store.region_code):
        return store
    if has_permission(user, "stores.serve", store.region_code) and store.clerks.filter(pk=user.pk):
        return store
    raise NotFound()


def counter_store(*, user, pk: int) -> Store:
    """A store whose counter the user serves at (a clerk of it, in its community)."""
    store = Store.objects.filter(pk=pk, clerks=user).first() if user.is_authenticated else None
    if store is None or not has_permission(user, "stores.serve", store.region_code):
        raise NotFound("您不是该超市的店员。")
    return store


def counter_scan(*, user, store: Store, pk: int | None) -> PersonalCode | None:
    """The resident's code this clerk scanned at this counter within
    PersonalCode.COUNTER_FOR (the clerk picks goods without scanning again), or None."""
    if pk is None:
        return None
    return (
        PersonalCode.objects.select_related("resident")
        .filter(
            pk=pk,
            store=store,
            clerk=user,
            used_at__gte=timezone.now() - PersonalCode.COUNTER_FOR,
            redemption__isnull=True,
            resident__is_active=True,
        )
        .first()
    )


@dataclass
class DailyReport:
    store: Store
    day: datetime.date
    redemptions: list
    goods: list  # (name, quantity, points)
    restocks: list
    total_points: int


def daily_report(*, store: Store, day: datetime.date) -> DailyReport:
    """日报: the day's confirmed redemptions, goods given out, and restocking."""
    start = timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))
    end = start + datetime.timedelta(days=1)
    redemptions = list(
        Redemption.objects.filter(
            store=store, status=Redemption.Status.CONFIRMED, confirmed_at__range=(start, end)
        )
        .select_related("resident__person", "clerk")
        .prefetch_related("lines__good")
        .order_by("confirmed_at")
    )
    goods: dict[str, list[int]] = {}
    for redemption in redemptions:
        for line in redemption.lines.all():
            row = goods.setdefault(line.good.name, [0, 0])
            row[0] += line.quantity
            row[1] += line.quantity * line.price
    restocks = list(
        Restock.objects.filter(good__store=store, at__range=(start, end))
        .select_related("good", "actor")
        .order_by("at")
    )
    return DailyReport(
        store=store,
        day=day,
        redemptions=redemptions,
        goods=sorted((name, q, n) for name, (q, n) in goods.items()),
        restocks=restocks,
        total_points=sum(r.total for r in redemptions),
    )


# --- figures ------------------------------------------------------------------------------


def points_figures(*, region_code: str, start: datetime.datetime, end: datetime.datetime):
    """Points issued (to residents, households and teams) and spent at stores."""
    rows = Posting.objects.filter(
        entry__ledger__region_code__within=region_code, entry__at__gte=start, entry__at__lt=end
    )
    issued = rows.filter(
        entry__kind=JournalEntry.Kind.EARN, account__kind=Account.Kind.ISSUANCE
    ).aggregate(n=Sum("amount"))["n"]
    spent = rows.filter(
        entry__kind=JournalEntry.Kind.REDEEM, account__kind=Account.Kind.STORE
    ).aggregate(n=Sum("amount"))["n"]
    return -(issued or 0), spent or 0
