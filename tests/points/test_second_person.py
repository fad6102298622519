"""Adjustments that add points are capped for one worker alone, per entry and per day; a
larger one is not posted but asked for approval (大额积分调整, core.approvals) and posted
once, through the ledger, when a second person approves it — never the resident
themself. Good deeds are decided through the same approval (kind points.deed). Each path
is checked in the ledger's rows and balances."""

import re

import pytest

from jiceng.core import approvals, personal
from jiceng.core.actors import Actor
from jiceng.core.errors import DomainError
from jiceng.core.models import Approval, AuditEvent
from jiceng.points import services
from jiceng.points.ledger import account_for, verify
from jiceng.points.models import Account, JournalEntry, Posting
from tests.conftest import client_for
from tests.factories import resident, staff

COMMUNITY_A = "370829001001"
S = Approval.Status


@pytest.fixture(autouse=True)
def caps(settings):
    settings.JICENG_POINTS_ADJUST_MAX_ENTRY = 200
    settings.JICENG_POINTS_ADJUST_MAX_DAY_PER_WORKER = 500


def _adjust(who, someone, amount, key, reason="补录漏签到"):
    return services.adjust(
        actor=Actor.staff(who), resident=someone, region_code=COMMUNITY_A, amount=amount,
        reason=reason, key=key,
    )  # fmt: skip


def _balance(ledger, someone) -> int:
    return account_for(ledger, Account.Kind.RESIDENT, someone).balance


def _adjustments() -> int:
    return JournalEntry.objects.filter(kind=JournalEntry.Kind.ADJUST).count()


def test_within_both_caps_an_addition_posts_at_once(world, ledger_a, someone):
    entry = _adjust(world.a("community_worker"), someone, 200, "k1")
    assert isinstance(entry, JournalEntry)
    assert _balance(ledger_a, someone) == 200
    assert not Approval.objects.exists()
    assert verify() == (1, [])


def test_above_the_entry_cap_nothing_posts_until_a_second_person_approves(world, ledger_a, someone):
    worker, approver = world.a("community_worker"), world.a("town_staff")
    asked = _adjust(worker, someone, 10_000, "k1", reason="补录全年志愿服务")
    assert isinstance(asked, Approval) and asked.status == S.PENDING
    assert asked.kind == "points.adjust" and asked.region_code == COMMUNITY_A
    assert asked.payload == {
        "resident": someone.pk,
        "amount": 10_000,
        "reason": "补录全年志愿服务",
        "key": f"adjust:{worker.pk}:k1",
    }
    assert someone.phone[-4:] in asked.summary  # the tail, never the whole number
    assert personal.clear(someone.phone) not in asked.summary
    assert _adjustments() == 0 and Posting.objects.count() == 0
    assert _balance(ledger_a, someone) == 0
    assert AuditEvent.objects.filter(
        action="points.adjust_ask", object_id=str(asked.pk), detail__amount=10_000
    ).exists()
    # The same form sent again is the same request, not a second one.
    assert _adjust(worker, someone, 10_000, "k1").pk == asked.pk
    assert Approval.objects.count() == 1

    with pytest.raises(DomainError) as own:
        approvals.decide(actor=worker, approval=asked, action="approve")
    assert own.value.code == "second_person_required"
    assert _adjustments() == 0

    approvals.decide(actor=approver, approval=asked, action="approve", note="核实无误")
    entry = JournalEntry.objects.get(kind=JournalEntry.Kind.ADJUST)
    assert entry.key == f"adjust:{worker.pk}:k1" and entry.memo == "补录全年志愿服务"
    assert entry.actor == approver
    assert sorted(entry.postings.values_list("amount", flat=True)) == [-10_000, 10_000]
    assert _balance(ledger_a, someone) == 10_000
    assert AuditEvent.objects.filter(
        action="points.adjust", object_id=str(entry.pk), detail__approval=asked.pk
    ).exists()

    with pytest.raises(DomainError) as twice:
        approvals.decide(actor=staff("town_staff", "370829001", username="t2"), approval=asked,
                         action="approve")  # fmt: skip
    assert twice.value.code == "invalid_transition"
    assert _adjustments() == 1 and _balance(ledger_a, someone) == 10_000
    assert verify() == (1, [])


def test_a_refusal_posts_nothing(world, ledger_a, someone):
    asked = _adjust(world.a("community_worker"), someone, 300, "k1")
    approvals.decide(actor=world.a("town_staff"), approval=asked, action="refuse", note="无依据")
    assert Approval.objects.get(pk=asked.pk).status == S.REFUSED
    assert _adjustments() == 0 and Posting.objects.count() == 0
    assert _balance(ledger_a, someone) == 0
    # Refused, it no longer counts against the worker's day.
    assert isinstance(_adjust(world.a("community_worker"), someone, 200, "k2"), JournalEntry)


