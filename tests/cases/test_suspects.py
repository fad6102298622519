"""Anonymous intake limits key on what the server knows — the client's address (its
network), the device token it signed, the registered client app — never on what the
sender chose; a grid's flood is kept as suspect (可疑提交) rather than refused, texted to
nobody, and cleared by confirming one (the withheld text then goes out) or by a bulk void
that a second person approves."""

import uuid

import pytest
from django.core import signing
from django.test import Client, override_settings

from jiceng.cases import services
from jiceng.cases.models import Case, Event
from jiceng.cases.selectors import case_queue
from jiceng.core import approvals
from jiceng.core.errors import DomainError, NotFound
from jiceng.core.intake import DEVICE_COOKIE, device_of
from jiceng.core.models import Approval, AuditEvent, OutboxMessage, ThrottleHit
from tests.cases.test_tracking import PHONE, tracking_sms
from tests.conftest import client_for
from tests.factories import staff

S = Case.Status
COMMUNITY_A = "370829001001"


@pytest.fixture(autouse=True)
def public_address(settings):
    settings.JICENG_PUBLIC_URL = "https://jiceng.example.gov.cn"


def post(client: Client, grid, address: str, text: str = "楼道灯坏了", **fields):
    return client.post(
        f"/q/{grid.code}/",
        {"description": text, "submission": uuid.uuid4().hex, **fields},
        REMOTE_ADDR=address,
    )


def open311_post(key: str, grid, n: int, **fields):
    """The `n`th post of a registered client app, from an address of its own."""
    return Client().post(
        "/open311/v2/requests.json",
        {
            "api_key": key,
            "jurisdiction_id": "370829",
            "service_code": "facilities.street-light",
            "address_id": grid.code,
            "description": f"{n}号路灯不亮",
            **fields,
        },
        REMOTE_ADDR=f"192.0.2.{n}",
    )


def flood(world, submit, count: int):
    """`count` suspect submissions to grid A (a grid past its hourly limit)."""
    return [submit(text=f"刷单{n}", is_suspect=True) for n in range(count)]


# --- the sender's limits -----------------------------------------------------------------


def test_sixty_posts_with_random_cookies_from_one_address_are_limited_by_address(world, catalogue):
    client = Client()
    statuses = []
    for n in range(60):
        client.cookies[DEVICE_COOKIE] = uuid.uuid4().hex  # a fresh "device" every time
        statuses.append(post(client, world.grid_a, "203.0.113.5", f"第{n}次").status_code)
    assert statuses.count(302) == 20 and statuses.count(400) == 40
    assert statuses[:20] == [302] * 20  # the first twenty kept, then refused
    assert Case.objects.count() == 20
    assert not Case.objects.filter(is_suspect=True).exists()  # the grid was never flooded
    assert ThrottleHit.objects.filter(scope="cases.intake.device").count() == 0
    # Someone else in the grid is not silenced by it.
    assert post(Client(), world.grid_a, "203.0.113.6").status_code == 302
    assert Case.objects.count() == 21


def test_an_ipv6_sender_is_limited_by_its_network(world, catalogue, settings):
    settings.JICENG_INTAKE_PER_HOUR_ADDRESS = 2
    client = Client()
    codes = [post(client, world.grid_a, f"2001:db8:7:7::{n:x}").status_code for n in range(1, 4)]
    assert codes == [302, 302, 400]
    assert Case.objects.count() == 2


