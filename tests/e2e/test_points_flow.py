"""Activities and points on phones: a team leader claims an activity, a resident signs up
and checks in by the rotating code, the leader confirms the attendance, points appear,
the resident redeems goods at a store, and the public ranking shows them masked."""

import datetime
import re

import time_machine
from django.utils import timezone
from playwright.sync_api import expect

from jiceng.activities import services as activity_services
from jiceng.activities.models import ServiceType
from jiceng.core.actors import Actor
from jiceng.points import services as points_services
from jiceng.points.models import Good, Redemption
from tests.e2e.conftest import PHONE
from tests.e2e.test_request_flow import login, staff_phone
from tests.factories import resident

COMMUNITY = "370829001001"


def phone_for(browser, live_server):
    context = browser.new_context(
        viewport=PHONE, is_mobile=True, has_touch=True, locale="zh-CN", base_url=live_server.url
    )
    return context.new_page()


def resident_login(page, phone_number: str, sms) -> None:
    """Sign in by phone and the code the (in-memory) SMS sender received."""
    page.goto("/me/login/")
    page.get_by_label("手机号").fill(phone_number)
    page.get_by_role("button", name="获取验证码").click()
    expect(page.get_by_label("验证码")).to_be_visible()
    text = next(t for p, t in reversed(sms) if p == phone_number)
    page.get_by_label("验证码").fill(re.search(r"\d{6}", text).group())
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("heading", name=re.compile("您好"))).to_be_visible()


