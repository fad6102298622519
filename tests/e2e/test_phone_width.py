"""At 360×740 no page is wider than the phone: a resident (QR intake, tracking page, 我的,
points, 居民码, the monthly preview, an activity, and as a team's leader its page and
roster) and a grid worker (home, cases, a case, patrols and
the patrol form, the region browser, a household, the figures) walk the pages they use,
and each page is measured (conftest.py measures every page of every browser test too)."""

import datetime
import re

from django.utils import timezone
from playwright.sync_api import expect

from jiceng.activities import services as activities
from jiceng.activities.models import ServiceType
from jiceng.cases import services as cases
from jiceng.cases.catalogue import catalogue_seed
from jiceng.cases.models import Category
from jiceng.core.actors import Actor
from jiceng.patrols import services as patrols
from jiceng.points.ledger import account_for, ledger_for, post
from jiceng.points.models import Account, JournalEntry
from tests.e2e.conftest import assert_fits
from tests.e2e.test_points_flow import phone_for, resident_login
from tests.e2e.test_request_flow import login
from tests.factories import resident

COMMUNITY = "370829001001"


def _history(world):
    """A few rows on every page walked, long enough to widen a careless layout."""
    catalogue_seed(county_code="370829")
    category = Category.objects.get(region_code="370829", code="facilities.street-light")
    worker = world.a("grid_worker")
    for i in range(3):
        case, _ = cases.case_submit(
            actor=Actor.public("test"), channel="qr", region_code=world.grid_a.code,
            description=f"1号楼门口的路灯不亮了，晚上很黑，老人出门不方便{i}" * 3,
            category=category, reporter_phone=f"1390000{i:04d}",
        )  # fmt: skip
        cases.case_accept(actor=worker, case=case)
    now = timezone.now()
    patrols.patrol_log(
        actor=worker, grid=world.grid_a, started_at=now - datetime.timedelta(hours=1),
        ended_at=now, buildings=[world.household_a.dwelling.building], notes="消防通道畅通",
    )  # fmt: skip
    neighbour = resident(person=world.person_a, phone="13900003333")
    ledger = ledger_for(COMMUNITY)
    post(
        ledger=ledger, key="width:1", kind=JournalEntry.Kind.EARN, memo="参加楼道杂物清理活动",
        lines=[
            (account_for(ledger, Account.Kind.RESIDENT, neighbour), 20),
            (account_for(ledger, Account.Kind.ISSUANCE), -20),
        ],
    )  # fmt: skip
    # The resident leads a team whose activity is open for sign-up: its page and roster.
    manager = world.a("community_worker")
    team = activities.team_create(
        actor=manager, region_code=COMMUNITY, name="红帆志愿服务队（楼道清理与助老分队）",
        leader=neighbour,
    )  # fmt: skip
    start = now + datetime.timedelta(days=3)
    activity = activities.activity_create(
        actor=manager, region_code=COMMUNITY, title="楼道杂物清理" * 6,
        service_type=ServiceType.objects.get(code="environment"), starts_at=start,
        ends_at=start + datetime.timedelta(hours=2), capacity=10, points=20,
    )  # fmt: skip
    activity = activities.activity_assign(actor=manager, activity=activity, team=team)
    case.activity = activities.activity_open_signup(actor=manager, activity=activity)
    return case


def test_a_resident_walks_their_pages_at_360_px(world, browser, live_server, sms):
    activity = _history(world).activity
    page = phone_for(browser, live_server)
    page.goto(f"/q/{world.grid_a.code}/")
    assert_fits(page)
    page.get_by_label("问题类别").select_option(label="路灯不亮")
    page.get_by_label("遇到了什么问题").fill("3号楼后面的路灯坏了" * 10)
    page.get_by_role("button", name="提交").click()
    expect(page.get_by_role("heading", name=re.compile("查询码"))).to_be_visible()
    assert_fits(page)
    resident_login(page, "13900003333", sms)
    assert_fits(page)
    for url in (
        "/me/",
        "/me/points/",
        "/me/code/",
        "/calendar/",
        f"/calendar/{COMMUNITY}/",
        f"/a/{activity.gathering_id}/",
        f"/me/activities/{activity.pk}/",
        f"/a/{activity.gathering_id}/roster/",
    ):
        response = page.goto(url)
        assert response.status == 200, url
        assert_fits(page)


def test_a_grid_worker_walks_their_pages_at_360_px(world, browser, live_server):
    case = _history(world)
    page = phone_for(browser, live_server)
    login(page, world.a("grid_worker").username)
    assert_fits(page)
    for url in (
        "/",
        "/cases/?queue=open",
        f"/cases/{case.pk}/",
        "/patrols/",
        "/patrols/new/",
        f"/regions/{world.grid_a.code}/",
        f"/households/{world.household_a.pk}/",
    ):
        response = page.goto(url)
        assert response.status == 200, url
        assert_fits(page)
    # The figures are the community's (a grid worker's home page links them there).
    community = phone_for(browser, live_server)
    login(community, world.a("community_worker").username)
    for url in ("/cases/figures/", "/activities/figures/", f"/regions/{COMMUNITY}/"):
        response = community.goto(url)
        assert response.status == 200, url
        assert_fits(community)
