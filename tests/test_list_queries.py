"""Every list reads a fixed number of queries, however many rows it shows: each list page
and API list is read with N rows of everything and again with 3N, and the number of
queries must not grow (an N+1 shows up as a difference).

The rows are made in region A through the services, so that each list shows them: requests
(dispatched, supervised, with events and notices), households and persons, grids, patrols and
visits, move checks, imports, activities with sign-ups, teams, needs and venues, ledger
entries, stores with goods, deeds, audit events, accounts and grants, tokens, first
secretaries.
"""

import datetime
from collections.abc import Callable
from dataclasses import dataclass

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests import factories
from tests.conftest import World, client_for

N = 2
COMMUNITY_A = "370829001001"


@dataclass
class Rows:
    """What `grow` has made so far, for the lists' addresses."""

    made: int = 0
    case: object = None
    activity: object = None
    store: object = None
    household: object = None
    patrol: object = None
    team: object = None


def _week_ahead() -> datetime.datetime:
    return timezone.localtime() + datetime.timedelta(days=7)


def _resident(person):
    from jiceng.residents.models import Resident

    return Resident.objects.filter(person=person).first() or factories.resident(person=person)


def grow(world: World, rows: Rows, n: int) -> None:
    """`n` more of every kind of row in region A."""
    from jiceng.accounts.models import GrantRequest
    from jiceng.accounts.services import api_token_issue
    from jiceng.activities import services as activities
    from jiceng.activities.models import ServiceType
    from jiceng.cases import services as cases
    from jiceng.cases.catalogue import catalogue_seed
    from jiceng.cases.models import Category
    from jiceng.core import audit
    from jiceng.core.actors import Actor
    from jiceng.gatherings import services as gatherings
    from jiceng.party.models import FirstSecretary
    from jiceng.patrols import services as patrols
    from jiceng.places.models import ImportJob, MoveCheck, Person
    from jiceng.points import services as points
    from jiceng.points.ledger import account_for, ledger_for, post
    from jiceng.points.models import Account, JournalEntry

    worker, manager = world.a("grid_worker"), world.a("community_worker")
    town = world.a("town_staff")
    catalogue_seed(county_code="370829")
    category = Category.objects.get(region_code="370829", code="facilities.street-light")
    health = ServiceType.objects.get(code="health")
    ledger = ledger_for(COMMUNITY_A)
    if rows.store is None:
        rows.store = points.store_create(actor=manager, region_code=COMMUNITY_A, name="甲超市")
        points.store_add_clerk(actor=manager, store=rows.store, clerk=world.a("store_clerk"))
        rows.activity = activities.activity_create(
            actor=manager, region_code=COMMUNITY_A, title="甲社区义诊", service_type=health,
            starts_at=_week_ahead(), ends_at=_week_ahead() + datetime.timedelta(hours=2),
            capacity=100, points=5,
        )  # fmt: skip
        rows.activity = activities.activity_publish(actor=manager, activity=rows.activity)
        rows.team = activities.team_create(
            actor=manager, region_code=COMMUNITY_A, name="甲志愿队",
            leader=_resident(world.person_a),
        )  # fmt: skip
        rows.activity = activities.activity_assign(
            actor=manager, activity=rows.activity, team=rows.team
        )
        rows.activity = activities.activity_open_signup(actor=manager, activity=rows.activity)
        rows.household = world.household_a
    rule = points.rule_create(
        actor=manager, region_code=COMMUNITY_A, name=f"好人好事{rows.made}", kind="deed", points=5
    )
    for i in range(rows.made, rows.made + n):
        now = timezone.now()
        # requests: submitted, accepted, dispatched (a notice), noted, supervised
        case, _ = cases.case_submit(
            actor=Actor.public("test"), channel="qr", region_code=world.grid_a.code,
            description=f"路灯不亮{i}", category=category, reporter_phone=f"1391234{i:04d}",
        )  # fmt: skip
        case = cases.case_accept(actor=worker, case=case)
        case = cases.case_dispatch(actor=worker, case=case, handler=worker)
        case = cases.case_note(actor=worker, case=case, note=f"已联系{i}")
        cases.case_supervise(actor=town, case=case, note=f"请加快{i}")
        rows.case = rows.case or case
        cases.case_note(actor=worker, case=rows.case, note=f"再次联系{i}")
        # people and places
        household = factories.household_with_people(world.grid_a.code, name=f"甲户主{i}")
        factories.PersonFactory(
            region_code=world.grid_a.code, household=rows.household, relation_to_head="子女"
        )
        grid = factories.grid(f"{COMMUNITY_A}{100 + i:03d}", f"城南社区第{100 + i}网格")
        # a suspect in each new grid: 可疑提交 lists it and offers its grid to void
        cases.case_submit(
            actor=Actor.public("test"), channel="qr", region_code=grid.code,
            description=f"刷单{i}", is_suspect=True,
        )  # fmt: skip
        person = household.head
        incoming = Person.objects.create(
            region_code=world.grid_b.code, name=person.name, id_number=person.id_number,
            id_tail=person.id_tail, gender=person.gender, birth_date=person.birth_date,
            registration=Person.Registration.PENDING,
        )  # fmt: skip
        MoveCheck.objects.create(
            region_code=world.grid_a.code, person=person, incoming=incoming,
            to_region_code=world.grid_b.code, incoming_name=person.name,
        )  # fmt: skip
        ImportJob.objects.create(
            region_code=world.grid_a.code, created_by=worker, original_name=f"花名册{i}.csv",
            file="imports/test.csv", status=ImportJob.Status.DONE,
        )  # fmt: skip
        # patrols and visits
        patrol = patrols.patrol_log(
            actor=worker, grid=world.grid_a, started_at=now, ended_at=now,
            buildings=[household.dwelling.building], notes=f"巡查{i}",
        )  # fmt: skip
        rows.patrol = rows.patrol or patrol
        patrols.visit_log(actor=worker, household=household, notes=f"走访{i}", patrol=rows.patrol)
        patrols.visit_log(actor=worker, household=rows.household, notes=f"走访甲户{i}")
        # activities, sign-ups, teams, needs, venues
        resident = _resident(person)
        gatherings.signup_create(
            actor=Actor.of_resident(resident), gathering=rows.activity.gathering
        )
        start = _week_ahead() + datetime.timedelta(days=1, hours=i)
        activity = activities.activity_create(
            actor=manager, region_code=COMMUNITY_A, title=f"活动{i}", service_type=health,
            starts_at=start, ends_at=start + datetime.timedelta(minutes=30), capacity=10,
        )  # fmt: skip
        activities.activity_publish(actor=manager, activity=activity)
        activities.team_create(
            actor=manager, region_code=COMMUNITY_A, name=f"队伍{i}", leader=resident
        )
        activities.team_member_add(actor=manager, team=rows.team, resident=resident)
        activities.need_record(actor=worker, region_code=world.grid_a.code, text=f"需求{i}")
        gatherings.venue_create(
            actor=manager, region_code=COMMUNITY_A, name=f"驿站{i}", kind="station",
            capacity=30, opens_at=datetime.time(8), closes_at=datetime.time(20),
        )  # fmt: skip
        # points: entries, goods, deeds
        post(
            ledger=ledger, key=f"queries:{i}", kind=JournalEntry.Kind.EARN, memo="参加活动",
            lines=[
                (account_for(ledger, Account.Kind.RESIDENT, resident), 10),
                (account_for(ledger, Account.Kind.ISSUANCE), -10),
            ],
        )  # fmt: skip
        post(
            ledger=ledger, key=f"queries:a:{i}", kind=JournalEntry.Kind.EARN, memo="甲参加活动",
            lines=[
                (account_for(ledger, Account.Kind.RESIDENT, _resident(world.person_a)), 1),
                (account_for(ledger, Account.Kind.ISSUANCE), -1),
            ],
        )  # fmt: skip
        points.good_create(
            actor=Actor.staff(manager), store=rows.store, name=f"肥皂{i}", price=5, stock=10
        )
        points.store_create(actor=Actor.staff(manager), region_code=COMMUNITY_A, name=f"超市{i}")
        points.deed_propose(
            actor=Actor.staff(town), rule=rule, resident=resident, description=f"捡垃圾{i}"
        )
        # accounts, grants, tokens, audit, party
        user = factories.staff("grid_worker", world.grid_a.code, username=f"queries-{i}")
        GrantRequest.objects.create(
            user=user, role="town_staff", region_code="370829001",
            requested_by=world.a("county_admin"),
        )  # fmt: skip
        api_token_issue(actor=Actor.staff(worker), name=f"令牌{i}")
        audit.record(actor=user, action="matrix.marker", region_code=world.grid_a.code)
        FirstSecretary.objects.create(
            region_code=COMMUNITY_A, name=f"书记{i}", level="province",
            sending_unit="省农业农村厅", term_start="2025-03-01",
        )  # fmt: skip
        _party_rows(world, i)
    rows.made += n


