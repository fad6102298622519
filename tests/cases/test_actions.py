"""One dispatch for the staff's steps: the page and the API parse their input and call
cases.actions; where the two had drifted apart, both now do the same."""

from jiceng.cases import services
from jiceng.cases.models import Case, Event
from jiceng.core.models import AuditEvent
from tests.cases.test_api import api, step  # noqa: F401 - the fixture
from tests.cases.test_intake import jpeg

S = Case.Status


def _pair(world, submit):
    worker = world.a("community_worker")
    original = services.case_accept(actor=worker, case=submit(text="3号楼路灯不亮"))
    duplicate = submit(text="路灯坏了")
    return worker, original, duplicate


def _hyphenated(code: str) -> str:
    return f"{code[:5]}-{code[5:]}"


def test_the_page_merges_by_a_code_typed_with_its_hyphen(world, login, submit):
    worker, original, duplicate = _pair(world, submit)
    page = login(worker)
    page.post(f"/cases/{duplicate.pk}/act/merge/", {"into": _hyphenated(original.tracking_code)})
    duplicate.refresh_from_db()
    assert duplicate.status == S.MERGED and duplicate.merged_into_id == original.pk


def test_the_api_merges_by_a_code_typed_with_its_hyphen(world, api, submit):  # noqa: F811
    worker, original, duplicate = _pair(world, submit)
    answer = step(api(worker), duplicate.pk, "merge", into=_hyphenated(original.tracking_code))
    assert answer.status_code == 200, answer.content
    duplicate.refresh_from_db()
    assert duplicate.status == S.MERGED and duplicate.merged_into_id == original.pk
    assert Event.objects.filter(case=original, action="merged_in").count() == 1


def test_neither_merges_into_a_request_out_of_sight(world, api, login, submit):  # noqa: F811
    worker = world.a("community_worker")
    mine = submit()
    theirs = submit(region_code=world.grid_b.code)
    answer = step(api(worker), mine.pk, "merge", into=theirs.tracking_code)
    assert answer.status_code == 400 and answer.json()["code"] == "merge_target"
    login(worker).post(f"/cases/{mine.pk}/act/merge/", {"into": theirs.tracking_code})
    mine.refresh_from_db()
    assert mine.status == S.RECEIVED
    assert not AuditEvent.objects.filter(action="case.merge").exists()


def test_an_unknown_handler_is_not_found_on_both(world, api, login, submit):  # noqa: F811
    worker = world.a("grid_worker")
    case = services.case_accept(actor=worker, case=submit())
    answer = step(api(worker), case.pk, "dispatch", handler_id=999_999)
    assert answer.status_code == 404
    page = login(worker).post(f"/cases/{case.pk}/act/dispatch/", {"target": "user:999999"})
    assert page.status_code == 404
    case.refresh_from_db()
    assert case.status == S.ACCEPTED
    assert not Event.objects.filter(case=case, action="dispatch").exists()


def test_an_unknown_or_a_residents_action_is_refused_on_both(world, api, login, submit):  # noqa: F811
    worker = world.a("grid_worker")
    case = submit()
    for action in ("rate", "reopen", "submit", "explode"):
        answer = step(api(worker), case.pk, action, note="x")
        assert answer.status_code == 400 and answer.json()["code"] == "unknown_action"
        login(worker).post(f"/cases/{case.pk}/act/{action}/", {"note": "x"})
    assert list(case.events.values_list("action", flat=True)) == ["submit"]


def test_the_page_keeps_the_result_photos(world, login, submit):
    worker = world.a("grid_worker")
    case = services.case_accept(actor=worker, case=submit())
    case = services.case_dispatch(actor=worker, case=case, handler=worker)
    case = services.case_start(actor=worker, case=case)
    login(worker).post(f"/cases/{case.pk}/act/handle/", {"result": "已修好", "photos": [jpeg()]})
    case.refresh_from_db()
    assert case.status == S.HANDLED and case.photos.filter(kind="result").count() == 1


def test_the_api_lists_the_actions_of_the_process_table(world, api, submit):  # noqa: F811
    """Who may act next is read from the process table, the same for buttons and API."""
    from jiceng.cases.selectors import available_actions

    case = submit()
    for who in ("grid_worker", "community_worker", "town_staff"):
        user = world.a(who)
        listed = api(user).get(f"/api/v1/cases/{case.pk}").json()["actions"]
        assert set(listed) == available_actions(user, case)
