"""Who sees the reporter, requests about staff (反映工作人员), and a grid worker's void.

The reporter's name and phone are shown to staff posted at the request's community or
above (masked, revealed through the audited door); to those posted below the community
(grid workers, specialist grid workers of a grid, captains) only if the resident allowed
it on the form. A request about staff goes to the town, out of the grid's sight, and
whoever it names takes none of the steps that decide it. A grid worker's void is an
approval the community decides."""

import io
import re

import pytest
from django.test import Client

from jiceng.accounts.services import api_token_issue
from jiceng.cases import services
from jiceng.cases.models import Case, Event, Notification
from jiceng.cases.selectors import available_actions
from jiceng.core import approvals
from jiceng.core.actors import Actor
from jiceng.core.errors import DomainError, NotFound
from jiceng.core.masking import mask_name
from jiceng.core.models import Approval, ApprovalEvent, AuditEvent
from tests.conftest import client_for

S = Case.Status
PHONE, MASKED, NAME = "13900004444", "139****4444", "赵大姐"
MASKED_NAME = mask_name(NAME)
TOWN_A = "370829001"


def _api(user) -> Client:
    return Client(
        headers={"Authorization": f"Bearer {api_token_issue(actor=Actor.staff(user))[0]}"}
    )


def _reveals(case, user, outcome):
    return AuditEvent.objects.filter(
        action="case.reveal_reporter", object_id=str(case.pk), actor_id=user.pk, outcome=outcome
    ).count()


# --- the reporter ------------------------------------------------------------------------


def test_the_grid_worker_gets_no_reporter_anywhere_unless_allowed(world, submit):
    case = submit(reporter_phone=PHONE, reporter_name=NAME)
    assert case.reporter_shown_to == Case.ReporterShownTo.COMMUNITY
    worker = world.a("grid_worker")
    page = client_for(worker).get(f"/cases/{case.pk}/").content.decode()
    assert PHONE not in page and MASKED not in page and MASKED_NAME not in page
    assert "仅社区及以上工作人员可见" in page
    api = _api(worker)
    assert api.get(f"/api/v1/cases/{case.pk}").json()["reporter"] == ""
    listed = api.get("/api/v1/cases?queue=triage").json()["items"]
    assert [row["reporter"] for row in listed if row["id"] == case.pk] == [""]
    refused = client_for(worker).post(f"/cases/{case.pk}/reporter/")
    assert refused.status_code == 400 and PHONE not in refused.content.decode()
    assert "社区及以上" in refused.content.decode()
    assert _reveals(case, worker, "failure") == 1 and _reveals(case, worker, "success") == 0
    # Handling it changes nothing: the grid worker as handler is still below the community.
    services.case_accept(actor=world.a("community_worker"), case=case)
    case = services.case_dispatch(actor=world.a("community_worker"), case=case, handler=worker)
    assert client_for(worker).post(f"/cases/{case.pk}/reporter/").status_code == 400
    assert _reveals(case, worker, "failure") == 2


def test_the_community_worker_reveals_the_reporter(world, submit):
    case = submit(reporter_phone=PHONE, reporter_name=NAME)
    community = world.a("community_worker")
    page = client_for(community).get(f"/cases/{case.pk}/").content.decode()
    assert MASKED in page and PHONE not in page
    assert (
        _api(community).get(f"/api/v1/cases/{case.pk}").json()["reporter"]
        == f"{MASKED_NAME} {MASKED}"
    )
    revealed = client_for(community).post(f"/cases/{case.pk}/reporter/")
    assert revealed.status_code == 200 and PHONE in revealed.content.decode()
    assert NAME in revealed.content.decode()
    assert _reveals(case, community, "success") == 1


def test_a_resident_may_allow_the_grid_worker(world, submit):
    case = submit(reporter_phone=PHONE, share_reporter_with_grid=True)
    assert case.reporter_shown_to == Case.ReporterShownTo.GRID
    worker = world.a("grid_worker")
    assert MASKED in client_for(worker).get(f"/cases/{case.pk}/").content.decode()
    revealed = client_for(worker).post(f"/cases/{case.pk}/reporter/")
    assert revealed.status_code == 200 and PHONE in revealed.content.decode()
    assert _reveals(case, worker, "success") == 1
    # A captain of the grid is a volunteer, not the grid's staff: shown nothing still.
    captain = world.a("building_captain")
    Case.objects.filter(pk=case.pk).update(building=world.household_a.dwelling.building)
    page = client_for(captain).get(f"/cases/{case.pk}/").content.decode()
    assert MASKED not in page


