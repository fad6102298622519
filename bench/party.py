"""The party register at a big county's size, on PostgreSQL (part of `make bench`).

7,000 grid branches (each with a committee and a building group) under 350 community
committees and 10 town committees, 400,000 members, and three years of organization life
(三会一课 and 主题党日 at the county's rhythm: some 920,000 meetings, each a gathering),
written by COPY. Measured, each beside a raw SQL baseline of its heaviest query in the same
run:

- the completeness report of the whole county for the current quarter (7,000 rows), and of
  one town (700 rows);
- the organization department's overview of the county, and of one town, which sums the
  figures the worker counts (`party.tally`, every ten minutes); the time of that count
  over the whole county is printed too.

Target: p95 < 200 ms for both at the county. Environment: JICENG_BENCH_DATABASE_URL
(server part), JICENG_BENCH_BRANCHES (default 7,000), JICENG_BENCH_MEMBERS (default
400,000), JICENG_BENCH_YEARS (default 3); JICENG_BENCH_REUSE=1 measures again on the
data of the last run.
"""

import datetime
import os
import random
import secrets
import statistics
import sys
import tempfile

from common import database_url, p95, recreate_database, setup_django, timed

DATABASE_URL = database_url("jiceng_bench_party")
BRANCHES = int(os.environ.get("JICENG_BENCH_BRANCHES", "7000"))
MEMBERS = int(os.environ.get("JICENG_BENCH_MEMBERS", "400000"))
YEARS = int(os.environ.get("JICENG_BENCH_YEARS", "3"))
COUNTY = "370829"
TOWNS = 10
RUNS = 20
BLANK = ("",) * 7  # a member's own ID number, phone, work unit, mobility, left reason


def quarters_back(today: datetime.date, count: int) -> list[tuple[datetime.date, datetime.date]]:
    from jiceng.party.selectors import quarter_bounds, quarter_of

    found, day = [], today
    for _ in range(count):
        first, last = quarter_bounds(quarter_of(day))
        found.append((first, min(last, today)))
        day = first - datetime.timedelta(days=1)
    return found