def _party_rows(world: World, i: int) -> None:
    """One more of each: a member of branch A, an organization under A's committee with a
    term due, a transfer out of branch A, a meeting of branch A with its minutes filed."""
    from jiceng.core.actors import Actor
    from jiceng.gatherings.services import attendance_close, gathering_phase
    from jiceng.party import services as party
    from jiceng.party.models import Meeting, PartyOrganization

    department = Actor.staff(world.a("org_department"))
    secretary = Actor.staff(world.a("branch_secretary"))
    person = factories.PersonFactory(region_code=world.grid_a.code)
    member = party.member_add(
        actor=department,
        organization=world.branch_a,
        person=person,
        joined_on=datetime.date(2001, 7, 1),
    )
    PartyOrganization.objects.create(
        region_code="370829001001002", name=f"第2网格第{i}党支部", kind="grid_branch",
        parent=world.branch_a.parent, term_started_on=datetime.date(2023, 12, 1),
        term_ends_on=timezone.localdate() + datetime.timedelta(days=10),
    )  # fmt: skip
    party.transfer_request(
        actor=secretary, member=member, to_organization=world.branch_b, reason="居住地变更"
    )
    start = timezone.now() + datetime.timedelta(minutes=5)
    meeting = party.meeting_schedule(
        actor=secretary, organization=world.branch_a, kind="lecture", title=f"党课{i}",
        starts_at=start, ends_at=start + datetime.timedelta(hours=1),
    )  # fmt: skip
    gathering_phase(actor=secretary, gathering=meeting.gathering, phase="under_way")
    attendance_close(actor=secretary, gathering=meeting.gathering)
    party.meeting_minutes(
        actor=secretary, meeting=Meeting.objects.get(pk=meeting.pk), minutes="讲授", resolutions=""
    )