@override_settings(JICENG_INTAKE_PER_HOUR_DEVICE=1)
def test_a_forged_device_token_counts_as_none(world, catalogue):
    forged = [
        "device-of-my-choosing",
        signing.dumps("device-of-my-choosing", salt="another.salt"),
        signing.dumps("device-of-my-choosing", salt="jiceng.core.intake.device") + "x",
    ]
    for n, token in enumerate(forged):
        for address in (f"10.1.{n}.1", f"10.1.{n}.2"):
            client = Client()
            client.cookies[DEVICE_COOKIE] = token
            response = post(client, world.grid_a, address, f"{n}号楼漏水")
            assert response.status_code == 302  # not limited as one device
    assert Case.objects.count() == 6
    assert set(Case.objects.values_list("device_id", flat=True)) == {""}
    assert ThrottleHit.objects.filter(scope="cases.intake.device").count() == 0
    # The page replaces a forged token with one of its own.
    client = Client()
    client.cookies[DEVICE_COOKIE] = forged[0]
    issued = client.get(f"/q/{world.grid_a.code}/").cookies[DEVICE_COOKIE]
    assert device_of(issued.value) and issued["httponly"] and issued["samesite"] == "Lax"


@override_settings(JICENG_INTAKE_PER_HOUR_DEVICE=1)
def test_the_servers_token_limits_its_device_wherever_it_posts_from(world, catalogue):
    client = Client()
    client.get(f"/q/{world.grid_a.code}/")
    device = device_of(client.cookies[DEVICE_COOKIE].value)
    assert post(client, world.grid_a, "10.2.0.1").status_code == 302
    refused = post(client, world.grid_a, "10.2.0.2")
    assert refused.status_code == 400 and "太频繁" in refused.content.decode()
    assert list(Case.objects.values_list("device_id", flat=True)) == [device]


def test_open311_posts_are_limited_per_client_app_whatever_their_device_id(
    world, catalogue, settings
):
    _, key = services.open311_client_create(
        actor=world.a("county_admin"), name="甲县小程序", county_code="370829"
    )
    settings.JICENG_INTAKE_PER_HOUR_CLIENT = 5
    codes = [
        open311_post(key, world.grid_a, n, device_id=uuid.uuid4().hex).status_code for n in range(8)
    ]
    assert codes == [201] * 5 + [400] * 3
    assert Case.objects.count() == 5


# --- a grid's flood ------------------------------------------------------------------------


@override_settings(JICENG_INTAKE_PER_HOUR_GRID=3)
def test_past_the_grids_limit_a_genuine_post_is_kept_as_suspect(world, catalogue):
    for n in range(3):
        assert post(Client(), world.grid_a, f"10.3.0.{n}", f"刷单{n}").status_code == 302
    OutboxMessage.objects.all().delete()
    response = post(Client(), world.grid_a, "10.3.9.9", "我家门口水管爆了", reporter_phone=PHONE)
    assert response.status_code == 302  # not refused
    case = Case.objects.get(description="我家门口水管爆了")
    assert case.is_suspect and case.status == S.RECEIVED and case.due_at is None
    assert tracking_sms() == []
    assert not OutboxMessage.objects.filter(template="case_received").exists()
    worker = world.a("grid_worker")
    assert case not in case_queue(user=worker, queue="triage")
    assert list(case_queue(user=worker, queue="suspect")) == [case]
    # The grid hears of the flood once, not once per suspect.
    post(Client(), world.grid_a, "10.3.9.10", "又一件")
    notices = worker.notifications.filter(kind="suspect")
    assert notices.count() == 1
    assert "可疑提交" in client_for(worker).get("/cases/?queue=suspect").content.decode()


@override_settings(JICENG_INTAKE_PER_HOUR_GRID=3)
def test_a_client_apps_posts_do_not_make_a_grids_residents_suspect(world, catalogue):
    """A registered client app has its own limit: however much it posts, a resident's own
    request from the QR page is not held as suspect for it."""
    _, key = services.open311_client_create(
        actor=world.a("county_admin"), name="甲县小程序", county_code="370829"
    )
    for n in range(4):
        open311_post(key, world.grid_a, n)
    assert Case.objects.filter(open311_client__isnull=False, is_suspect=False).count() == 4
    post(Client(), world.grid_a, "10.3.9.9", "电梯困人了", reporter_phone=PHONE)
    assert Case.objects.get(description="电梯困人了").is_suspect is False