def test_the_form_states_the_default_and_records_the_choice(world, catalogue):
    client = client_for(None)
    page = client.get(f"/q/{world.grid_a.code}/").content.decode()
    assert "默认只有社区及以上工作人员能看到您的联系方式" in page
    assert "也允许本网格的网格员查看我的联系方式" in page and "反映的是工作人员的问题吗" in page
    key = re.search(r'name="submission" value="([^"]+)"', page).group(1)
    data = {"description": "路灯坏了", "reporter_phone": PHONE, "submission": key}
    assert client.post(f"/q/{world.grid_a.code}/", data).status_code == 302
    assert Case.objects.get().reporter_shown_to == Case.ReporterShownTo.COMMUNITY
    allowed = {**data, "submission": key + "2", "share_reporter_with_grid": "on"}
    assert client.post(f"/q/{world.grid_a.code}/", allowed).status_code == 302
    assert Case.objects.latest("pk").reporter_shown_to == Case.ReporterShownTo.GRID


def test_the_supervision_export_leaves_out_a_hidden_reporter(world, submit):
    from openpyxl import load_workbook

    from jiceng.cases import exports

    case = submit(reporter_phone=PHONE, reporter_name=NAME)
    services.case_supervise(actor=world.a("community_worker"), case=case, note="抓紧")
    Case.objects.filter(pk=case.pk).update(reporter_shown_to="not_handler", handler=None)
    content, rows = exports.supervision_export(actor=world.a("community_worker"))
    sheet = load_workbook(io.BytesIO(content)).active
    values = [cell.value for cell in list(sheet.iter_rows())[1]]
    assert rows == 1 and MASKED in values  # not handling it, the community sees it masked
    Case.objects.filter(pk=case.pk).update(handler=world.a("community_worker"))
    content, _ = exports.supervision_export(actor=world.a("community_worker"))
    sheet = load_workbook(io.BytesIO(content)).active
    values = [cell.value for cell in list(sheet.iter_rows())[1]]
    assert MASKED not in values and MASKED_NAME not in values


# --- requests about staff ---------------------------------------------------------------


def _about_staff(world, client=None, **extra):
    client = client or client_for(None)
    page = client.get(f"/q/{world.grid_a.code}/").content.decode()
    key = re.search(r'name="submission" value="([^"]+)"', page).group(1)
    data = {
        "description": "网格员上门时态度恶劣",
        "reporter_phone": PHONE,
        "about_staff": "grid_worker",
        "named_post": "网格员",
        "submission": key,
        **extra,
    }
    assert client.post(f"/q/{world.grid_a.code}/", data).status_code == 302
    return Case.objects.latest("pk")


def test_a_request_about_staff_lands_at_the_town_out_of_the_grids_sight(world, catalogue):
    worker = world.a("grid_worker")
    case = _about_staff(world)
    assert (case.region_code, case.named_grid_code) == (TOWN_A, world.grid_a.code)
    assert case.about_staff and case.named_staff == worker and case.named_post == "网格员"
    assert case.reporter_shown_to == Case.ReporterShownTo.COMMUNITY
    # The grid's worker and captain do not see it at all; nor is the grid's worker told.
    for user in (worker, world.a("building_captain"), world.a("community_worker")):
        assert client_for(user).get(f"/cases/{case.pk}/").status_code == 404
        queue = client_for(user).get("/cases/?queue=open").content.decode()
        assert case.tracking_code not in queue
        searched = client_for(user).get(f"/cases/?queue=open&q={case.tracking_code}")
        assert f"/cases/{case.pk}/" not in searched.content.decode()
    assert _api(worker).get(f"/api/v1/cases/{case.pk}").status_code == 404
    assert not Notification.objects.filter(case=case, user=worker).exists()
    # The town is told, triages it, and sees the reporter (masked).
    town = world.a("town_staff")
    assert Notification.objects.filter(case=case, user=town, kind="new").exists()
    assert case.tracking_code in client_for(town).get("/cases/?queue=triage").content.decode()
    page = client_for(town).get(f"/cases/{case.pk}/").content.decode()
    assert "反映工作人员" in page and MASKED in page


def test_the_town_accepts_it_without_moving_it_to_the_grid(world, catalogue):
    town = world.a("town_staff")
    case = _about_staff(world)
    with pytest.raises(DomainError) as refused:
        services.case_accept(
            actor=town, case=case, category=catalogue["disputes.neighbour"], grid=world.grid_a
        )
    assert refused.value.code == "about_staff_stays"
    case = services.case_accept(actor=town, case=case, category=catalogue["disputes.neighbour"])
    assert (case.status, case.region_code) == (S.ACCEPTED, TOWN_A)