def test_claim_sign_up_check_in_earn_redeem_rank(world, browser, live_server, sms):
    manager = world.a("community_worker")
    start = timezone.now() + datetime.timedelta(minutes=20)  # check-in opens 30 min before
    activity = activity_services.activity_create(
        actor=manager,
        region_code=COMMUNITY,
        title="楼道杂物清理",
        service_type=ServiceType.objects.get(code="environment"),
        starts_at=start,
        ends_at=start + datetime.timedelta(hours=2),
        capacity=10,
        points=20,
    )
    activity_services.activity_publish(actor=manager, activity=activity)
    team = activity_services.team_create(
        actor=manager,
        region_code=COMMUNITY,
        name="红帆志愿服务队",
        leader=resident(phone="13900001111"),
    )
    store = points_services.store_create(
        actor=Actor.staff(manager), region_code=COMMUNITY, name="城南文明超市"
    )
    points_services.store_add_clerk(
        actor=Actor.staff(manager), store=store, clerk=world.a("store_clerk")
    )
    soap = points_services.good_create(
        actor=Actor.staff(manager), store=store, name="洗衣皂", price=5, stock=3
    )

    # The team leader claims the published activity (抢单) and opens sign-up.
    leader = phone_for(browser, live_server)
    resident_login(leader, "13900001111", sms)
    leader.get_by_role("link", name=team.name).click()
    leader.get_by_role("button", name="认领「楼道杂物清理」").click()
    expect(leader.get_by_text("认领成功")).to_be_visible()
    leader.get_by_role("button", name="开放报名").click()
    expect(leader.locator("[data-status]")).to_have_text("报名中")

    # A resident signs in with an SMS code and signs up from the monthly preview.
    neighbour = phone_for(browser, live_server)
    resident_login(neighbour, "13900002222", sms)
    neighbour.goto(f"/calendar/{COMMUNITY}/?month={timezone.localtime(start):%Y-%m}")
    neighbour.get_by_role("link", name="楼道杂物清理").click()
    neighbour.get_by_role("button", name="我要报名").click()
    expect(neighbour.get_by_text("报名成功")).to_be_visible()

    # Staff confirm who the resident is, so the board can show their masked name.
    staff = staff_phone(browser, live_server)
    login(staff, manager.username)
    staff.goto(f"/persons/{world.person_a.pk}/")
    staff.get_by_label("居民登录手机号").fill("13900002222")
    staff.get_by_role("button", name="核实关联").click()
    expect(staff.get_by_text("已核实")).to_be_visible()

    # The leader starts the activity; their phone shows the rotating check-in code.
    leader.reload()
    leader.get_by_role("button", name="活动开始，显示签到码").click()
    link = leader.locator("[data-check-in-url]")
    expect(link).to_be_visible()
    expect(leader.locator("#check-in-code svg")).to_be_visible()
    # The resident scans it (the QR code holds this address) and confirms.
    neighbour.goto(link.get_attribute("href").replace("http://testserver", ""))
    neighbour.get_by_role("button", name="确认签到").click()
    expect(neighbour.get_by_text("签到成功")).to_be_visible()
    expect(leader.get_by_text("已签到 1 人")).to_be_visible(timeout=15_000)

    with time_machine.travel(start + datetime.timedelta(minutes=1), tick=True):
        # The check-in is a claim: the leader, who sees who is there, confirms it.
        leader.get_by_role("link", name="查看名单、确认出勤").click()
        leader.get_by_role("button", name="全部确认（1 人待确认）").click()
        expect(leader.get_by_text("已确认 1 人出勤")).to_be_visible()
        leader.once("dialog", lambda dialog: dialog.accept())  # final: it asks first
        leader.get_by_role("button", name="活动结束，确认出勤").click()
        expect(leader.locator("[data-status]")).to_have_text("已完成")

        # The community settles the activity: the points appear on the resident's phone.
        staff.goto(f"/activities/{activity.pk}/")
        staff.once("dialog", lambda dialog: dialog.accept())  # "结算后……不能撤回。确定结算？"
        staff.get_by_role("button", name="结算积分").click()
        expect(staff.locator("h1 [data-status]")).to_have_text("已结算")
        neighbour.goto("/me/")
        expect(neighbour.locator(f"[data-balance='{COMMUNITY}']")).to_have_text("20")

        # At the store: the resident shows their code (the counter cannot scan today, so
        # six digits instead), the clerk types them and picks goods, the resident confirms
        # on their own phone, the clerk's screen shows the receipt.
        neighbour.get_by_role("link", name="出示居民码（文明超市兑换）").click()
        expect(neighbour.locator("#personal-code svg")).to_be_visible()
        neighbour.set_viewport_size({"width": 360, "height": 740})
        neighbour.get_by_role("link", name="改用数字码").click()
        digits = neighbour.locator("[data-counter-number]").get_attribute("data-counter-number")
        assert len(digits) == 6
        width = neighbour.evaluate("document.documentElement.scrollWidth")
        assert width <= 360, "the 数字码 page is wider than the phone"
        clerk = staff_phone(browser, live_server)
        login(clerk, world.a("store_clerk").username)
        clerk.goto(f"/stores/{store.pk}/counter/")
        clerk.get_by_label("居民码").fill(digits)
        clerk.get_by_role("button", name="识别居民").click()
        expect(clerk.locator("[data-balance]")).to_have_text("20")
        clerk.get_by_label("洗衣皂数量").fill("2")
        clerk.get_by_role("button", name="开兑换单，请居民确认").click()
        expect(clerk.locator("#order")).to_have_attribute("data-status", "pending")

        neighbour.goto("/me/")
        neighbour.get_by_role("link", name="查看并确认").click()
        neighbour.get_by_role("button", name="确认兑换").click()
        expect(neighbour.get_by_text("兑换成功")).to_be_visible()
        expect(clerk.locator("[data-receipt]")).to_be_visible(timeout=15_000)
        neighbour.goto("/me/")
        expect(neighbour.locator(f"[data-balance='{COMMUNITY}']")).to_have_text("10")

        # The public board (张榜公示): the resident ranks by points earned, name masked.
        board = phone_for(browser, live_server)
        board.goto(f"/rank/{COMMUNITY}/?period={timezone.localtime():%Y-%m}")
        names = board.locator("[data-rank-name]")
        expect(names.first).to_have_text("甲**人")
        assert world.person_a.name not in board.content()
        assert "13900002222" not in board.content()

    assert Good.objects.get(pk=soap.pk).stock == 1
    assert Redemption.objects.get().status == "confirmed"