@override_settings(JICENG_INTAKE_PER_HOUR_GRID=3)
def test_a_suspect_tells_its_reporter_it_waits_to_be_checked(world, catalogue):
    for n in range(3):
        post(Client(), world.grid_a, f"10.3.0.{n}", f"刷单{n}")
    client = Client()
    followed = post(client, world.grid_a, "10.3.9.9", "电梯困人了", reporter_phone=PHONE)
    case = Case.objects.get(description="电梯困人了")
    assert case.is_suspect
    page = client.get(followed["Location"]).content.decode()
    assert "须工作人员核实后受理" in page and "12345" in page


def test_a_suspect_confirmed_joins_the_work_and_is_texted_then(world, submit, login):
    case = submit(reporter_phone=PHONE, is_suspect=True)
    assert tracking_sms() == []
    worker = login(world.a("grid_worker"))
    page = worker.get(f"/cases/{case.pk}/").content.decode()
    assert "确认为真实诉求" in page and "立案</button>" not in page
    with pytest.raises(DomainError) as refused:
        services.case_accept(actor=world.a("grid_worker"), case=case)
    assert refused.value.code == "suspect_unconfirmed"

    assert worker.post(f"/cases/{case.pk}/act/confirm_genuine/").status_code == 302
    case.refresh_from_db()
    assert not case.is_suspect and case.due_at is not None
    texts = tracking_sms()
    assert len(texts) == 1 and case.access_token in texts[0]
    assert Event.objects.filter(case=case, action="confirm_genuine").count() == 1
    assert AuditEvent.objects.filter(action="case.confirm_genuine", object_id=str(case.pk)).exists()
    assert case in case_queue(user=world.a("grid_worker"), queue="triage")
    services.case_accept(actor=world.a("grid_worker"), case=case)  # the normal flow


def test_only_a_suspect_is_confirmed_and_only_in_scope(world, submit):
    plain, suspect = submit(), submit(is_suspect=True)
    with pytest.raises(DomainError) as refused:
        services.case_confirm_genuine(actor=world.a("grid_worker"), case=plain)
    assert refused.value.code == "not_suspect"
    with pytest.raises(DomainError):
        services.case_confirm_genuine(actor=world.b("grid_worker"), case=suspect)
    suspect.refresh_from_db()
    assert suspect.is_suspect and not Event.objects.filter(action="confirm_genuine").exists()


# --- the bulk void -------------------------------------------------------------------------


def test_a_bulk_void_is_proposed_held_and_voided_on_approval(world, submit, login):
    suspects = flood(world, submit, 3)
    keep = submit(text="不在所选之内", is_suspect=True)
    worker = login(world.a("grid_worker"))
    response = worker.post(
        "/cases/suspects/void/",
        {"case": [c.pk for c in suspects], "reason": "同一来源的刷单"},
    )
    approval = Approval.objects.get(kind="cases.bulk_void")
    assert response.status_code == 302 and response.url == f"/approvals/{approval.pk}/"
    assert approval.status == Approval.Status.PENDING and approval.region_code == COMMUNITY_A
    assert approval.payload["cases"] == [c.pk for c in suspects]
    assert set(Case.objects.filter(void_proposal=approval)) == set(suspects)
    # Held: not proposed again meanwhile.
    with pytest.raises(DomainError):
        services.suspects_void_propose(
            actor=world.a("grid_worker"), reason="再来一次", case_ids=[suspects[0].pk]
        )
    # The asker (who holds cases.triage at the grid only) cannot decide it.
    with pytest.raises(DomainError):
        approvals.decide(actor=world.a("grid_worker"), approval=approval, action="approve")
    assert not Case.objects.filter(status=S.VOIDED).exists()

    community = login(world.a("community_worker"))
    decided = community.post(f"/approvals/{approval.pk}/approve", {"note": "核实为刷单"})
    assert decided.status_code == 302
    approval.refresh_from_db()
    assert approval.status == Approval.Status.APPROVED
    assert set(Case.objects.filter(status=S.VOIDED)) == set(suspects)
    voids = Event.objects.filter(action="void", case__in=suspects)
    assert voids.count() == 3
    assert all("批量作废" in e.note and "核实为刷单" in e.note for e in voids)
    assert set(voids.values_list("actor", flat=True)) == {world.a("community_worker").pk}
    assert AuditEvent.objects.filter(action="case.void").count() == 3
    assert AuditEvent.objects.filter(action="approval.approve").count() == 1
    keep.refresh_from_db()
    assert keep.status == S.RECEIVED and keep.is_suspect