def generate(rng: random.Random) -> dict:
    from django.db import connection, transaction
    from django.utils import timezone

    from jiceng.core.bulk import IdAllocator, RowStream
    from jiceng.core.idnumber import check_character
    from jiceng.gatherings.models import Gathering
    from jiceng.party.models import Appointment, Meeting, PartyMember, PartyOrganization
    from jiceng.places.models import Person, Region
    from jiceng.places.roster_writer import Sealer

    K = PartyOrganization.Kind
    today = timezone.localdate()
    now = timezone.now()
    per_town = BRANCHES // TOWNS
    per_community = 20
    towns = [f"{COUNTY}{900 + t:03d}" for t in range(TOWNS)]
    with transaction.atomic():
        Region.objects.bulk_create(
            [
                Region(code=t, name=f"测试镇{i}", level="town", parent_id=COUNTY)
                for i, t in enumerate(towns)
            ]
        )
        communities, grids = [], []
        for town in towns:
            for c in range(1, -(-per_town // per_community) + 1):
                code = f"{town}{c:03d}"
                communities.append(
                    Region(code=code, name=f"社区{c}", level="community", parent_id=town)
                )
                for g in range(1, per_community + 1):
                    grids.append(
                        Region(code=f"{code}{g:03d}", name=f"网格{g}", level="grid", parent_id=code,
                               grid_kind="comprehensive")
                    )  # fmt: skip
        Region.objects.bulk_create(communities, batch_size=2000)
        Region.objects.bulk_create(grids, batch_size=5000)
        ids = IdAllocator(PartyOrganization, PartyMember, Appointment, Person)
        org_fields = ["id", "region_code", "name", "kind", "parent", "term_started_on",
                      "term_ends_on", "closed_reason"]  # fmt: skip
        started = today - datetime.timedelta(days=400)
        ends = started + datetime.timedelta(days=3 * 365)
        county = ids.take(PartyOrganization)
        branches, groups = [], {}
        with RowStream(PartyOrganization, org_fields) as stream:
            stream.write((county, COUNTY, "县委", K.COUNTY_COMMITTEE, None, None, None, ""))
            town_ids = {}
            for town in towns:
                town_ids[town] = ids.take(PartyOrganization)
                stream.write((town_ids[town], town, "镇党委", K.TOWN_COMMITTEE, county, started,
                              ends, ""))  # fmt: skip
            community_ids = {}
            for community in communities:
                community_ids[community.code] = ids.take(PartyOrganization)
                stream.write((community_ids[community.code], community.code, "社区党委",
                              K.COMMUNITY_COMMITTEE, town_ids[community.parent_id], started, ends,
                              ""))  # fmt: skip
            for grid in grids[:BRANCHES]:
                branch = ids.take(PartyOrganization)
                branches.append((branch, grid.code))
                due = today + datetime.timedelta(days=rng.randrange(-30, 1000))
                stream.write((branch, grid.code, "网格党支部", K.GRID_BRANCH,
                              community_ids[grid.parent_id], due - datetime.timedelta(days=1095),
                              due, ""))  # fmt: skip
            for branch, code in branches:
                groups[branch] = ids.take(PartyOrganization)
                stream.write((groups[branch], code, "党小组", K.BUILDING_GROUP, branch, None, None,
                              ""))  # fmt: skip
        # Members: a person each for the committee (appointments name persons), the rest
        # members without a person (the register is not what is measured).
        person_fields = ["id", "region_code", "name", "id_number", "id_number_index", "id_tail",
                         "gender", "birth_date", "birth_year", "phone", "phone_index",
                         "phone_tail", "ethnicity", "political_status", "relation_to_head",
                         "residence_type", "registration", "updated_at"]  # fmt: skip
        member_fields = ["id", "region_code", "organization", "person", "name", "category",
                         "joined_on", "full_on", "updated_at", "id_number", "id_number_index",
                         "phone", "work_unit", "mobility", "mobility_place",
                         "left_reason"]  # fmt: skip
        committee: dict[int, list[int]] = {}
        seal = Sealer()
        with RowStream(Person, person_fields) as stream:
            for branch, code in branches:
                committee[branch] = []
                for _ in range(3):
                    person = ids.take(Person)
                    committee[branch].append(person)
                    birth = datetime.date(1950, 1, 1) + datetime.timedelta(days=person // 900)
                    first17 = f"370829{birth:%Y%m%d}{100 + person % 900:03d}"
                    number = first17 + check_character(first17)
                    sealed = (seal.id_number(number), seal.id_number_index(number))
                    stream.write(
                        (person, code, "委员", *sealed, seal.id_tail(number), "M",
                         seal.birth_date(birth), birth.year, seal.phone(""), seal.phone_index(""),
                         seal.phone_tail(""), "汉族", "中共党员", "户主", "permanent",
                         "confirmed", now)
                    )  # fmt: skip
        with RowStream(PartyMember, member_fields) as stream:
            written = 0
            for branch, code in branches:
                joined, full = datetime.date(2000, 7, 1), datetime.date(2001, 7, 1)
                for person in committee[branch]:
                    row = (ids.take(PartyMember), code, branch, person, "委员", "full", joined)
                    stream.write((*row, full, now, *BLANK))
                    written += 1
            while written < MEMBERS:
                branch, code = branches[written % len(branches)]
                probation = rng.random() < 0.04
                joined = today - datetime.timedelta(
                    days=rng.randrange(200, 300) if probation else rng.randrange(400, 15000)
                )
                category = "probationary" if probation else "full"
                full = None if probation else joined + datetime.timedelta(days=365)
                row = (ids.take(PartyMember), code, branch, None, "党员", category, joined)
                stream.write((*row, full, now, *BLANK))
                written += 1
        app_fields = ["id", "region_code", "organization", "person", "post", "started_on",
                      "term_ends_on", "end_reason", "created_at"]  # fmt: skip
        with RowStream(Appointment, app_fields) as stream:
            for branch, code in branches:
                for person, post in zip(
                    committee[branch], ["secretary", "organizer", "propaganda"], strict=True
                ):
                    stream.write((ids.take(Appointment), code, branch, person, post, started, ends,
                                  "", now))  # fmt: skip
        ids.close()
        # Organization life: each quarter a branch holds its rhythm, one in ten falls behind.
        rhythm = {"assembly": 1, "committee": 3, "group": 3, "lecture": 1, "theme_day": 3}
        g_ids = IdAllocator(Gathering, Meeting)
        g_fields = ["id", "kind", "region_code", "title", "description", "starts_at", "ends_at",
                    "place", "capacity", "audience", "phase", "public", "check_in_secret",
                    "cancel_reason", "sequence", "created_at", "updated_at"]  # fmt: skip
        m_fields = ["id", "region_code", "organization", "gathering", "kind", "held_on", "agenda",
                    "minutes", "resolutions", "minutes_filed_at"]  # fmt: skip
        tz = timezone.get_current_timezone()
        secret = secrets.token_hex(16)
        planned = []
        for first, last in quarters_back(today, 4 * YEARS):
            span = max(1, (last - first).days)
            for branch, code in branches:
                behind = rng.random() < 0.1
                for kind, n in rhythm.items():
                    for _ in range(n - (behind and kind == "theme_day")):
                        day = first + datetime.timedelta(days=rng.randrange(span))
                        planned.append((branch, code, kind, day))
        meeting_ids = []
        with RowStream(Gathering, g_fields) as stream:
            for _, code, _, day in planned:
                gid = g_ids.take(Gathering)
                meeting_ids.append(gid)
                start = datetime.datetime.combine(day, datetime.time(9), tzinfo=tz)
                stream.write((gid, "party_meeting", code, "组织生活", "", start,
                              start + datetime.timedelta(hours=2), "", 60, "branch", "closed",
                              False, secret, "", 0, now, now))  # fmt: skip
        with RowStream(Meeting, m_fields) as stream:
            for (branch, code, kind, day), gid in zip(planned, meeting_ids, strict=True):
                stream.write((g_ids.take(Meeting), code, branch, gid, kind, day, "", "记录", "",
                              now))  # fmt: skip
        g_ids.close()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    return {"towns": towns, "meetings": len(planned)}


def main() -> int:
    with tempfile.TemporaryDirectory() as var_dir:
        reuse = os.environ.get("JICENG_BENCH_REUSE") == "1"  # measure again, same data
        if not reuse:
            recreate_database(DATABASE_URL)
        setup_django(var_dir, DATABASE_URL)
        from django.db import connection
        from django.utils import timezone

        from jiceng.accounts.models import Membership, User
        from jiceng.party.selectors import completeness, overview, quarter_bounds, quarter_of
        from jiceng.places.models import Region

        rng = random.Random(7)
        started = timezone.now()
        if reuse:
            towns = Region.objects.filter(parent_id=COUNTY, code__gte=f"{COUNTY}900")
            made = {"towns": sorted(towns.values_list("code", flat=True)), "meetings": 0}
        else:
            made = generate(rng)
        took = (timezone.now() - started).total_seconds()
        print(
            f"generated {BRANCHES:,} branches, {MEMBERS:,} members, {made['meetings']:,} "
            f"meetings in {took:.0f} s",
            flush=True,
        )
        user, created = User.objects.get_or_create(username="bench-orgdept", region_code=COUNTY)
        if created:
            Membership.objects.create(user=user, role="org_department", region_code=COUNTY)
        user = User.objects.get(pk=user.pk)
        quarter = quarter_of(timezone.localdate())
        first, last = quarter_bounds(quarter)
        town = made["towns"][0]

        def raw_completeness(code):
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT m.organization_id, m.kind, count(*) FROM party_meeting m"
                    " JOIN party_partyorganization o ON o.id = m.organization_id"
                    " WHERE o.region_code LIKE %s AND m.held_on BETWEEN %s AND %s"
                    " AND m.minutes_filed_at IS NOT NULL GROUP BY 1, 2",
                    [code + "%", first, last],
                )
                return cursor.fetchall()

        def raw_overview(code):
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT category, count(*) FROM party_partymember"
                    " WHERE region_code LIKE %s AND left_on IS NULL GROUP BY 1",
                    [code + "%"],
                )
                return cursor.fetchall()

        from jiceng.party.tally import tally_count

        count_took = timed(tally_count, 3)
        took_ms = statistics.median(count_took)
        print(f"the worker's count (party.tally) of the county: {took_ms:.0f} ms")
        rows = []
        cases = []
        for where, code in (("county", COUNTY), ("town", town)):
            cases += [
                (
                    f"completeness, {where}",
                    lambda c=code: completeness(user=user, region_code=c, quarter=quarter),
                    lambda c=code: raw_completeness(c),
                ),
                (
                    f"overview, {where}",
                    lambda c=code: overview(user=user, region_code=c),
                    lambda c=code: raw_overview(c),
                ),
            ]
        for label, function, baseline in cases:
            function()  # warm
            samples, base = timed(function, RUNS), timed(baseline, RUNS)
            rows.append((label, statistics.median(samples), p95(samples), statistics.median(base)))
        print(f"{'':24} {'p50':>9} {'p95':>9}   raw SQL p50 (its heaviest query)")
        for label, median, high, base in rows:
            print(f"{label:24} {median:7.1f} ms {high:7.1f} ms   {base:7.1f} ms")
        worst = max(high for label, _, high, _ in rows if "county" in label)
        print(f"p95 worst case at the county: {worst:.1f} ms (target < 200 ms)")
        return 0 if worst < 200 else 1


if __name__ == "__main__":
    sys.exit(main())
