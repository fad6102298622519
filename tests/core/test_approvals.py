"""Approvals (core.approvals): one asks, another who holds the kind's permission at the
region decides; the action lands with the approval, in its transaction; four eyes are
the runner's `not_by`; every step leaves its event, its audit record and its notices."""

import pytest

from jiceng.core import approvals
from jiceng.core.actors import Actor
from jiceng.core.errors import DomainError, NotFound
from jiceng.core.models import Approval, ApprovalEvent, AuditEvent, OutboxMessage
from tests.conftest import client_for
from tests.factories import staff

S = Approval.Status
COMMUNITY_A = "370829001001"
applied: list[tuple[int, str]] = []


def _apply(approval, actor):
    if approval.payload.get("fail"):
        raise DomainError("做不了。", code="cannot")
    applied.append((approval.pk, actor.user.username))


def _check(approval, actor):
    if approval.payload.get("subject") == actor.user.username:
        return DomainError("不能审批与本人有关的事项。", code="own_matter")
    return None


@pytest.fixture(autouse=True)
def thing_kind():
    applied.clear()
    approvals.register(
        approvals.Kind(
            name="test.thing",
            label="测试事项",
            permission="points.manage",
            apply=_apply,
            check=_check,
        )
    )
    yield
    approvals._kinds.pop("test.thing", None)


def _ask(world, **fields):
    return approvals.ask(
        actor=Actor.staff(world.a("community_worker")),
        kind="test.thing",
        region_code=COMMUNITY_A,
        summary="给居民调整 20000 分",
        reason="大额",
        **fields,
    )


def test_asking_writes_the_row_its_event_its_audit_and_tells_the_deciders(world):
    second = staff("community_worker", COMMUNITY_A, username="a-community-2")
    approval = _ask(world)
    assert approval.status == S.PENDING
    assert list(approval.events.values_list("action", flat=True)) == ["ask"]
    assert AuditEvent.objects.filter(action="approval.ask", object_id=str(approval.pk)).exists()
    told = set(
        OutboxMessage.objects.filter(key__startswith=f"approval:{approval.pk}:asked:").values_list(
            "key", flat=True
        )
    )
    # The town's staff and the community's other worker may decide; the asker is not told,
    # and nobody in community B is.
    assert f"approval:{approval.pk}:asked:{second.pk}" in told
    assert f"approval:{approval.pk}:asked:{world.a('town_staff').pk}" in told
    assert f"approval:{approval.pk}:asked:{world.a('community_worker').pk}" not in told
    assert f"approval:{approval.pk}:asked:{world.b('community_worker').pk}" not in told


def test_the_asker_may_not_decide_their_own(world):
    approval = _ask(world)
    with pytest.raises(DomainError) as refused:
        approvals.decide(actor=world.a("community_worker"), approval=approval, action="approve")
    assert refused.value.code == "second_person_required"
    approval.refresh_from_db()
    assert approval.status == S.PENDING and applied == []


def test_another_decides_and_the_action_lands_with_it(world):
    approval = _ask(world)
    decided = approvals.decide(
        actor=world.a("town_staff"), approval=approval, action="approve", note="同意"
    )
    assert decided.status == S.APPROVED
    approval.refresh_from_db()
    assert approval.decided_by == world.a("town_staff") and approval.decision_note == "同意"
    assert applied == [(approval.pk, "a-town_staff")]
    assert ApprovalEvent.objects.filter(approval=approval, action="approve").count() == 1
    assert AuditEvent.objects.filter(action="approval.approve", object_id=str(approval.pk)).exists()
    assert OutboxMessage.objects.filter(
        key=f"approval:{approval.pk}:approve:{world.a('community_worker').pk}"
    ).exists()
    with pytest.raises(DomainError) as again:
        approvals.decide(actor=world.a("town_staff"), approval=approval, action="approve")
    assert again.value.code == "invalid_transition"
    assert len(applied) == 1


def test_a_failing_action_undoes_the_decision(world):
    approval = _ask(world, payload={"fail": True})
    with pytest.raises(DomainError):
        approvals.decide(actor=world.a("town_staff"), approval=approval, action="approve")
    approval.refresh_from_db()
    assert approval.status == S.PENDING and approval.decided_by is None
    assert not ApprovalEvent.objects.filter(approval=approval, action="approve").exists()


def test_who_is_out_of_scope_or_lacks_the_permission_cannot_decide(world):
    approval = _ask(world)
    for user in (world.b("community_worker"), world.b("town_staff"), world.a("grid_worker")):
        with pytest.raises(NotFound):
            approvals.decide(actor=user, approval=approval, action="approve")
    assert Approval.objects.get(pk=approval.pk).status == S.PENDING


def test_the_kinds_check_refuses_the_subject(world):
    approval = _ask(world, payload={"subject": "a-town_staff"})
    with pytest.raises(DomainError) as refused:
        approvals.decide(actor=world.a("town_staff"), approval=approval, action="approve")
    assert refused.value.code == "own_matter"
    assert Approval.objects.get(pk=approval.pk).status == S.PENDING


def test_the_asker_withdraws_and_no_one_else_may(world):
    approval = _ask(world)
    with pytest.raises(NotFound):
        approvals.decide(actor=world.a("town_staff"), approval=approval, action="cancel")
    approvals.decide(actor=world.a("community_worker"), approval=approval, action="cancel")
    assert Approval.objects.get(pk=approval.pk).status == S.CANCELLED


def test_an_action_taken_at_once_is_reviewed_and_a_flag_alerts_the_auditor(world):
    approval = _ask(world, review=True)
    assert approval.status == S.REVIEW
    assert approval.events.get().action == "take"
    with pytest.raises(DomainError):
        approvals.decide(actor=world.a("community_worker"), approval=approval, action="flag")
    approvals.decide(actor=world.a("town_staff"), approval=approval, action="flag", note="无灾情")
    assert Approval.objects.get(pk=approval.pk).status == S.FLAGGED
    alert = AuditEvent.objects.get(action="alert.approval_flagged")
    assert alert.region_code == COMMUNITY_A
    assert applied == []  # a review does not do the action again


def test_the_pages_list_decide_and_hide_from_others(world):
    approval = _ask(world)
    decider = client_for(world.a("town_staff"))
    assert approval.summary in decider.get("/approvals/").content.decode()
    page = decider.get(f"/approvals/{approval.pk}/").content.decode()
    assert "批准" in page and "大额" in page
    asker_page = client_for(world.a("community_worker")).get(f"/approvals/{approval.pk}/")
    assert "撤回" in asker_page.content.decode()
    assert f"/approvals/{approval.pk}/approve" not in asker_page.content.decode()
    for user in (world.b("town_staff"), world.outsider, world.a("grid_worker")):
        client = client_for(user)
        assert approval.summary not in client.get("/approvals/").content.decode()
        assert client.get(f"/approvals/{approval.pk}/").status_code == 404
        assert client.post(f"/approvals/{approval.pk}/approve").status_code == 404
    assert Approval.objects.get(pk=approval.pk).status == S.PENDING
    response = decider.post(f"/approvals/{approval.pk}/approve", {"note": "可以"})
    assert response.status_code == 302
    assert Approval.objects.get(pk=approval.pk).status == S.APPROVED
    assert applied == [(approval.pk, "a-town_staff")]