def test_the_named_worker_cannot_be_given_it_nor_handle_nor_void_it(world, catalogue):
    worker, town = world.a("grid_worker"), world.a("town_staff")
    case = _about_staff(world)
    # Out of the grid worker's reach altogether, at the town.
    with pytest.raises(NotFound):
        services.case_void(actor=worker, case=case, reason="不属实")
    case = services.case_accept(actor=town, case=case, category=catalogue["disputes.neighbour"])
    with pytest.raises(DomainError) as refused:
        services.case_dispatch(actor=town, case=case, handler=worker)
    assert refused.value.code == "conflict_of_interest"
    case.refresh_from_db()
    assert (case.status, case.handler) == (S.ACCEPTED, None)
    assert not Approval.objects.exists()
    assert list(case.events.values_list("action", flat=True)) == ["submit", "accept"]


def test_whoever_a_request_names_takes_none_of_its_steps(world, submit):
    """A request naming a staff member in person: dispatched to them before it was
    known, they may not start, handle or void it; the buttons say the same."""
    community = world.a("community_worker")
    case = submit()
    services.case_accept(actor=community, case=case)
    case = services.case_dispatch(actor=community, case=case, handler=community)
    Case.objects.filter(pk=case.pk).update(named_staff=community, about_staff=True)
    case.refresh_from_db()
    assert "start" not in available_actions(community, case)
    with pytest.raises(DomainError) as refused:
        services.case_start(actor=community, case=case)
    assert refused.value.code == "conflict_of_interest"
    case.refresh_from_db()
    assert case.status == S.DISPATCHED
    assert not case.events.filter(action="start").exists()
    assert not AuditEvent.objects.filter(action="case.start").exists()
    # Nor void one that names them, though they triage the community's requests.
    named = submit(text="社区工作人员推诿")
    Case.objects.filter(pk=named.pk).update(named_staff=community, about_staff=True)
    named.refresh_from_db()
    with pytest.raises(DomainError) as refused:
        services.case_void(actor=community, case=named, reason="不属实")
    assert refused.value.code == "conflict_of_interest"
    named.refresh_from_db()
    assert named.status == S.RECEIVED and named.events.count() == 1


# --- a grid worker's void ---------------------------------------------------------------


def test_a_grid_workers_void_is_a_proposal_the_community_approves(world, submit):
    worker, community = world.a("grid_worker"), world.a("community_worker")
    case = services.case_void(actor=worker, case=submit(), reason="重复提交")
    case.refresh_from_db()
    assert (case.status, case.void_pending) == (S.RECEIVED, True)
    approval = Approval.objects.get()
    assert (approval.kind, approval.region_code, approval.status) == (
        "cases.void",
        "370829001001",
        Approval.Status.PENDING,
    )
    assert (approval.object_id, approval.reason, approval.requested_by) == (
        str(case.pk),
        "重复提交",
        worker,
    )
    assert AuditEvent.objects.filter(action="case.propose_void", actor_id=worker.pk).exists()
    assert not AuditEvent.objects.filter(action="case.void").exists()
    page = client_for(worker).get(f"/cases/{case.pk}/").content.decode()
    assert "作废待社区确认" in page and "申请作废（社区确认）</button>" not in page
    # Meanwhile it is not accepted or merged, nor proposed twice.
    for step in (
        lambda: services.case_accept(actor=community, case=case),
        lambda: services.case_void(actor=worker, case=case, reason="再来"),
        lambda: services.case_void(actor=community, case=case, reason="直接作废"),
    ):
        with pytest.raises(DomainError) as refused:
            step()
        assert refused.value.code == "void_pending"
    # The proposer does not decide it.
    with pytest.raises((DomainError, NotFound)):
        approvals.decide(actor=worker, approval=approval, action="approve")
    approvals.decide(actor=community, approval=approval, action="approve", note="确属重复")
    case.refresh_from_db()
    approval.refresh_from_db()
    assert (case.status, case.void_pending, approval.status) == (
        S.VOIDED,
        False,
        Approval.Status.APPROVED,
    )
    assert list(case.events.values_list("action", flat=True)) == ["submit", "propose_void", "void"]
    void = case.events.get(action="void")
    assert (void.actor, void.note, void.data) == (community, "重复提交", {"approval": approval.pk})
    assert AuditEvent.objects.filter(action="case.void", actor_id=community.pk).count() == 1
    assert AuditEvent.objects.filter(action="approval.approve").count() == 1


def test_a_refused_void_leaves_the_request_as_it_was(world, submit):
    worker, community = world.a("grid_worker"), world.a("community_worker")
    case = services.case_void(actor=worker, case=submit(), reason="不像真的")
    approval = Approval.objects.get()
    approvals.decide(actor=community, approval=approval, action="refuse", note="请先核实")
    case.refresh_from_db()
    assert (case.status, case.void_pending) == (S.RECEIVED, False)
    declined = case.events.get(action="void_declined")
    assert (declined.actor, declined.note, declined.is_public) == (community, "请先核实", False)
    assert services.case_accept(actor=worker, case=case).status == S.ACCEPTED


