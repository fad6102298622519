"""What residents read about points: their community's stores (goods, prices, place and
hours), and the ranking board stepping from the latest period that has entries."""

import datetime

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from jiceng.core.actors import Actor
from jiceng.points import services
from tests.test_access_matrix import _resident, _store

from .conftest import COMMUNITY_A


def _phone(world, side: str = "a") -> Client:
    client = Client()
    session = client.session
    session["resident_id"] = _resident(world, side).pk
    session.save()
    return client


def test_residents_see_their_communitys_stores_goods_and_hours(world):
    store = _store(world)
    _store(world, "b")
    manager = Actor.staff(world.a("community_worker"))
    services.store_update(actor=manager, store=store, address="城南路8号", hours="每天 8:30–17:30")
    gone = services.good_create(actor=manager, store=store, name="旧毛巾", price=3, stock=1)
    services.good_set_listed(actor=manager, good=gone, listed=False)

    page = _phone(world).get("/me/stores/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "a文明超市" in text and "城南路8号" in text and "每天 8:30–17:30" in text
    assert "肥皂" in text and 'data-price="5"' in text
    assert "旧毛巾" not in text  # delisted
    assert "b文明超市" not in text  # another community's
    assert "/me/stores/" in _phone(world).get("/me/").content.decode()


def test_the_board_opens_on_the_latest_period_with_entries(world, award, someone):
    earlier = timezone.now() - datetime.timedelta(days=62)
    with time_machine.travel(earlier):
        award(someone, 12)
    month = timezone.localtime(earlier)
    page = Client().get(f"/rank/{COMMUNITY_A}/")
    text = page.content.decode()
    assert page.status_code == 200
    assert f"{month.year}年{month.month}月积分榜" in text
    assert "data-rank-name" in text and ">12<" in text
    # ‹ › step a month; no box to type a period in.
    previous = (month.replace(day=1) - datetime.timedelta(days=1)).strftime("%Y-%m")
    assert f'href="?period={previous}&amp;kind=resident"' in text
    assert 'name="period"' not in text


def test_a_bad_period_gives_the_resident_page(world, award, someone):
    award(someone, 3)
    page = Client().get(f"/rank/{COMMUNITY_A}/?period=2026-13")
    assert page.status_code == 200
    text = page.content.decode()
    assert "居民服务" in text and "期间" in text and "data-rank-name" in text


@pytest.mark.parametrize("period", ["2026-99999999999999999999", "99999999999999999999-1", "2100"])
def test_an_absurd_period_gives_the_resident_page(world, award, someone, period):
    award(someone, 3)
    page = Client().get(f"/rank/{COMMUNITY_A}/", {"period": period})
    assert page.status_code == 200 and "期间" in page.content.decode()