def test_a_genuine_request_seen_among_the_flood_leaves_the_bulk_void(world, submit, sms):
    """Whoever looks through the held suspects (the approval links to them) and finds a
    resident's own request confirms it: it leaves the proposal, joins the work, its
    reporter is texted, and approving the rest passes over it."""
    grid_worker, community = world.a("grid_worker"), world.a("community_worker")
    *junk, genuine = flood(world, submit, 3)
    bulk = services.suspects_void_propose(
        actor=grid_worker, reason="刷单", grid_code=world.grid_a.code
    )
    assert Case.objects.filter(void_proposal=bulk).count() == 3
    services.case_confirm_genuine(actor=community, case=genuine)
    genuine.refresh_from_db()
    assert (genuine.is_suspect, genuine.void_proposal_id) == (False, None)
    assert genuine.due_at is not None
    approvals.decide(actor=community, approval=bulk, action="approve")
    statuses = dict(Case.objects.values_list("pk", "status"))
    assert [statuses[c.pk] for c in junk] == [S.VOIDED, S.VOIDED]
    assert statuses[genuine.pk] == S.RECEIVED
    assert not Event.objects.filter(case=genuine, action="void").exists()


def test_the_approver_reads_each_request_a_void_would_end(world, submit, login):
    """Not just a count: what each says, when it came, whether a phone was left."""
    *junk, genuine = flood(world, submit, 3)
    services.case_void(actor=world.a("grid_worker"), case=junk[0], reason="重复")
    single = Approval.objects.get(kind="cases.void")
    genuine.description = "家门口燃气味很重"
    genuine.reporter_phone = PHONE
    genuine.save()
    bulk = services.suspects_void_propose(
        actor=world.a("grid_worker"), reason="刷单", case_ids=[junk[1].pk, genuine.pk]
    )
    community = login(world.a("community_worker"))
    page = community.get(f"/approvals/{bulk.pk}/").content.decode()
    assert "家门口燃气味很重" in page and genuine.tracking_code in page
    assert junk[1].tracking_code in page and junk[0].tracking_code not in page
    assert page.count("留有电话") == 1
    page = community.get(f"/approvals/{single.pk}/").content.decode()
    assert junk[0].tracking_code in page and genuine.tracking_code not in page


def test_a_single_void_proposed_meanwhile_is_left_to_its_own_approval(world, submit):
    """A grid worker's proposal to void one of the held suspects, or one proposed before,
    decides that one: the bulk void passes over it and still lands for the rest."""
    grid_worker, community = world.a("grid_worker"), world.a("community_worker")
    before, *suspects = flood(world, submit, 4)
    services.case_void(actor=grid_worker, case=before, reason="重复")
    bulk = services.suspects_void_propose(
        actor=grid_worker, reason="刷单", grid_code=world.grid_a.code
    )
    assert sorted(bulk.payload["cases"]) == sorted(c.pk for c in suspects)  # not `before`
    services.case_void(actor=grid_worker, case=suspects[0], reason="这件是重复的")
    single = Approval.objects.get(kind="cases.void", object_id=str(suspects[0].pk))
    approvals.decide(actor=community, approval=bulk, action="approve")
    assert Approval.objects.get(pk=bulk.pk).status == Approval.Status.APPROVED
    statuses = dict(Case.objects.values_list("pk", "status"))
    assert [statuses[c.pk] for c in [before, *suspects]] == [S.RECEIVED, S.RECEIVED] + [
        S.VOIDED
    ] * 2
    approvals.decide(actor=community, approval=single, action="approve")
    assert Case.objects.get(pk=suspects[0].pk).status == S.VOIDED
    assert Event.objects.filter(case=suspects[0], action="void").count() == 1


