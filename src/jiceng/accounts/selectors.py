"""Scoped reads of staff accounts and their roles."""

from django.db.models import Prefetch, Q

from jiceng.accounts.models import Membership, User
from jiceng.core.access import require, scope_filter
from jiceng.core.errors import NotFound

GRID_ROLES = ("grid_worker", "specialist_grid_worker", "building_captain")


def region_staff(*, user, region_code: str) -> list[Membership]:
    """The grid workers, specialist grid workers and captains posted to one node."""
    require(user, "regions.view", region_code)
    return list(
        Membership.objects.filter(region_code=region_code, role__in=GRID_ROLES, is_active=True)
        .select_related("user__department")
        .order_by("role", "user__full_name")
    )


def _leader_candidates(region_code: str):
    """Accounts that may lead a grid: its own workers and its community's staff."""
    codes = [region_code, region_code[:12]]
    return (
        User.objects.filter(
            is_active=True, memberships__region_code__in=codes, memberships__is_active=True
        )
        .distinct()
        .order_by("full_name", "username")
    )


def account_options(*, user, region_code: str) -> list[tuple[int, str]]:
    require(user, "regions.view", region_code)
    return [
        (u.pk, f"{u.full_name or u.username}（{u.username}）")
        for u in _leader_candidates(region_code)
    ]


def account_get(*, user, pk: int, region_code: str) -> User:
    require(user, "regions.view", region_code)
    account = _leader_candidates(region_code).filter(pk=pk).first()
    if account is None:
        raise NotFound("该账号不能担任本网格的网格长。")
    return account


def user_list(*, actor, query: str = ""):
    users = scope_filter(User.objects.all(), actor, "users.manage")
    if query:
        users = users.filter(Q(username__icontains=query) | Q(full_name__icontains=query))
    return (
        users.select_related("department")
        .prefetch_related(
            Prefetch("memberships", queryset=Membership.objects.filter(is_active=True))
        )
        .order_by("region_code", "username")
    )


def user_get(*, actor, pk: int) -> User:
    account = scope_filter(User.objects.all(), actor, "users.manage").filter(pk=pk).first()
    if account is None:
        raise NotFound()
    return account


def staff_at(*, roles, region_codes):
    """Active accounts holding one of `roles` exactly at one of `region_codes` (who is
    posted where: for dispatching, notifying, and the worker named on a grid's poster)."""
    return (
        User.objects.filter(
            is_active=True,
            memberships__is_active=True,
            memberships__role__in=list(roles),
            memberships__region_code__in=list(region_codes),
        )
        .select_related("department")
        .distinct()
    )


def grid_workers(*, region_codes) -> dict[str, User]:
    """The grid worker of each of these grids (one, if several are posted)."""
    return {
        m.region_code: m.user
        for m in Membership.objects.filter(
            region_code__in=list(region_codes), role="grid_worker", is_active=True
        )
        .select_related("user")
        .order_by("region_code", "-id")
    }
