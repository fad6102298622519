"""The whole way of a request, on phones: a resident scans the grid's code and reports with
a photo; the grid worker takes it on and handles it; the community checks and closes it;
the resident rates it; the figures move."""

import io
import re

from PIL import Image
from playwright.sync_api import expect

from jiceng.cases.catalogue import catalogue_seed
from jiceng.cases.models import Case
from tests.e2e.conftest import PHONE, second_factor
from tests.factories import PASSWORD


def login(page, username):
    page.goto("/accounts/login/")
    page.get_by_label("账号").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    second_factor(page, username)
    expect(page.get_by_role("heading", name=re.compile("您好"))).to_be_visible()


def staff_phone(browser, live_server):
    context = browser.new_context(
        viewport=PHONE, is_mobile=True, locale="zh-CN", base_url=live_server.url
    )
    return context.new_page()


def figure(page, name) -> str:
    return page.locator(f"[data-figure='{name}']").inner_text()


def test_from_qr_code_to_rating(world, phone, browser, live_server, tmp_path):
    catalogue_seed(county_code="370829")
    photo = tmp_path / "light.jpg"
    buffer = io.BytesIO()
    Image.new("RGB", (640, 480), (30, 30, 30)).save(buffer, "JPEG")
    photo.write_bytes(buffer.getvalue())

    community = staff_phone(browser, live_server)
    login(community, world.a("community_worker").username)
    community.goto("/cases/figures/?region=370829001001")
    received_before = int(figure(community, "received"))

    # The resident, no login: the grid's QR code leads here.
    phone.goto(f"/q/{world.grid_a.code}/")
    expect(phone.get_by_role("heading", name=world.grid_a.name)).to_be_visible()
    phone.get_by_label("问题类别").select_option(label="路灯不亮")
    phone.get_by_label("遇到了什么问题").fill("1号楼门口的路灯不亮了，晚上很黑")
    phone.get_by_label("照片（选填，最多3张）").set_input_files(str(photo))
    phone.get_by_label("联系电话（选填，便于回访）").fill("13900006666")
    phone.get_by_role("button", name="提交").click()
    expect(phone.get_by_role("heading", name=re.compile("查询码"))).to_be_visible()
    tracking_url = phone.url
    code = phone.get_by_role("heading", name=re.compile("查询码")).inner_text().split()[-1]
    expect(phone.locator("[data-status]")).to_contain_text("已收到")
    assert "13900006666" not in phone.content()
    case = Case.objects.get(tracking_code=code)
    assert case.photos.count() == 1

    # The grid worker accepts, takes it on and reports the result.
    worker = staff_phone(browser, live_server)
    login(worker, world.a("grid_worker").username)
    worker.goto("/cases/?queue=triage")
    worker.get_by_role("link", name=code).click()
    worker.get_by_role("button", name="立案").click()
    worker.get_by_label("承办").select_option(value=f"user:{world.a('grid_worker').pk}")
    worker.get_by_role("button", name="派单").click()
    worker.get_by_role("button", name="接单").click()
    worker.get_by_label("办理结果").fill("已联系供电公司更换灯泡，恢复照明")
    worker.get_by_label("答复居民").fill("路灯已更换灯泡，恢复照明")
    worker.get_by_role("button", name="办结反馈").click()
    expect(worker.get_by_role("heading", name=re.compile(code))).to_contain_text("待核查")

    # The community checks on site and closes it.
    community.goto("/cases/?queue=check")
    community.get_by_role("link", name=code).click()
    community.get_by_label("核查意见").fill("现场路灯已亮")
    community.get_by_role("button", name="核查通过，结案").click()
    expect(community.get_by_role("heading", name=re.compile(code))).to_contain_text("已办结")

    # The resident sees the reply (not the internal result) and rates it.
    phone.goto(tracking_url)
    expect(phone.locator("[data-status]")).to_contain_text("已办结")
    expect(phone.locator("dd").filter(has_text="路灯已更换灯泡")).to_be_visible()
    expect(phone.get_by_text("已联系供电公司")).to_have_count(0)
    phone.get_by_label("非常满意").check()
    phone.get_by_label("意见（选填）").fill("修得很快")
    phone.get_by_role("button", name="提交评价").click()
    expect(phone.get_by_text("非常满意", exact=True)).to_be_visible()

    case.refresh_from_db()
    assert (case.status, case.rating, case.closed_on_time) == ("closed", 5, True)
    community.goto("/cases/figures/?region=370829001001")
    assert int(figure(community, "received")) == received_before + 1
    assert figure(community, "satisfaction").startswith("100.0")
