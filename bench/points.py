"""The points ledger at scale, on PostgreSQL (part of `make bench`).

- Posting throughput: entries posted one per transaction through points.ledger.post (as
  a check-in or a redemption is), and a settlement's batch through post_many, each as a
  ratio to bare INSERTs of the same rows (entry and postings) in the same transaction
  pattern, measured in the same run.
- Rankings over 1,000,000 resident accounts that earned points this month (张榜公示):
  the county, a town and a community, and the whole public board page for the county
  (target p95 < 200 ms).

Environment: JICENG_BENCH_DATABASE_URL (server part), JICENG_BENCH_ACCOUNTS (default
1,000,000), JICENG_BENCH_ENTRIES (default 5,000).
"""

import datetime
import os
import random
import statistics
import sys
import tempfile
import time

from common import database_url, p95, recreate_database, setup_django, timed

DATABASE_URL = database_url("jiceng_bench_points")
ACCOUNTS = int(os.environ.get("JICENG_BENCH_ACCOUNTS", "1000000"))
ENTRIES = int(os.environ.get("JICENG_BENCH_ENTRIES", "5000"))
BATCH = 50  # a settlement: fifty attendees of one activity
COUNTY = "370829"


def communities() -> list[str]:
    """500 communities: 10 towns of 50 (codes only; rankings need no region rows)."""
    return [f"{COUNTY}{town:03d}{c:03d}" for town in range(1, 11) for c in range(1, 51)]


def generate_accounts(rng: random.Random) -> None:
    """ACCOUNTS residents, each with an account in one community and this month's and
    last month's earnings (written by COPY)."""
    from django.db import connection, transaction
    from django.utils import timezone

    from jiceng.core.bulk import IdAllocator, RowStream
    from jiceng.points.ledger import ledger_for
    from jiceng.points.models import Account, MonthlyEarning
    from jiceng.residents.models import Resident

    ledgers = [ledger_for(code) for code in communities()]
    now = timezone.now()
    this_month = timezone.localdate().replace(day=1)
    last_month = (this_month - datetime.timedelta(days=1)).replace(day=1)
    with transaction.atomic():
        ids = IdAllocator(Resident, Account, MonthlyEarning)
        residents, accounts = [], []
        fields = ["id", "phone", "phone_index", "display_name", "region_code", "created_at",
                  "is_active"]  # fmt: skip
        seal = Resident._meta.get_field("phone").seal  # COPY bypasses the fields
        digest = Resident._meta.get_field("phone_index").digest
        with RowStream(Resident, fields) as stream:
            for serial in range(ACCOUNTS):
                residents.append(ids.take(Resident))
                region_code = ledgers[serial % len(ledgers)].region_code
                phone = f"1{serial:010d}"
                stream.write(
                    (residents[-1], seal(phone), digest(phone), "", region_code, now, True)
                )
        fields = ["id", "ledger", "kind", "resident", "balance", "floor"]
        with RowStream(Account, fields) as stream:
            for serial in range(ACCOUNTS):
                accounts.append(ids.take(Account))
                ledger = ledgers[serial % len(ledgers)]
                stream.write((accounts[-1], ledger.pk, "resident", residents[serial], 0, 0))
        fields = ["id", "account", "ledger", "region_code", "kind", "month", "earned"]
        with RowStream(MonthlyEarning, fields) as stream:
            for month in (last_month, this_month):
                for serial in range(ACCOUNTS):
                    ledger = ledgers[serial % len(ledgers)]
                    stream.write(
                        (
                            ids.take(MonthlyEarning),
                            accounts[serial],
                            ledger.pk,
                            ledger.region_code,
                            "resident",
                            month,
                            rng.randint(1, 400),
                        )
                    )
        ids.close()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")  # as autovacuum leaves the database in service


