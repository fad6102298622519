"""A resident finds their request again: the tracking link by SMS at submission and at
办结, a lookup by 查询码 and the phone's last four digits, and 我的诉求 for a signed-in
resident; the intake refuses a phone nobody could call back."""

import re

import pytest
from django.test import Client

from jiceng.cases import services
from jiceng.cases.models import Case
from jiceng.core.actors import Actor
from jiceng.core.models import OutboxMessage, ThrottleHit
from tests.cases.test_pages import intake_form
from tests.cases.test_workflow import closed
from tests.factories import resident as make_resident

PUBLIC = Actor.public("test")
PHONE = "13900001111"


def tracking_sms(phone=PHONE) -> list[str]:
    """The tracking texts queued to `phone` (the outbox is the truth of what is sent)."""
    from jiceng.core import outbox

    return [
        outbox.outgoing(m).text
        for m in OutboxMessage.objects.filter(
            template__in=("case_received", "case_closed", "case_link")
        ).order_by("id")
        if outbox.outgoing(m).to.get("phone") == phone
    ]


@pytest.fixture(autouse=True)
def public_address(settings):
    settings.JICENG_PUBLIC_URL = "https://jiceng.example.gov.cn"


def test_no_link_is_texted_without_the_public_address(world, submit, settings):
    """A bare path is no link on a phone: none is sent (and the deployment check fails)."""
    settings.JICENG_PUBLIC_URL = ""
    submit(reporter_phone=PHONE)
    assert tracking_sms() == []


def test_the_link_is_sent_by_sms_at_submission_and_at_closing(world, submit):
    case = submit(reporter_phone=PHONE)
    texts = tracking_sms()
    link = f"https://jiceng.example.gov.cn/t/{case.tracking_code}/{case.access_token}/"
    assert len(texts) == 1 and case.tracking_code in texts[0] and link in texts[0]
    closed(world, case)
    texts = tracking_sms()
    assert len(texts) == 2 and "办结" in texts[1] and link in texts[1]


def test_no_sms_without_a_mobile_or_for_a_suspect_submission(world, submit):
    submit()  # no phone
    submit(reporter_phone="0537-1234567")  # a landline takes no SMS
    case = submit(reporter_phone=PHONE, text="可疑的提交")
    assert len(tracking_sms()) == 1
    Case.objects.filter(pk=case.pk).update(is_suspect=True)
    OutboxMessage.objects.all().delete()
    suspect = submit(reporter_phone=PHONE, text="另一件可疑的提交", is_suspect=True)
    assert suspect.is_suspect and tracking_sms() == []


def test_at_most_three_tracking_sms_a_day_to_one_number(world, submit):
    for n in range(5):
        submit(reporter_phone=PHONE, text=f"第{n}个问题：楼道灯坏了")
    assert len(tracking_sms()) == 3
    submit(reporter_phone="13900002222")
    assert len(tracking_sms("13900002222")) == 1


# --- the lookup by 查询码 + last four ---------------------------------------------------


def test_the_tracking_code_alone_offers_a_lookup(world, submit, client):
    case = submit(reporter_phone=PHONE)
    page = client.get(f"/t/{case.tracking_code}/")
    assert page.status_code == 200 and "手机号后四位" in page.content.decode()
    OutboxMessage.objects.all().delete()
    found = client.post(f"/t/{case.tracking_code}/", {"code": case.tracking_code, "tail": "1111"})
    shown = found.content.decode()
    # what Open311 publishes, never the private link (查询码 are public, four digits few) …
    assert found.status_code == 200 and "已收到，等待工作人员受理" in shown
    assert case.access_token not in shown and case.description not in shown
    # … which goes again, by SMS, to the phone the request was given with
    link = f"https://jiceng.example.gov.cn/t/{case.tracking_code}/{case.access_token}/"
    texts = tracking_sms()
    assert len(texts) == 1 and link in texts[0] and "139****1111" in shown
    # also from the bare lookup page, with the code typed in lower case: once a day
    again = client.post("/t/", {"code": case.tracking_code.lower(), "tail": "1111"})
    assert again.status_code == 200 and case.tracking_code in again.content.decode()
    assert len(tracking_sms()) == 1


def test_a_wrong_tail_and_an_unknown_code_get_the_same_answer(world, submit, client):
    case = submit(reporter_phone=PHONE)
    wrong = client.post("/t/", {"code": case.tracking_code, "tail": "2222"})
    unknown = client.post("/t/", {"code": "ZZZZZZZZZZ", "tail": "1111"})
    no_phone = submit()
    without = client.post("/t/", {"code": no_phone.tracking_code, "tail": "1111"})
    pages = [r.content.decode() for r in (wrong, unknown, without)]
    assert {r.status_code for r in (wrong, unknown, without)} == {400}

    def message(page):
        return re.search(r'role="alert">([^<]+)<', page).group(1)

    assert message(pages[0]) == message(pages[1]) == message(pages[2])
    assert case.access_token not in pages[0]