def test_the_day_cap_counts_what_was_posted_alone_and_what_is_waiting(world, ledger_a, someone):
    worker = world.a("community_worker")
    for key in ("k1", "k2"):
        assert isinstance(_adjust(worker, someone, 200, key), JournalEntry)
    assert isinstance(_adjust(worker, someone, 100, "k3"), JournalEntry)  # 500: the cap itself
    over = _adjust(worker, someone, 1, "k4")
    assert isinstance(over, Approval) and over.payload["amount"] == 1
    assert _balance(ledger_a, someone) == 500
    # Deductions are corrections, not minting: they post at once.
    assert isinstance(_adjust(worker, someone, -450, "k5", reason="重复登记"), JournalEntry)
    assert _balance(ledger_a, someone) == 50
    # Another worker has their own day, and what they have waiting counts in it: 300
    # asked, then 200 fills the day, then 1 more is asked.
    other = staff("community_worker", COMMUNITY_A, username="a-community-2")
    assert isinstance(_adjust(other, someone, 300, "k1"), Approval)
    assert isinstance(_adjust(other, someone, 200, "k2"), JournalEntry)
    assert isinstance(_adjust(other, someone, 1, "k3"), Approval)
    assert _balance(ledger_a, someone) == 250
    assert _adjustments() == 5
    assert Approval.objects.filter(status=S.PENDING).count() == 3
    assert verify()[1] == []


def test_an_approved_addition_counts_against_neither_persons_day(world, ledger_a, someone):
    worker, approver = world.a("community_worker"), world.a("town_staff")
    approvals.decide(
        actor=approver, approval=_adjust(worker, someone, 5_000, "k1"), action="approve"
    )
    assert isinstance(_adjust(worker, someone, 200, "k2"), JournalEntry)
    assert isinstance(_adjust(approver, someone, 200, "k3"), JournalEntry)
    assert _balance(ledger_a, someone) == 5_400


def test_the_resident_may_not_approve_points_for_their_own_phone(world, ledger_a):
    approver = world.a("town_staff")
    approver.phone = "138 0000 1234"
    approver.save()
    own_phone = resident(phone="13800001234")
    asked = _adjust(world.a("community_worker"), own_phone, 1_000, "k1")
    with pytest.raises(DomainError) as refused:
        approvals.decide(actor=approver, approval=asked, action="approve")
    assert refused.value.code == "own_account"
    assert Approval.objects.get(pk=asked.pk).status == S.PENDING
    assert _adjustments() == 0 and _balance(ledger_a, own_phone) == 0
    # Someone else may.
    approvals.decide(
        actor=staff("community_worker", COMMUNITY_A, username="a-community-2"),
        approval=asked,
        action="approve",
    )
    assert _adjustments() == 1 and _balance(ledger_a, own_phone) == 1_000


def test_a_worker_adds_no_points_to_their_own_phone_alone_or_through_a_colleague(world, ledger_a):
    worker = world.a("community_worker")
    worker.phone = "13800005678"
    worker.save()
    own_phone = resident(phone="13800005678")
    for amount in (50, 1_000):  # within the caps, and above them (no approval asked)
        with pytest.raises(DomainError) as refused:
            _adjust(worker, own_phone, amount, f"own-{amount}")
        assert refused.value.code == "own_account"
    assert _adjustments() == 0 and _balance(ledger_a, own_phone) == 0
    assert not Approval.objects.filter(kind=services.ADJUST_APPROVAL).exists()
    # Another worker may (the resident is a resident like any other).
    _adjust(staff("community_worker", COMMUNITY_A, username="a-community-2"), own_phone, 50, "k")
    assert _adjustments() == 1 and _balance(ledger_a, own_phone) == 50


def test_the_ledger_page_tells_the_worker_and_shows_the_request_to_deciders(world, someone):
    worker = client_for(world.a("community_worker"))
    page = worker.post(
        "/points/adjust/",
        {"region": COMMUNITY_A, "phone": "13900000001", "amount": "3000", "reason": "补录",
         "submission": "s1"},
        follow=True,
    )  # fmt: skip
    assert "已提交审批" in page.content.decode()
    asked = Approval.objects.get(kind="points.adjust")
    assert _adjustments() == 0
    assert f"/approvals/{asked.pk}/" in page.content.decode()  # the asker sees it waiting
    shown = client_for(world.a("town_staff")).get(f"/points/?region={COMMUNITY_A}")
    assert f"/approvals/{asked.pk}/" in shown.content.decode()
    assert "大额积分调整" in shown.content.decode()
    elsewhere = client_for(world.b("community_worker")).get("/points/?region=370829002001")
    assert f"/approvals/{asked.pk}/" not in elsewhere.content.decode()


