"""The demo county: 嘉祥县's urban area as the source article describes it.

200 grids of 300–500 households in the three subdistricts, 102 grid party branches, 1,011
specialist grid workers from 16 departments and 5 utilities, with generated Chinese names,
valid ID numbers and phones. Larger scales (a whole county, the whole city) exist for
benchmarks. Rows are written in bulk with ids reserved ahead (COPY on PostgreSQL); nothing here
runs through the services, and the run is recorded once in the audit trail.
"""

import datetime
import hashlib
import random
import secrets
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone

from jiceng.accounts.models import Department, Membership, User
from jiceng.cases.catalogue import catalogue_seed
from jiceng.cases.models import Case, Event, Notification, Open311Client
from jiceng.core import audit
from jiceng.core.actors import Actor
from jiceng.core.bulk import IdAllocator, bulk_insert
from jiceng.core.idnumber import check_character
from jiceng.core.region_codes import community_of, county_of, is_within, serial_of, town_of
from jiceng.demo import names
from jiceng.demo.activities import ActivityHistory
from jiceng.demo.models import DemoRun
from jiceng.demo.party_life import PartyLife
from jiceng.demo.requests import RequestHistory, build_patrols
from jiceng.party.models import Appointment, FirstSecretary, PartyMember, PartyOrganization
from jiceng.party.tally import tally_count
from jiceng.patrols.models import Patrol, Visit
from jiceng.places.models import (
    Building,
    BuildingUnit,
    Dwelling,
    Household,
    MoveCheck,
    Organization,
    Person,
    Region,
    SpecialGroup,
)
from jiceng.places.roster_writer import Sealer

ALLOCATED = (
    Building,
    BuildingUnit,
    Dwelling,
    Household,
    Person,
    Organization,
    PartyOrganization,
    PartyMember,
    Appointment,
    User,
    Membership,
    Case,
    Event,
    Notification,
    Patrol,
    Visit,
)
SHARED_PASSWORD = "Jiceng@2026"  # noqa: S105  (printed for demo logins)
COUNTY = "370829"
GRID_BRANCHES = 102
HOUSEHOLD_SIZES = ([1, 2, 3, 4, 5, 6], [15, 25, 28, 18, 10, 4])  # mean ≈ 2.95 (Jining)
ORIGIN_CODES = ["370829"] * 18 + ["370811", "370881", "370883", "370828", "371702", "410526"]


@dataclass
class TownPlan:
    code: str
    name: str
    is_rural: bool
    communities: list[str]
    grids_per_community: int
    households: tuple[int, int] = (300, 500)
    # The share of an urban grid's buildings that are lanes of courtyards (an old town).
    lanes: float = 0.0
    # What the seed gives for the area (曲阜 鲁城街道): grid branches spread over its grids
    # (None: every grid has one), their committee posts in all, captains' posts filled,
    # property companies' part-time grid workers and paired riders.
    grid_branches: int | None = None
    committee_posts: int | None = None
    captains: int = 0
    property_workers: int = 0
    riders: int = 0


LUCHENG = TownPlan(
    "370881001",
    "鲁城街道",
    False,
    names.LUCHENG_COMMUNITIES,
    4,
    lanes=0.85,
    grid_branches=61,
    committee_posts=163,
    captains=3818,
    property_workers=65,
    riders=126,
)


@dataclass
class Totals:
    grids: int = 0
    households: int = 0
    persons: int = 0
    party_branches: int = 0
    meetings: int = 0
    specialists: int = 0
    users: int = 0
    requests: int = 0
    activities: int = 0
    participations: int = 0
    stores: int = 0
    patrols: int = 0
    logins: list[dict] = field(default_factory=list)


def plan_for(scale: str, rng: random.Random) -> list[TownPlan]:
    """The towns to build. `urban` is the demo; `tiny` is for tests; the rest for benchmarks."""
    urban = [
        TownPlan(code, name, False, names.URBAN_TOWNS[code], 10)
        for code, name in [
            ("370829001", "嘉祥街道"),
            ("370829002", "卧龙山街道"),
            ("370829003", "万张街道"),
        ]
    ]
    if scale == "tiny":
        return [TownPlan("370829001", "嘉祥街道", False, ["城南社区", "城北社区"], 2, (8, 12))]
    if scale == "urban":  # and the seed's second area at full size
        return [*urban, LUCHENG]
    rural = [
        (code, name)
        for code, name in Region.objects.filter(
            parent_id=COUNTY, level=Region.Level.TOWN, is_rural=True
        ).values_list("code", "name")
    ]
    county = urban + [
        TownPlan(code, name, True, _village_names(rng, 34), 2, (130, 170)) for code, name in rural
    ]
    if scale == "county":
        return county
    if scale == "city":
        plans = list(county)
        for code, name in (
            Region.objects.filter(level=Region.Level.COUNTY, parent_id="3708")
            .exclude(code=COUNTY)
            .values_list("code", "name")
        ):
            for serial in [*range(1, 7), *range(101, 109)]:
                town_code = f"{code}{serial:03d}"
                kind = "街道" if serial < 100 else "镇"
                plans.append(
                    TownPlan(
                        town_code,
                        f"{name}第{serial % 100}{kind}（生成）",
                        serial > 100,
                        [f"第{i}社区" for i in range(1, 21)],
                        2,
                    )
                )
        return plans
    raise ValueError(f"unknown scale {scale!r}")


