"""Dangerous defaults: forms open on a neutral 请选择, a role's region is picked level by
level among the granter's regions (no typed codes), and what cannot be undone asks first."""

import re
from pathlib import Path

from jiceng.accounts.models import GrantRequest, Membership
from jiceng.places.widgets import picked

SRC = Path(__file__).resolve().parents[2] / "src" / "jiceng"


def _select(page: str, name: str) -> str:
    found = re.findall(rf'<select name="{name}"[^>]*>(.*?)</select>', page, flags=re.S)
    assert found, f"no select {name}"
    return found


def _selected(options: str) -> str:
    """The option a browser shows first: the one marked selected, else the first one."""
    marked = re.search(r'<option value="([^"]*)"[^>]*\bselected\b', options)
    return (marked or re.search(r'<option value="([^"]*)"', options)).group(1)


def test_the_role_grant_opens_on_no_role_and_no_region(world, login):
    page = login(world.a("county_admin")).get(f"/accounts/users/{world.a('grid_worker').pk}/")
    page = page.content.decode()
    assert _selected(_select(page, "role")[0]) == ""
    regions = _select(page, "region_code")
    assert [_selected(s) for s in regions] == [""]
    assert "嘉祥县" in regions[0]
    assert not re.search(r'<input[^>]*name="region_code"', page), "no typed region code"


def test_the_picker_steps_down_town_community_grid_and_the_grant_lands_there(world, login):
    admin = login(world.a("county_admin"))
    url = "/region-picker/?name=region_code&for=users.manage"
    towns = admin.get(url + "&region_code=370829").content.decode()
    assert "嘉祥街道" in towns and "城南社区" not in towns
    communities = admin.get(url + "&region_code=370829&region_code=370829001").content.decode()
    assert "城南社区" in communities and "卧龙山社区" not in communities
    grids = admin.get(
        url + "&region_code=370829&region_code=370829001&region_code=370829001001"
    ).content.decode()
    assert "城南社区第2网格" in grids
    assert [_selected(s) for s in _select(grids, "region_code")] == [
        "370829",
        "370829001",
        "370829001001",
        "",
    ]
    account = world.b("grid_worker").__class__.objects.create(
        username="picked", full_name="新人", region_code="370829"
    )
    admin.post(
        f"/accounts/users/{account.pk}/grant/",
        {
            "role": "store_clerk",
            "region_code": ["370829", "370829001", "370829001001", ""],
        },
    )
    assert list(Membership.objects.filter(user=account).values_list("role", "region_code")) == [
        ("store_clerk", "370829001001")
    ]


def test_a_grant_without_a_role_or_outside_the_scope_grants_nothing(world, login):
    admin = login(world.a("county_admin"))
    account = world.a("grid_worker")
    before = set(Membership.objects.values_list("pk", flat=True))
    admin.post(f"/accounts/users/{account.pk}/grant/", {"region_code": ["370829"]})
    admin.post(
        f"/accounts/users/{account.pk}/grant/", {"role": "store_clerk", "region_code": ["370830"]}
    )
    assert set(Membership.objects.values_list("pk", flat=True)) == before
    assert not GrantRequest.objects.filter(user=account).exists()
    # The other county's administrator is shown its own county, never A's towns.
    other = login(world.b("county_admin"))
    page = other.get("/region-picker/?name=region_code&for=users.manage&region_code=370829")
    assert "嘉祥街道" not in page.content.decode()


def test_a_choice_changed_above_drops_the_stale_choices_below():
    roots = ("370829",)
    assert picked(["370829", "370829002", "370829001001"], roots) == "370829002"
    assert picked(["370829", "370829001", "370829001001", ""], roots) == "370829001001"
    assert picked(["370830"], roots) == ""


def test_the_good_deed_form_opens_on_no_rule(world, login):
    from jiceng.points import services

    manager = world.a("community_worker")
    services.rule_create(
        actor=manager, region_code="370829001001", name="乱扔垃圾", kind="deduction", points=5
    )
    page = login(manager).get("/points/?region=370829001001").content.decode()
    assert _selected(_select(page, "rule")[0]) == ""


IRREVERSIBLE = re.compile(
    r"{% url '(points:reverse|accounts:user_set_active|accounts:token_revoke|accounts:user_revoke)'"
    r"|{% url 'cases:act' case.pk '(void|merge)' %}"
)


def test_every_irreversible_action_asks_first():
    """作废, 合并, 冲正, 停用账号, 吊销, 撤销: the form or its button carries data-confirm, which
    core/static/jiceng/confirm.js turns into a question."""
    unasked, found = [], 0
    for template in SRC.glob("*/templates/**/*.html"):
        text = template.read_text()
        for form in re.findall(r"<form\b.*?</form>", text, flags=re.S):
            if IRREVERSIBLE.search(form.split(">", 1)[0]):
                found += 1
                if "data-confirm=" not in form:
                    unasked.append(f"{template.relative_to(SRC)}: {form[:80]}")
    assert found >= 5
    assert unasked == []
