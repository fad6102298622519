"""Numbers and ids typed by hand into forms and query strings (words, fractions, signs,
exponents, superscript digits, numbers too big for any column) get the
form's own error or are ignored, never a server error."""

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.test import Client

from jiceng.core.actors import Actor
from tests.conftest import client_for
from tests.test_access_matrix import _a_case, _activity, _claim, _patrol, _store, _tracking

PUBLIC = Actor.public("test")

BAD = ["abc", "1.5", "", " ", "9" * 30, "²", "-1", "1e3"]


@dataclass
class Field:
    name: str
    role: str | None  # None: anonymous
    url: Callable
    field: str
    method: str = "post"
    data: Callable = lambda w: {}
    messages: tuple[str, ...] = ()  # one of them is shown (after the redirect, if any)


def _received_case(world):
    from jiceng.cases import services

    case, _ = services.case_submit(
        actor=PUBLIC, channel="qr", region_code=world.grid_a.code, description="井盖"
    )
    return case


FIELDS = [
    Field("intake building", None, lambda w: f"/q/{w.grid_a.code}/", "b", method="get"),
    Field(
        "intake category",
        None,
        lambda w: f"/q/{w.grid_a.code}/",
        "category",
        data=lambda w: {"description": "路灯不亮", "submission": "k"},
    ),
    Field("questions", None, lambda w: f"/q/{w.grid_a.code}/questions/", "category", "get"),
    Field(
        "rating",
        None,
        lambda w: _tracking(w, True, "rate/"),
        "rating",
        messages=("请选择评价等级",),
    ),
    Field(
        "finding building",
        "grid_worker",
        lambda w: f"/patrols/{_patrol(w).pk}/finding/",
        "building",
        data=lambda w: {"description": "井盖松动"},
    ),
    Field(
        "finding category",
        "grid_worker",
        lambda w: f"/patrols/{_patrol(w).pk}/finding/",
        "category",
        data=lambda w: {"description": "井盖松动"},
    ),
    Field(
        "visit household",
        "grid_worker",
        lambda w: f"/patrols/{_patrol(w).pk}/visit/",
        "household",
        data=lambda w: {"notes": "老人身体尚好"},
        messages=("请选择走访的户",),
    ),
    Field(
        "deed rule",
        "community_worker",
        lambda w: "/points/deeds/",
        "rule",
        data=lambda w: (
            _claim(w)
            and {"region": "370829001001", "phone": "13900000001", "description": "扶老人过马路"}
        ),
        messages=("请选择积分规则",),
    ),
    Field(
        "good price",
        "community_worker",
        lambda w: f"/stores/{_store(w).pk}/goods/",
        "price",
        data=lambda w: {"name": "牙膏", "stock": "5"},
        messages=("积分价格和库存须为整数", "请填写商品名称、积分价格"),
    ),
    Field(
        "good stock",
        "community_worker",
        lambda w: f"/stores/{_store(w).pk}/goods/",
        "stock",
        data=lambda w: {"name": "牙膏", "price": "8"},
    ),
    Field(
        "restock quantity",
        "community_worker",
        lambda w: f"/stores/{(s := _store(w)).pk}/goods/{s.goods.get().pk}/restock/",
        "quantity",
        messages=("补货数量须为",),
    ),
    Field(
        "need service type",
        "grid_worker",
        lambda w: "/activities/needs/",
        "service_type",
        data=lambda w: {"region_code": w.grid_a.code, "text": "需要理发"},
    ),
    Field(
        "assign team",
        "community_worker",
        lambda w: f"/activities/{_activity(w, 'published').pk}/act/assign/",
        "team",
        messages=("请选择承办队伍",),
    ),
    Field(
        "venue capacity",
        "community_worker",
        lambda w: "/venues/",
        "capacity",
        data=lambda w: {
            "region_code": "370829001001",
            "name": "甲驿站",
            "kind": "station",
            "opens_at": "08:00",
            "closes_at": "20:00",
        },
        messages=("请完整填写阵地名称、类型、容纳人数和开放时间",),
    ),
    Field(
        "team service types",
        "community_worker",
        lambda w: "/activities/teams/",
        "service_types",
        data=lambda w: {
            "region_code": "370829001001",
            "name": "甲队",
            "leader_phone": "13900000001",
        },
    ),
    Field(
        "accept category",
        "grid_worker",
        lambda w: f"/cases/{_received_case(w).pk}/act/accept/",
        "category",
        messages=("立案前请确认诉求类别",),
    ),
    Field(
        "dispatch target",
        "grid_worker",
        lambda w: f"/cases/{_a_case(w).pk}/act/dispatch/",
        "target",
        messages=("请选择承办人或承办部门",),
    ),
    Field(
        "extension days",
        "grid_worker",
        lambda w: f"/cases/{_a_case(w).pk}/act/request_extension/",
        "days",
        data=lambda w: {"note": "需要协调"},
        messages=("延期",),
    ),
]


@pytest.mark.parametrize("case", FIELDS, ids=lambda f: f.name)
def test_a_malformed_number_is_a_form_error_not_a_server_error(world, case):
    client = client_for(world.a(case.role)) if case.role else Client()
    url = case.url(world)
    base = case.data(world)
    for value in BAD:
        value = f"user:{value}" if case.field == "target" else value
        data = {**base, case.field: value}
        response = client.post(url, data) if case.method == "post" else client.get(url, data)
        assert response.status_code in (200, 302, 400), (value, response.status_code)
        if case.messages:
            page = client.get(response["Location"]) if response.status_code == 302 else response
            text = page.content.decode()
            assert any(m in text for m in case.messages), (value, text[:2000])


def test_a_malformed_quantity_at_the_counter_is_a_form_error(world):
    from jiceng.points.services import personal_code_issue, personal_code_use
    from tests.test_access_matrix import _entry, _resident

    _entry(world)
    store, clerk = _store(world), world.a("store_clerk")
    code = personal_code_issue(actor=Actor.of_resident(_resident(world)))
    scan = personal_code_use(actor=Actor.staff(clerk), store=store, code=code)
    client = client_for(clerk)
    for value in BAD:
        data = {"scan": str(scan.pk), f"qty_{store.goods.get().pk}": value}
        response = client.post(f"/stores/{store.pk}/counter/", data)
        assert response.status_code == 400, (value, response.status_code)
        assert "请选择商品和数量" in response.content.decode()
