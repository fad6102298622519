"""Reveal quotas (core.quota): past JICENG_REVEAL_PER_HOUR / _PER_DAY a reveal is refused,
audited as a failure and alerted to the auditors once per window; an approved request
grants more for the day; an emergency takes more at once and waits for review; a burst of
concurrent reveals by one account never passes the quota."""

import datetime
import threading

import pytest
import time_machine
from django.db import connection

from jiceng.cases.services import case_submit
from jiceng.core import approvals, masking, personal, quota
from jiceng.core.actors import Actor
from jiceng.core.errors import DomainError, NotFound
from jiceng.core.models import Approval, AuditEvent, OutboxMessage, ThrottleHit
from jiceng.places.services import person_reveal
from tests.conftest import client_for

S = Approval.Status
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def limits(settings):
    settings.JICENG_REVEAL_PER_HOUR = 3
    settings.JICENG_REVEAL_PER_DAY = 5
    settings.JICENG_REVEAL_EMERGENCY_EXTRA = 2
    settings.JICENG_REVEAL_EMERGENCY_HOURS = 2
    return settings


def _reveal(world, user=None):
    user = user or world.a("grid_worker")
    return person_reveal(actor=Actor.staff(user), person=world.person_a, field="phone")


def _reveals(outcome: str, **detail) -> int:
    events = AuditEvent.objects.filter(action="person.reveal", outcome=outcome)
    for key, value in detail.items():
        events = events.filter(**{f"detail__{key}": value})
    return events.count()


def _alerts(kind: str = "reveal_quota"):
    return AuditEvent.objects.filter(action=f"alert.{kind}")


def _notices(alert: AuditEvent) -> set[str]:
    return set(
        OutboxMessage.objects.filter(key__startswith=f"alert:{alert.pk}:").values_list(
            "key", flat=True
        )
    )


def test_the_reveal_past_the_quota_is_refused_audited_and_alerted_once(world, limits):
    for _ in range(3):
        assert _reveal(world) == personal.clear(world.person_a.phone)
    with pytest.raises(quota.QuotaExceeded) as refused:
        _reveal(world)
    assert refused.value.code == "reveal_quota" and refused.value.status == 429
    assert "已达上限" in refused.value.message
    assert _reveals("success") == 3
    assert _reveals("failure", refused="reveal_quota", window="hour") == 1
    (alert,) = _alerts()
    assert alert.region_code == world.a("grid_worker").region_code
    # The auditor of county A is told through the outbox, B's is not.
    assert _notices(alert) == {f"alert:{alert.pk}:{world.a('auditor').pk}"}
    with pytest.raises(quota.QuotaExceeded):
        _reveal(world)
    assert _reveals("failure", refused="reveal_quota") == 2
    assert _alerts().count() == 1  # once per account and window
    assert OutboxMessage.objects.filter(key__startswith="alert:").count() == 1
    assert ThrottleHit.objects.filter(scope=quota.SCOPE).count() == 3  # refused ones count not


def test_the_hour_and_the_day_are_counted_apart(world, limits):
    start = datetime.datetime(
        2026, 5, 6, 9, 0, tzinfo=datetime.timezone(datetime.timedelta(hours=8))
    )
    with time_machine.travel(start, tick=False):
        for _ in range(3):
            _reveal(world)
        with pytest.raises(quota.QuotaExceeded):
            _reveal(world)
    with time_machine.travel(start + datetime.timedelta(minutes=61), tick=False):
        _reveal(world)  # a new hour, the day's fourth and fifth
        _reveal(world)
        with pytest.raises(quota.QuotaExceeded):
            _reveal(world)
    assert _reveals("failure", window="hour") == 1
    assert _reveals("failure", window="day") == 1
    assert set(_alerts().values_list("detail__window", flat=True)) == {"hour", "day"}
    with time_machine.travel(start + datetime.timedelta(hours=15, minutes=5), tick=False):
        _reveal(world)  # 00:05 the next day
    assert _reveals("success") == 6


