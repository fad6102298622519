"""Onboarding grid workers, as a county does it: the system administrator imports accounts
from a spreadsheet, and each first password goes by SMS to its holder; two security
administrators sign the batch on their phones; the new grid worker signs in, must choose a
password, and then sees their grid."""

import re

from openpyxl import Workbook
from playwright.sync_api import expect

from jiceng.accounts.models import Membership, User
from tests.conftest import first_password
from tests.e2e.conftest import second_factor
from tests.factories import PASSWORD


def _sign_in(page, username, password):
    page.goto("/accounts/login/")
    page.get_by_label("账号").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()
    second_factor(page, username)


def _sign_out(page):
    page.get_by_role("button", name="退出").click()


def test_accounts_imported_then_signed_by_two_then_used(world, phone, tmp_path, sms):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["账号*", "姓名*", "手机号", "所属区划*", "角色", "任职区划"])
    sheet.append(["zhangwei", "张伟", "13905371234", "370829001", "专职网格员", world.grid_a.code])
    sheet.append(["lina", "李娜", "13905375678", "370829001", "专职网格员", world.grid_a.code])
    roster = tmp_path / "网格员.xlsx"
    workbook.save(roster)

    _sign_in(phone, world.a("county_admin").username, PASSWORD)
    phone.goto("/accounts/users/")
    phone.get_by_role("link", name="批量导入账号").click()
    phone.get_by_label("账号表").set_input_files(roster)
    phone.get_by_role("button", name="检查并导入").click()
    expect(phone.get_by_role("heading", name="已创建 2 个账号")).to_be_visible()
    first = {"zhangwei": first_password(sms, "13905371234")}
    assert first["zhangwei"] not in phone.content()
    assert not Membership.objects.filter(user__username="zhangwei").exists()
    _sign_out(phone)

    phone.on("dialog", lambda dialog: dialog.accept())  # "签批本批次中……全部 2 项？"
    for security_admin in ("security_admin", "security_admin_2"):
        _sign_in(phone, world.a(security_admin).username, PASSWORD)
        phone.get_by_role("link", name="待审批授权").first.click()
        phone.get_by_role("link", name="查看并签批").click()
        expect(phone.get_by_text("张伟")).to_be_visible()
        phone.get_by_role("button", name="签批全部 2 项").click()
        expect(phone.locator(".messages")).to_contain_text("已签批本批次 2 项")
        _sign_out(phone)
    assert Membership.objects.filter(
        user__username="zhangwei", role="grid_worker", region_code=world.grid_a.code
    ).exists()

    _sign_in(phone, "zhangwei", first["zhangwei"])
    expect(phone).to_have_url(re.compile(r"/accounts/password/"))
    phone.get_by_label("原密码").fill(first["zhangwei"])
    phone.locator("#id_new_password").fill("Zhang-Wei-2026!")
    phone.get_by_label("再次输入新密码").fill("Zhang-Wei-2026!")
    phone.get_by_role("button", name="保存").click()
    expect(phone.get_by_role("heading", name=re.compile("您好"))).to_be_visible()
    phone.get_by_role("link", name=world.grid_a.name).first.click()
    expect(phone.get_by_role("heading", name=re.compile(world.grid_a.name))).to_be_visible()
    assert not User.objects.get(username="zhangwei").password_must_change
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= phone.viewport_size["width"], "the page is wider than the phone"