def community_code_of(plan: TownPlan, index: int) -> str:
    # Statistical codes: 001–199 are urban communities (居委会), 200–399 villages (村委会).
    return f"{plan.code}{index + (200 if plan.is_rural else 0):03d}"


def grid_codes_of(plan: TownPlan) -> list[str]:
    return [
        f"{community_code_of(plan, index)}{serial:03d}"
        for index in range(1, len(plan.communities) + 1)
        for serial in range(1, plan.grids_per_community + 1)
    ]


def _village_names(rng: random.Random, count: int) -> list[str]:
    seen: set[str] = set()
    while len(seen) < count:
        seen.add(rng.choice(names.SURNAMES[:40]) + rng.choice(names.VILLAGE_SUFFIXES) + "村")
    return sorted(seen)


class PeopleFactory:
    def __init__(self, rng: random.Random, today: datetime.date):
        self.rng = rng
        self.today = today
        self.used_ids: set[str] = set()
        self.used_phones: set[str] = set()

    def given_name(self, gender: str) -> str:
        pool = names.MALE_CHARS if gender == "M" else names.FEMALE_CHARS
        if self.rng.random() < 0.3:
            return self.rng.choice(pool)
        return self.rng.choice(names.NEUTRAL_CHARS + pool) + self.rng.choice(pool)

    def surname(self) -> str:
        index = min(int(self.rng.expovariate(1 / 12)), len(names.SURNAMES) - 1)
        return names.SURNAMES[index]

    def id_number(self, age: int, gender: str) -> tuple[str, datetime.date]:
        while True:
            birth = self.today - datetime.timedelta(days=age * 365 + self.rng.randrange(365))
            sequence = self.rng.randrange(0, 500) * 2 + (1 if gender == "M" else 0)
            first17 = f"{self.rng.choice(ORIGIN_CODES)}{birth:%Y%m%d}{sequence:03d}"
            if first17 not in self.used_ids:
                self.used_ids.add(first17)
                return first17 + check_character(first17), birth

    def phone(self) -> str:
        while True:
            prefix = self.rng.choice(names.MOBILE_PREFIXES)
            number = f"{prefix}{self.rng.randrange(10**8):08d}"
            if number not in self.used_phones:
                self.used_phones.add(number)
                return number


def _household_members(rng: random.Random) -> list[tuple[str, int, str]]:
    """(relation, age, gender) for one household, head first."""
    size = rng.choices(*HOUSEHOLD_SIZES)[0]
    head_gender = "M" if rng.random() < 0.7 else "F"
    head_age = rng.randint(24, 88) if size == 1 else rng.randint(26, 75)
    members = [("户主", head_age, head_gender)]
    if size >= 2:
        members.append(
            ("配偶", max(20, head_age + rng.randint(-5, 3)), "F" if head_gender == "M" else "M")
        )
    children = size - 2
    if size >= 5 and head_age < 55:
        members.append(("父母", head_age + rng.randint(24, 32), "F"))
        children -= 1
    for _ in range(max(0, children)):
        child_age = max(0, head_age - rng.randint(22, 36))
        gender = rng.choice("MF")
        members.append(("子" if gender == "M" else "女", child_age, gender))
    return members


def _special_groups(rng: random.Random, age: int, size: int, groups: dict[str, int]) -> list[int]:
    tags = []
    if age >= 65 and size == 1:
        tags.append(groups["elderly_alone"])
    if age >= 80:
        tags.append(groups["very_old"])
    roll = rng.random()
    if roll < 0.015:
        tags.append(groups["disabled"])
    elif roll < 0.025:
        tags.append(groups["subsistence"])
    elif roll < 0.03 and age >= 60:
        tags.append(groups["entitled"])
    elif roll < 0.032 and age >= 18:
        tags.append(groups["severe_mental"])
    elif roll < 0.033 and age >= 18:
        tags.append(groups["released_prisoner"])
    elif 0.04 < roll < 0.05 and age < 16:
        tags.append(groups["left_behind_child"])
    return tags


def _political_status(rng: random.Random, age: int) -> str:
    if age >= 18 and rng.random() < (0.05 if age < 40 else 0.09):
        return "中共党员" if rng.random() > 0.03 else "中共预备党员"
    if 14 <= age <= 28 and rng.random() < 0.4:
        return "共青团员"
    return "群众"


