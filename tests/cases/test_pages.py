"""The resident's pages and the staff pages, through the test client."""

import re

import pytest
from django.test import Client, override_settings

from jiceng.cases.models import Case, Photo
from jiceng.core.actors import Actor
from jiceng.core.models import AuditEvent
from tests.cases.test_intake import jpeg

PUBLIC = Actor.public("test")


@pytest.fixture
def resident(world, catalogue):
    return Client()


def intake_form(client, grid_code):
    page = client.get(f"/q/{grid_code}/")
    key = re.search(r'name="submission" value="([^"]+)"', page.content.decode()).group(1)
    return page, key


def test_a_resident_submits_with_a_photo_and_gets_a_private_link(world, catalogue, resident):
    page, key = intake_form(resident, world.grid_a.code)
    assert world.grid_a.name in page.content.decode()
    response = resident.post(
        f"/q/{world.grid_a.code}/",
        {
            "category": catalogue["facilities.street-light"].pk,
            "description": "3号楼门口路灯<script>alert(1)</script>不亮",
            "reporter_phone": "13900001111",
            "submission": key,
            "photos": [jpeg()],
        },
    )
    assert response.status_code == 302
    case = Case.objects.get()
    assert response["Location"] == f"/t/{case.tracking_code}/{case.access_token}/"
    assert case.photos.count() == 1 and case.channel == "qr"
    tracking = resident.get(response["Location"]).content.decode()
    assert case.tracking_code in tracking
    assert "已收到" in tracking
    assert "<script>alert(1)</script>" not in tracking and "&lt;script&gt;" in tracking
    assert "13900001111" not in tracking


def test_the_same_form_posted_twice_makes_one_request(world, catalogue, resident):
    _, key = intake_form(resident, world.grid_a.code)
    data = {"description": "楼道灯坏了", "submission": key}
    first = resident.post(f"/q/{world.grid_a.code}/", data)
    second = resident.post(f"/q/{world.grid_a.code}/", data)
    assert first["Location"] == second["Location"]
    assert Case.objects.count() == 1


def test_bad_submissions_get_a_message_and_write_nothing(world, catalogue, resident):
    _, key = intake_form(resident, world.grid_a.code)
    cases = [
        {"description": "x" * 4001, "submission": key},
        {"description": "", "submission": key},
        {"description": "有问题", "submission": key, "category": 999999},
        {"description": "有问题", "submission": key, "photos": [jpeg(), jpeg(), jpeg(), jpeg()]},
    ]
    for data in cases:
        response = resident.post(f"/q/{world.grid_a.code}/", data)
        assert response.status_code == 400, data.keys()
    assert not Case.objects.exists()


def test_a_text_file_is_not_a_photo(world, catalogue, resident):
    from django.core.files.uploadedfile import SimpleUploadedFile

    _, key = intake_form(resident, world.grid_a.code)
    response = resident.post(
        f"/q/{world.grid_a.code}/",
        {
            "description": "有问题",
            "submission": key,
            "photos": [SimpleUploadedFile("x.jpg", b"not an image", "image/jpeg")],
        },
    )
    assert response.status_code == 400
    assert "无法识别的图片" in response.content.decode()
    assert not Case.objects.exists()


@override_settings(JICENG_INTAKE_PER_HOUR_DEVICE=1)
def test_the_page_says_when_the_rate_limit_is_reached(world, catalogue, resident):
    for attempt in range(2):
        _, key = intake_form(resident, world.grid_a.code)
        response = resident.post(
            f"/q/{world.grid_a.code}/", {"description": f"第{attempt}次", "submission": key}
        )
    assert response.status_code == 400
    assert "太频繁" in response.content.decode()
    assert Case.objects.count() == 1


def test_an_unknown_grid_or_a_wrong_token_is_not_found(world, catalogue, resident, submit):
    assert resident.get("/q/370829009009009/").status_code == 404
    case = submit()
    assert resident.get(f"/t/{case.tracking_code}/{case.access_token}x/").status_code == 404
    # The code alone is no dead end: it offers the lookup by the phone's last four digits,
    # and gives nothing of the request away.
    lookup = resident.get(f"/t/{case.tracking_code}/")
    assert lookup.status_code == 200 and "手机号后四位" in lookup.content.decode()
    assert case.access_token not in lookup.content.decode()
    assert case.description not in lookup.content.decode()


