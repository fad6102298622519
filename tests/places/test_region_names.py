"""Names, not codes: pages name a region (城南社区第1网格) wherever they would show its code,
through the one filter over a cached code → name map (one query per county, not per row)."""

import re

from django.db import connection
from django.template import Context, Template
from django.test.utils import CaptureQueriesContext

from jiceng.places import region_names
from tests import factories
from tests.test_list_queries import LISTS, Rows, _client, grow

# A region code as text: 9 (town), 12 (community) or 15 (grid) digits of 嘉祥县.
CODE = re.compile(r"(?<![\d*])370829\d{3}(?:\d{3}){0,2}(?![\d*])")
# Pages that show a code on purpose: the region browser names each node's code, feeds
# carry addresses, the API and Open311 carry codes as data.
SHOWS_CODES = {"grid", "community", "ical", "rss", "open311 requests"}


def _text(html: str) -> str:
    """What a reader sees: the page without its tags (attributes hold codes as data)."""
    html = re.sub(r"<(script|style|datalist)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"<[^>]+>", " ", html)


def test_no_staff_or_resident_page_shows_a_region_code_as_text(world):
    rows = Rows()
    grow(world, rows, 1)
    shown = {}
    for name, item in LISTS.items():
        if item.api or name in SHOWS_CODES:
            continue
        client, headers = _client(world, item)
        response = client.get(item.url(world, rows), headers=headers)
        assert response.status_code == 200, name
        if not response["Content-Type"].startswith("text/html"):
            continue  # an export: its columns are tested with it
        codes = CODE.findall(_text(response.content.decode()))
        if codes:
            shown[name] = sorted(set(codes))
    assert shown == {}


def test_the_names_of_a_county_are_read_in_one_query_and_kept(world):
    for i in range(5):
        factories.grid(f"370829001001{200 + i}", f"城南社区第{200 + i}网格")
    template = Template("{% load regions %}{% for c in codes %}{{ c|region_name }};{% endfor %}")
    codes = [f"370829001001{200 + i}" for i in range(5)] + ["370829001001", "370829999999"]
    with CaptureQueriesContext(connection) as first:
        text = template.render(Context({"codes": codes}))
    assert text.split(";")[:7] == [
        *(f"城南社区第{200 + i}网格" for i in range(5)),
        "城南社区",
        "370829999999",  # no such region: its code
    ]
    assert len(first.captured_queries) == 1
    with CaptureQueriesContext(connection) as again:
        template.render(Context({"codes": codes}))
    assert again.captured_queries == []


def test_a_renamed_region_is_named_anew(world):
    assert region_names.region_name(world.grid_a.code) == world.grid_a.name
    world.grid_a.name = "城南社区新一网格"
    world.grid_a.save()
    assert region_names.region_name(world.grid_a.code) == "城南社区新一网格"