class Builder:
    def __init__(self, scale: str, seed: int, progress: Callable[[str], None]):
        self.scale = scale
        self.rng = random.Random(seed)
        self.seed = seed
        self.progress = progress
        self.today = timezone.localdate()
        self.now = timezone.now()
        self.people = PeopleFactory(self.rng, self.today)
        self.password = make_password(SHARED_PASSWORD)  # hashed once for every account
        self.groups = dict(SpecialGroup.objects.values_list("code", "pk"))
        self.sealer = Sealer()
        # COPY bypasses the fields that seal phones.
        self.user_phone = User._meta.get_field("phone").seal
        self.organization_phone = Organization._meta.get_field("contact_phone").seal
        self.ids: IdAllocator | None = None  # one per transaction, see _writing()
        self.totals = Totals()
        self.users: list[tuple] = []
        self.memberships: list[tuple] = []
        self.first_building: dict[str, int] = {}  # grid code → its first building's id
        self.county_committees: dict[str, int] = {}  # county code → its 县委's id
        self.county_names: dict[str, str] = {}
        self.committee_of: dict[str, int] = {}  # community code → its 党委's id
        self.grid_workers: dict[str, int] = {}  # grid code → its worker's account id

    # --- accounts --------------------------------------------------------------------

    def add_user(
        self,
        username: str,
        region_code: str,
        role: str | None = None,
        *,
        role_region: str | None = None,
        superuser: bool = False,
        department_id: int | None = None,
        login_label: str | None = None,
        building_id: int | None = None,
        object_id: int | None = None,
        valid_until: datetime.date | None = None,
        full_name: str = "",
    ) -> int:
        """Queue an account (and its one role). The first account of each role (or of
        `login_label`) is the demo login for that role."""
        gender = self.rng.choice("MF")
        full_name = full_name or self.people.surname() + self.people.given_name(gender)
        user_id = self.ids.take(User)
        self.users.append(
            (
                user_id,
                username,
                self.password,
                full_name,
                region_code,
                self.user_phone(self.people.phone()),
                department_id,
                superuser,
                superuser,
                True,
                self.now,
                "",
                "",
                "",
                False,
            )
        )
        role_region = role_region or region_code
        if role:
            self.memberships.append(
                (
                    self.ids.take(Membership),
                    user_id,
                    role,
                    role_region,
                    building_id,
                    object_id,
                    valid_until,
                    True,
                    self.now,
                )
            )
        label = login_label or role or "superuser"
        if label not in {login["role"] for login in self.totals.logins}:
            self.totals.logins.append(
                {
                    "role": label,
                    "username": username,
                    "password": SHARED_PASSWORD,
                    "region_code": role_region,
                }
            )
        return user_id

    def flush_users(self) -> None:
        bulk_insert(
            User,
            [
                "id",
                "username",
                "password",
                "full_name",
                "region_code",
                "phone",
                "department",
                "is_superuser",
                "is_staff",
                "is_active",
                "date_joined",
                "first_name",
                "last_name",
                "email",
                "password_must_change",
            ],
            self.users,
        )
        bulk_insert(
            Membership,
            [
                "id",
                "user",
                "role",
                "region_code",
                "building",
                "object_id",
                "valid_until",
                "is_active",
                "created_at",
            ],
            self.memberships,
        )
        self.totals.users += len(self.users)
        self.users, self.memberships = [], []

    # --- places ----------------------------------------------------------------------

    def county_name(self, plan: TownPlan) -> str:
        code = county_of(plan.code)
        if code not in self.county_names:
            self.county_names[code] = Region.objects.get(code=code).name
        return self.county_names[code]

    def build_town(self, plan: TownPlan) -> None:
        rng = self.rng
        Region.objects.get_or_create(
            code=plan.code,
            defaults={
                "name": plan.name,
                "level": Region.Level.TOWN,
                "parent_id": county_of(plan.code),
                "is_rural": plan.is_rural,
                "is_statutory": not plan.name.endswith("（生成）"),
            },
        )
        regions, buildings, units, dwellings, households, persons, links = (
            [],
            [],
            [],
            [],
            [],
            [],
            [],
        )
        organizations = []
        for index, community_name in enumerate(plan.communities, start=1):
            community_code = community_code_of(plan, index)
            regions.append(
                Region(
                    code=community_code,
                    name=community_name,
                    level=Region.Level.COMMUNITY,
                    parent_id=plan.code,
                    is_rural=plan.is_rural,
                )
            )
            for serial in range(1, plan.grids_per_community + 1):
                grid_code = f"{community_code}{serial:03d}"
                regions.append(
                    Region(
                        code=grid_code,
                        name=f"{community_name}第{serial}网格",
                        level=Region.Level.GRID,
                        parent_id=community_code,
                        is_rural=plan.is_rural,
                        grid_kind=Region.GridKind.COMPREHENSIVE,
                    )
                )
                self._fill_grid(
                    plan,
                    grid_code,
                    community_name,
                    buildings,
                    units,
                    dwellings,
                    households,
                    persons,
                    links,
                    organizations,
                )
        Region.objects.bulk_create(regions)
        building_captains, unit_captains = self._captains(
            plan, buildings, units, dwellings, households
        )
        bulk_insert(
            Building,
            ["id", "region_code", "name", "kind", "address", "captain"],
            [(*row, building_captains.get(row[0])) for row in buildings],
        )
        bulk_insert(
            BuildingUnit,
            ["id", "region_code", "building", "number", "captain"],
            [(*row, unit_captains.get(row[0])) for row in units],
        )
        bulk_insert(Dwelling, ["id", "region_code", "building", "unit", "room"], dwellings)
        bulk_insert(
            Household,
            ["id", "region_code", "number", "dwelling", "address", "head", "updated_at"],
            households,
        )
        bulk_insert(
            Person,
            [
                "id",
                "region_code",
                "household",
                "name",
                "id_number",
                "id_number_index",
                "id_tail",
                "gender",
                "birth_date",
                "birth_year",
                "phone",
                "phone_index",
                "phone_tail",
                "ethnicity",
                "political_status",
                "relation_to_head",
                "residence_type",
                "updated_at",
            ],
            persons,
        )
        bulk_insert(Person.special_groups.through, ["person", "specialgroup"], links)
        bulk_insert(
            Organization,
            [
                "id",
                "region_code",
                "name",
                "kind",
                "credit_code",
                "address",
                "contact_name",
                "contact_phone",
                "employee_count",
            ],
            organizations,
        )
        self.totals.households += len(households)
        self.totals.persons += len(persons)
        self.totals.grids += sum(1 for r in regions if r.level == Region.Level.GRID)
        self._party_for_town(plan, regions, persons, buildings, households, rng)
        self.progress(f"{plan.name}：{self.totals.grids} 个网格，{self.totals.persons} 人")

    def _captains(self, plan, buildings, units, dwellings, households):
        """楼栋长、胡同长 and 单元长 as the seed counts them: `plan.captains` posts, each
        held by the head of a household living there. Returns building id → person id
        and unit id → person id."""
        if not plan.captains:
            return {}, {}
        rng = self.rng
        dwelling_at = {row[0]: (row[2], row[3]) for row in dwellings}
        heads_in: dict[tuple[str, int], list[int]] = {}
        for household in households:
            building_id, unit_id = dwelling_at[household[3]]
            heads_in.setdefault(("building", building_id), []).append(household[5])
            heads_in.setdefault(("unit", unit_id), []).append(household[5])
        units_of: dict[int, int] = {}
        for unit in units:
            units_of[unit[2]] = units_of.get(unit[2], 0) + 1
        posts = [("building", row[0]) for row in buildings if ("building", row[0]) in heads_in]
        stairwells = [row[0] for row in units if units_of[row[2]] > 1]  # a block's units
        posts += [("unit", pk) for pk in stairwells if ("unit", pk) in heads_in]
        if len(posts) < plan.captains:
            raise ValueError(f"{plan.name} has {len(posts)} posts for {plan.captains} captains")
        rng.shuffle(posts)
        chosen: dict[str, dict[int, int]] = {"building": {}, "unit": {}}
        for kind, pk in posts[: plan.captains]:
            chosen[kind][pk] = rng.choice(heads_in[(kind, pk)])
        return chosen["building"], chosen["unit"]

    def _fill_grid(
        self,
        plan,
        grid_code,
        community_name,
        buildings,
        units,
        dwellings,
        households,
        persons,
        links,
        organizations,
    ) -> None:
        rng = self.rng
        target = rng.randint(*plan.households)
        county_name = self.county_name(plan)
        street = rng.choice(names.STREETS if county_name == "嘉祥县" else names.LUCHENG_STREETS)
        estate = f"{street}{rng.randint(1, 300)}号"  # a grid is about one estate
        made = 0
        building_number = 0
        while made < target:
            building_number += 1
            building_id = self.ids.take(Building)
            self.first_building.setdefault(grid_code, building_id)
            if plan.is_rural:
                name = f"{community_name[:-1]}{building_number}巷"
                buildings.append(
                    (building_id, grid_code, name, Building.Kind.LANE, f"{community_name}{name}")
                )
                unit_count, floors, per_floor = 1, 1, rng.randint(8, 12)
            elif rng.random() < plan.lanes:  # a lane of courtyards (胡同)
                name = f"{street}{building_number}巷"
                buildings.append(
                    (building_id, grid_code, name, Building.Kind.LANE, f"{county_name}{name}")
                )
                unit_count, floors, per_floor = 1, 1, rng.randint(2, 5)
            else:
                name = f"{building_number}号楼"
                buildings.append(
                    (
                        building_id,
                        grid_code,
                        name,
                        Building.Kind.BLOCK,
                        f"{estate}{name}",
                    )
                )
                unit_count, floors, per_floor = rng.choice([(2, 6, 2), (3, 6, 2), (2, 11, 2)])
            for unit_number in range(1, unit_count + 1):
                unit_id = self.ids.take(BuildingUnit)
                units.append((unit_id, grid_code, building_id, unit_number))
                for floor in range(1, floors + 1):
                    for door in range(1, per_floor + 1):
                        if made >= target:
                            break
                        lane = buildings[-1][3] == Building.Kind.LANE
                        room = f"{door}号" if lane else f"{floor}{door:02d}"
                        dwelling_id = self.ids.take(Dwelling)
                        dwellings.append((dwelling_id, grid_code, building_id, unit_id, room))
                        self._household(
                            grid_code,
                            made,
                            dwelling_id,
                            f"{county_name}{community_name}{name}{room}"
                            if lane
                            else f"{estate}{name}{unit_number}单元{room}",
                            households,
                            persons,
                            links,
                        )
                        made += 1
        for _ in range(5):
            kind, suffix = rng.choice(names.ORGANIZATION_KINDS)
            word = rng.choice(names.ORGANIZATION_WORDS)
            organizations.append(
                (
                    self.ids.take(Organization),
                    grid_code,
                    f"{county_name}{word}{suffix}",
                    kind,
                    _credit_code(rng) if kind == "enterprise" else "",
                    f"{street}{rng.randint(1, 300)}号",
                    self.people.surname() + self.people.given_name("M"),
                    self.organization_phone(self.people.phone()),
                    rng.randint(1, 60),
                )
            )

    def _household(self, grid_code, serial, dwelling_id, address, households, persons, links):
        rng = self.rng
        household_id = self.ids.take(Household)
        members = _household_members(rng)
        surname = self.people.surname()
        seal = self.sealer
        head_id = None
        residence = rng.choices(["permanent", "temporary", "floating"], [90, 7, 3])[0]
        for relation, age, gender in members:
            person_id = self.ids.take(Person)
            if head_id is None:
                head_id = person_id
            family_name = surname if relation in ("户主", "子", "女") else self.people.surname()
            id_number, birth = self.people.id_number(age, gender)
            phone = self.people.phone() if age >= 18 and rng.random() < 0.85 else ""
            persons.append(
                (
                    person_id,
                    grid_code,
                    household_id,
                    family_name + self.people.given_name(gender),
                    seal.id_number(id_number),
                    seal.id_number_index(id_number),
                    seal.id_tail(id_number),
                    gender,
                    seal.birth_date(birth),
                    birth.year,
                    seal.phone(phone),
                    seal.phone_index(phone),
                    seal.phone_tail(phone),
                    "汉族" if rng.random() > 0.01 else "回族",
                    _political_status(rng, age),
                    relation,
                    residence,
                    self.now,
                )
            )
            for group_id in _special_groups(rng, age, len(members), self.groups):
                links.append((person_id, group_id))
        households.append(
            (
                household_id,
                grid_code,
                f"{serial_of(community_of(grid_code))}{serial_of(grid_code)}{serial + 1:04d}",
                dwelling_id,
                address,
                head_id,
                self.now,
            )
        )

    # --- party -----------------------------------------------------------------------

    def _party_for_town(self, plan, regions, persons, buildings, households, rng) -> None:
        """The party organizations over the town: the county committee (once per county),
        the town's committee, a committee per community, the grid branches with two
        building groups and a contact household each; every party member of the register
        a member of their grid's branch (or their community's committee); each branch's
        secretary and committee, and its term, as appointments of its members."""
        K = PartyOrganization.Kind
        organizations, members, appointments = [], [], []

        def organization(region_code, name, kind, parent, household=None, building=None):
            org_id = self.ids.take(PartyOrganization)
            elected = kind in PartyOrganization.ELECTED
            started = (
                self.today - datetime.timedelta(days=rng.randrange(3 * 365)) if elected else None
            )
            years = 5 if kind in PartyOrganization.COMMITTEES or plan.is_rural else 3
            ends = started + datetime.timedelta(days=365 * years + years // 4) if started else None
            organizations.append(
                (org_id, region_code, name, kind, parent, building, household, started, ends, "")
            )
            return org_id

        county = county_of(plan.code)
        if county not in self.county_committees:
            self.county_committees[county] = organization(
                county,
                f"中共{Region.objects.get(code=county).name}委员会",
                K.COUNTY_COMMITTEE,
                None,
            )
        town_kind_name = "工作委员会" if plan.name.endswith("街道") else "委员会"
        town_committee = organization(
            plan.code,
            f"中共{plan.name}{town_kind_name}",
            K.TOWN_COMMITTEE,
            self.county_committees[county],
        )
        grids = [r for r in regions if r.level == Region.Level.GRID]
        communities = [r for r in regions if r.level == Region.Level.COMMUNITY]
        committee_of = {
            c.code: organization(c.code, f"{c.name}党委", K.COMMUNITY_COMMITTEE, town_committee)
            for c in communities
        }
        self.committee_of.update(committee_of)
        branch_grids = self._branch_grids(plan, grids)
        buildings_by_grid: dict[str, list] = {}
        for building in buildings:
            buildings_by_grid.setdefault(building[1], []).append(building)
        branch_of, groups_of = {}, {}
        for grid in branch_grids:
            branch = organization(
                grid.code, f"{grid.name}党支部", K.GRID_BRANCH, committee_of[grid.parent_id]
            )
            branch_of[grid.code] = branch
            groups_of[branch] = [
                organization(
                    grid.code, f"{grid.name}{b[2]}党小组", K.BUILDING_GROUP, branch, building=b[0]
                )
                for b in buildings_by_grid.get(grid.code, [])[:2]
            ]
        self.totals.party_branches += len(branch_grids)
        # A branch has at least three full members (STANDARDS): a small grid's first
        # adults join the party where the register gave it fewer.
        party = ("中共党员", "中共预备党员")
        promoted: set[int] = set()
        persons_of: dict[str, list[tuple]] = {}
        for person in persons:
            if person[1] in branch_of:
                persons_of.setdefault(person[1], []).append(person)
        for grid_code in branch_of:
            in_grid = persons_of.get(grid_code, [])
            short = 3 - sum(p[14] in party for p in in_grid)
            adults = [p[0] for p in in_grid if p[14] not in party and p[9] <= self.today.year - 25]
            promoted.update(adults[: max(0, short)])
        by_holder: dict[int, list[tuple]] = {}
        for person in persons:
            if person[14] not in party and person[0] not in promoted:
                continue
            grid_code = person[1]
            holder = branch_of.get(grid_code) or committee_of[community_of(grid_code)]
            full = person[14] == "中共党员" or person[0] in promoted
            latest = self.today - datetime.timedelta(days=400 if full else rng.randrange(30, 360))
            earliest = datetime.date(min(person[9] + 19, latest.year), 1, 1)
            joined = earliest + datetime.timedelta(
                days=rng.randrange(max(1, (latest - earliest).days))
            )
            # a probationary member joined within the last year (预备期一年)
            joined = min(joined, latest) if full else latest
            member = (
                self.ids.take(PartyMember),
                grid_code,
                person[0],
                holder,
                person[3],
                "full" if full else "probationary",
                joined,
                joined + datetime.timedelta(days=365) if full else None,
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                self.now,
            )
            members.append(member)
            by_holder.setdefault(holder, []).append((member, person))
        posts = ["secretary", "deputy", "organizer", "propaganda", "discipline"]
        started_of = {row[0]: row[7] for row in organizations}
        ends_of = {row[0]: row[8] for row in organizations}
        secretary_grid = {branch: code for code, branch in branch_of.items()}
        # The seed's committee members of the area's grid branches, where it gives them.
        post_counts = {}
        if plan.committee_posts:
            branches = list(branch_of.values())
            base, extra = divmod(plan.committee_posts, len(branches))
            post_counts = {b: base + (i < extra) for i, b in enumerate(branches)}
        for holder, held in by_holder.items():
            count = post_counts.get(holder) or rng.randint(3, 5)
            for (member, person), post in zip(held, posts[:count], strict=False):
                account = None
                if post == "secretary" and holder in secretary_grid:
                    # The secretary keeps the branch with a staff account of their own.
                    grid_code = secretary_grid[holder]
                    account = self.add_user(
                        f"sj{grid_code}",
                        grid_code,
                        "branch_secretary",
                        object_id=holder,
                        valid_until=ends_of[holder],
                        full_name=person[3],  # the secretary's own account
                    )
                appointments.append(
                    (
                        self.ids.take(Appointment),
                        member[1],
                        holder,
                        person[0],
                        post,
                        started_of[holder] or self.today,
                        ends_of[holder],
                        "",
                        account,
                        self.now,
                    )
                )
            for group, (member, person) in zip(groups_of.get(holder, []), held[5:], strict=False):
                household = organization(
                    member[1],
                    f"{person[3]}党员中心户",
                    K.MEMBER_HOUSEHOLD,
                    group,
                    household=person[2],
                )
                appointments.append(
                    (
                        self.ids.take(Appointment),
                        member[1],
                        household,
                        person[0],
                        "secretary",
                        self.today,
                        None,
                        "",
                        None,
                        self.now,
                    )
                )
        Person.objects.filter(pk__in=promoted).update(political_status="中共党员")
        bulk_insert(
            PartyOrganization,
            [
                "id",
                "region_code",
                "name",
                "kind",
                "parent",
                "building",
                "household",
                "term_started_on",
                "term_ends_on",
                "closed_reason",
            ],
            organizations,
        )
        bulk_insert(
            PartyMember,
            [
                "id",
                "region_code",
                "person",
                "organization",
                "name",
                "category",
                "joined_on",
                "full_on",
                "id_number",
                "id_number_index",
                "phone",
                "work_unit",
                "mobility",
                "mobility_place",
                "left_reason",
                "updated_at",
            ],
            members,
        )
        bulk_insert(
            Appointment,
            [
                "id",
                "region_code",
                "organization",
                "person",
                "post",
                "started_on",
                "term_ends_on",
                "end_reason",
                "account",
                "created_at",
            ],
            appointments,
        )

    def _branch_grids(self, plan: TownPlan, grids: list[Region]) -> list[Region]:
        """The urban area has 102 grid party branches over its 200 grids, 鲁城 61 over its
        64, spread evenly; elsewhere (benchmark scales) every grid has one."""
        if plan.grid_branches:
            step = len(grids) / plan.grid_branches
            return [grids[int(i * step)] for i in range(plan.grid_branches)]
        return [g for g in grids if g.code in self.branch_codes or g.code not in self.urban_set]

    # --- the whole run -------------------------------------------------------------

    def build(self) -> Totals:
        plans = plan_for(self.scale, self.rng)
        self.urban_grids = [
            code
            for plan in plans
            if not plan.is_rural and is_within(plan.code, COUNTY)
            for code in grid_codes_of(plan)
        ]
        self.urban_set = set(self.urban_grids)
        share = max(1, len(self.urban_grids) * GRID_BRANCHES // 200)
        step = len(self.urban_grids) / share
        self.branch_codes = {self.urban_grids[int(i * step)] for i in range(share)}
        departments = self._departments()
        self.counties = sorted({county_of(plan.code) for plan in plans})
        with self._writing():
            self._staff_headquarters()
        for plan in plans:
            with self._writing():
                self.build_town(plan)
                self._town_staff(plan)
                self._red_property(plan)
                self.flush_users()
                self._riders(plan)
        with self._writing():
            self._specialists(departments)
            self._first_secretaries()
            self.flush_users()
            self._grid_leaders()
        with self._writing():
            self._requests()
        with transaction.atomic():  # after the id allocator has moved the sequences on
            self._move_checks()
        with transaction.atomic():
            self.progress("服务活动、积分与文明超市……")
            history = ActivityHistory(
                self.rng, self.urban_grids, held_target={"tiny": 16}.get(self.scale, 380)
            ).build()
        with transaction.atomic():
            self.progress("组织生活……")
            self.totals.meetings = PartyLife(
                self.rng,
                sorted({county_of(plan.code) for plan in plans}),
                User.objects.filter(username="orgdept").values_list("pk", flat=True).first(),
            ).build()
            tally_count()  # the overview's figures, as the worker counts them
        self.totals.activities = history.held
        self.totals.participations = history.participations
        self.totals.stores = history.stores
        self.totals.logins += history.logins
        return self.totals

    def _requests(self) -> None:
        """The request catalogue, an Open311 key for the demo's client app, this year's
        requests, and recent patrols."""
        for county in self.counties:
            catalogue_seed(county_code=county)
        raw = "o311_demo_" + secrets.token_urlsafe(18)
        Open311Client.objects.create(
            region_code=COUNTY,
            name="演示小程序",
            key_digest=hashlib.sha256(raw.encode()).hexdigest(),
        )
        self.totals.logins.append(
            {
                "role": "open311_client",
                "username": "",
                "password": "",
                "region_code": COUNTY,
                "api_key": raw,
            }
        )
        target = {"tiny": 40}.get(self.scale, 1200)
        self.totals.requests = RequestHistory(self.ids, self.rng, self.urban_grids, target).build()
        self.totals.patrols = build_patrols(self.ids, self.rng, self.urban_grids)

    def _move_checks(self) -> None:
        """Three persons of the demo grid worker's grid that another town's roster
        imported: pending registrations there, and move checks for the grid worker."""
        grid = next(x["region_code"] for x in self.totals.logins if x["role"] == "grid_worker")
        elsewhere = next(
            (c for c in reversed(self.urban_grids) if town_of(c) != town_of(grid)), None
        )
        if elsewhere is None:  # a tiny demo has one town
            return
        copies, checks = [], []
        for person in Person.objects.filter(region_code=grid).order_by("id")[:3]:
            copy = Person(
                region_code=elsewhere,
                name=person.name,
                id_number=person.id_number,
                id_tail=person.id_tail,
                gender=person.gender,
                birth_date=person.birth_date,
                registration=Person.Registration.PENDING,
            )
            copies.append(copy)
            checks.append((person, copy))
        Person.objects.bulk_create(copies)
        MoveCheck.objects.bulk_create(
            MoveCheck(
                region_code=grid,
                person=person,
                incoming=copy,
                to_region_code=elsewhere,
                incoming_name=copy.name,
            )
            for person, copy in checks
        )

    @contextmanager
    def _writing(self):
        """One transaction, with ids for every table the generator fills."""
        with transaction.atomic():
            self.ids = IdAllocator(*ALLOCATED)
            yield
            self.ids.close()

    def _departments(self) -> list[tuple[Department, int]]:
        result = []
        for name, kind, headcount in names.DEPARTMENTS:
            department, _ = Department.objects.get_or_create(
                region_code=COUNTY, name=name, defaults={"kind": kind}
            )
            result.append((department, headcount))
        return result

    def _staff_headquarters(self) -> None:
        self.add_user("operator", "", superuser=True)
        self.add_user("admin", COUNTY, "county_admin")
        self.add_user("auditor", COUNTY, "auditor")
        # Sensitive roles take two security administrators' signatures.
        self.add_user("security", COUNTY, "security_admin")
        self.add_user("security2", COUNTY, "security_admin", login_label="security_admin_2")
        self.add_user("orgdept", COUNTY, "org_department")
        # The other counties of the demo (曲阜) keep their own register and catalogue.
        for county in self.counties:
            if county != COUNTY:
                self.add_user(
                    f"admin{county}", county, "county_admin", login_label=f"county_admin_{county}"
                )
                self.add_user(
                    f"orgdept{county}",
                    county,
                    "org_department",
                    login_label=f"org_department_{county}",
                )
        self.flush_users()

    def _town_staff(self, plan: TownPlan) -> None:
        # 嘉祥's towns keep the short names the demo logins print; the city scale's other
        # counties reuse town serials, so theirs carry the whole code.
        short = serial_of(plan.code) if is_within(plan.code, COUNTY) else plan.code
        self.add_user(f"town{short}", plan.code, "town_staff")
        self.add_user(f"zz{short}", plan.code, "town_organizer")
        for grid_code in grid_codes_of(plan):
            community = community_of(grid_code)
            if serial_of(grid_code) == "001":
                self.add_user(f"cw{community}", community, "community_worker")
                self.add_user(f"sc{community}", community, "store_clerk")
                self.add_user(
                    f"bc{grid_code}",
                    grid_code,
                    "building_captain",
                    building_id=self.first_building.get(grid_code),
                )
            self.grid_workers[grid_code] = self.add_user(f"gw{grid_code}", grid_code, "grid_worker")

    def _red_property(self, plan: TownPlan) -> None:
        """红色物业: the area's property companies — each a department requests are routed
        to, a unit of the register with its party branch under the community's 党委 — and
        their `plan.property_workers` part-time grid workers, one or two a grid."""
        if not plan.property_workers:
            return
        K = PartyOrganization.Kind
        county = county_of(plan.code)
        grids = grid_codes_of(plan)
        companies = []
        units, branches = [], []
        for index, name in enumerate(names.PROPERTY_COMPANIES):
            grid = grids[index * len(grids) // len(names.PROPERTY_COMPANIES)]
            unit_id = self.ids.take(Organization)
            units.append((unit_id, grid, name, Organization.Kind.PROPERTY, "", "", "", "", 40))
            department, _ = Department.objects.get_or_create(
                region_code=county, name=name, defaults={"kind": Department.Kind.PROPERTY}
            )
            Department.objects.filter(pk=department.pk).update(organization_id=unit_id)
            branches.append(
                (
                    self.ids.take(PartyOrganization),
                    grid,
                    f"{name.removeprefix('曲阜市')}党支部",
                    K.PROPERTY_BRANCH,
                    self.committee_of[community_of(grid)],
                    unit_id,
                    None,
                    None,
                    None,
                    None,
                    "",
                )
            )
            companies.append(department)
        bulk_insert(
            Organization,
            [
                "id", "region_code", "name", "kind", "credit_code", "address", "contact_name",
                "contact_phone", "employee_count",
            ],
            units,
        )  # fmt: skip
        bulk_insert(
            PartyOrganization,
            [
                "id", "region_code", "name", "kind", "parent", "unit", "building", "household",
                "term_started_on", "term_ends_on", "closed_reason",
            ],
            branches,
        )  # fmt: skip
        for serial in range(plan.property_workers):
            grid = grids[serial % len(grids)]
            company = companies[grids.index(grid) * len(companies) // len(grids)]
            self.add_user(
                f"wy{serial + 1:03d}",
                county,
                "property_grid_worker",
                role_region=grid,
                department_id=company.pk,
            )

    def _riders(self, plan: TownPlan) -> None:
        """红骑手: couriers and drivers who signed in as residents, registered by the grid
        worker and paired with them."""
        from jiceng.residents.models import Resident, Rider

        grids = [g for g in grid_codes_of(plan) if g in self.grid_workers]
        for serial in range(plan.riders):
            grid = grids[serial % len(grids)]
            resident = Resident.objects.create(
                phone=self.people.phone(),
                display_name=self.people.surname() + self.people.given_name("M"),
            )
            worker = self.grid_workers[grid]
            Rider.objects.create(
                resident=resident,
                region_code=grid,
                platform=self.rng.choice(names.RIDER_PLATFORMS),
                paired_with_id=worker,
                registered_by_id=worker,
                registered_on=self.today - datetime.timedelta(days=self.rng.randrange(400)),
            )

    def _specialists(self, departments) -> None:
        """1,011 specialist grid workers, each posted to one grid of the urban area."""
        urban = self.urban_grids
        serial = 0
        for department, headcount in departments:
            for _ in range(headcount):
                grid_code = urban[serial % len(urban)]
                serial += 1
                self.add_user(
                    f"sp{serial:04d}",
                    COUNTY,
                    "specialist_grid_worker",
                    role_region=grid_code,
                    department_id=department.pk,
                )
        self.totals.specialists = serial

    def _first_secretaries(self) -> None:
        town = Region.objects.get(code="370829101")
        rows = []
        for index, (level, unit) in enumerate(names.FIRST_SECRETARIES, start=1):
            village, _ = Region.objects.get_or_create(
                code=f"{town.code}{200 + index:03d}",
                defaults={
                    "name": _village_names(self.rng, 1)[0],
                    "level": Region.Level.COMMUNITY,
                    "parent": town,
                    "is_rural": True,
                },
            )
            gender = self.rng.choice("MF")
            rows.append(
                FirstSecretary(
                    region_code=village.code,
                    name=self.people.surname() + self.people.given_name(gender),
                    phone=self.people.phone(),
                    level=level,
                    sending_unit=unit,
                    term_start=datetime.date(self.today.year - 1, 3, 1),
                    term_end=datetime.date(self.today.year + 1, 2, 28),
                )
            )
        FirstSecretary.objects.bulk_create(rows)

    def _grid_leaders(self) -> None:
        leaders = dict(
            Membership.objects.filter(role="grid_worker").values_list("region_code", "user_id")
        )
        grids = list(Region.objects.filter(level=Region.Level.GRID, leader__isnull=True))
        for grid in grids:
            grid.leader_id = leaders.get(grid.code)
        Region.objects.bulk_update(grids, ["leader"], batch_size=1000)


def _credit_code(rng: random.Random) -> str:
    """A 统一社会信用代码 with a valid check character (GB 32100-2015)."""
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    weights = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]
    body = "91" + COUNTY + "".join(rng.choice(alphabet[:10] + "MA") for _ in range(9))
    total = sum(alphabet.index(c) * w for c, w in zip(body, weights, strict=True))
    return body + alphabet[(31 - total % 31) % 31]


def database_has_real_data() -> bool:
    """People or staff accounts that the demo did not create."""
    if DemoRun.objects.exists():
        return False
    return Person.objects.exists() or User.objects.filter(is_superuser=False).exists()


def build_demo(
    *, actor: Actor, scale: str, seed: int, progress: Callable[[str], None]
) -> tuple[DemoRun, Totals]:
    started = time.monotonic()
    run = DemoRun.objects.create(scale=scale, seed=seed)
    totals = Builder(scale, seed, progress).build()
    DemoRun.objects.filter(pk=run.pk).update(
        persons=totals.persons, seconds=round(time.monotonic() - started, 1)
    )
    audit.record(
        actor=actor,
        action="demo.build",
        object_type="demo.demorun",
        object_id=run.pk,
        region_code=COUNTY,
        detail={"scale": scale, "grids": totals.grids, "persons": totals.persons},
    )
    run.refresh_from_db()
    return run, totals
