"""Every link on a home page leads to a page its reader may open: for each role of the test
county (and the platform operator, and a signed-in resident), sign in, follow every internal
link of the home page, and fail on a refusal, a missing page or an error."""

import datetime
from html.parser import HTMLParser
from urllib.parse import urldefrag, urlsplit

import pytest
from django.test import Client

from jiceng.accounts.roles import ROLES
from tests import factories
from tests.conftest import ROLE_HOMES, World, client_for

# A role of ROLES that the test county holds nowhere gets an account in region A here.
EXTRA_HOMES = {"county_staff": "370829", "property_grid_worker": "370829001001001"}


class Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag, attrs):
        href = dict(attrs).get("href")
        if tag == "a" and href:
            self.hrefs.append(href)


def internal_links(html: str) -> list[str]:
    parser = Links()
    parser.feed(html)
    links = []
    for href in parser.hrefs:
        href = urldefrag(href).url
        parts = urlsplit(href)
        if parts.scheme or parts.netloc or not href.startswith("/") or href in links:
            continue  # another site, tel:, mailto:, or a page already on the list
        links.append(href)
    return links


def broken_links(client: Client, home: str) -> dict[str, int]:
    response = client.get(home)
    assert response.status_code == 200, (home, response.status_code)
    links = internal_links(response.content.decode())
    assert links, f"{home} shows no links at all"
    broken = {}
    for link in links:
        try:
            status = client.get(link, follow=True).status_code
        except Exception as error:  # an error page in production
            broken[link] = f"500 ({type(error).__name__}: {error})"
            continue
        if status in (403, 404) or status >= 500:
            broken[link] = status
    return broken


def _holder(world: World, role: str):
    if role in world.users_a:
        return world.a(role)
    return factories.staff(role, EXTRA_HOMES[role], username=f"a-{role}")


def test_every_role_of_the_roles_table_is_followed():
    assert set(ROLES) <= set(ROLE_HOMES) | set(EXTRA_HOMES)


@pytest.mark.parametrize("role", sorted(set(ROLE_HOMES) | set(EXTRA_HOMES)))
def test_every_link_on_a_staff_home_page_opens(world, role):
    client = client_for(_holder(world, role))
    assert broken_links(client, "/") == {}, f"links on the home page of {role} that fail"


def test_every_link_on_the_operators_home_page_opens(world):
    assert broken_links(client_for(world.operator), "/") == {}


@pytest.mark.parametrize(
    "serves", ["", "team_leader", "captain_and_rider"], ids=["resident", "leader", "captain"]
)
def test_every_link_on_a_residents_home_page_opens(world, serves):
    resident = factories.resident(person=world.person_a)
    if serves == "captain_and_rider":
        from jiceng.residents.models import Rider

        building = world.household_a.dwelling.building
        building.captain = world.person_a
        building.save()
        worker = world.a("grid_worker")
        Rider.objects.create(
            resident=resident, region_code=world.grid_a.code, platform="美团",
            paired_with=worker, registered_by=worker, registered_on=datetime.date.today(),
        )  # fmt: skip
    if serves == "team_leader":
        from jiceng.activities.services import team_create

        team_create(
            actor=world.a("community_worker"), region_code="370829001001", name="甲志愿队",
            leader=resident,
        )  # fmt: skip
    client = Client()
    session = client.session
    session["resident_id"] = resident.pk
    session.save()
    assert broken_links(client, "/me/") == {}
