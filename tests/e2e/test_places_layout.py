"""The building and household pages at 360×740: nothing wider than the screen, rooms a few
to a row, and each member's relation and gender on the line of their name."""

from jiceng.places.models import BuildingUnit, Dwelling
from tests import factories
from tests.e2e.conftest import second_factor

SMALL_PHONE = {"width": 360, "height": 740}


def _sign_in(page, live_server, user):
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", factories.PASSWORD)
    page.click("button[type=submit]")
    second_factor(page, user.username)
    page.wait_for_url(f"{live_server.url}/")


def test_building_and_household_pages_at_360(browser, live_server):
    factories.community("370829001001", "城南社区")
    grid = factories.grid("370829001001001", "城南社区第1网格")
    worker = factories.staff("grid_worker", grid.code, username="layout-worker")
    household = factories.household_with_people(grid.code, size=3, name="甲户主")
    building = household.dwelling.building
    unit = BuildingUnit.objects.get(building=building, number=1)
    for room in ["102", "103", "104", "201", "202", "203", "204", "1001"]:
        dwelling = Dwelling.objects.create(
            region_code=grid.code, building=building, unit=unit, room=room
        )
        other = factories.household_with_people(grid.code, name=f"住户{room}")
        other.dwelling = dwelling
        other.save()
    daughter = household.members.order_by("id").last()
    daughter.relation_to_head, daughter.gender, daughter.name = "女", "F", "甲女儿"
    daughter.save()
    context = browser.new_context(viewport=SMALL_PHONE, is_mobile=True, locale="zh-CN")
    page = context.new_page()
    try:
        _sign_in(page, live_server, worker)
        page.goto(f"{live_server.url}/buildings/{building.pk}/")
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
        first_floor = page.locator('.floor[data-floor="1-1"] .room')
        assert first_floor.count() == 4
        tops = {round(first_floor.nth(i).bounding_box()["y"]) for i in range(4)}
        assert len(tops) == 1, "a floor's four rooms fit one row at 360 px"
        page.goto(f"{live_server.url}/households/{household.pk}/")
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
        row = page.locator("tr", has_text="甲女儿")
        name = row.get_by_role("link", name="甲女儿").bounding_box()
        facts = row.get_by_text("女儿 · 女").bounding_box()
        assert abs(name["y"] - facts["y"]) < name["height"], "relation and gender beside the name"
    finally:
        context.close()
