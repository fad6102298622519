"""Shared fixtures: a small county with two of everything, so that every access rule can be
tested as the owner, as the same role elsewhere, and as an outsider."""

from collections.abc import Sequence
from dataclasses import dataclass, field

import pytest
from django.db.backends.base.operations import BaseDatabaseOperations
from django.test import Client

from jiceng.accounts.models import User
from tests import factories
from tests.factories import PASSWORD, UserFactory, community, grid, staff

ROLE_HOMES = {
    # role: (region in A, same role's region in B)
    "county_admin": ("370829", "370830"),
    "auditor": ("370829", "370830"),
    "security_admin": ("370829", "370830"),
    "town_staff": ("370829001", "370829002"),
    "community_worker": ("370829001001", "370829002001"),
    "grid_worker": ("370829001001001", "370829002001001"),
    "specialist_grid_worker": ("370829001001001", "370829002001001"),
    "building_captain": ("370829001001001", "370829002001001"),
    "store_clerk": ("370829001001", "370829002001"),
    "org_department": ("370829", "370830"),
    "town_organizer": ("370829001", "370829002"),
}


@dataclass
class World:
    grid_a: object
    grid_b: object
    household_a: object
    household_b: object
    users_a: dict = field(default_factory=dict)
    users_b: dict = field(default_factory=dict)
    outsider: User | None = None
    operator: User | None = None
    # Party: a branch in grid A with its secretary (users_a["branch_secretary"]), a second
    # branch in the same grid with its own (users_b: "the same role elsewhere" of a post
    # held by assignment), and a branch in grid B.
    branch_a: object = None
    branch_a2: object = None
    branch_b: object = None

    @property
    def person_a(self):
        return self.household_a.head

    @property
    def person_b(self):
        return self.household_b.head

    def a(self, role: str) -> User:
        return self.users_a[role]

    def b(self, role: str) -> User:
        return self.users_b[role]


@pytest.fixture(autouse=True, scope="session")
def flush_empties_history():
    """Tests that commit are followed by a flush, which empties every table — history
    tables too, whose triggers refuse DELETE (SQLite) and TRUNCATE (PostgreSQL) to
    everyone else. The test runner's flush is the one caller of `history.emptying`."""
    from jiceng.core import history

    flush = BaseDatabaseOperations.execute_sql_flush

    def execute_sql_flush(ops, sql_list):
        with history.emptying(ops.connection):
            flush(ops, sql_list)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(BaseDatabaseOperations, "execute_sql_flush", execute_sql_flush)
        yield


@pytest.fixture
def world(db) -> World:
    community("370829001001", "城南社区")
    community("370829002001", "卧龙山社区")
    community("370830103001", "汶上测试村")
    grid_a = grid("370829001001001", "城南社区第1网格")
    grid("370829001001002", "城南社区第2网格")
    grid_b = grid("370829002001001", "卧龙山社区第1网格")
    world = World(
        grid_a=grid_a,
        grid_b=grid_b,
        household_a=factories.household_with_people(grid_a.code, name="甲测试人"),
        household_b=factories.household_with_people(grid_b.code, name="乙测试人"),
    )
    for role, (home_a, home_b) in ROLE_HOMES.items():
        # The captains keep the building of each side's household.
        building_a, building_b = (
            (world.household_a.dwelling.building, world.household_b.dwelling.building)
            if role == "building_captain"
            else (None, None)
        )
        world.users_a[role] = staff(role, home_a, username=f"a-{role}", building=building_a)
        world.users_b[role] = staff(role, home_b, username=f"b-{role}", building=building_b)
    # A second security administrator in A: sensitive grants take two.
    world.users_a["security_admin_2"] = staff(
        "security_admin", "370829", username="a-security_admin-2"
    )
    _party(world)
    world.outsider = UserFactory(username="outsider", region_code="370829")
    world.operator = UserFactory(username="operator", is_superuser=True, is_staff=True)
    return world