def test_the_questions_fragment_follows_the_category(world, catalogue, resident):
    gas = catalogue["facilities.gas"]
    fragment = resident.get(f"/q/{world.grid_a.code}/questions/", {"category": gas.pk})
    assert "是否仍闻到明显气味" in fragment.content.decode()
    other_county = resident.get(f"/q/{world.grid_a.code}/questions/", {"category": "x"})
    assert other_county.content.decode().strip() == ""


def test_staff_flow_through_the_pages(world, catalogue, login, submit):
    case = submit(category=None, reporter_phone="13900002222", reporter_name="王大爷")
    worker, community = login(world.a("grid_worker")), login(world.a("community_worker"))
    page = worker.get(f"/cases/{case.pk}/").content.decode()
    assert "分类建议" in page and "13900002222" not in page and "139****2222" not in page
    assert "仅社区及以上工作人员可见" in page  # the resident did not allow the grid
    assert "139****2222" in community.get(f"/cases/{case.pk}/").content.decode()
    worker.post(f"/cases/{case.pk}/act/accept/", {"category": catalogue["disputes.neighbour"].pk})
    page = worker.get(f"/cases/{case.pk}/").content.decode()
    assert "派单" in page
    worker.post(f"/cases/{case.pk}/act/dispatch/", {"target": f"user:{world.a('grid_worker').pk}"})
    worker.post(f"/cases/{case.pk}/act/start/")
    worker.post(f"/cases/{case.pk}/act/handle/", {"result": "已调解", "photos": [jpeg()]})
    community.post(f"/cases/{case.pk}/act/check/", {"passed": "1", "note": "属实"})
    case.refresh_from_db()
    assert case.status == "closed"
    assert case.photos.filter(kind=Photo.Kind.RESULT).count() == 1
    revealed = community.post(f"/cases/{case.pk}/reporter/").content.decode()
    assert "13900002222" in revealed
    assert AuditEvent.objects.filter(action="case.reveal_reporter").exists()


def test_a_refused_step_shows_a_message(world, catalogue, login, submit):
    case = submit()
    worker = login(world.a("grid_worker"))
    response = worker.post(f"/cases/{case.pk}/act/check/", {"passed": "1"}, follow=True)
    assert "不能核查" in response.content.decode() or "核查" in response.content.decode()
    case.refresh_from_db()
    assert case.status == "received"


def test_a_hidden_reporter_stays_hidden_from_the_handler(world, catalogue, login, submit):
    """A request from before the new default whose resident asked to stay anonymous to
    the handler (对承办人匿名) keeps it, even from a community worker handling it."""
    from jiceng.cases import services

    case = submit(reporter_phone="13900003333")
    Case.objects.filter(pk=case.pk).update(reporter_shown_to="not_handler")
    worker = world.a("community_worker")
    services.case_accept(actor=worker, case=case)
    services.case_dispatch(actor=worker, case=case, handler=worker)
    page = login(worker).get(f"/cases/{case.pk}/").content.decode()
    assert "匿名" in page and "139****3333" not in page
    refused = login(worker).post(f"/cases/{case.pk}/reporter/")
    assert refused.status_code == 400 and "13900003333" not in refused.content.decode()
    assert AuditEvent.objects.filter(
        action="case.reveal_reporter", object_id=str(case.pk), outcome="failure"
    ).exists()


def test_the_staff_entry_form(world, catalogue, login):
    client = login(world.a("grid_worker"))
    page = client.get("/cases/new/").content.decode()
    key = re.search(r'name="submission" value="([^"]+)"', page).group(1)
    data = {
        "region_code": world.grid_a.code,
        "category": catalogue["safety.ebike"].pk,
        "description": "2单元楼道有人给电动车充电",
        "reporter_name": "李阿姨",
        "submission": key,
    }
    first = client.post("/cases/new/", data)
    second = client.post("/cases/new/", data)
    assert first.status_code == second.status_code == 302
    case = Case.objects.get()
    assert (case.channel, case.submitted_by) == ("staff", world.a("grid_worker"))
    data["region_code"] = world.grid_b.code
    refused = client.post("/cases/new/", {**data, "submission": "other"})
    assert refused.status_code == 200 and Case.objects.count() == 1


