"""Roster import and scoped search at scale, on PostgreSQL (part of `make bench`).

Each figure is printed beside a raw baseline measured in the same run on the same
database, so the ratio means the same on any machine:

- import: persons/s of `roster_import` (read CSV, check every row, write households and
  persons) against a raw COPY of the same person rows into a table with the same indexes;
- search: a grid worker's person search (the page's selector) inside one grid, against the
  equivalent hand-written SQL.

Environment: JICENG_BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/
jiceng_bench; the database is dropped and created), JICENG_BENCH_PERSONS (default
1,000,000).
"""

import csv
import datetime
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse

from common import database_url, p95, recreate_database, setup_django, timed

DATABASE_URL = database_url("jiceng_bench")
PERSONS = int(os.environ.get("JICENG_BENCH_PERSONS", "1000000"))
COUNTY = "370829"
COMMUNITIES_PER_TOWN = 10
GRIDS_PER_COMMUNITY = 17
SEALING = [0.0]  # seconds spent sealing the rows written for COPY


def build_grids() -> list[str]:
    from jiceng.places.models import Region

    towns = list(Region.objects.filter(parent_id=COUNTY, level="town").order_by("code"))
    regions = []
    for town in towns:
        for c in range(1, COMMUNITIES_PER_TOWN + 1):
            community = f"{town.code}{c:03d}"
            regions.append(Region(code=community, name=f"社区{c}", level="community", parent=town))
            for g in range(1, GRIDS_PER_COMMUNITY + 1):
                regions.append(
                    Region(
                        code=f"{community}{g:03d}",
                        name=f"社区{c}第{g}网格",
                        level="grid",
                        parent_id=community,
                        grid_kind="comprehensive",
                    )
                )
    Region.objects.bulk_create(regions)
    return [r.code for r in regions if r.level == "grid"]


def write_roster(
    path: Path, grids: list[str], persons: int = PERSONS, origin: str = COUNTY
) -> list[tuple]:
    """A roster CSV of `persons` rows, ID numbers issued in `origin` (a county whose
    people are not in the database yet); returns the same persons as table rows for COPY."""
    from jiceng.core.idnumber import check_character
    from jiceng.demo import names
    from jiceng.places.roster import COLUMNS
    from jiceng.places.roster_writer import Sealer

    seal = Sealer()
    rng = random.Random(11)
    today = datetime.date.today()
    now = datetime.datetime.now(datetime.timezone.utc)
    seen: set[str] = set()
    relations = ["户主", "配偶", "子", "女"]
    table_rows = []
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([c.header for c in COLUMNS])
        written = 0
        household = 0
        while written < persons:
            household += 1
            grid = grids[household % len(grids)]
            size = min(rng.choice([1, 2, 3, 3, 4]), persons - written)
            building = f"{household % 40 + 1}号楼"
            room = f"{household % 6 + 1}0{household % 2 + 1}"
            for member in range(size):
                male = member in (0, 2)
                while True:
                    birth = today - datetime.timedelta(days=rng.randrange(365 * 5, 365 * 85))
                    seq = rng.randrange(500) * 2 + (1 if male else 0)
                    first17 = f"{origin}{birth:%Y%m%d}{seq:03d}"
                    if first17 not in seen:
                        seen.add(first17)
                        break
                id_number = first17 + check_character(first17)
                name = rng.choice(names.SURNAMES) + rng.choice(names.MALE_CHARS)
                phone = f"13{rng.randrange(10**9):09d}"
                relation = relations[member] if member < 4 else "其他"
                writer.writerow(
                    [
                        grid,
                        f"{origin}-{household:08d}",
                        relation,
                        name,
                        id_number,
                        phone,
                        "汉族",
                        "群众",
                        "常住",
                        "",
                        building,
                        "1",
                        room,
                        "建设路1号",
                    ]
                )
                # The same row sealed as the import seals it (timed apart: SEALING).
                begun = time.perf_counter()
                sealed = (
                    seal.id_number(id_number),
                    seal.id_number_index(id_number),
                    seal.id_tail(id_number),
                    seal.birth_date(birth),
                    seal.phone(phone),
                    seal.phone_index(phone),
                    seal.phone_tail(phone),
                )
                SEALING[0] += time.perf_counter() - begun
                table_rows.append(
                    (
                        grid,
                        name,
                        *sealed[:3],
                        "M" if male else "F",
                        sealed[3],
                        birth.year,
                        *sealed[4:],
                        "汉族",
                        "群众",
                        relation,
                        "permanent",
                        "confirmed",
                        now,
                    )
                )
                written += 1
    return table_rows


def raw_copy(rows: list[tuple], into_the_table: bool = False) -> float:
    """Seconds to COPY `rows` into an empty table like places_person, or (into_the_table)
    into places_person itself with all it already holds, rolled back afterwards."""
    from django.db import connection, transaction

    table = "places_person" if into_the_table else "bench_raw_person"
    if not into_the_table:
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS bench_raw_person")
            cursor.execute("CREATE TABLE bench_raw_person (LIKE places_person INCLUDING ALL)")
    started = time.perf_counter()
    with (
        transaction.atomic(),
        connection.cursor() as cursor,
        cursor.copy(
            f"COPY {table} (region_code, name, id_number, id_number_index, id_tail, gender,"
            " birth_date, birth_year, phone, phone_index, phone_tail, ethnicity,"
            " political_status, relation_to_head, residence_type, registration, updated_at)"
            " FROM STDIN"
        ) as copy,
    ):
        for row in rows:
            copy.write_row(row)
        elapsed = time.perf_counter() - started  # the rows are in; only the commit is left
        transaction.set_rollback(into_the_table)
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_raw_person")
    return elapsed