def test_the_asker_cannot_approve_their_own_bulk_void(world, submit):
    suspects = flood(world, submit, 2)
    community = world.a("community_worker")
    approval = services.suspects_void_propose(
        actor=community, reason="刷单", case_ids=[c.pk for c in suspects]
    )
    with pytest.raises(DomainError) as refused:
        approvals.decide(actor=community, approval=approval, action="approve")
    assert refused.value.code == "second_person_required"
    approval.refresh_from_db()
    assert approval.status == Approval.Status.PENDING
    assert not Case.objects.filter(status=S.VOIDED).exists()
    second = staff("community_worker", COMMUNITY_A, username="a-community-2")
    approvals.decide(actor=second, approval=approval, action="approve")
    assert Case.objects.filter(status=S.VOIDED).count() == 2


def test_another_communitys_staff_neither_see_nor_decide_it(world, submit):
    suspects = flood(world, submit, 2)
    approval = services.suspects_void_propose(
        actor=world.a("grid_worker"), reason="刷单", case_ids=[c.pk for c in suspects]
    )
    other = world.b("community_worker")
    assert client_for(other).get(f"/approvals/{approval.pk}/").status_code == 404
    assert not approvals.visible(other).filter(pk=approval.pk).exists()
    with pytest.raises((NotFound, DomainError)):
        approvals.decide(actor=other, approval=approval, action="approve")
    assert list(case_queue(user=other, queue="suspect")) == []
    # Nor can they propose voiding A's suspects.
    with pytest.raises(NotFound):
        services.suspects_void_propose(actor=other, reason="x", case_ids=[suspects[0].pk])
    approval.refresh_from_db()
    assert approval.status == Approval.Status.PENDING
    assert not Case.objects.filter(status=S.VOIDED).exists()


def test_refusing_or_withdrawing_releases_the_suspects(world, submit):
    suspects = flood(world, submit, 2)
    asker, community = world.a("grid_worker"), world.a("community_worker")
    ids = [c.pk for c in suspects]
    approval = services.suspects_void_propose(actor=asker, reason="刷单", case_ids=ids)
    approvals.decide(actor=community, approval=approval, action="refuse", note="是真的")
    assert not Case.objects.filter(void_proposal__isnull=False).exists()
    assert Case.objects.filter(pk__in=ids, status=S.RECEIVED, is_suspect=True).count() == 2
    again = services.suspects_void_propose(actor=asker, reason="还是刷单", case_ids=ids)
    approvals.decide(actor=asker, approval=again, action="cancel")
    assert not Case.objects.filter(void_proposal__isnull=False).exists()
    services.case_confirm_genuine(actor=asker, case=suspects[0])
    assert not Case.objects.get(pk=ids[0]).is_suspect


def test_all_suspects_of_a_grid_in_a_period_in_one_proposal(world, submit, login):
    from django.utils import timezone

    suspects = flood(world, submit, 4)
    genuine = submit(text="真实诉求")
    today = timezone.localdate().isoformat()
    worker = login(world.a("grid_worker"))
    worker.post(
        "/cases/suspects/void/",
        {"grid": world.grid_a.code, "since": today, "until": today, "reason": "刷单"},
    )
    approval = Approval.objects.get(kind="cases.bulk_void")
    assert sorted(approval.payload["cases"]) == sorted(c.pk for c in suspects)
    assert genuine.pk not in approval.payload["cases"]
    approvals.decide(actor=world.a("community_worker"), approval=approval, action="approve")
    assert Case.objects.filter(status=S.VOIDED).count() == 4
    genuine.refresh_from_db()
    assert genuine.status == S.RECEIVED