def test_lookups_are_rate_limited(world, submit, client, settings):
    settings.JICENG_TRACKING_LOOKUPS_PER_HOUR = 3
    case = submit(reporter_phone=PHONE)
    for tail in ("0001", "0002", "0003"):
        client.post("/t/", {"code": case.tracking_code, "tail": tail})
    limited = client.post("/t/", {"code": case.tracking_code, "tail": "1111"})
    assert limited.status_code == 429 and "次数过多" in limited.content.decode()
    assert ThrottleHit.objects.filter(scope__startswith="cases.lookup").exists()
    # another phone's address is not locked out of the code either: the code is limited
    other = Client(REMOTE_ADDR="10.0.0.9")
    assert other.post("/t/", {"code": case.tracking_code, "tail": "1111"}).status_code == 429


# --- 我的诉求 ---------------------------------------------------------------------------


def signed_in(resident) -> Client:
    client = Client()
    session = client.session
    session["resident_id"] = resident.pk
    session.save()
    return client


def test_my_requests_lists_those_made_with_my_phone_and_those_i_claim(world, submit):
    mine = submit(reporter_phone=PHONE, text="我家楼道灯坏了")
    older = submit(reporter_phone="0537-7654321", text="以前用座机反映的问题")
    stranger = submit(reporter_phone="13900009999", text="别人反映的问题")
    me = make_resident(phone=PHONE)
    client = signed_in(me)
    page = client.get("/me/requests/").content.decode()
    assert mine.tracking_code in page and "我家楼道灯坏了" in page
    assert older.tracking_code not in page and stranger.tracking_code not in page
    assert f"/t/{mine.tracking_code}/{mine.access_token}/" in page
    assert f"/q/{world.grid_a.code}/" in page or "扫码" in page  # the way back to intake

    refused = client.post("/me/requests/", {"code": stranger.tracking_code, "tail": "0000"})
    assert refused.status_code == 400
    claimed = client.post("/me/requests/", {"code": older.tracking_code, "tail": "4321"})
    assert claimed.status_code == 302
    page = client.get("/me/requests/").content.decode()
    assert older.tracking_code in page and stranger.tracking_code not in page
    assert me.claimed_cases.filter(case=older).count() == 1
    # another resident sees none of it
    other = signed_in(make_resident(phone="13900003333")).get("/me/requests/").content.decode()
    assert mine.tracking_code not in other and older.tracking_code not in other


def test_intake_and_my_requests_link_both_ways(world, catalogue, client):
    page = client.get(f"/q/{world.grid_a.code}/").content.decode()
    assert 'href="/me/requests/"' in page and 'href="/t/"' in page
    home = signed_in(make_resident(phone=PHONE)).get("/me/").content.decode()
    assert 'href="/me/requests/"' in home


# --- item 3: the intake refuses a phone nobody could call back --------------------------


@pytest.mark.parametrize("phone", ["1234567", "139000011", "1390000111122", "abc"])
def test_the_intake_refuses_a_malformed_phone(world, catalogue, client, phone):
    _, key = intake_form(client, world.grid_a.code)
    response = client.post(
        f"/q/{world.grid_a.code}/",
        {"description": "楼道灯坏了", "reporter_phone": phone, "submission": key},
    )
    assert response.status_code == 400
    assert "手机号" in response.content.decode() and "区号" in response.content.decode()
    assert not Case.objects.exists()


def test_the_intake_takes_a_mobile_or_a_landline_with_its_area_code(world, catalogue, client):
    for phone in ("139 0000 1111", "0537-1234567"):
        _, key = intake_form(client, world.grid_a.code)
        response = client.post(
            f"/q/{world.grid_a.code}/",
            {"description": "楼道灯坏了", "reporter_phone": phone, "submission": key},
        )
        assert response.status_code == 302
    assert Case.objects.count() == 2


def test_a_handled_request_replies_to_the_public(world, submit):
    worker = world.a("grid_worker")
    case = submit()
    services.case_accept(actor=world.a("community_worker"), case=case)
    case = services.case_dispatch(actor=world.a("community_worker"), case=case, handler=worker)
    case = services.case_start(actor=worker, case=case)
    case = services.case_handle(
        actor=worker, case=case, result="联系了302室王某某，已修好", reply="已修复漏水。"
    )
    assert (case.result, case.public_reply) == ("联系了302室王某某，已修好", "已修复漏水。")
    page = Client().get(f"/t/{case.tracking_code}/{case.access_token}/").content.decode()
    assert "已修复漏水。" in page and "王某某" not in page


def test_a_step_handled_before_replies_existed_shows_no_internal_result():
    """Its note is the handler's result, which can name people."""
    from types import SimpleNamespace

    from jiceng.cases.public import _public_note

    old = SimpleNamespace(action="handle", data={}, note="联系了302室王某某，已修好")
    assert _public_note(old) == ""
    new = SimpleNamespace(action="handle", data={"reply": "已修复漏水。"}, note="联系了王某某")
    assert _public_note(new) == "已修复漏水。"
