"""A grid worker on a phone: logs in, opens their grid, finds a household, sees masked ID
numbers, reveals one (audited), and cannot open another grid's household."""

import re

from playwright.sync_api import expect

from jiceng.core.models import AuditEvent
from tests.e2e.conftest import second_factor
from tests.factories import PASSWORD

MASKED_ID = re.compile(r"^\d{6}\*{8}\d{3}[\dX]")


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