def test_an_approved_request_lets_that_many_more_through_today(world, limits):
    worker = world.a("grid_worker")
    for _ in range(3):
        _reveal(world)
    asked = quota.reveal_more_ask(actor=Actor.staff(worker), extra=2, reason="入户核对")
    assert asked.status == S.PENDING and asked.payload == {"extra": 2}
    assert asked.region_code == "370829" and asked.kind == quota.MORE
    # Told to the security administrators of county A, not to B's.
    told = set(
        OutboxMessage.objects.filter(key__startswith=f"approval:{asked.pk}:asked:").values_list(
            "key", flat=True
        )
    )
    assert f"approval:{asked.pk}:asked:{world.a('security_admin').pk}" in told
    assert f"approval:{asked.pk}:asked:{world.b('security_admin').pk}" not in told
    with pytest.raises(quota.QuotaExceeded):
        _reveal(world)  # asked is not granted
    with pytest.raises(NotFound):  # the asker holds no security.grant …
        approvals.decide(actor=Actor.staff(worker), approval=asked, action="approve")
    for stranger in (world.b("security_admin"), world.a("community_worker")):
        with pytest.raises(DomainError):
            approvals.decide(actor=Actor.staff(stranger), approval=asked, action="approve")
    asked.refresh_from_db()
    assert asked.status == S.PENDING
    approvals.decide(actor=Actor.staff(world.a("security_admin")), approval=asked, action="approve")
    _reveal(world)
    _reveal(world)
    with pytest.raises(quota.QuotaExceeded):
        _reveal(world)
    assert _reveals("success") == 5


def test_the_asker_may_not_decide_even_holding_the_deciders_right(world, limits):
    """Administrator roles are held alone, so no asker holds security.grant; were one to,
    the runner's four eyes would still refuse them."""
    from jiceng.accounts.models import Membership

    worker = world.a("grid_worker")
    Membership.objects.create(user=worker, role="security_admin", region_code="370829")
    asked = quota.reveal_more_ask(actor=Actor.staff(worker), extra=2, reason="入户核对")
    taken = quota.reveal_emergency_take(actor=Actor.staff(worker), cause="fire", reason="火场")
    for approval, action in ((asked, "approve"), (taken, "confirm")):
        with pytest.raises(DomainError) as own:
            approvals.decide(actor=Actor.staff(worker), approval=approval, action=action)
        assert own.value.code == "second_person_required"
    assert set(Approval.objects.values_list("status", flat=True)) == {S.PENDING, S.REVIEW}


def test_one_request_at_a_time_and_a_sane_number(world, limits):
    worker = Actor.staff(world.a("grid_worker"))
    with pytest.raises(DomainError) as bad:
        quota.reveal_more_ask(actor=worker, extra=0, reason="入户核对")
    assert bad.value.code == "bad_extra"
    with pytest.raises(DomainError) as bare:
        quota.reveal_more_ask(actor=worker, extra=2, reason="  ")
    assert bare.value.code == "reason_required"
    quota.reveal_more_ask(actor=worker, extra=2, reason="入户核对")
    with pytest.raises(DomainError) as again:
        quota.reveal_more_ask(actor=worker, extra=2, reason="入户核对")
    assert again.value.code == "already_asked"
    with pytest.raises(NotFound):  # no quota to ask about
        quota.reveal_more_ask(actor=Actor.staff(world.outsider), extra=2, reason="入户核对")
    assert Approval.objects.count() == 1


def test_an_emergency_allows_at_once_and_waits_for_review(world, limits):
    worker = world.a("grid_worker")
    for _ in range(3):
        _reveal(world)
    taken = quota.reveal_emergency_take(actor=Actor.staff(worker), cause="flood", reason="转移群众")
    assert taken.status == S.REVIEW and taken.kind == quota.EMERGENCY
    assert taken.payload == {"extra": 2, "hours": 2, "cause": "flood"}
    assert list(taken.events.values_list("action", flat=True)) == ["take"]
    assert AuditEvent.objects.filter(action="approval.take", object_id=str(taken.pk)).exists()
    (alert,) = _alerts("reveal_emergency")
    assert _notices(alert) == {f"alert:{alert.pk}:{world.a('auditor').pk}"}
    _reveal(world)  # at once, no one asked
    with pytest.raises(DomainError) as twice:
        quota.reveal_emergency_take(actor=Actor.staff(worker), cause="fire", reason="又一处")
    assert twice.value.code == "emergency_running"
    with pytest.raises(NotFound):
        approvals.decide(actor=Actor.staff(worker), approval=taken, action="confirm")
    approvals.decide(actor=Actor.staff(world.a("security_admin")), approval=taken, action="flag")
    assert _alerts("approval_flagged").count() == 1
    with pytest.raises(quota.QuotaExceeded):
        _reveal(world)  # a flag ends the allowance
    assert Approval.objects.get(pk=taken.pk).status == S.FLAGGED
    with pytest.raises(DomainError) as again:  # flagged: none again today
        quota.reveal_emergency_take(actor=Actor.staff(worker), cause="fire", reason="再来")
    assert again.value.code == "emergency_flagged"
    assert Approval.objects.filter(kind=quota.EMERGENCY).count() == 1


