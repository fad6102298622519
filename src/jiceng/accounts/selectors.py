"""Scoped reads of staff accounts and their roles."""

from django.db.models import Prefetch, Q
from django.utils import timezone

from jiceng.accounts.models import ApiToken, GrantBatch, GrantRequest, Membership, User
from jiceng.accounts.roles import ROLES
from jiceng.core.access import require, scope_filter, scope_q, scopes
from jiceng.core.errors import NotFound
from jiceng.core.region_codes import ancestors_of, community_of

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
    codes = [region_code, community_of(region_code)]
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


ACCOUNT_PERMISSIONS = ("users.manage", "security.grant")


def _accounts(actor):
    """Accounts the system administrator manages or the security administrator grants to
    (the platform operator's are neither's)."""
    prefixes = [code for p in ACCOUNT_PERMISSIONS for code in scopes(actor, p)]
    return User.objects.filter(scope_q(prefixes), is_superuser=False)


def user_list(*, actor, query: str = "", role: str = "", region_code: str = ""):
    """The accounts the actor manages: matching `query` (account or name), holding `role`,
    and belonging to or holding a post under `region_code`, where given."""
    users = _accounts(actor)
    if query:
        users = users.filter(Q(username__icontains=query) | Q(full_name__icontains=query))
    if role:
        users = users.filter(
            pk__in=Membership.objects.filter(is_active=True, role=role).values("user_id")
        )
    if region_code:
        posted = Membership.objects.filter(is_active=True, region_code__within=region_code)
        users = users.filter(
            Q(region_code__within=region_code) | Q(pk__in=posted.values("user_id"))
        )
    return (
        users.select_related("department")
        .prefetch_related(
            Prefetch("memberships", queryset=Membership.objects.filter(is_active=True))
        )
        .order_by("region_code", "username")
    )


def user_get(*, actor, pk: int) -> User:
    account = _accounts(actor).filter(pk=pk).first()
    if account is None:
        raise NotFound()
    return account


def grant_requests_pending(*, actor):
    """Grants waiting for a security administrator's signature, in its scope, by batch."""
    require(actor, "security.grant")
    return (
        scope_filter(GrantRequest.objects.all(), actor, "security.grant")
        .filter(status=GrantRequest.Status.PENDING)
        .select_related("user", "batch", "requested_by", "first_signed_by")
        .order_by("batch_id", "pk")
    )


def grant_requests_decided(*, actor):
    require(actor, "security.grant")
    return (
        scope_filter(GrantRequest.objects.all(), actor, "security.grant")
        .exclude(status=GrantRequest.Status.PENDING)
        .select_related("user", "first_signed_by", "second_signed_by", "decided_by")
        .order_by("-decided_at", "-pk")
    )


def grant_batches_pending(*, actor):
    """Batches with grants still waiting in the administrator's scope, newest first."""
    require(actor, "security.grant")
    waiting = grant_requests_pending(actor=actor).filter(batch__isnull=False)
    return (
        scope_filter(GrantBatch.objects.all(), actor, "security.grant")
        .filter(pk__in=waiting.values("batch_id"))
        .select_related("created_by")
        .order_by("-created_at")
    )


def grant_request_get(*, actor, pk: int) -> GrantRequest:
    request = (
        scope_filter(GrantRequest.objects.all(), actor, "security.grant")
        .select_related("user")
        .filter(pk=pk)
        .first()
    )
    if request is None:
        raise NotFound()
    return request


def grant_batch_get(*, actor, pk: int) -> GrantBatch:
    batch = scope_filter(GrantBatch.objects.all(), actor, "security.grant").filter(pk=pk).first()
    if batch is None:
        raise NotFound()
    return batch


def user_grant_requests(*, account: User):
    """An account's grants still waiting (shown on its page to those who may see it)."""
    return account.grant_requests.filter(status=GrantRequest.Status.PENDING).select_related(
        "first_signed_by"
    )


def api_token_list(*, user):
    """One's own tokens, newest first (live and dead, for the record)."""
    return ApiToken.objects.filter(user=user).order_by("-created_at", "-pk")


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


def grid_posts(*, region_codes) -> dict[str, Membership]:
    """The grid worker's post (网格员任职, with its 公开工作电话 and its `user`) of each of
    these grids (one, if several are posted: the earliest)."""
    return {
        m.region_code: m
        for m in Membership.objects.filter(
            region_code__in=list(region_codes), role="grid_worker", is_active=True
        )
        .select_related("user")
        .order_by("region_code", "-id")
    }


def holders_of(permission: str, region_code: str):
    """Active accounts whose role, held at `region_code` or above it and within its term,
    grants `permission` (registered with core.access: whom the kernel tells of an
    approval to decide)."""
    roles = [role.code for role in ROLES.values() if permission in role.permissions]
    today = timezone.localdate()
    held = Q(
        memberships__is_active=True,
        memberships__role__in=roles,
        memberships__region_code__in=[*ancestors_of(region_code), region_code],
        memberships__building__isnull=True,
        memberships__object_id__isnull=True,
    )
    held &= Q(memberships__valid_from__isnull=True) | Q(memberships__valid_from__lte=today)
    held &= Q(memberships__valid_until__isnull=True) | Q(memberships__valid_until__gte=today)
    # One filter(): every condition on the same membership.
    return User.objects.filter(held, is_active=True, is_superuser=False).distinct()


# The roles whose accounts only the server's `jiceng grant` manages (三权分立).
SERVER_MANAGED = ("security_admin", "auditor")


def held_roles(user: User) -> set[str]:
    """Roles the account holds or has pending."""
    return held_roles_of([user.pk])[user.pk]


def held_roles_of(user_ids) -> dict[int, set[str]]:
    held: dict[int, set[str]] = {pk: set() for pk in user_ids}
    for pk, role in Membership.objects.filter(user_id__in=held, is_active=True).values_list(
        "user_id", "role"
    ):
        held[pk].add(role)
    for pk, role in GrantRequest.objects.filter(
        user_id__in=held, status=GrantRequest.Status.PENDING
    ).values_list("user_id", "role"):
        held[pk].add(role)
    return held