def _month(rows: Rows) -> str:
    return f"{timezone.localtime(rows.activity.gathering.starts_at):%Y-%m}"


@dataclass
class List:
    role: str
    url: Callable[[World, Rows], str]
    api: bool = False
    resident: bool = False
    shows_rows: bool = True  # False: figures, not a list of the rows grown


LISTS = {
    # requests
    "requests": List("grid_worker", lambda w, r: "/cases/?queue=open"),
    "requests (mine)": List("grid_worker", lambda w, r: "/cases/?queue=mine"),
    "requests (suspect)": List("community_worker", lambda w, r: "/cases/?queue=suspect"),
    "supervision": List("town_staff", lambda w, r: "/cases/supervision/"),
    "supervision (community)": List(
        "town_staff", lambda w, r: f"/cases/supervision/?community={COMMUNITY_A}"
    ),
    "supervision export": List(
        "town_staff", lambda w, r: f"/cases/supervision/export.xlsx?community={COMMUNITY_A}"
    ),
    "request events": List("grid_worker", lambda w, r: f"/cases/{r.case.pk}/"),
    "inbox": List("grid_worker", lambda w, r: "/inbox/"),
    "figures": List("town_staff", lambda w, r: "/cases/figures/", shows_rows=False),
    "open311 requests": List("grid_worker", lambda w, r: "/open311/v2/requests.json"),
    # people and places
    "grid": List("grid_worker", lambda w, r: f"/regions/{w.grid_a.code}/"),
    "community": List("community_worker", lambda w, r: f"/regions/{COMMUNITY_A}/"),
    "household": List("grid_worker", lambda w, r: f"/households/{r.household.pk}/"),
    "search": List("grid_worker", lambda w, r: "/search/?q=甲户主"),
    "moves": List("grid_worker", lambda w, r: "/moves/"),
    "imports": List("grid_worker", lambda w, r: "/imports/"),
    # patrols and visits
    "patrols": List("grid_worker", lambda w, r: "/patrols/"),
    "patrol": List("grid_worker", lambda w, r: f"/patrols/{r.patrol.pk}/"),
    # activities
    "activities": List("community_worker", lambda w, r: f"/activities/?month={_month(r)}"),
    "activity": List("community_worker", lambda w, r: f"/activities/{r.activity.pk}/"),
    "teams": List("community_worker", lambda w, r: "/activities/teams/"),
    "needs": List("community_worker", lambda w, r: "/activities/needs/"),
    "venues": List("community_worker", lambda w, r: "/venues/"),
    "team": List("community_worker", lambda w, r: f"/activities/teams/{r.team.pk}/"),
    "ical": List("community_worker", lambda w, r: "/calendar/370829001/activities.ics"),
    "rss": List("community_worker", lambda w, r: "/calendar/370829/rss/"),
    "calendar": List(
        "community_worker", lambda w, r: f"/calendar/{COMMUNITY_A}/?month={_month(r)}"
    ),
    # points and stores
    "ledger": List("community_worker", lambda w, r: "/points/"),
    "ranking": List("community_worker", lambda w, r: f"/rank/{COMMUNITY_A}/"),
    "stores": List("community_worker", lambda w, r: "/stores/"),
    "store": List("community_worker", lambda w, r: f"/stores/{r.store.pk}/"),
    "my points": List("", lambda w, r: "/me/points/", resident=True),
    "my stores": List("", lambda w, r: "/me/stores/", resident=True),
    # accounts, audit, party
    "users": List("county_admin", lambda w, r: "/accounts/users/"),
    "grants": List("security_admin", lambda w, r: "/accounts/grants/"),
    "tokens": List("grid_worker", lambda w, r: "/accounts/tokens/"),
    # Reading the other lists records events (exports are audited), so the whole log fills
    # its first page at both sizes; the filtered log below shows the rows growing.
    "audit log": List("auditor", lambda w, r: "/audit/", shows_rows=False),
    "audit log filtered": List(
        "auditor",
        lambda w, r: f"/audit/?start=2000-01-01&end=2099-12-31&region={COMMUNITY_A}&action=case.",
    ),
    "first secretaries": List("community_worker", lambda w, r: "/party/first-secretaries/"),
    "party region": List("org_department", lambda w, r: f"/party/{COMMUNITY_A}/"),
    "party organization": List("branch_secretary", lambda w, r: f"/party/o/{w.branch_a.pk}/"),
    "party meetings": List("branch_secretary", lambda w, r: f"/party/o/{w.branch_a.pk}/meetings/"),
    "party meeting": List(
        "branch_secretary",
        lambda w, r: f"/party/meetings/{w.branch_a.meetings.order_by('pk').last().pk}/",
        shows_rows=False,
    ),
    "party transfers": List("org_department", lambda w, r: "/party/transfers/"),
    "party terms": List("org_department", lambda w, r: "/party/terms/"),
    "party completeness": List(
        "town_organizer", lambda w, r: "/party/completeness/?region=370829001"
    ),
    "party overview": List(
        "org_department", lambda w, r: "/party/overview/?region=370829", shows_rows=False
    ),
    "party ledger": List("branch_secretary", lambda w, r: f"/party/o/{w.branch_a.pk}/ledger.xlsx"),
    # the REST API
    "api requests": List("grid_worker", lambda w, r: "/api/v1/cases?queue=open", api=True),
    "api supervision": List("town_staff", lambda w, r: "/api/v1/cases/supervision", api=True),
    "api request": List("grid_worker", lambda w, r: f"/api/v1/cases/{r.case.pk}", api=True),
    "api regions": List(
        "community_worker", lambda w, r: f"/api/v1/regions?parent={COMMUNITY_A}", api=True
    ),
    "api grids": List("community_worker", lambda w, r: "/api/v1/grids", api=True),
    "api households": List("grid_worker", lambda w, r: "/api/v1/households", api=True),
    "api persons": List("grid_worker", lambda w, r: "/api/v1/persons", api=True),
    "api activities": List("community_worker", lambda w, r: "/api/v1/activities", api=True),
    "api party organizations": List(
        "org_department", lambda w, r: "/api/v1/party/organizations", api=True
    ),
    "api party members": List(
        "branch_secretary",
        lambda w, r: f"/api/v1/party/organizations/{w.branch_a.pk}/members",
        api=True,
    ),
    "api party meetings": List(
        "branch_secretary",
        lambda w, r: f"/api/v1/party/organizations/{w.branch_a.pk}/meetings",
        api=True,
    ),
    "api party completeness": List(
        "town_organizer", lambda w, r: "/api/v1/party/completeness?region=370829001", api=True
    ),
    "api rankings": List(
        "community_worker", lambda w, r: f"/api/v1/points/rankings?region={COMMUNITY_A}", api=True
    ),
}