def test_the_next_emergency_waits_for_the_last_ones_review(world, limits):
    worker = world.a("grid_worker")
    taken = quota.reveal_emergency_take(actor=Actor.staff(worker), cause="fire", reason="火场")
    later = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=3)
    with time_machine.travel(later, tick=False):
        with pytest.raises(DomainError) as waiting:
            quota.reveal_emergency_take(actor=Actor.staff(worker), cause="fire", reason="又一处")
        assert waiting.value.code == "emergency_unreviewed"
        assert Approval.objects.filter(kind=quota.EMERGENCY).count() == 1
        approvals.decide(
            actor=Actor.staff(world.a("security_admin")), approval=taken, action="confirm"
        )
        second = quota.reveal_emergency_take(
            actor=Actor.staff(worker), cause="fire", reason="又一处"
        )
        assert second.status == S.REVIEW


def test_an_emergency_allowance_runs_out_after_its_hours(world, limits):
    worker = world.a("grid_worker")
    for _ in range(3):
        _reveal(world)
    quota.reveal_emergency_take(actor=Actor.staff(worker), cause="fire", reason="火场周边")
    _reveal(world)
    later = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=30)
    with time_machine.travel(later, tick=False):
        _reveal(world)  # the fifth within the hour: still within the two hours
    with time_machine.travel(later + datetime.timedelta(hours=2), tick=False):
        assert quota.extra_of(worker) == 0


def test_who_may_export_the_region_is_not_counted(world, limits):
    for _ in range(5):
        _reveal(world, world.a("community_worker"))
    assert _reveals("success") == 5
    assert not ThrottleHit.objects.filter(scope=quota.SCOPE).exists()


def test_a_denied_reveal_takes_no_quota(world, limits):
    with pytest.raises(NotFound):
        _reveal(world, world.b("grid_worker"))
    assert not ThrottleHit.objects.filter(scope=quota.SCOPE).exists()


# --- pages and the API -------------------------------------------------------------------


def _spend(world):
    for _ in range(3):
        _reveal(world)


def test_the_person_page_fragment_says_so_and_links_to_the_forms(world, limits):
    _spend(world)
    worker = client_for(world.a("grid_worker"))
    fragment = worker.post(f"/persons/{world.person_a.pk}/reveal/phone/", **HTMX)
    text = fragment.content.decode()
    assert fragment.status_code == 200  # htmx swaps only a 2xx answer
    assert "已达上限" in text and 'href="/reveals/more/"' in text
    assert 'href="/reveals/emergency/"' in text and "申请增加额度" in text and "紧急查看" in text
    assert personal.clear(world.person_a.phone) not in text
    page = worker.post(f"/persons/{world.person_a.pk}/reveal/phone/")
    assert page.status_code == 429 and "申请增加额度" in page.content.decode()
    assert _reveals("failure", refused="reveal_quota") == 2


def test_the_case_reporter_fragment_says_so(world, limits):
    from jiceng.cases.catalogue import catalogue_seed

    catalogue_seed(county_code="370829")
    case, _ = case_submit(
        actor=Actor.public("test"),
        channel="qr",
        region_code=world.grid_a.code,
        description="楼上漏水",
        reporter_phone="13900002222",
        share_reporter_with_grid=True,  # else the grid's worker may not see it at all
    )
    _spend(world)
    fragment = client_for(world.a("grid_worker")).post(f"/cases/{case.pk}/reporter/", **HTMX)
    text = fragment.content.decode()
    assert fragment.status_code == 200 and "申请增加额度" in text and "13900002222" not in text
    assert AuditEvent.objects.filter(
        action="case.reveal_reporter", outcome="failure", detail__refused="reveal_quota"
    ).exists()


