"""The demo county: its plan matches the article, and a small build is complete and safe."""

import io
import itertools
import json
import os
import random
import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.core.management import CommandError, call_command

from jiceng.accounts.models import Department, Membership, User
from jiceng.core import personal
from jiceng.core.idnumber import parse_id_number
from jiceng.demo.generator import GRID_BRANCHES, Builder, grid_codes_of, plan_for
from jiceng.party.models import PartyOrganization
from jiceng.places.models import Household, Person, Region
from tests.factories import PersonFactory, UserFactory


def test_the_urban_plan_is_200_grids_of_300_to_500_households_and_lucheng(db):
    plans = plan_for("urban", random.Random(1))
    jiaxiang = [plan for plan in plans if plan.code.startswith("370829")]
    grids = [code for plan in jiaxiang for code in grid_codes_of(plan)]
    assert len(grids) == len(set(grids)) == 200
    assert {plan.households for plan in plans} == {(300, 500)}
    assert {plan.code for plan in plans} == {"370829001", "370829002", "370829003", "370881001"}
    assert all(len(code) == 15 for code in grids)
    lucheng = next(plan for plan in plans if plan.code == "370881001")
    assert len(grid_codes_of(lucheng)) == 64 >= lucheng.grid_branches == 61


def test_the_city_plan_names_every_account_once(db):
    """The city scale (for benchmarks) once failed half-way: other counties' towns reused
    嘉祥's town serials as staff usernames."""
    plans = plan_for("city", random.Random(1))
    builder = Builder("city", 1, progress=lambda message: None)
    serial = itertools.count(1)
    builder.ids = SimpleNamespace(take=lambda model: next(serial))
    for plan in plans:
        builder._town_staff(plan)
    usernames = [row[1] for row in builder.users]
    assert len(usernames) == len(set(usernames)) > 7000
    assert "town001" in usernames  # 嘉祥's towns keep the names the demo logins print
    assert len({code for plan in plans for code in grid_codes_of(plan)}) > 7000


