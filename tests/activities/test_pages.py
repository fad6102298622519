"""The pages, end to end through HTTP: staff plan and settle, a team leader claims and
shows the code, residents sign in by SMS code, sign up and check in, a clerk redeems."""

import re

from django.test import Client

from jiceng.activities import services
from jiceng.activities.models import Activity
from jiceng.core.actors import Actor
from jiceng.core.models import AuditEvent
from jiceng.gatherings import services as gatherings
from jiceng.gatherings.models import SignUp
from jiceng.points import services as points_services
from jiceng.points.models import Good, Redemption
from jiceng.residents.models import Resident
from tests.activities.conftest import COMMUNITY_A, at
from tests.conftest import client_for
from tests.factories import resident, staff


def resident_client(phone: str, sms, capture) -> Client:
    client = Client()
    with capture(execute=True):
        response = client.post("/me/login/", {"phone": phone, "step": "send"})
    assert "验证码已发送" in response.content.decode()
    code = re.search(r"验证码为 (\d{6})", sms[-1][1]).group(1)
    response = client.post("/me/login/", {"phone": phone, "code": code, "step": "verify"})
    assert response.status_code == 302
    return client


def test_from_plan_to_points_to_store(
    world, staff_a, clock, sms, settings, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    settings.SESSION_COOKIE_AGE = 30 * 24 * 3600  # the clock jumps days ahead below
    staff_page = client_for(staff_a)
    response = staff_page.post(
        "/activities/new/",
        {
            "region_code": COMMUNITY_A,
            "title": "重阳节包饺子",
            "service_type": "6",
            "date": "2026-11-10",
            "start": "09:00",
            "end": "11:00",
            "capacity": "2",
            "points": "15",
            "holiday_tag": "重阳",
        },
    )
    assert response.status_code == 302, response.content.decode()
    activity = Activity.objects.get(gathering__title="重阳节包饺子")
    staff_page.post(f"/activities/{activity.pk}/act/publish/")
    leader = resident_client("13900001111", sms, capture)
    team = services.team_create(
        actor=staff_a,
        region_code=COMMUNITY_A,
        name="夕阳红服务队",
        leader=Resident.objects.get(phone="13900001111"),
    )
    page = leader.get(f"/me/teams/{team.pk}/").content.decode()
    assert "重阳节包饺子" in page
    leader.post(f"/me/teams/{team.pk}/claim/{activity.pk}/")
    leader.post(f"/me/activities/{activity.pk}/act/open_signup/")
    assert Activity.objects.get(pk=activity.pk).status == "signup"

    month = Client().get(f"/calendar/{COMMUNITY_A}/?month=2026-11").content.decode()
    assert "重阳节包饺子" in month and "重阳" in month
    ical = Client().get(f"/calendar/{COMMUNITY_A}/activities.ics").content.decode()
    assert "SUMMARY:重阳节包饺子" in ical and "BEGIN:VEVENT" in ical
    rss = Client().get(f"/calendar/{COMMUNITY_A}/rss/").content.decode()
    assert "【重阳】重阳节包饺子" in rss

    neighbour = resident_client("13900002222", sms, capture)
    neighbour.post(f"/a/{activity.gathering_id}/signup/")
    again = neighbour.post(f"/a/{activity.gathering_id}/signup/", follow=True).content.decode()
    assert "您已经报过名了" in again

    early = leader.post(f"/me/activities/{activity.pk}/act/hold/")  # days before: refused
    assert early["Location"] == f"/me/activities/{activity.pk}/"
    assert Activity.objects.get(pk=activity.pk).status == "signup"
    assert leader.get(f"/a/{activity.gathering_id}/code/").status_code == 302  # no live code
    assert "act/hold/" not in leader.get(f"/me/activities/{activity.pk}/").content.decode()
    clock.move_to(at(2026, 11, 10, 8, 50))
    assert "act/hold/" in leader.get(f"/me/activities/{activity.pk}/").content.decode()
    leader.post(f"/me/activities/{activity.pk}/act/hold/")
    code_page = leader.get(f"/a/{activity.gathering_id}/code/").content.decode()
    check_in_url = re.search(r'href="http://testserver(/a/\d+/checkin/\w+/)"', code_page).group(1)
    assert "<svg" in code_page
    assert "确认签到" in neighbour.get(check_in_url).content.decode()  # the scan
    done = neighbour.post(check_in_url, follow=True).content.decode()
    assert "签到成功" in done
    clock.move_to(at(2026, 11, 10, 11, 5))
    # The check-in is a claim: attendance is not final until the leader has confirmed it.
    refused = leader.post(f"/me/activities/{activity.pk}/act/complete/", follow=True)
    assert "1 人已签到待确认" in refused.content.decode()
    assert Activity.objects.get(pk=activity.pk).status == "held"
    leader.post(f"/a/{activity.gathering_id}/attendance/confirm/")
    leader.post(f"/me/activities/{activity.pk}/act/complete/")
    staff_page.post(f"/activities/{activity.pk}/act/settle/")
    assert Activity.objects.get(pk=activity.pk).status == "settled"
    home = neighbour.get("/me/").content.decode()
    assert 'data-balance="370829001001">15<' in home

    store = points_services.store_create(
        actor=Actor.staff(staff_a), region_code=COMMUNITY_A, name="城南文明超市"
    )
    clerk = staff("store_clerk", COMMUNITY_A, username="clerk-a")
    points_services.store_add_clerk(actor=Actor.staff(staff_a), store=store, clerk=clerk)
    soap = points_services.good_create(
        actor=Actor.staff(staff_a), store=store, name="肥皂", price=5, stock=3
    )
    shown = neighbour.get("/me/code/").content.decode()
    token = re.search(r"data-personal-code=\"([^\"]+)\"", shown).group(1)
    counter = client_for(clerk)
    scanned = counter.get(f"/stores/scan/{token}/", follow=True).content.decode()
    assert "data-balance>15<" in scanned
    scan = re.search(r'name="scan" value="(\d+)"', scanned).group(1)
    response = counter.post(f"/stores/{store.pk}/counter/", {"scan": scan, f"qty_{soap.pk}": "2"})
    order = Redemption.objects.get()
    assert response.status_code == 302 and order.status == "pending"
    assert f"/me/redemptions/{order.pk}/" in neighbour.get("/me/").content.decode()
    neighbour.post(f"/me/redemptions/{order.pk}/confirm/")
    neighbour.post(f"/me/redemptions/{order.pk}/confirm/")  # a replay changes nothing
    order.refresh_from_db()
    assert order.status == "confirmed" and Good.objects.get(pk=soap.pk).stock == 1
    assert (
        order.receipt_no in counter.get(f"/stores/{store.pk}/orders/{order.pk}/").content.decode()
    )
    assert 'data-balance="370829001001">5<' in neighbour.get("/me/").content.decode()

    board = Client().get(f"/rank/{COMMUNITY_A}/?period=2026-11").content.decode()
    assert "尾号2222" in board and "13900002222" not in board


def test_login_refusals(world, sms, django_capture_on_commit_callbacks):
    client = Client()
    page = client.post("/me/login/", {"phone": "12345", "step": "send"}).content.decode()
    assert "请输入11位手机号" in page
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/me/login/", {"phone": "13900003333", "step": "send"})
    wrong = client.post(
        "/me/login/", {"phone": "13900003333", "code": "000000", "step": "verify"}
    ).content.decode()
    assert "验证码不正确" in wrong or (len(sms) and sms[-1][1].find("000000") >= 0)
    soon = client.post("/me/login/", {"phone": "13900003333", "step": "send"}).content.decode()
    assert "一分钟后再试" in soon
    assert client.get("/me/").status_code == 302


def test_stale_check_in_code_is_refused_with_a_message(world, team, make_activity, clock):
    activity = make_activity("signup", team=team)
    person = resident(phone="13900004444")
    gatherings.signup_create(actor=Actor.of_resident(person), gathering=activity.gathering)
    clock.move_to(at(2026, 11, 10, 9, 0))
    old = gatherings.check_in_code(activity.gathering)
    clock.move_to(at(2026, 11, 10, 9, 2))
    client = Client()
    session = client.session
    session["resident_id"] = person.pk
    session.save()
    page = client.post(f"/a/{activity.gathering_id}/checkin/{old}/", follow=True).content.decode()
    assert "签到码已过期" in page
    assert SignUp.objects.get(resident=person).checked_in_at is None
    assert not AuditEvent.objects.filter(action="gathering.check_in").exists()


def test_a_scan_before_signing_in_counts_from_the_scan(world, team, make_activity, clock):
    """The code has moved on by the time a resident has signed in by SMS: the moment of
    the scan is kept through signing in; a scan older than the grace is stale."""
    activity = make_activity("signup", team=team)
    person = resident(phone="13900004445")
    late = resident(phone="13900004446")
    for who in (person, late):
        gatherings.signup_create(actor=Actor.of_resident(who), gathering=activity.gathering)
    clock.move_to(at(2026, 11, 10, 9, 0))
    code = gatherings.check_in_code(activity.gathering)
    url = f"/a/{activity.gathering_id}/checkin/{code}/"
    client = Client()
    assert client.get(url)["Location"].startswith("/me/login/")
    clock.move_to(at(2026, 11, 10, 9, 1))  # signed in a minute later: three codes on
    session = client.session
    session["resident_id"] = person.pk
    session.save()
    assert "确认签到" in client.get(url).content.decode()
    client.post(url)
    assert SignUp.objects.get(resident=person).attendance == SignUp.Attendance.CLAIMED

    code = gatherings.check_in_code(activity.gathering)
    url = f"/a/{activity.gathering_id}/checkin/{code}/"
    slow = Client()
    slow.get(url)
    clock.move_to(at(2026, 11, 10, 9, 4))
    session = slow.session
    session["resident_id"] = late.pk
    session.save()
    assert "签到码已过期" in slow.get(url, follow=True).content.decode()
    assert SignUp.objects.get(resident=late).checked_in_at is None


def test_signing_up_before_signing_in_comes_back_to_the_activity(world, team, make_activity):
    activity = make_activity("signup", team=team)
    page = f"http://testserver/a/{activity.gathering_id}/"
    response = Client().post(f"/a/{activity.gathering_id}/signup/", headers={"referer": page})
    assert response.status_code == 302
    assert response["Location"] == f"/me/login/?next={page.replace(':', '%3A')}"
    away = Client().post(
        f"/a/{activity.gathering_id}/signup/", headers={"referer": "https://evil.example/"}
    )
    assert away["Location"] == "/me/login/?next=/me/"


def test_cancelling_an_activity_asks_first(world, login, make_activity):
    activity = make_activity("published")
    page = login(world.a("community_worker")).get(f"/activities/{activity.pk}/").content.decode()
    button = re.search(r"<button[^>]*>取消</button>", page).group(0)
    assert 'data-confirm="' in button and "确定取消活动" in button


def test_the_staff_page_names_the_community_and_the_leader(
    world, login, make_activity, team, leader, clock
):
    as_leader = Actor.of_resident(leader)
    activity = services.activity_claim(
        actor=as_leader, activity=make_activity("published"), team=team
    )
    activity = services.activity_open_signup(actor=as_leader, activity=activity)
    clock.move_to(activity.gathering.starts_at)
    activity = services.activity_hold(actor=as_leader, activity=activity)
    activity = services.activity_complete(actor=as_leader, activity=activity)
    signed = dict(activity.events.values_list("action", "actor_label"))
    leader_label = f"队长 {leader}（{team.name}）"
    assert [signed[a] for a in ("claim", "open_signup", "hold", "complete")] == [leader_label] * 4
    page = login(world.a("community_worker")).get(f"/activities/{activity.pk}/").content.decode()
    assert "<dt>社区</dt><dd>城南社区</dd>" in page
    assert f"居民 {leader}" not in page


def test_the_resident_reads_that_they_signed_up(
    world, make_activity, team, sms, django_capture_on_commit_callbacks
):
    activity = make_activity("signup", team=team)
    neighbour = resident_client("13900003333", sms, django_capture_on_commit_callbacks)
    neighbour.post(f"/a/{activity.gathering_id}/signup/")
    page = neighbour.get(f"/a/{activity.gathering_id}/").content.decode()
    assert "您已报名" in page and "已已" not in page


def test_the_activity_form_asks_to_choose_a_service_type(world, login):
    page = login(world.a("community_worker")).get("/activities/new/").content.decode()
    assert "---------" not in page
    assert '<option value="" selected>请选择</option>' in page


def _need(world, text="3号楼独居老人希望定期量血压", grid=None):
    return services.need_record(
        actor=world.a("grid_worker"),
        region_code=grid or world.grid_a.code,
        text=text,
        service_type=None,
    )


def _plan(need_pks, **fields):
    return {
        "region_code": COMMUNITY_A,
        "title": "上门量血压",
        "service_type": "6",
        "date": "2026-11-10",
        "start": "09:00",
        "end": "11:00",
        "capacity": "10",
        "points": "5",
        "needs": [str(pk) for pk in need_pks],
        **fields,
    }


def test_planning_from_ticked_needs_links_them_to_the_activity(world, staff_a, clock):
    first, second = _need(world), _need(world, text="希望开展防诈骗讲座")
    response = client_for(staff_a).post("/activities/new/", _plan([first.pk, second.pk]))
    assert response.status_code == 302, response.content.decode()
    activity = Activity.objects.get(gathering__title="上门量血压")
    assert set(activity.needs.values_list("pk", flat=True)) == {first.pk, second.pk}


def test_a_need_beyond_the_fifty_newest_can_still_be_planned_from(world, staff_a, clock):
    oldest = _need(world, text="最早的需求")
    for n in range(50):
        _need(world, text=f"需求{n}")
    page = client_for(staff_a).get(f"/activities/new/?need={oldest.pk}").content.decode()
    assert re.search(rf'value="{oldest.pk}"[^>]*checked', page), "the need is ticked"
    response = client_for(staff_a).post("/activities/new/", _plan([oldest.pk]))
    assert response.status_code == 302, response.content.decode()
    oldest.refresh_from_db()
    assert oldest.activity is not None


def test_each_open_need_offers_to_plan_from_it(world, staff_a, clock):
    need = _need(world)
    page = client_for(staff_a).get("/activities/needs/").content.decode()
    assert f'href="/activities/new/?need={need.pk}"' in page and "据此策划" in page
    # a grid worker, who may record needs but not plan activities, is not offered it
    page = client_for(world.a("grid_worker")).get("/activities/needs/").content.decode()
    assert "据此策划" not in page


def test_another_communitys_need_is_neither_shown_nor_linked(world, clock):
    need = _need(world)
    other = world.b("community_worker")
    page = client_for(other).get(f"/activities/new/?need={need.pk}").content.decode()
    assert need.text not in page
    response = client_for(other).post(
        "/activities/new/", _plan([need.pk], region_code="370829002001")
    )
    need.refresh_from_db()
    assert need.activity is None
    assert response.status_code == 200