def test_the_decider_reads_whose_account_and_what_it_was_given(world, ledger_a, someone):
    from jiceng.core.masking import mask_name

    worker = world.a("community_worker")
    _adjust(worker, someone, 150, "k1")
    asked = _adjust(worker, someone, 3_000, "k2")
    page = client_for(world.a("town_staff")).get(f"/approvals/{asked.pk}/").content.decode()
    assert mask_name(world.person_a.name) in page and world.person_a.name not in page
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", page)
    assert cells[-5:] == [mask_name(world.person_a.name), someone.phone[-4:], "150", "3000", "150"]


# --- good deeds: the same approval, of kind points.deed ------------------------------------


@pytest.fixture
def rule(ledger_a):
    from jiceng.points.models import EarningRule

    return EarningRule.objects.create(
        ledger=ledger_a, name="环保卫士", kind=EarningRule.Kind.DEED, points=5
    )


def test_a_deed_is_an_approval_decided_on_its_page_once(world, ledger_a, someone, rule):
    from jiceng.points.models import DeedClaim

    claim = services.deed_propose(
        actor=Actor.staff(world.a("community_worker")), rule=rule, resident=someone,
        description="清理楼道杂物",
    )  # fmt: skip
    asked = approvals.pending_of(kind="points.deed", obj=claim)
    assert asked.payload == {"claim": claim.pk} and asked.region_code == COMMUNITY_A
    assert JournalEntry.objects.count() == 0
    town = client_for(world.a("town_staff"))
    assert f"/approvals/{asked.pk}/" in town.get("/approvals/").content.decode()
    town.post(f"/approvals/{asked.pk}/approve")
    town.post(f"/approvals/{asked.pk}/approve")  # a second click changes nothing
    claim.refresh_from_db()
    assert claim.status == DeedClaim.Status.APPROVED and claim.decided_by == world.a("town_staff")
    entry = JournalEntry.objects.get()
    assert entry.key == f"deed:{claim.pk}" and _balance(ledger_a, someone) == 5
    assert AuditEvent.objects.filter(
        action="points.deed_decide", object_id=str(claim.pk), detail__approval=asked.pk
    ).exists()
    assert verify() == (1, [])


def test_a_refused_deed_posts_nothing_and_its_resident_may_not_approve_it(world, ledger_a, rule):
    from jiceng.points.models import DeedClaim

    approver = world.a("town_staff")
    approver.phone = "13800001234"
    approver.save()
    own_phone = resident(phone="13800001234")
    claim = services.deed_propose(
        actor=Actor.staff(world.a("community_worker")), rule=rule, resident=own_phone,
        description="清理楼道杂物",
    )  # fmt: skip
    with pytest.raises(DomainError) as refused:
        services.deed_decide(actor=Actor.staff(approver), claim=claim, approve=True)
    assert refused.value.code == "own_account"
    assert DeedClaim.objects.get(pk=claim.pk).status == DeedClaim.Status.PENDING
    other = staff("community_worker", COMMUNITY_A, username="a-community-2")
    services.deed_decide(actor=Actor.staff(other), claim=claim, approve=False)
    assert DeedClaim.objects.get(pk=claim.pk).status == DeedClaim.Status.REJECTED
    assert approvals.pending_of(kind="points.deed", obj=claim) is None
    assert JournalEntry.objects.count() == 0 and _balance(ledger_a, own_phone) == 0


def test_claims_waiting_before_deeds_were_approvals_get_theirs(world, someone, rule):
    import importlib

    from django.apps import apps

    from jiceng.points.models import DeedClaim

    proposer = world.a("community_worker")
    claim = DeedClaim.objects.create(
        rule=rule, resident=someone, description="清理楼道杂物", proposed_by=proposer
    )
    migration = importlib.import_module(
        "jiceng.points.migrations.0009_deed_claims_awaiting_approval"
    )
    migration.ask_for_pending_claims(apps, None)
    migration.ask_for_pending_claims(apps, None)  # once per claim
    asked = approvals.pending_of(kind="points.deed", obj=claim)
    assert Approval.objects.count() == 1 and asked.requested_by == proposer
    with pytest.raises(DomainError) as own:
        services.deed_decide(actor=Actor.staff(proposer), claim=claim, approve=True)
    assert own.value.code == "self_approval"
    services.deed_decide(actor=Actor.staff(world.a("town_staff")), claim=claim, approve=True)
    assert JournalEntry.objects.get().key == f"deed:{claim.pk}"
