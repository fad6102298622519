"""Goods after they are on the shelf: stock corrected down (盘点), delisted and relisted,
repriced — each audited and only by the store's community; and a counter that remembers
the clerk's store."""

from jiceng.core.actors import Actor
from jiceng.core.models import AuditEvent
from jiceng.points import services
from tests.conftest import client_for

from .conftest import COMMUNITY_A


def _edit(client, store, good, **data):
    return client.post(f"/stores/{store.pk}/goods/{good.pk}/edit/", data)


def _events(action: str) -> list[dict]:
    return list(
        AuditEvent.objects.filter(action=action, outcome="success")
        .order_by("pk")
        .values_list("detail", flat=True)
    )


def test_stock_is_corrected_down_with_a_reason(world, store_a, goods):
    soap = goods["soap"]  # 10 in stock
    manager = client_for(world.a("community_worker"))
    assert (
        _edit(manager, store_a, soap, action="stock", stock="7", reason="破损3块").status_code
        == 302
    )
    soap.refresh_from_db()
    assert soap.stock == 7
    assert _events("good.stock_correct") == [{"from": 10, "to": 7, "reason": "破损3块"}]

    # Up is a restock, not a correction; and a correction needs its reason.
    _edit(manager, store_a, soap, action="stock", stock="12", reason="多了")
    _edit(manager, store_a, soap, action="stock", stock="5", reason="")
    _edit(manager, store_a, soap, action="stock", stock="abc", reason="盘点")
    soap.refresh_from_db()
    assert soap.stock == 7 and len(_events("good.stock_correct")) == 1


def test_goods_are_repriced_and_delisted(world, store_a, goods):
    soap = goods["soap"]
    manager = client_for(world.a("community_worker"))
    _edit(manager, store_a, soap, action="price", price="8")
    soap.refresh_from_db()
    assert soap.price == 8
    assert _events("good.reprice") == [{"from": 5, "to": 8}]
    _edit(manager, store_a, soap, action="price", price="0")
    soap.refresh_from_db()
    assert soap.price == 8

    _edit(manager, store_a, soap, action="delist")
    soap.refresh_from_db()
    assert not soap.is_active and len(_events("good.delist")) == 1
    counter = client_for(store_a.clerk).get(f"/stores/{store_a.pk}/counter/")
    assert "肥皂" not in counter.content.decode()  # not offered any more
    _edit(manager, store_a, soap, action="relist")
    soap.refresh_from_db()
    assert soap.is_active and len(_events("good.relist")) == 1


def test_another_communitys_staff_change_nothing(world, store_a, goods):
    soap = goods["soap"]
    other = client_for(world.b("community_worker"))
    assert _edit(other, store_a, soap, action="price", price="1").status_code == 404
    assert _edit(other, store_a, soap, action="delist").status_code == 404
    soap.refresh_from_db()
    assert (soap.price, soap.is_active) == (5, True)
    # The clerk serves but does not manage.
    assert (
        _edit(client_for(store_a.clerk), store_a, soap, action="price", price="1").status_code
        == 404
    )
    soap.refresh_from_db()
    assert soap.price == 5


def test_the_counter_remembers_the_clerks_store(world, store_a, someone):
    manager = world.a("community_worker")
    second = services.store_create(
        actor=Actor.staff(manager), region_code=COMMUNITY_A, name="城南第二超市"
    )
    services.store_add_clerk(actor=Actor.staff(manager), store=second, clerk=store_a.clerk)
    clerk = client_for(store_a.clerk)
    token = services.personal_code_issue(actor=Actor.of_resident(someone))
    picker = clerk.get(f"/stores/scan/{token}/")
    assert picker.status_code == 200  # two stores and none chosen yet: the clerk picks

    assert clerk.get(f"/stores/{second.pk}/counter/").status_code == 200
    token = services.personal_code_issue(actor=Actor.of_resident(someone))
    scanned = clerk.get(f"/stores/scan/{token}/")
    assert scanned.status_code == 302
    assert scanned["Location"].startswith(f"/stores/{second.pk}/counter/?code=")
    # The store list offers that counter first.
    listed = clerk.get("/stores/").content.decode()
    assert f'data-remembered href="/stores/{second.pk}/counter/"' in listed