def _party(world: World) -> None:
    from jiceng.accounts.models import Membership
    from jiceng.party.models import PartyMember, PartyOrganization

    K = PartyOrganization.Kind

    def org(code, name, kind, parent=None):
        return PartyOrganization.objects.create(
            region_code=code, name=name, kind=kind, parent=parent
        )

    county = org("370829", "中共嘉祥县委员会", K.COUNTY_COMMITTEE)
    branches = []
    for town, community_code, grid_code, prefix in (
        ("370829001", "370829001001", world.grid_a.code, "城南"),
        ("370829002", "370829002001", world.grid_b.code, "卧龙山"),
    ):
        committee = org(
            community_code,
            f"{prefix}社区党委",
            K.COMMUNITY_COMMITTEE,
            org(town, f"{prefix}街道党工委", K.TOWN_COMMITTEE, county),
        )
        branches.append(org(grid_code, f"{prefix}第1网格党支部", K.GRID_BRANCH, committee))
        if grid_code == world.grid_a.code:
            branches.append(
                org(grid_code, f"{prefix}第1网格退休党员支部", K.GRID_BRANCH, committee)
            )
    world.branch_a, world.branch_b, world.branch_a2 = branches[0], branches[2], branches[1]
    PartyMember.objects.create(
        region_code=world.grid_a.code,
        organization=world.branch_a,
        person=world.person_a,
        name=world.person_a.name,
        joined_on="2001-07-01",
    )
    for users, branch in ((world.users_a, world.branch_a), (world.users_b, world.branch_a2)):
        secretary = UserFactory(username=f"secretary-{branch.pk}", region_code=world.grid_a.code)
        Membership.objects.create(
            user=secretary,
            role="branch_secretary",
            object_id=branch.pk,
            region_code=world.grid_a.code,
        )
        users["branch_secretary"] = secretary


def client_for(user: User | None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def resident_client(resident) -> Client:
    """A client signed in as a resident (as after the phone's one-time code)."""
    client = Client()
    session = client.session
    session["resident_id"] = resident.pk
    session.save()
    return client


@pytest.fixture
def reference_data(transactional_db):
    """Tests that commit (live server, concurrency) empty the database after each test,
    migration data included (and Playwright's event loop keeps Django's serialized copy
    out of reach), so put the shipped reference data back before each one."""
    from django.apps import apps

    from jiceng.activities import reference as activity_reference
    from jiceng.places import reference as place_reference

    place_reference.load(
        apps.get_model("places", "Region"), apps.get_model("places", "SpecialGroup")
    )
    activity_reference.load(apps.get_model("activities", "ServiceType"))


@pytest.fixture
def login():
    return client_for


__all__ = ["PASSWORD", "World", "client_for"]


@pytest.fixture(autouse=True)
def test_settings(settings, tmp_path):
    """Uploads go to a fresh folder per test; static files come from the app folders
    (production serves a collected, hashed set)."""
    settings.MEDIA_ROOT = tmp_path / "media"
    # Most tests sign in with force_login and act at once; the second factor's own tests
    # (tests/accounts/test_second_factor.py) and the browser tests turn it on.
    settings.JICENG_SECOND_FACTOR = False
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    # Each county's triage model is kept in the process for minutes: one learnt in an
    # earlier test names categories (by id) that this test's database does not hold (on
    # PostgreSQL ids are not reused after a rollback).
    from jiceng.cases import triage

    triage._models.clear()


class SentMessages(Sequence):
    """The text messages delivered so far, as (phone, text). Reading it first runs the
    worker's sending step in this process (what `jiceng worker` does after each commit),
    so what an action queued in the outbox has reached the memory sender."""

    def _sent(self) -> list[tuple[str, str]]:
        from jiceng.core import outbox
        from jiceng.core.senders import MemorySender

        while outbox.deliver_due():
            pass
        return [(m.phone, m.text) for m in MemorySender.messages if m.channel == "sms"]

    def __getitem__(self, index):
        return self._sent()[index]

    def __len__(self) -> int:
        return len(self._sent())

    def __iter__(self):
        return iter(self._sent())

    def __reversed__(self):
        return reversed(self._sent())


@pytest.fixture
def sms(settings):
    """The text messages sent (to residents, and staff's first passwords): (phone, text)."""
    from jiceng.core.senders import MemorySender

    settings.JICENG_SMS_SENDER = "jiceng.core.senders.MemorySender"
    MemorySender.clear()
    return SentMessages()


def first_password(outbox, phone: str) -> str:
    """The password in the last first-password message sent to `phone`."""
    text = next(t for p, t in reversed(outbox) if p == phone and "初始密码" in t)
    return text.split("初始密码为 ")[1].split(" ")[0]


@pytest.fixture
def gateway():
    """A stand-in SMS gateway on a local port (tests.gateway.Gateway)."""
    from tests.gateway import Gateway

    running = Gateway()
    yield running
    running.close()


@pytest.fixture
def via_gateway(settings, gateway):
    """Both channels (SMS and staff notices) post to the stand-in gateway."""
    settings.JICENG_SMS_SENDER = "jiceng.core.senders.WebhookSender"
    settings.JICENG_SMS_WEBHOOK_URL = gateway.url
    settings.JICENG_NOTIFY_SENDER = "jiceng.core.senders.WebhookSender"
    settings.JICENG_NOTIFY_WEBHOOK_URL = gateway.url
    return gateway