def posting_throughput(town: str = f"{COUNTY}099") -> list[tuple[str, float, float]]:
    """(label, entries per second, baseline entries per second), on two fresh ledgers of
    communities in `town` (another town for each run on the same database)."""
    from django.db import connection, transaction
    from django.utils import timezone

    from jiceng.points.ledger import Entry, account_for, ledger_for, post, post_many
    from jiceng.points.models import Account, JournalEntry
    from jiceng.residents.models import Resident

    ledger = ledger_for(f"{town}001")
    issuance = account_for(ledger, Account.Kind.ISSUANCE)
    people = [
        account_for(ledger, Account.Kind.RESIDENT, r)
        for r in Resident.objects.bulk_create(
            Resident(phone=f"2{town[-3:]}{n:07d}", region_code=ledger.region_code)
            for n in range(BATCH)
        )
    ]

    def lines(n):
        return [(people[n % BATCH], 10), (issuance, -10)]

    serial = iter(range(10**9))

    def one_by_one():
        for _ in range(ENTRIES):
            n = next(serial)
            key = f"bench:{town}:{n}"
            post(ledger=ledger, key=key, kind="earn", memo="参加活动", lines=lines(n))

    def batches():
        for _ in range(ENTRIES // BATCH):
            numbers = [next(serial) for _ in range(BATCH)]
            post_many(
                ledger=ledger,
                entries=[Entry(f"bench:{town}:{n}", "earn", "参加活动", lines(n)) for n in numbers],
            )

    entry_sql = (
        "INSERT INTO points_journalentry (ledger_id, at, kind, key, memo, sequence, prev_hash,"
        " hash) VALUES (%s, %s, 'earn', %s, '参加活动', %s, %s, %s) RETURNING id"
    )
    posting_sql = "INSERT INTO points_posting (entry_id, account_id, amount) VALUES (%s, %s, %s)"
    baseline_ledger = ledger_for(f"{town}002")
    baseline_issuance = account_for(baseline_ledger, Account.Kind.ISSUANCE)

    def bare(per_transaction: int):
        def run():
            with connection.cursor() as cursor:
                for _ in range(ENTRIES // per_transaction):
                    with transaction.atomic():
                        for _ in range(per_transaction):
                            n = next(serial)
                            cursor.execute(
                                entry_sql,
                                [
                                    baseline_ledger.pk,
                                    timezone.now(),
                                    f"bare:{town}:{n}",
                                    n,
                                    "0" * 64,
                                    "0" * 64,
                                ],
                            )
                            entry_id = cursor.fetchone()[0]
                            cursor.executemany(
                                posting_sql,
                                [
                                    [entry_id, people[n % BATCH].pk, 10],
                                    [entry_id, baseline_issuance.pk, -10],
                                ],
                            )

        return run

    results = []
    for label, measured, baseline in (
        ("post, one entry per transaction", one_by_one, bare(1)),
        (f"post_many, {BATCH} entries per transaction", batches, bare(BATCH)),
    ):
        [bare_ms] = timed(baseline, 1)
        [ms] = timed(measured, 1)
        results.append((label, ENTRIES / ms * 1000, ENTRIES / bare_ms * 1000))
    assert JournalEntry.objects.filter(ledger=ledger).count() == 2 * ENTRIES
    return results


def ranking_latencies(
    county: str = COUNTY, town: str = f"{COUNTY}001", community: str = f"{COUNTY}001001"
) -> list[tuple[str, list[float]]]:
    from django.test import Client

    from jiceng.points.selectors import Period, ranking

    month = Period.parse(None)
    cases = [
        ("county, top 100", lambda: ranking(region_code=county, kind="resident", period=month)),
        ("town, top 100", lambda: ranking(region_code=town, kind="resident", period=month)),
        (
            "community, top 100",
            lambda: ranking(region_code=community, kind="resident", period=month),
        ),
    ]
    client = Client()
    assert client.get(f"/rank/{county}/").status_code == 200
    cases.append(("public board page, county", lambda: client.get(f"/rank/{county}/")))
    year = Period(month.year)
    cases.append(
        (
            "community, this year",
            lambda: ranking(region_code=community, kind="resident", period=year),
        )
    )
    cases.append(
        (
            "county, this year (no target)",
            lambda: ranking(region_code=county, kind="resident", period=year),
        )
    )
    return [
        (label, timed(function, 30 if "county, this" not in label else 5))
        for label, function in cases
    ]


def main() -> int:
    print(f"Jiceng points benchmark: {ACCOUNTS:,} accounts, {ENTRIES:,} entries per run")
    print(f"date: {datetime.datetime.now():%Y-%m-%d %H:%M}, {os.cpu_count()} cpus")
    recreate_database(DATABASE_URL)
    with tempfile.TemporaryDirectory() as var_dir:
        setup_django(var_dir, DATABASE_URL)
        from jiceng.places.models import Region
        from jiceng.points.ledger import verify

        Region.objects.get_or_create(code=f"{COUNTY}", defaults={"name": "嘉祥县"})
        started = time.perf_counter()
        generate_accounts(random.Random(7))
        print(
            f"wrote {ACCOUNTS:,} accounts and their earnings in "
            f"{time.perf_counter() - started:.0f} s (not measured)"
        )
        ok = True
        print("ledger posting throughput (entries with two postings each):")
        for label, rate, bare in posting_throughput():
            print(
                f"  {label:<40} {rate:8.0f}/s  bare INSERTs {bare:8.0f}/s  ratio {rate / bare:4.2f}"
            )
        checked, problems = verify(f"{COUNTY}099001")
        print(f"points verify on the posted ledger: {checked:,} entries, {len(problems)} problems")
        ok &= not problems
        print("rankings by points earned (30 runs each, target p95 < 200 ms):")
        for label, samples in ranking_latencies():
            ok &= p95(samples) < 200 or "no target" in label
            print(
                f"  {label:<28} p50 {statistics.median(samples):6.1f} ms"
                f"  p95 {p95(samples):6.1f} ms"
            )
    print("PASS" if ok else "BELOW TARGET")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
