"""The activities and points API: the same scope, masking and error codes as the pages."""

from django.test import Client

from jiceng.accounts.services import api_token_issue
from jiceng.core.actors import Actor
from jiceng.gatherings import services as gatherings
from tests.factories import resident


def api_for(user) -> Client:
    raw, _ = api_token_issue(actor=Actor.staff(user))
    return Client(headers={"Authorization": f"Bearer {raw}"})


def test_activities_figures_and_rankings(world, staff_a, team, make_activity, clock):
    activity = make_activity("signup", team=team, title="义剪进社区")
    gatherings.signup_create(
        actor=Actor.of_resident(resident(person=world.person_b)), gathering=activity.gathering
    )
    client = api_for(staff_a)
    listed = client.get("/api/v1/activities?month=2026-11").json()
    assert [(a["title"], a["signed_up"], a["team"]) for a in listed["items"]] == [
        ("义剪进社区", 1, "红帆志愿服务队")
    ]
    assert client.get(f"/api/v1/activities/{activity.pk}").json()["status"] == "signup"
    other = api_for(world.b("community_worker"))
    assert other.get(f"/api/v1/activities/{activity.pk}").status_code == 404
    assert other.get("/api/v1/activities?month=2026-11").json()["items"] == []
    figures = client.get(
        "/api/v1/activities/figures?region=370829001001&start=2026-11-01&end=2026-11-30"
    ).json()
    assert figures["held"] == 0 and figures["participations"] == 0


def test_bad_input_gets_a_stable_code(world, staff_a):
    client = api_for(staff_a)
    bad_region = client.get("/api/v1/activities/figures?region=abc&start=2026-01-01&end=2026-02-01")
    assert (bad_region.status_code, bad_region.json()["code"]) == (400, "bad_region_code")
    backwards = client.get(
        "/api/v1/activities/figures?region=370829001001&start=2026-03-01&end=2026-02-01"
    )
    assert (backwards.status_code, backwards.json()["code"]) == (400, "bad_period")
    bad_period = client.get("/api/v1/points/rankings?region=370829001001&period=2026-13")
    assert (bad_period.status_code, bad_period.json()["code"]) == (400, "bad_period")
    bad_month = client.get("/api/v1/activities?month=November")
    assert (bad_month.status_code, bad_month.json()["code"]) == (400, "bad_month")