def test_a_call_about_the_grid_worker_entered_by_staff_goes_to_the_town(world, catalogue, login):
    """A caller complains of their grid worker: the community worker enters it, and it
    lands at the town, naming that worker, as it would from the QR page."""
    client = login(world.a("community_worker"))
    page = client.get("/cases/new/").content.decode()
    assert "反映的是工作人员的问题吗" in page
    key = re.search(r'name="submission" value="([^"]+)"', page).group(1)
    response = client.post(
        "/cases/new/",
        {
            "region_code": world.grid_a.code,
            "description": "网格员上门时态度恶劣",
            "reporter_phone": "13900005555",
            "about_staff": "grid_worker",
            "submission": key,
        },
    )
    assert (response.status_code, response["Location"]) == (302, "/cases/")  # the town's now
    case = Case.objects.get()
    assert (case.about_staff, case.region_code) == (True, "370829001")
    assert (case.named_staff, case.named_grid_code) == (world.a("grid_worker"), world.grid_a.code)


def test_queues_and_supervision(world, catalogue, login, submit, clock):
    from jiceng.cases import services
    from tests.cases.conftest import at

    case = submit()
    worker = world.a("grid_worker")
    services.case_accept(actor=worker, case=case)
    services.case_dispatch(actor=worker, case=case, handler=worker)
    mine = login(worker).get("/cases/?queue=mine").content.decode()
    assert case.tracking_code in mine
    clock.move_to(at(2026, 10, 13, 9, 0))  # due at the end of Oct 13
    town = login(world.a("town_staff")).get("/cases/supervision/").content.decode()
    assert case.tracking_code in town and "黄牌" in town
    clock.move_to(at(2026, 10, 14, 9, 0))
    town = login(world.a("town_staff")).get("/cases/supervision/").content.decode()
    assert "红牌" in town
    other_town = login(world.b("town_staff")).get("/cases/supervision/").content.decode()
    assert case.tracking_code not in other_town


def test_queue_query_counts_do_not_grow(
    world, catalogue, login, submit, django_assert_max_num_queries
):
    client = login(world.a("grid_worker"))
    client.get("/cases/?queue=open")
    town = login(world.a("town_staff"))
    submit()
    town.get("/cases/supervision/")  # region names read once (places.templatetags.regions)
    for _ in range(15):
        submit()
    with django_assert_max_num_queries(12):
        assert client.get("/cases/?queue=open").status_code == 200
    # Two more than the work queue: the communities to filter by and the counts.
    with django_assert_max_num_queries(14):
        assert town.get("/cases/supervision/").status_code == 200


def test_an_unplaced_request_gets_its_grid_at_acceptance(world, catalogue, login, county_staff):
    from jiceng.cases.services import case_submit

    case, _ = case_submit(
        actor=PUBLIC,
        channel="open311",
        region_code="370829",
        description="某处路灯不亮",
        category=catalogue["facilities.street-light"],
    )
    client = login(county_staff)
    page = client.get(f"/cases/{case.pk}/").content.decode()
    assert 'name="grid"' in page
    client.post(f"/cases/{case.pk}/act/accept/", {"category": case.category_id, "grid": "370829"})
    case.refresh_from_db()
    assert case.status == "received"  # a county is not a grid
    client.post(
        f"/cases/{case.pk}/act/accept/", {"category": case.category_id, "grid": world.grid_a.code}
    )
    case.refresh_from_db()
    assert (case.status, case.region_code) == ("accepted", world.grid_a.code)


def test_county_admins_edit_limits_and_questions(world, catalogue, login):
    from jiceng.cases.models import Category

    client = login(world.a("county_admin"))
    noise = catalogue["disputes.noise"]
    data = {
        "name": "噪音扰民", "is_active": "on", "accept_limit": 2, "accept_unit": "hour",
        "handle_limit": 3, "handle_unit": "day", "check_limit": 1, "check_unit": "day",
        "return_limit_days": 2, "max_extension_days": 5, "default_department": "",
    }  # fmt: skip
    assert client.post(f"/settings/catalogue/{noise.pk}/", data).status_code == 302
    noise.refresh_from_db()
    assert (noise.handle_limit, noise.default_department) == (3, None)
    refused = client.post(f"/settings/catalogue/{noise.pk}/", {**data, "handle_limit": 9})
    assert "不能超过10个工作日" in refused.content.decode()
    client.post(
        f"/settings/catalogue/{noise.pk}/questions/",
        {"code": "when", "label": "重复", "datatype": "string"},
    )
    client.post(
        f"/settings/catalogue/{noise.pk}/questions/",
        {"code": "source", "label": "噪音来源", "datatype": "singlevaluelist",
         "values": "home:住户\nshop:商铺", "required": "on"},
    )  # fmt: skip
    questions = list(Category.objects.get(pk=noise.pk).questions.values_list("code", "required"))
    assert questions == [("when", False), ("source", True)]
    definition = client.get("/open311/v2/services/disputes.noise.json").json()
    assert [a["code"] for a in definition["attributes"]] == ["when", "source"]