def test_the_proposer_may_withdraw(world, submit):
    worker = world.a("grid_worker")
    case = services.case_void(actor=worker, case=submit(), reason="误操作")
    approvals.decide(actor=worker, approval=Approval.objects.get(), action="cancel")
    case.refresh_from_db()
    assert (case.status, case.void_pending) == (S.RECEIVED, False)
    assert case.events.get(action="void_declined").data["withdrawn"] is True


def test_a_failed_apply_undoes_the_decision(world, submit):
    """If the request moved on meanwhile (here: closed by hand), approving is refused and
    both the approval and the request stay as they were."""
    worker, community = world.a("grid_worker"), world.a("community_worker")
    case = services.case_void(actor=worker, case=submit(), reason="重复")
    Case.objects.filter(pk=case.pk).update(status=S.MERGED)
    approval = Approval.objects.get()
    with pytest.raises(DomainError):
        approvals.decide(actor=community, approval=approval, action="approve")
    approval.refresh_from_db()
    assert approval.status == Approval.Status.PENDING
    assert not ApprovalEvent.objects.filter(action="approve").exists()
    assert not Event.objects.filter(case=case, action="void").exists()


def test_a_grid_worker_does_not_end_a_request_by_merging_it(world, submit):
    """A merge ends a request as surely as a void, so a grid's worker does not merge (by
    page or API): the duplicate's void is proposed instead, for the community."""
    worker, community = world.a("grid_worker"), world.a("community_worker")
    complaint, other = submit(text="网格员态度恶劣"), submit(text="路灯不亮")
    assert "merge" not in available_actions(worker, complaint)
    with pytest.raises(DomainError) as refused:
        services.case_merge(actor=worker, case=complaint, into=other)
    assert refused.value.code == "merge_by_community"
    answer = _api(worker).post(
        f"/api/v1/cases/{complaint.pk}/steps/merge",
        {"into": other.tracking_code},
        content_type="application/json",
    )
    assert (answer.status_code, answer.json()["code"]) == (400, "merge_by_community")
    client_for(worker).post(f"/cases/{complaint.pk}/act/merge/", {"into": other.tracking_code})
    complaint.refresh_from_db()
    assert (complaint.status, complaint.merged_into_id) == (S.RECEIVED, None)
    assert not Event.objects.filter(action__in=["merge", "merged_in"]).exists()
    assert not AuditEvent.objects.filter(action="case.merge").exists()
    assert "merge" in available_actions(community, complaint)
    merged = services.case_merge(actor=community, case=complaint, into=other)
    assert (merged.status, merged.merged_into_id) == (S.MERGED, other.pk)


def test_a_request_about_staff_is_merged_only_with_one_about_the_same_staff(world, submit):
    """Merged into an ordinary request of the named worker's grid, a complaint would be
    triaged and handled in their sight."""
    town = world.a("town_staff")
    complaint = _about_staff(world)
    ordinary = submit(text="路灯不亮")
    with pytest.raises(DomainError) as refused:
        services.case_merge(actor=town, case=complaint, into=ordinary)
    assert refused.value.code == "merge_target"
    with pytest.raises(DomainError):
        services.case_merge(actor=town, case=ordinary, into=complaint)
    complaint.refresh_from_db()
    assert (complaint.status, complaint.merged_into_id) == (S.RECEIVED, None)
    assert not AuditEvent.objects.filter(action="case.merge").exists()
    again = _about_staff(world, client_for(None), description="网格员又没来")
    assert services.case_merge(actor=town, case=again, into=complaint).status == S.MERGED


def test_community_and_town_void_directly(world, submit):
    for user in (world.a("community_worker"), world.a("town_staff")):
        case = services.case_void(actor=user, case=submit(), reason="重复")
        assert case.status == S.VOIDED
    assert not Approval.objects.exists()


def test_the_grid_worker_proposes_through_the_page_and_the_api(world, submit):
    worker = world.a("grid_worker")
    case = submit()
    page = client_for(worker).get(f"/cases/{case.pk}/").content.decode()
    assert "申请作废（社区确认）" in page
    done = client_for(worker).post(f"/cases/{case.pk}/act/void/", {"note": "重复"}, follow=True)
    assert "已申请作废，待社区确认" in done.content.decode()
    other = submit(text="另一件")
    answer = _api(worker).post(
        f"/api/v1/cases/{other.pk}/steps/void", {"note": "重复"}, content_type="application/json"
    )
    assert answer.status_code == 200
    assert (answer.json()["status"], answer.json()["void_pending"]) == ("received", True)
    assert Approval.objects.filter(kind="cases.void").count() == 2