@pytest.fixture
def demo(db, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    call_command("demo", "--scale", "tiny", "--no-serve")
    return tmp_path


def test_a_tiny_demo_is_whole_and_valid(demo):
    grids = Region.objects.filter(level="grid", code__startswith="370829001")
    assert grids.count() == 4
    for household in Household.objects.select_related("head"):
        assert 8 <= Household.objects.filter(region_code=household.region_code).count() <= 12
        assert household.head.relation_to_head == "户主"
        assert household.head.region_code == household.region_code
    for person in Person.objects.all()[:500]:
        parsed = parse_id_number(personal.clear(person.id_number))
        assert (parsed.gender, parsed.birth_date) == (person.gender, person.birth_date)
        tail = personal.clear(person.id_number)[-4:]
        assert Person.objects.filter(pk=person.pk, id_tail=tail).exists()
    assert Department.objects.filter(kind="department").count() == 16
    assert Department.objects.filter(kind="utility").count() == 5
    assert Membership.objects.filter(role="specialist_grid_worker").count() == 1011
    captains = Membership.objects.filter(role="building_captain").select_related("building")
    assert captains and all(m.building.region_code == m.region_code for m in captains)
    assert PartyOrganization.objects.filter(kind="grid_branch").count() == 4 * GRID_BRANCHES // 200
    logins = json.loads((demo / "demo-logins.json").read_text(encoding="utf-8"))
    roles = {login["role"] for login in logins}
    assert roles >= {"county_admin", "grid_worker", "community_worker", "auditor", "superuser"}
    worker = next(login for login in logins if login["role"] == "grid_worker")
    assert User.objects.get(username=worker["username"]).check_password(worker["password"])
    assert Region.objects.get(code=worker["region_code"]).leader.username == worker["username"]


def test_running_the_demo_again_reuses_it(demo):
    persons = Person.objects.count()
    call_command("demo", "--scale", "tiny", "--no-serve")
    assert Person.objects.count() == persons


def _demo_recipe(**environment) -> str:
    """The command line `make demo` would run, in a shell with `environment`."""
    env = {k: v for k, v in os.environ.items() if k != "JICENG_SECOND_FACTOR"}
    done = subprocess.run(
        [shutil.which("make"), "--no-print-directory", "-n", "demo"],
        cwd=Path(__file__).resolve().parents[2],
        env={**env, **environment},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return next(line for line in done.stdout.splitlines() if "jiceng demo" in line)


@pytest.mark.skipif(shutil.which("make") is None, reason="make")
def test_make_demo_has_the_second_factor_off_unless_the_environment_turns_it_on():
    assert "JICENG_SECOND_FACTOR=0 " in _demo_recipe()
    assert "JICENG_SECOND_FACTOR=1 " in _demo_recipe(JICENG_SECOND_FACTOR="1")


@pytest.mark.parametrize(("value", "off"), [("0", True), ("1", False)])
def test_the_demo_says_the_second_factor_is_off_only_when_it_is(
    demo, monkeypatch, settings, client, value, off
):
    monkeypatch.setenv("JICENG_SECOND_FACTOR", value)
    printed = io.StringIO()
    call_command("demo", "--scale", "tiny", "--no-serve", stdout=printed)
    assert ("不要求动态口令" in printed.getvalue()) is off
    # What the later `jiceng` commands of the same shell read.
    written = (demo / "jiceng.env").read_text(encoding="utf-8")
    assert ("JICENG_SECOND_FACTOR=0" in written) is off
    settings.JICENG_SECOND_FACTOR = not off  # as the served demo sets it
    page = client.get("/accounts/login/").content.decode()
    assert ('data-second-factor="off"' in page) is off


def test_the_demo_refuses_a_database_with_real_data(db, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    PersonFactory(region_code="370829001")
    with pytest.raises(CommandError, match="非演示数据"):
        call_command("demo", "--scale", "tiny", "--no-serve")


def test_a_staff_account_alone_is_real_data_too(db, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    UserFactory(username="real-worker")
    with pytest.raises(CommandError):
        call_command("demo", "--scale", "tiny", "--no-serve")
    assert not Person.objects.exists()


def test_demo_requests_cover_every_state(demo):
    import random

    from django.db import transaction

    from jiceng.cases.models import Case
    from jiceng.core.bulk import IdAllocator
    from jiceng.demo.generator import ALLOCATED
    from jiceng.demo.requests import RequestHistory

    grids = list(Region.objects.filter(level="grid").values_list("code", flat=True))
    with transaction.atomic():
        ids = IdAllocator(*ALLOCATED)
        RequestHistory(ids, random.Random(3), grids, target=600).build()
        ids.close()
    states = set(Case.objects.values_list("status", flat=True))
    assert states == set(Case.Status.values)
    for case in Case.objects.filter(status="closed")[:50]:
        assert case.events.filter(action="check").exists()
        assert case.closed_at >= case.received_at


def test_demo_activities_and_points_are_whole(demo):
    from jiceng.activities.models import Activity
    from jiceng.gatherings.models import SignUp
    from jiceng.points.ledger import verify
    from jiceng.points.models import JournalEntry, Redemption, Store

    assert Activity.objects.filter(status="settled").exists()
    assert {"draft", "published", "signup", "settled"} <= set(
        Activity.objects.values_list("status", flat=True)
    )
    assert SignUp.objects.filter(checked_in_at__isnull=False).count() > 50
    # Past activities show attendance their leaders confirmed; none is left as a claim.
    past = SignUp.objects.filter(gathering__phase="closed")  # completed or settled
    assert past.filter(attendance="confirmed", check_in_step__isnull=False).count() > 50
    assert not past.filter(attendance="claimed").exists()
    assert Store.objects.count() == 4  # two grids in each of the two communities
    assert Redemption.objects.filter(status="confirmed", entry__isnull=False).exists()
    checked, problems = verify()
    assert checked == JournalEntry.objects.count() > 0 and problems == []
    logins = json.loads((demo / "demo-logins.json").read_text(encoding="utf-8"))
    roles = {login["role"]: login for login in logins}
    assert roles["resident"]["username"] != roles["team_leader"]["username"]
    assert {"store_clerk", "resident", "team_leader"} <= roles.keys()


def test_the_demo_party_register_keeps_its_own_rules(demo):
    """Every organization sits under a parent of an allowed kind, within its region; every
    party member of the register is a member; each grid branch has a secretary among its
    members, who keeps it with an account of their own for the term."""
    from jiceng.core.region_codes import is_within
    from jiceng.party.models import Appointment, PartyMember

    for org in PartyOrganization.objects.select_related("parent"):
        allowed = PartyOrganization.PARENT_KINDS[org.kind]
        if org.parent is None:
            assert not allowed, org
        else:
            assert org.parent.kind in allowed, org
            assert is_within(org.region_code, org.parent.region_code), org
    party = Person.objects.filter(political_status__in=("中共党员", "中共预备党员"))
    assert PartyMember.objects.count() == party.count() > 0
    assert not PartyMember.objects.exclude(person__in=party).exists()
    branches = PartyOrganization.objects.filter(kind="grid_branch")
    for branch in branches:
        secretary = Appointment.objects.get(
            organization=branch, post="secretary", ended_on__isnull=True
        )
        assert PartyMember.objects.filter(organization=branch, person=secretary.person).exists()
        post = Membership.objects.get(user=secretary.account, role="branch_secretary")
        assert (post.object_id, post.valid_until) == (branch.pk, branch.term_ends_on)
        assert branch.term_ends_on > branch.term_started_on
    logins = {login["role"] for login in json.loads((demo / "demo-logins.json").read_text("utf-8"))}
    assert {"org_department", "town_organizer", "branch_secretary"} <= logins