def test_the_api_answers_429_with_the_code_and_the_forms(world, limits):
    from jiceng.accounts.services import api_token_issue

    _spend(world)
    raw, _ = api_token_issue(actor=Actor.staff(world.a("grid_worker")))
    answer = client_for(None).post(
        f"/api/v1/persons/{world.person_a.pk}/reveal",
        {"field": "phone"},
        "application/json",
        HTTP_AUTHORIZATION=f"Bearer {raw}",
    )
    assert answer.status_code == 429
    body = answer.json()
    assert body["code"] == "reveal_quota"
    assert body["links"] == {"more": "/reveals/more/", "emergency": "/reveals/emergency/"}


def test_the_forms_ask_and_take(world, limits):
    worker = client_for(world.a("grid_worker"))
    page = worker.get("/reveals/more/").content.decode()
    assert "近一小时" in page and "提交申请" in page
    refused = worker.post("/reveals/more/", {"extra": "x", "reason": "入户核对"})
    assert refused.status_code == 400 and not Approval.objects.exists()
    asked = worker.post("/reveals/more/", {"extra": "5", "reason": "入户核对"})
    approval = Approval.objects.get(kind=quota.MORE)
    assert asked["Location"] == f"/approvals/{approval.pk}/"
    assert approval.payload == {"extra": 5} and approval.status == S.PENDING
    assert "防汛抗洪" in worker.get("/reveals/emergency/").content.decode()
    assert worker.post("/reveals/emergency/", {"cause": "", "reason": "x"}).status_code == 400
    worker.post("/reveals/emergency/", {"cause": "flood", "reason": "转移群众"})
    assert Approval.objects.get(kind=quota.EMERGENCY).status == S.REVIEW
    outsider = client_for(world.outsider)
    assert outsider.get("/reveals/more/").status_code == 404
    assert (
        outsider.post("/reveals/emergency/", {"cause": "flood", "reason": "x"}).status_code == 404
    )
    assert Approval.objects.count() == 2


# --- the review of an emergency ---------------------------------------------------------


def _at(moment):
    return time_machine.travel(moment, tick=False)


def _reveal_of(world, field: str, user=None):
    user = user or world.a("grid_worker")
    return person_reveal(actor=Actor.staff(user), person=world.person_a, field=field)


def test_the_review_lists_what_the_taker_revealed_within_the_allowance(world, limits):
    worker, admin = world.a("grid_worker"), world.a("security_admin")
    start = datetime.datetime(2026, 7, 14, 1, 0, tzinfo=datetime.timezone.utc)  # 09:00
    with _at(start - datetime.timedelta(minutes=30)):
        for _ in range(3):  # before the emergency: the hour's quota spent
            _reveal_of(world, "phone")
    with _at(start):
        taken = quota.reveal_emergency_take(
            actor=Actor.staff(worker), cause="flood", reason="转移群众"
        )
    with _at(start + datetime.timedelta(minutes=10)):
        _reveal_of(world, "id_number")
        _reveal_of(world, "phone", world.a("community_worker"))  # another person's
    with _at(start + datetime.timedelta(minutes=20)):
        _reveal_of(world, "special_groups")
        with pytest.raises(quota.QuotaExceeded):  # the two extra spent
            _reveal_of(world, "phone")
    with (
        _at(start + datetime.timedelta(hours=2, minutes=1)),  # after the allowance
        pytest.raises(quota.QuotaExceeded),  # the day's five spent: refused, audited
    ):
        _reveal_of(world, "id_number")
    assert AuditEvent.objects.filter(action="person.reveal").count() == 8

    page = client_for(admin).get(f"/approvals/{taken.pk}/")
    details = page.context["details"]
    name = f"实有人口 {masking.mask_name(world.person_a.name)}"
    assert details.total == 3
    assert details.rows == [
        ("2026-07-14 09:10:00", "查看人员明文", name, "身份证号", "成功"),
        ("2026-07-14 09:20:00", "查看人员明文", name, "特殊人群", "成功"),
        ("2026-07-14 09:20:00", "查看人员明文", name, "联系电话", "失败（查看明文次数已达上限）"),
    ]
    text = page.content.decode()
    assert "09:10:00" in text and "特殊人群" in text and "共 3 条" in text
    assert world.person_a.name not in text and "id_number" not in text
    # The taker sees what their reviewer sees; an outsider sees no page at all.
    assert client_for(worker).get(f"/approvals/{taken.pk}/").context["details"].total == 3
    assert client_for(world.b("security_admin")).get(f"/approvals/{taken.pk}/").status_code == 404


