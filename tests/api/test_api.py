"""The REST API: scoped and masked like the pages, with stable error codes and pinned
query counts on lists."""

import pytest
from django.test import Client

from jiceng.accounts.services import api_token_issue
from jiceng.core.actors import Actor
from jiceng.core.masking import age_band, mask_id_number, mask_phone
from jiceng.core.models import AuditEvent
from tests import factories


@pytest.fixture
def api(world):
    def client_for(role="grid_worker", side="a"):
        user = world.a(role) if side == "a" else world.b(role)
        raw, _ = api_token_issue(actor=Actor.staff(user))
        client = Client(headers={"Authorization": f"Bearer {raw}"})
        return client

    return client_for


def test_persons_are_masked(world, api):
    person = world.person_a
    body = api().get(f"/api/v1/persons/{person.pk}").json()
    assert body["id_number"] == mask_id_number(person.id_number)
    assert body["phone"] == mask_phone(person.phone)
    assert person.id_number not in str(body)
    # No birth year beside a masked ID number (it hides exactly the birth date): a band.
    assert "birth_year" not in body and str(person.birth_date.year) not in str(body)
    assert body["age_band"] == age_band(person.birth_date)
    assert body["age_band"].endswith("岁")
    assert body["special_groups"] == "******" and not person.special_groups.exists()


def test_reveal_is_audited_and_needs_the_permission(world, api):
    person = world.person_a
    response = api().post(
        f"/api/v1/persons/{person.pk}/reveal", {"field": "id_number"}, "application/json"
    )
    assert response.json() == {"field": "id_number", "value": person.id_number}
    assert AuditEvent.objects.filter(action="person.reveal", outcome="success").count() == 1

    denied = api("building_captain").post(
        f"/api/v1/persons/{person.pk}/reveal", {"field": "id_number"}, "application/json"
    )
    assert denied.status_code == 404
    assert denied.json()["code"] == "not_found"
    assert AuditEvent.objects.filter(action="person.reveal", outcome="failure").count() == 1


def test_unknown_fields_and_bad_bodies_get_stable_codes(world, api):
    client = api()
    url = f"/api/v1/persons/{world.person_a.pk}/reveal"
    assert client.post(url, {"field": "name"}, "application/json").json()["code"] == "unknown_field"
    response = client.post(url, "not json", "application/json")
    assert response.status_code == 400 or response.json()["code"] == "validation_error"
    assert client.get("/api/v1/persons?within=37%25").json()["code"] == "bad_region_code"
    assert client.get("/api/v1/persons/abc").json()["code"] == "validation_error"


def test_lists_are_paginated_and_scoped(world, api):
    for _ in range(3):
        factories.household_with_people(world.grid_a.code, size=2)
    body = api().get("/api/v1/persons?limit=5").json()
    assert body["count"] == 8
    assert len(body["items"]) == 5
    assert {p["region_code"] for p in body["items"]} == {world.grid_a.code}
    assert api().get(f"/api/v1/persons?within={world.grid_b.code}").status_code == 404


def test_person_search_by_tail(world, api):
    person = world.person_a
    body = api().get(f"/api/v1/persons?q={person.id_number[-4:]}").json()
    assert [p["id"] for p in body["items"]] == [person.pk]


@pytest.mark.parametrize(
    ("url", "queries"),
    [
        ("/api/v1/persons?limit=50", 4),
        ("/api/v1/households?limit=50", 4),
        ("/api/v1/grids", 4),
    ],
)
def test_list_query_counts_do_not_grow_with_rows(
    world, api, django_assert_num_queries, url, queries
):
    client = api("community_worker")
    for _ in range(10):
        factories.household_with_people(world.grid_a.code, size=3)
    client.get(url)  # the token's first use records last_used_at
    # token lookup, memberships, count, page (+ prefetch of special groups)
    with django_assert_num_queries(queries):
        assert client.get(url).status_code == 200


def test_the_openapi_document_describes_every_operation(world):
    assert Client().get("/api/v1/openapi.json").status_code == 401  # for the API's users
    raw, _ = api_token_issue(actor=Actor.staff(world.a("grid_worker")))
    schema = Client(headers={"Authorization": f"Bearer {raw}"}).get("/api/v1/openapi.json").json()
    paths = schema["paths"]
    assert "/api/v1/auth/token" in paths
    assert "/api/v1/persons/{person_id}/reveal" in paths
    assert schema["components"]["securitySchemes"]["BearerToken"]["scheme"] == "bearer"