def _client(world: World, item: List):
    from jiceng.accounts.services import api_token_issue
    from jiceng.core.actors import Actor

    if item.resident:
        client = Client()
        session = client.session
        session["resident_id"] = _resident(world.person_a).pk
        session.save()
        return client, {}
    user = world.a(item.role)
    if item.api:
        token, _ = api_token_issue(actor=Actor.staff(user))
        return Client(), {"Authorization": f"Bearer {token}"}
    return client_for(user), {}


def _queries(client, headers: dict, url: str) -> tuple[list[str], int]:
    """The queries of one read of `url` (and the length of what it showed)."""
    client.get(url, headers=headers)  # caches filled (region names, sessions)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, headers=headers)
    assert response.status_code == 200, (url, response.status_code)
    return [query["sql"] for query in captured.captured_queries], len(response.content)


def _measure(world: World, rows: Rows, clients: dict) -> dict[str, tuple[list[str], int]]:
    return {name: _queries(*clients[name], item.url(world, rows)) for name, item in LISTS.items()}


def test_every_list_reads_as_many_queries_for_3n_rows_as_for_n(world):
    """One data set for all the lists (building it is what takes the time)."""
    rows = Rows()
    grow(world, rows, N)
    clients = {name: _client(world, item) for name, item in LISTS.items()}
    few = _measure(world, rows, clients)
    grow(world, rows, 2 * N)
    many = _measure(world, rows, clients)
    grown = {
        name: (len(few[name][0]), len(many[name][0]))
        for name in LISTS
        if len(many[name][0]) != len(few[name][0])
    }
    assert grown == {}, "these lists read more queries for more rows (queries for N, for 3N)"
    # Each list did show the rows it was given: its page grew with them.
    assert [
        name for name, item in LISTS.items() if item.shows_rows and many[name][1] <= few[name][1]
    ] == []