def test_a_flag_ends_the_reviewed_window_and_the_rows_are_capped(world, limits, monkeypatch):
    worker, admin = world.a("grid_worker"), world.a("security_admin")
    start = datetime.datetime(2026, 7, 14, 1, 0, tzinfo=datetime.timezone.utc)
    with _at(start):
        taken = quota.reveal_emergency_take(
            actor=Actor.staff(worker), cause="fire", reason="火场周边"
        )
        _reveal_of(world, "phone")
        _reveal_of(world, "id_number")
    with _at(start + datetime.timedelta(minutes=30)):
        approvals.decide(actor=Actor.staff(admin), approval=taken, action="flag")
    with _at(start + datetime.timedelta(minutes=40)):
        _reveal_of(world, "phone")  # within the hours, but after the flag ended them
        monkeypatch.setattr(quota, "REVIEWED_SHOWN", 1)
        page = client_for(admin).get(f"/approvals/{taken.pk}/")
    details = page.context["details"]
    assert details.total == 2 and [row[3] for row in details.rows] == ["联系电话"]
    assert "共 2 条，显示前 1 条" in page.content.decode()


def test_other_kinds_show_no_details(world, limits):
    asked = quota.reveal_more_ask(
        actor=Actor.staff(world.a("grid_worker")), extra=2, reason="入户核对"
    )
    page = client_for(world.a("security_admin")).get(f"/approvals/{asked.pk}/")
    assert page.context["details"] is None


def test_after_a_flag_the_form_says_at_once_there_is_no_emergency_today(world, limits):
    worker = world.a("grid_worker")
    taken = quota.reveal_emergency_take(actor=Actor.staff(worker), cause="flood", reason="转移")
    page = client_for(worker).get("/reveals/emergency/").content.decode()
    assert "仍在 2 小时有效期内" in page and 'name="cause"' not in page
    approvals.decide(actor=Actor.staff(world.a("security_admin")), approval=taken, action="flag")
    page = client_for(worker).get("/reveals/emergency/").content.decode()
    assert "今天不能再用" in page and 'name="cause"' not in page
    refused = client_for(worker).post("/reveals/emergency/", {"cause": "fire", "reason": "再来"})
    assert refused.status_code == 400 and "今天不能再用" in refused.content.decode()
    assert Approval.objects.filter(kind=quota.EMERGENCY).count() == 1
    # Another account's flag is not this one's: its form is there.
    other = client_for(world.a("specialist_grid_worker")).get("/reveals/emergency/")
    assert 'name="cause"' in other.content.decode()


# --- a burst, on PostgreSQL --------------------------------------------------------------

BURST = 12


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL")
def test_a_burst_of_concurrent_reveals_never_passes_the_quota(reference_data, world, limits):
    user = world.a("grid_worker")
    barrier = threading.Barrier(BURST)
    outcomes: list = []
    lock = threading.Lock()

    def reveal():
        try:
            barrier.wait()
            try:
                _reveal(world, user)
                outcome = "allowed"
            except quota.QuotaExceeded:
                outcome = "refused"
            with lock:
                outcomes.append(outcome)
        finally:
            connection.close()

    threads = [threading.Thread(target=reveal) for _ in range(BURST)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["allowed"] * 3 + ["refused"] * (BURST - 3)
    assert _reveals("success") == 3
    assert _reveals("failure", refused="reveal_quota") == BURST - 3
    assert ThrottleHit.objects.filter(scope=quota.SCOPE).count() == 3
    assert _alerts().count() == 1
    assert OutboxMessage.objects.filter(key__startswith="alert:").count() == 1