def search_bench(grids: list[str]) -> list[tuple[str, list[float], list[float]]]:
    from django.db import connection

    from jiceng.accounts.models import Membership, User
    from jiceng.places.models import Person
    from jiceng.places.selectors import person_search

    grid = grids[len(grids) // 2]
    user, _ = User.objects.get_or_create(
        username=f"bench-worker-{grid}", defaults={"region_code": grid}
    )  # one per grid: a rerun on the same database must not widen anyone's scope
    Membership.objects.get_or_create(user=user, role="grid_worker", region_code=grid)
    sample = Person.objects.filter(region_code=grid).first()
    id_tail = Person._meta.get_field("id_tail").digest
    phone_tail = Person._meta.get_field("phone_tail").digest
    queries = {
        "name": sample.name[:1],
        "id tail": sample.id_number[-4:],
        "phone tail": sample.phone[-4:],
        "address": "建设路",
    }
    # The selector's query written by hand: tails match either tail, anything else the
    # name or the household's address.
    text_sql = (
        "SELECT p.* FROM places_person p LEFT JOIN places_household h ON h.id = p.household_id"
        " WHERE p.region_code LIKE %s AND (p.name LIKE %s OR h.address LIKE %s)"
        " ORDER BY p.region_code, p.name LIMIT 50"
    )
    tail_sql = (
        "SELECT * FROM places_person WHERE region_code LIKE %s"
        " AND (id_tail = %s OR phone_tail = %s) ORDER BY region_code, name LIMIT 50"
    )
    results = []
    for label, query in queries.items():

        def selector(query=query):
            # As a request would: load the user (and, in the search, their roles) first.
            return person_search(user=User.objects.get(pk=user.pk), query=query)

        def raw(label=label, query=query):
            with connection.cursor() as cursor:
                if label.endswith("tail"):  # the tails are kept as keyed hashes
                    digests = [id_tail(query), phone_tail(query)]
                    cursor.execute(tail_sql, [grid + "%", *digests])
                else:
                    cursor.execute(text_sql, [grid + "%", f"%{query}%", f"%{query}%"])
                cursor.fetchall()

        selector()
        raw()
        results.append((label, timed(selector, 50), timed(raw, 50)))
    return results


def main() -> int:
    print(f"Jiceng benchmark: {PERSONS:,} persons on {urlparse(DATABASE_URL).hostname}")
    print(f"date: {datetime.datetime.now():%Y-%m-%d %H:%M}, cpus: {os.cpu_count()}")
    recreate_database(DATABASE_URL)
    with tempfile.TemporaryDirectory() as var_dir:
        setup_django(var_dir, DATABASE_URL)
        grids = build_grids()
        roster = Path(var_dir) / "roster.csv"
        started = time.perf_counter()
        rows = write_roster(roster, grids)
        print(
            f"generated {len(rows):,} rows in {len(grids):,} grids "
            f"({time.perf_counter() - started:.1f} s, not measured)"
        )

        sealing = SEALING[0]
        print(
            f"sealing the same rows alone: {sealing:5.1f} s  "
            f"{sealing / len(rows) * 1e6:6.1f} µs a person (3 SM4-GCM, 4 HMAC-SM3)"
        )
        copy_seconds = raw_copy(rows)
        copy_rate = len(rows) / copy_seconds
        print(f"raw COPY of the same rows:  {copy_seconds:7.1f} s  {copy_rate:10,.0f} persons/s")

        from jiceng.places import roster_writer
        from jiceng.places.roster import roster_import

        # Every import looks each of its ID numbers up wherever it is registered, so that
        # its answer never depends on what exists: time that part on its own.
        lookup = roster_writer.persons_by_id_number
        lookup_seconds = 0.0

        def timed_lookup(id_numbers):
            nonlocal lookup_seconds
            begun = time.perf_counter()
            try:
                return lookup(id_numbers)
            finally:
                lookup_seconds += time.perf_counter() - begun

        roster_writer.persons_by_id_number = timed_lookup
        from jiceng.core.actors import Actor

        started = time.perf_counter()
        result = roster_import(
            actor=Actor.system("bench"),
            region_code=COUNTY,
            path=roster,
            original_name=roster.name,
        )
        import_seconds = time.perf_counter() - started
        roster_writer.persons_by_id_number = lookup
        if result.errors:
            print(f"import refused: {result.errors[:5]}")
            return 1
        import_rate = result.created / import_seconds
        ratio = import_rate / copy_rate
        print(
            f"roster import (checked):    {import_seconds:7.1f} s  {import_rate:10,.0f} persons/s"
        )
        print(f"ratio import / COPY:        {ratio:.2f}  (target ≥ 0.50)")
        print(
            f"  of which the lookup of every ID number wherever registered: "
            f"{lookup_seconds:.1f} s ({lookup_seconds / import_seconds:.0%} of the import)"
        )

        print("scoped person search inside one grid (50 runs each):")
        worst = 0.0
        for label, selector, raw in search_bench(grids):
            worst = max(worst, p95(selector))
            print(
                f"  {label:<11} p50 {statistics.median(selector):6.1f} ms"
                f"  p95 {p95(selector):6.1f} ms   raw SQL p50 {statistics.median(raw):6.1f} ms"
            )
        print(f"search p95 worst case: {worst:.1f} ms (target < 50 ms)")
        ok = ratio >= 0.5 and worst < 50
    print("PASS" if ok else "BELOW TARGET")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
