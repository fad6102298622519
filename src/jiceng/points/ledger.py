"""Posting to the ledger: the one function that moves points, and the check that proves the
books are whole.

`post` takes the ledger row lock (which orders the hash chain), then the accounts in
ascending id (a fixed order, so two postings never wait on each other in a circle),
changes balances with conditional updates that the database's floor constraint guards,
spends earned lots oldest first, keeps the monthly earnings that rankings read, and
appends the entry with its hash. An entry's key comes from its cause (`checkin:<id>`,
`redeem:<id>`): posting the same key again returns the entry already there.
"""

import datetime
import hashlib
import json
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import Case, F, Sum, Value, When
from django.utils import timezone

from jiceng.core.actors import user_of
from jiceng.core.errors import DomainError
from jiceng.core.region_codes import community_of
from jiceng.points.models import (
    Account,
    JournalEntry,
    Ledger,
    Lot,
    MonthlyEarning,
    Posting,
)

EARNING_KINDS = (JournalEntry.Kind.EARN, JournalEntry.Kind.DEDUCT, JournalEntry.Kind.ADJUST)
RANKED = (Account.Kind.RESIDENT, Account.Kind.HOUSEHOLD, Account.Kind.TEAM)
NO_FLOOR = (Account.Kind.ISSUANCE, Account.Kind.EXPIRY)


def ledger_for(region_code: str) -> Ledger:
    """The community's currency (created on first use)."""
    ledger, _ = Ledger.objects.get_or_create(region_code=community_of(region_code))
    return ledger


def account_for(ledger: Ledger, kind: str, owner=None) -> Account:
    """The account of an owner (a resident, household, team or store) or a system account."""
    fields = {kind: owner} if owner is not None else {}
    account = Account.objects.filter(ledger=ledger, kind=kind, **fields).first()
    if account:
        return account
    try:
        with transaction.atomic():
            return Account.objects.create(
                ledger=ledger, kind=kind, floor=None if kind in NO_FLOOR else 0, **fields
            )
    except IntegrityError:  # created meanwhile by another request
        return Account.objects.get(ledger=ledger, kind=kind, **fields)


