"""The party register's REST endpoints: stable error codes for bad input, nothing
written, masked members, and a secretary kept to their branch."""

import pytest

from jiceng.accounts.services import api_token_issue
from jiceng.core.actors import Actor
from jiceng.core.masking import mask_id_number
from jiceng.core.personal import clear
from jiceng.party.models import PartyMember, PartyOrganization

pytestmark = pytest.mark.django_db


def _client(client, user):
    token, _ = api_token_issue(actor=Actor.staff(user))
    return lambda method, url, data=None: getattr(client, method)(
        url, data, content_type="application/json", headers={"Authorization": f"Bearer {token}"}
    )


def test_a_wrong_parent_kind_is_refused_with_its_code(world, client):
    call = _client(client, world.a("org_department"))
    before = PartyOrganization.objects.count()
    response = call("post", "/api/v1/party/organizations", {
        "kind": "grid_branch", "name": "错", "region_code": world.grid_a.code,
        "parent": world.branch_a.pk,
    })  # fmt: skip
    assert response.status_code == 400
    assert (response.json()["code"], response.json()["field"]) == ("parent_kind", "parent")
    assert PartyOrganization.objects.count() == before
    made = call("post", "/api/v1/party/organizations", {
        "kind": "grid_branch", "name": "第2网格党支部", "region_code": "370829001001002",
        "parent": world.branch_a.parent_id,
    })  # fmt: skip
    assert made.status_code == 201 and made.json()["secretary"] is None
    assert PartyOrganization.objects.filter(pk=made.json()["id"], kind="grid_branch").exists()


def test_members_are_masked_and_a_secretary_keeps_to_their_branch(world, client):
    call = _client(client, world.a("branch_secretary"))
    listed = call("get", f"/api/v1/party/organizations/{world.branch_a.pk}/members").json()
    number = clear(world.person_a.id_number)
    assert listed["items"][0]["id_number"] == mask_id_number(number)
    assert number not in repr(listed)
    assert (
        call("get", f"/api/v1/party/organizations/{world.branch_a2.pk}/members").status_code == 404
    )
    before = PartyMember.objects.count()
    refused = call("post", f"/api/v1/party/organizations/{world.branch_a.pk}/members", {
        "name": "县外党员", "id_number": "370829198001011230", "joined_on": "2001-07-01",
    })  # fmt: skip
    assert refused.status_code == 400 and refused.json()["code"] == "id_number_check_digit"
    assert PartyMember.objects.count() == before
    quarter = call("get", "/api/v1/party/completeness?region=370829&quarter=2026Q9")
    assert quarter.status_code == 400 and quarter.json()["code"] == "bad_quarter"
