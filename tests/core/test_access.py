import pytest

from jiceng.core.access import has_permission, minimal_prefixes, require, scope_filter
from jiceng.core.errors import DomainError, Forbidden, NotFound
from jiceng.places.models import Person


def test_nested_scopes_collapse_to_the_outer_one():
    assert minimal_prefixes(["370829001", "370829", "370830001001"]) == ("370829", "370830001001")


def test_within_matches_the_region_and_below_but_not_its_neighbours(world):
    inside = Person.objects.filter(region_code__within="370829001").values_list("name", flat=True)
    assert "甲测试人" in set(inside)
    assert "乙测试人" not in set(inside)
    # 3708290010 is not a prefix path of 370829002...; a sibling code sharing digits is out
    assert not Person.objects.filter(region_code__within="3708290011").exists()


def test_within_refuses_anything_but_digits(db):
    with pytest.raises(DomainError) as refused:  # from a query string: a 400, not a 500
        list(Person.objects.filter(region_code__within="37%"))
    assert refused.value.code == "bad_region_code"


def test_scope_follows_the_membership(world):
    worker = world.a("grid_worker")
    assert has_permission(worker, "people.view", world.grid_a.code)
    assert not has_permission(worker, "people.view", world.grid_b.code)
    assert not has_permission(worker, "users.manage")
    names = set(scope_filter(Person.objects, worker, "people.view").values_list("name", flat=True))
    assert "甲测试人" in names and "乙测试人" not in names


def test_a_deactivated_account_sees_nothing(world):
    worker = world.a("grid_worker")
    worker.is_active = False
    assert not scope_filter(Person.objects, worker, "people.view").exists()


def test_require_hides_existence_outside_the_scope(world):
    worker = world.a("grid_worker")
    with pytest.raises(NotFound):
        require(worker, "people.view", world.grid_b.code)
    with pytest.raises(Forbidden):
        require(worker, "audit.view")


def test_separation_of_duties(world):
    admin = world.a("county_admin")
    assert has_permission(admin, "users.manage", "370829")
    assert not has_permission(admin, "people.view_sensitive", world.grid_a.code)
    auditor = world.a("auditor")
    assert has_permission(auditor, "audit.view", "370829")
    assert not has_permission(auditor, "people.view", world.grid_a.code)
