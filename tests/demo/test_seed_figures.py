"""The demo reproduces the seed's figures of the party-building half, read the way the
organization department reads them: from the overview of its own region.

嘉祥: 102 grid party branches over 200 grids. 曲阜 鲁城街道: 61 grid party branches with 163
committee members, 3,818 building, unit and lane captains, 65 part-time grid workers of
property companies, and 120-odd riders paired with grid workers."""

import re

import pytest
from django.core.management import call_command

from jiceng.accounts.models import User
from jiceng.party.selectors import overview
from tests.conftest import client_for

pytestmark = pytest.mark.demo


@pytest.fixture
def demo(db, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    call_command("demo", "--no-serve")


def test_the_overview_reproduces_the_seeds_figures(demo):
    county = overview(user=User.objects.get(username="orgdept"), region_code="370829")
    assert dict(county.by_kind)["网格党支部"] == 102
    assert county.grids == 200 and county.grids_without_branch == 98

    organizer = User.objects.get(username="zz370881001")
    lucheng = overview(user=organizer, region_code="370881001")
    assert dict(lucheng.by_kind)["网格党支部"] == 61
    assert lucheng.committee_members == 163
    assert lucheng.captains == 3818
    assert lucheng.property_grid_workers == 65
    assert lucheng.riders >= 120
    assert lucheng.property_companies == 8

    page = client_for(organizer).get("/party/overview/?region=370881001").content.decode()
    shown = dict(re.findall(r'data-figure="(\w+)">(\d+)', page))
    assert {k: shown[k] for k in ("captains", "property_grid_workers", "riders")} == {
        "captains": "3818",
        "property_grid_workers": "65",
        "riders": "126",
    }