def test_a_proposal_needs_a_reason_and_suspects(world, submit):
    worker = world.a("grid_worker")
    plain = submit()
    for fields, code in [
        ({"reason": "", "case_ids": [plain.pk]}, "reason_required"),
        ({"reason": "刷单", "case_ids": [plain.pk]}, "not_suspect"),
        ({"reason": "刷单"}, "selection_required"),
        ({"reason": "刷单", "grid_code": world.grid_a.code}, "nothing_to_void"),
    ]:
        with pytest.raises(DomainError) as refused:
            services.suspects_void_propose(actor=worker, **fields)
        assert refused.value.code == code
    assert not Approval.objects.exists()


# --- the grid picker -----------------------------------------------------------------------

GRID_A2 = "370829001001002"


def _void_message(client: Client, fields: dict) -> str:
    response = client.post("/cases/suspects/void/", fields, follow=True)
    assert response.status_code == 200
    return " ".join(str(m) for m in response.context["messages"])


def test_the_grids_with_suspects_are_offered_by_name_with_their_counts(world, submit, login):
    """按网格和日期作废 lists the grids of the user's scope that have suspects a bulk void
    would take — by name, with how many — not a box for a code nobody knows."""
    flood(world, submit, 3)
    held, *_ = [submit(region_code=GRID_A2, is_suspect=True) for _ in range(3)]
    submit(text="真实诉求")  # not a suspect
    submit(region_code=world.grid_b.code, is_suspect=True)  # another community's
    services.suspects_void_propose(
        actor=world.a("community_worker"), reason="刷单", case_ids=[held.pk]
    )
    page = login(world.a("community_worker")).get("/cases/?queue=suspect").content.decode()
    assert 'name="grid"' in page and 'type="text" name="grid"' not in page
    assert '<option value="370829001001001">城南社区第1网格（3 件）</option>' in page
    assert f'<option value="{GRID_A2}">城南社区第2网格（2 件）</option>' in page
    assert world.grid_b.code not in page and "卧龙山" not in page
    # A grid worker is offered their own grid only.
    page = login(world.a("grid_worker")).get("/cases/?queue=suspect").content.decode()
    assert "城南社区第1网格（3 件）" in page and GRID_A2 not in page
    # Nothing to void by grid: no picker.
    page = login(world.b("grid_worker")).get("/cases/?queue=suspect").content.decode()
    assert "城南社区" not in page and "卧龙山社区第1网格（1 件）" in page


def test_a_picked_grid_is_proposed_and_one_outside_the_scope_is_answered_like_an_empty_one(
    world, submit, login
):
    suspects = flood(world, submit, 2)
    theirs = [submit(region_code=world.grid_b.code, is_suspect=True) for _ in range(2)]
    client = login(world.a("community_worker"))
    outside = _void_message(client, {"grid": world.grid_b.code, "reason": "刷单"})
    empty = _void_message(client, {"grid": GRID_A2, "reason": "刷单"})
    assert outside == empty == "没有可以作废的可疑提交。"
    assert not Approval.objects.exists()
    assert not Case.objects.filter(pk__in=[c.pk for c in theirs], void_proposal__isnull=False)
    assert not AuditEvent.objects.filter(action__startswith="approval.").exists()

    client.post("/cases/suspects/void/", {"grid": world.grid_a.code, "reason": "刷单"})
    approval = Approval.objects.get(kind="cases.bulk_void")
    assert approval.payload["grid"] == world.grid_a.code
    assert sorted(approval.payload["cases"]) == sorted(c.pk for c in suspects)
    assert set(Case.objects.filter(void_proposal=approval)) == set(suspects)
    # Held now, the grid is no longer offered.
    page = client.get("/cases/?queue=suspect").content.decode()
    assert "城南社区第1网格（" not in page
