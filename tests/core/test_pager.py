"""Lists never stop silently: every staff list is paged by the one pager, which shows the
total (counted no further than COUNT_CAP: "1万+" above it), and the account list filters
by role and region."""

import datetime
import re

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from jiceng.accounts.models import User
from jiceng.core import pagination
from jiceng.core.pagination import CappedPaginator
from jiceng.gatherings import services as gatherings
from tests import factories


def _names(page: str) -> set[str]:
    return set(re.findall(r'href="/accounts/users/\d+/">([^<]+)</a>', page))


def test_the_account_list_pages_with_a_total_and_filters_by_role_and_region(world, login):
    for i in range(55):
        factories.staff("store_clerk", "370829001001", username=f"clerk-{i:02d}")
    admin = login(world.a("county_admin"))
    total = User.objects.filter(region_code__startswith="370829").count()
    first = admin.get("/accounts/users/").content.decode()
    assert f"共 {total} 条" in first
    second = admin.get("/accounts/users/?page=2").content.decode()
    shown = _names(first) | _names(second)
    assert len(_names(first)) == 50
    assert {f"clerk-{i:02d}" for i in range(55)} <= shown
    clerks = admin.get("/accounts/users/?role=store_clerk").content.decode()
    assert "共 57 条" in clerks  # 55, and the store clerks of both sides of the county
    assert all(
        name.startswith(("clerk-", "a-store_clerk", "b-store_clerk")) for name in _names(clerks)
    )
    town_b = _names(admin.get("/accounts/users/?region=370829&region=370829002").content.decode())
    assert town_b and all(name.startswith("b-") for name in town_b)
    both = admin.get("/accounts/users/?role=grid_worker&region=370829&region=370829002")
    assert _names(both.content.decode()) == {"b-grid_worker"}


def test_a_total_past_the_cap_reads_as_capped_and_counts_no_further(world, monkeypatch):
    monkeypatch.setattr(pagination, "COUNT_CAP", 5)
    paginator = CappedPaginator(User.objects.order_by("pk"), 2)
    with CaptureQueriesContext(connection) as counted:
        label = paginator.total_label
    assert (label, paginator.count, paginator.is_capped) == ("5+", 6, True)
    assert "LIMIT 6" in counted.captured_queries[0]["sql"].upper()
    monkeypatch.setattr(pagination, "COUNT_CAP", 10_000)
    assert CappedPaginator(User.objects.order_by("pk"), 2).total_label == str(User.objects.count())
    monkeypatch.setattr(pagination, "COUNT_CAP", 20_000)
    paginator = CappedPaginator(list(range(20_001)), 50)
    assert paginator.total_label == "2万+"


def test_patrols_inbox_venues_and_tokens_are_paged(world, login):
    from jiceng.accounts.services import api_token_issue
    from jiceng.core.actors import Actor
    from jiceng.patrols import services as patrols

    worker, manager = world.a("grid_worker"), world.a("community_worker")
    now = timezone.now()
    for i in range(31):
        patrols.patrol_log(
            actor=worker, grid=world.grid_a, started_at=now - datetime.timedelta(hours=i),
            ended_at=now - datetime.timedelta(hours=i), buildings=[],
        )  # fmt: skip
    for i in range(51):
        gatherings.venue_create(
            actor=manager, region_code="370829001001", name=f"驿站{i}", kind="station",
            capacity=30, opens_at=datetime.time(8), closes_at=datetime.time(20),
        )  # fmt: skip
        api_token_issue(actor=Actor.staff(worker), name=f"令牌{i}")
    pages = {
        "/patrols/": (worker, "共 31 条"),
        "/venues/": (manager, "共 51 条"),
        "/accounts/tokens/": (worker, "共 51 条"),
    }
    for url, (user, total) in pages.items():
        page = login(user).get(url).content.decode()
        assert total in page, url
        assert "下一页" in page, url


def test_capped_tables_say_that_they_are_capped(world, login, monkeypatch):
    """Patrol coverage per grid and a grid's organisations are tables, not pages: past
    their size the page says so rather than stopping silently."""
    from jiceng.patrols import selectors as patrols
    from jiceng.places.models import Organization

    monkeypatch.setattr(patrols, "COVERAGE_GRIDS", 1)
    factories.grid("370829001001002", "城南社区第2网格")
    town = login(world.a("town_staff")).get("/patrols/").content.decode()
    assert "data-more" in town and "请选择乡镇或社区查看其余网格" in town

    grid = world.grid_a.code
    Organization.objects.bulk_create(
        Organization(region_code=grid, name=f"单位{i:03d}", kind="enterprise") for i in range(201)
    )
    page = login(world.a("community_worker")).get(f"/regions/{grid}/").content.decode()
    assert "实有单位（200+）" in page and "只列出按名称排序的前 200 个单位" in page
    assert page.count('data-label="从业人数"') == 200
