"""The staff app's API for requests: the same rules as the pages."""

import pytest
from django.test import Client

from jiceng.accounts.services import api_token_issue
from jiceng.cases.models import Case
from jiceng.core.actors import Actor


@pytest.fixture
def api(world, catalogue):
    def client_for(user):
        raw, _ = api_token_issue(actor=Actor.staff(user))
        return Client(headers={"Authorization": f"Bearer {raw}"})

    return client_for


def step(client, case_id, action, **body):
    return client.post(f"/api/v1/cases/{case_id}/steps/{action}", body, "application/json")


def test_a_request_through_the_api(world, api):
    worker = api(world.a("grid_worker"))
    body = {
        "region_code": world.grid_a.code,
        "category": "property.elevator",
        "description": "2号楼电梯停在3楼不动",
        "answers": {"trapped": "no"},
        "reporter_phone": "13900005555",
    }
    created = worker.post(
        "/api/v1/cases", body, "application/json", headers={"Idempotency-Key": "abc"}
    )
    assert created.status_code == 201
    again = worker.post(
        "/api/v1/cases", body, "application/json", headers={"Idempotency-Key": "abc"}
    )
    assert again.status_code == 200 and again.json()["id"] == created.json()["id"]
    data = created.json()
    assert data["reporter"] == "139****5555" and data["status"] == "received"
    case_id = data["id"]
    assert "accept" in data["actions"]
    assert step(worker, case_id, "accept").json()["status"] == "accepted"
    dispatched = step(worker, case_id, "dispatch", handler_id=world.a("grid_worker").pk)
    assert dispatched.json()["handler"]
    step(worker, case_id, "start")
    handled = step(worker, case_id, "handle", result="已通知维保单位修复")
    assert handled.json()["status"] == "handled"
    closed = step(api(world.a("community_worker")), case_id, "check", passed=True)
    assert closed.json()["status"] == "closed"
    events = worker.get(f"/api/v1/cases/{case_id}").json()["events"]
    assert [e["action"] for e in events][-1] == "check"


def test_errors_have_stable_codes(world, api, submit):
    case = submit()
    worker = api(world.a("grid_worker"))
    assert step(worker, case.pk, "check", passed=True).json()["code"] == "invalid_transition"
    assert step(worker, case.pk, "rate").json()["code"] == "unknown_action"
    assert step(worker, case.pk, "dance").json()["code"] == "unknown_action"
    other = api(world.b("grid_worker"))
    assert step(other, case.pk, "accept").status_code == 404
    assert other.get(f"/api/v1/cases/{case.pk}").status_code == 404
    assert worker.get("/api/v1/cases?queue=nope").json()["code"] == "unknown_queue"
    refused = worker.post(
        "/api/v1/cases",
        {"region_code": world.grid_b.code, "description": "x"},
        "application/json",
    )
    assert refused.status_code == 404
    assert Case.objects.count() == 1


def test_queues_are_scoped_and_show_lateness(world, api, submit, clock):
    from jiceng.cases import services
    from tests.cases.conftest import at

    case = submit()
    worker = world.a("grid_worker")
    services.case_accept(actor=worker, case=case)
    services.case_dispatch(actor=worker, case=case, handler=worker)
    clock.move_to(at(2026, 10, 14, 9))
    mine = api(worker).get("/api/v1/cases?queue=mine").json()
    assert [c["lateness"] for c in mine["items"]] == ["overdue"]
    town = api(world.a("town_staff")).get("/api/v1/cases/supervision").json()
    assert town["count"] == 1
    assert api(world.b("town_staff")).get("/api/v1/cases/supervision").json()["count"] == 0


def test_a_step_that_takes_the_request_out_of_sight_answers_without_its_content(
    world, api, submit, catalogue
):
    from tests.factories import staff

    gas = catalogue["facilities.gas"].default_department
    fitter = staff("specialist_grid_worker", "370829", username="gas-fitter-2", department=gas)
    case = submit(category="facilities.gas", answers={"smell": "yes"}, text="楼道里有煤气味")
    worker = api(world.a("grid_worker"))
    step(worker, case.pk, "accept")
    step(worker, case.pk, "dispatch", department_id=gas.pk)
    client = api(fitter)
    assert step(client, case.pk, "start").json()["status"] == "in_progress"

    answer = step(client, case.pk, "return", note="不属于燃气")
    assert answer.status_code == 200
    assert answer.json() == {
        "id": case.pk,
        "tracking_code": case.tracking_code,
        "status": "accepted",
        "status_label": "待派单",
        "visible": False,
    }
    assert "煤气味" not in answer.content.decode()
    assert Case.objects.get(pk=case.pk).status == "accepted"


def test_validation_errors_say_per_field_in_chinese(world, api):
    worker = api(world.a("grid_worker"))
    response = worker.post(
        "/api/v1/cases", {"region_code": world.grid_a.code, "building_id": "三"}, "application/json"
    )
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "validation_error"
    messages = {tuple(e["loc"])[-1]: e["msg"] for e in body["detail"]}
    assert "description" in messages and "必填" in messages["description"]
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in m) for m in messages.values())
    assert "description" in body["message"]
