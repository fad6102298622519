"""A grid worker on a phone: logs in, opens their grid, finds a household, sees masked ID
numbers, reveals one (audited), and cannot open another grid's household; past the
reveal quota, the page says so where the value would be and leads to asking for more."""

import re

from playwright.sync_api import expect

from jiceng.core import personal
from jiceng.core.models import Approval, AuditEvent
from tests.e2e.conftest import second_factor
from tests.factories import PASSWORD

MASKED_ID = re.compile(r"^\d{6}\*{8}\d{3}[\dX]")


def _sign_in(phone, worker) -> None:
    phone.goto("/accounts/login/")
    phone.get_by_label("账号").fill(worker.username)
    phone.get_by_label("密码").fill(PASSWORD)
    phone.get_by_role("button", name="登录").click()
    second_factor(phone, worker.username)
    expect(phone.get_by_role("heading", name=re.compile("您好"))).to_be_visible()


def test_grid_worker_finds_a_household_with_masked_ids(world, phone):
    worker = world.a("grid_worker")
    household = world.household_a
    head = household.head

    phone.goto("/")
    expect(phone).to_have_url(re.compile(r"/accounts/login/"))
    phone.get_by_label("账号").fill(worker.username)
    phone.get_by_label("密码").fill(PASSWORD)
    phone.get_by_role("button", name="登录").click()
    second_factor(phone, worker.username)

    expect(phone.get_by_role("heading", name=re.compile("您好"))).to_be_visible()
    phone.get_by_role("link", name=world.grid_a.name).first.click()
    expect(phone.get_by_role("heading", name=re.compile(world.grid_a.name))).to_be_visible()

    phone.get_by_role("link", name=household.dwelling.building.name).click()
    # the building page lays rooms out by floor; each room names its household by title
    phone.locator(f'a.room[title="户号{household.number}"]').click()
    expect(phone.get_by_role("heading", name=f"户号 {household.number}")).to_be_visible()

    row = phone.get_by_role("row").filter(has_text=head.name)
    id_cell = row.locator("td[data-label='身份证号'] .reveal")
    masked = id_cell.inner_text().replace("查看", "").strip()
    assert MASKED_ID.match(masked), masked
    assert head.id_number not in phone.content()

    id_cell.get_by_role("button", name="查看").click()
    expect(row.locator(".revealed")).to_have_text(head.id_number)
    assert AuditEvent.objects.filter(
        action="person.reveal", actor=worker, object_id=str(head.pk), outcome="success"
    ).exists()

    response = phone.goto(f"/households/{world.household_b.pk}/")
    assert response.status == 404
    expect(phone.get_by_role("heading", name="未找到")).to_be_visible()
    assert world.household_b.head.name not in phone.content()


def test_past_the_quota_the_page_says_so_and_leads_to_asking_for_more(world, phone, settings):
    settings.JICENG_REVEAL_PER_HOUR = 1
    worker, person = world.a("grid_worker"), world.person_a
    _sign_in(phone, worker)
    phone.goto(f"/persons/{person.pk}/")
    phone.get_by_role("button", name="查看身份证号明文").click()
    expect(phone.locator(".revealed")).to_have_text(personal.clear(person.id_number))
    phone.get_by_role("button", name="查看电话明文").click()
    refusal = phone.locator(".refused")
    expect(refusal).to_contain_text("已达上限")
    assert personal.clear(person.phone) not in phone.content()
    refusal.get_by_role("link", name="申请增加额度").click()
    expect(phone.get_by_role("heading", name="申请增加查看额度")).to_be_visible()
    phone.get_by_label("理由").fill("入户核对人口信息")
    phone.get_by_role("button", name="提交申请").click()
    expect(phone.get_by_role("heading", name="增加查看明文额度")).to_be_visible()
    assert Approval.objects.filter(
        kind="core.reveal_more", requested_by=worker, status=Approval.Status.PENDING
    ).exists()