def entry_hash(prev_hash: str, entry: JournalEntry, lines: list[tuple[int, int]]) -> str:
    body = json.dumps(
        [entry.sequence, entry.key, entry.kind, _utc(entry.at), entry.memo, sorted(lines)],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256((prev_hash + body).encode()).hexdigest()


def _utc(moment: datetime.datetime) -> str:
    """The moment as the database gives it back, whatever zone it was written in."""
    return moment.astimezone(datetime.timezone.utc).isoformat(timespec="microseconds")


def month_of(moment: datetime.datetime) -> datetime.date:
    return timezone.localtime(moment).date().replace(day=1)


def counts_as_earning(kind: str, reversed_kind: str | None = None) -> bool:
    """Rankings count what was earned in the period: awards, deductions and corrections,
    and reversals of these; never redemption or expiry (spending is not un-earning)."""
    if kind == JournalEntry.Kind.REVERSE:
        return reversed_kind in EARNING_KINDS
    return kind in EARNING_KINDS


@dataclass
class Entry:
    """One entry to post: its key (from its cause), kind, memo and (account, amount) lines."""

    key: str
    kind: str
    memo: str
    lines: list[tuple[Account, int]]
    reverses: JournalEntry | None = None
    at: datetime.datetime | None = None  # when it happened, if not now (a ledger's history)


def post(
    *,
    ledger: Ledger,
    key: str,
    kind: str,
    memo: str,
    lines: list[tuple[Account, int]],
    actor=None,
    reverses: JournalEntry | None = None,
) -> JournalEntry:
    """Append one balanced entry, or return the one this key already made."""
    return post_many(ledger=ledger, entries=[Entry(key, kind, memo, lines, reverses)], actor=actor)[
        0
    ]


@transaction.atomic
def post_many(
    *, ledger: Ledger, entries: list[Entry], actor=None, at: datetime.datetime | None = None
) -> list[JournalEntry]:
    """Append balanced entries to one community's ledger, all or none, in order. An entry
    whose key is already posted is not posted again: the existing one is returned in its
    place. An entry is dated now unless it says when it happened (a community bringing its
    paper ledger of the year, or the demo's history); `at` dates the whole batch. `actor`
    is an Actor (or its staff user): the entries keep the staff user, if any."""
    actor = user_of(actor)
    for spec in entries:
        spec.lines = [(account, amount) for account, amount in spec.lines if amount]
        if not spec.lines or sum(amount for _, amount in spec.lines) != 0:
            raise DomainError("分录借贷不平衡。", code="entry_unbalanced")
        if any(account.ledger_id != ledger.pk for account, _ in spec.lines):
            raise DomainError("分录跨越了不同社区的积分账本。", code="entry_cross_ledger")
    keys = [spec.key for spec in entries]
    if len(set(keys)) != len(keys):
        raise DomainError("同一批分录中幂等键重复。", code="entry_duplicate")
    ledger = Ledger.objects.select_for_update().get(pk=ledger.pk)  # orders the hash chain
    posted = {e.key: e for e in JournalEntry.objects.filter(key__in=keys)}
    fresh = [spec for spec in entries if spec.key not in posted]
    if fresh:
        for entry in _append(ledger, fresh, actor, at or timezone.now()):
            posted[entry.key] = entry
    return [posted[key] for key in keys]


def _append(ledger: Ledger, entries: list[Entry], actor, now) -> list[JournalEntry]:
    ids = sorted({account.pk for spec in entries for account, _ in spec.lines})
    accounts = {
        a.pk: a for a in Account.objects.select_for_update().filter(pk__in=ids).order_by("pk")
    }
    running = {pk: account.balance for pk, account in accounts.items()}
    for spec in entries:  # in order: no entry may take an account below its floor
        for account, amount in spec.lines:
            running[account.pk] += amount
            floor = accounts[account.pk].floor
            if floor is not None and running[account.pk] < floor:
                raise DomainError("积分余额不足。", code="insufficient_points")
    deltas = {
        pk: running[pk] - accounts[pk].balance for pk in ids if running[pk] != accounts[pk].balance
    }
    if deltas:
        try:  # one statement; the floor constraint has the last word
            Account.objects.filter(pk__in=list(deltas)).update(
                balance=F("balance")
                + Case(*(When(pk=pk, then=Value(d)) for pk, d in deltas.items()), default=0)
            )
        except IntegrityError:
            raise DomainError("积分余额不足。", code="insufficient_points") from None
    rows, prev, sequence = [], ledger.last_hash, ledger.entry_count
    author = actor if actor is not None and actor.is_authenticated else None
    for spec in entries:
        sequence += 1
        entry = JournalEntry(
            ledger=ledger,
            at=spec.at or now,
            kind=spec.kind,
            key=spec.key,
            memo=spec.memo[:200],
            actor=author,
            reverses=spec.reverses,
            sequence=sequence,
            prev_hash=prev,
        )
        entry.hash = prev = entry_hash(prev, entry, [(a.pk, n) for a, n in spec.lines])
        rows.append(entry)
    try:  # post_many's own savepoint rolls back whatever went before
        JournalEntry.objects.bulk_create(rows)
    except IntegrityError:  # the same key, posted meanwhile by another ledger's request
        raise DomainError("该笔积分已经入账。", code="entry_duplicate") from None
    if rows[0].pk is None:  # a backend that does not return ids from bulk inserts
        by_key = dict(
            JournalEntry.objects.filter(key__in=[e.key for e in rows]).values_list("key", "pk")
        )
        for entry in rows:
            entry.pk = by_key[entry.key]
    Posting.objects.bulk_create(
        [
            Posting(entry=entry, account_id=account.pk, amount=amount)
            for entry, spec in zip(rows, entries, strict=True)
            for account, amount in spec.lines
        ]
    )
    Ledger.objects.filter(pk=ledger.pk).update(last_hash=prev, entry_count=sequence)
    _lots(ledger, accounts, rows, entries)
    earned: dict[tuple[int, datetime.date], int] = {}
    for entry, spec in zip(rows, entries, strict=True):
        if counts_as_earning(spec.kind, spec.reverses.kind if spec.reverses else None):
            for account, amount in spec.lines:
                if accounts[account.pk].kind in RANKED:
                    key = (account.pk, month_of(entry.at))
                    earned[key] = earned.get(key, 0) + amount
    _earned(ledger, {key: n for key, n in earned.items() if n}, accounts)
    return rows


def _lots(ledger: Ledger, accounts: dict, rows: list[JournalEntry], entries: list[Entry]) -> None:
    """Credits become lots (with the community's expiry); debits spend the lots that
    expire first (FIFO). Worked out in memory for the whole batch, then written."""
    months = ledger.expiry_months
    held = [
        (a.pk, n) for spec in entries for a, n in spec.lines if accounts[a.pk].kind not in NO_FLOOR
    ]
    pools: dict[int, list[Lot]] = {}
    for lot in (
        Lot.objects.select_for_update()
        .filter(account_id__in={pk for pk, n in held if n < 0}, remaining__gt=0)
        .order_by("id")
    ):
        pools.setdefault(lot.account_id, []).append(lot)
    fresh: list[Lot] = []
    touched: dict[int, Lot] = {}
    for entry, spec in zip(rows, entries, strict=True):
        for account, amount in spec.lines:
            if accounts[account.pk].kind in NO_FLOOR:
                continue
            pool = pools.setdefault(account.pk, [])
            if amount > 0:
                expires = entry.at + datetime.timedelta(days=30 * months) if months else None
                lot = Lot(
                    account_id=account.pk,
                    entry=entry,
                    amount=amount,
                    remaining=amount,
                    expires_at=expires,
                )
                fresh.append(lot)
                pool.append(lot)
                continue
            due = -amount
            pool.sort(
                key=lambda lot: (
                    lot.expires_at is None,
                    lot.expires_at and lot.expires_at.timestamp(),
                )
            )
            for lot in pool:
                take = min(due, lot.remaining)
                if not take:
                    continue
                lot.remaining -= take
                due -= take
                if lot.pk:
                    touched[lot.pk] = lot
                if not due:
                    break
            if due:  # the floor check passed, so the lots must cover it: the books are broken
                raise RuntimeError(f"account {account.pk}: lots do not cover its balance")
    Lot.objects.bulk_create(fresh)
    Lot.objects.bulk_update(touched.values(), ["remaining"])


def _earned(ledger: Ledger, amounts: dict[tuple[int, datetime.date], int], accounts) -> None:
    """Add to the months' earnings (the ledger lock keeps this read-modify-write safe)."""
    if not amounts:
        return
    rows = {
        (row.account_id, row.month): row
        for row in MonthlyEarning.objects.filter(
            account_id__in={pk for pk, _ in amounts}, month__in={m for _, m in amounts}
        )
    }
    changed = [row for key, row in rows.items() if key in amounts]
    for row in changed:
        row.earned += amounts[(row.account_id, row.month)]
    MonthlyEarning.objects.bulk_update(changed, ["earned"])
    MonthlyEarning.objects.bulk_create(
        MonthlyEarning(
            account_id=pk,
            ledger=ledger,
            region_code=ledger.region_code,
            kind=accounts[pk].kind,
            month=month,
            earned=amount,
        )
        for (pk, month), amount in amounts.items()
        if (pk, month) not in rows
    )


@dataclass
class Problem:
    where: str
    what: str


def verify(region_code: str | None = None) -> tuple[int, list[Problem]]:
    """Check every entry sums to zero, every balance equals its postings, every resident's
    unspent lots equal their balance, the monthly earnings match the postings, and each
    ledger's hash chain is unbroken. Returns (entries checked, problems)."""
    problems: list[Problem] = []
    ledgers = Ledger.objects.all()
    if region_code:
        ledgers = ledgers.filter(region_code__within=region_code)
    checked = 0
    for ledger in ledgers:
        prev = "0" * 64
        count = 0
        lines: dict[int, list[tuple[int, int]]] = {}
        for entry_id, account_id, amount in Posting.objects.filter(
            entry__ledger=ledger
        ).values_list("entry_id", "account_id", "amount"):
            lines.setdefault(entry_id, []).append((account_id, amount))
        for sequence, entry in enumerate(ledger.entries.order_by("sequence"), start=1):
            checked += 1
            count = sequence
            pairs = lines.get(entry.pk, [])
            if sum(amount for _, amount in pairs) != 0:
                problems.append(Problem(entry.key, "借贷不平衡"))
            if entry.sequence != sequence or entry.prev_hash != prev:
                problems.append(Problem(entry.key, "序号或前一摘要不连续"))
            if entry_hash(prev, entry, pairs) != entry.hash:
                problems.append(Problem(entry.key, "摘要与内容不符（分录被改动过）"))
            prev = entry.hash
        if ledger.last_hash != prev or ledger.entry_count != count:
            problems.append(Problem(ledger.region_code, "账本链尾与分录不符"))
        sums = dict(
            Posting.objects.filter(entry__ledger=ledger)
            .values("account_id")
            .annotate(total=Sum("amount"))
            .values_list("account_id", "total")
        )
        lots = dict(
            Lot.objects.filter(account__ledger=ledger)
            .values("account_id")
            .annotate(total=Sum("remaining"))
            .values_list("account_id", "total")
        )
        for account in ledger.accounts.all():
            if account.balance != sums.get(account.pk, 0):
                problems.append(Problem(f"账户{account.pk}", "余额与过账合计不符"))
            if account.floor is not None and account.balance < account.floor:
                problems.append(Problem(f"账户{account.pk}", "余额低于下限"))
            if account.kind not in NO_FLOOR and lots.get(account.pk, 0) != account.balance:
                problems.append(Problem(f"账户{account.pk}", "积分批次合计与余额不符"))
        earned: dict[tuple[int, datetime.date], int] = {}
        for account_id, at, kind, reversed_kind, amount in Posting.objects.filter(
            entry__ledger=ledger, account__kind__in=RANKED
        ).values_list("account_id", "entry__at", "entry__kind", "entry__reverses__kind", "amount"):
            if counts_as_earning(kind, reversed_kind):
                month = month_of(at)
                earned[(account_id, month)] = earned.get((account_id, month), 0) + amount
        earned = {key: amount for key, amount in earned.items() if amount}
        kept = {
            (row.account_id, row.month): row.earned
            for row in MonthlyEarning.objects.filter(ledger=ledger)
            if row.earned
        }
        if kept != earned:
            problems.append(Problem(ledger.region_code, "月度积分与过账不符"))
    return checked, problems