def test_void_and_merge_ask_before_they_submit(world, catalogue, login, submit):
    case = submit()
    page = login(world.a("community_worker")).get(f"/cases/{case.pk}/").content.decode()
    void = re.search(r"<button[^>]*>作废</button>", page).group(0)
    merge = re.search(r"<button[^>]*>合并</button>", page).group(0)
    assert 'data-confirm="' in void and "确定作废" in void
    assert 'data-confirm="' in merge and "确定合并" in merge
    page = login(world.a("grid_worker")).get(f"/cases/{case.pk}/").content.decode()
    proposal = re.search(r"<button[^>]*>申请作废（社区确认）</button>", page).group(0)
    assert 'data-confirm="' in proposal and "确定申请作废" in proposal
    assert "确定合并" not in page  # a grid's worker proposes a duplicate's void instead


def test_both_timelines_say_how_each_decision_went(world, catalogue, login, submit, client):
    from jiceng.cases import services

    case = submit()
    worker, community = world.a("grid_worker"), world.a("community_worker")
    services.case_accept(actor=worker, case=case)
    services.case_dispatch(actor=worker, case=case, handler=worker)
    services.case_start(actor=worker, case=case)
    services.case_request_extension(actor=worker, case=case, days=2, reason="等配件")
    services.case_decide_extension(actor=community, case=case, approve=True)
    services.case_request_extension(actor=worker, case=case, days=1, reason="还要一天")
    services.case_decide_extension(actor=community, case=case, approve=False, note="不批")
    services.case_handle(actor=worker, case=case, result="已修")
    services.case_check(actor=community, case=case, passed=False, note="仍漏水")
    services.case_start(actor=worker, case=case)
    services.case_handle(actor=worker, case=case, result="已重修")
    services.case_check(actor=community, case=case, passed=True)
    services.case_rate(actor=PUBLIC, case=case, rating=Case.Rating.SATISFIED)
    assert case.events.get(action="decide_extension", data__approved=True).data["days"] == 2
    staff_page = login(worker).get(f"/cases/{case.pk}/").content.decode()
    case.refresh_from_db()
    tracking = client.get(f"/t/{case.tracking_code}/{case.access_token}/").content.decode()
    for page in (staff_page, tracking):
        for said in ("批准延期2个工作日", "不批准延期", "核查未通过，返工", "核查通过，结案"):
            assert said in page
        assert "评价：满意" in page


def test_the_intake_form_lists_buildings_by_their_number(world, catalogue, client):
    from jiceng.places.models import Building

    for name in ("10号楼", "商铺", "2号楼", "1号楼"):
        Building.objects.get_or_create(region_code=world.grid_a.code, name=name)
    page = client.get(f"/q/{world.grid_a.code}/").content.decode()
    order = [page.index(f">{name}</option>") for name in ("1号楼", "2号楼", "10号楼", "商铺")]
    assert order == sorted(order)


def test_the_dispatch_form_has_its_own_ids_and_no_stray_colons(world, catalogue, login, submit):
    from jiceng.cases import services

    case = submit()
    services.case_accept(actor=world.a("grid_worker"), case=case)
    page = login(world.a("grid_worker")).get(f"/cases/{case.pk}/").content.decode()
    ids = re.findall(r'\bid="([^"]+)"', page)
    assert len(ids) == len(set(ids))
    assert 'for="id_note">内部备注' in page
    assert "承办:" not in page and "派单说明:" not in page
    assert ">承办</label>" in page and ">派单说明</label>" in page
