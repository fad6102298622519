"""REST API for regions, grids, households and persons: scoped and masked like the pages."""

from django.db.models import Count
from ninja import Field, Router, Schema
from ninja.pagination import paginate

from jiceng.core import personal
from jiceng.core.access import require, scope_filter
from jiceng.core.actors import Actor
from jiceng.core.errors import DomainError
from jiceng.core.masking import SPECIAL_GROUPS_MASK, age_band, mask_id_number, mask_phone
from jiceng.core.region_codes import MAX_LENGTH
from jiceng.places import selectors, services
from jiceng.places.models import Person, Region

router = Router(tags=["区划与人口"])


class RegionOut(Schema):
    code: str
    name: str
    level: str
    parent_code: str | None = Field(None, alias="parent_id")
    is_statutory: bool
    is_rural: bool


class GridOut(RegionOut):
    grid_kind: str
    leader: str | None = None
    boundary: dict | None = None

    @staticmethod
    def resolve_leader(obj):
        return str(obj.leader) if obj.leader_id else None


class HouseholdOut(Schema):
    id: int
    region_code: str
    number: str
    address: str
    head_name: str | None = None
    member_count: int = 0

    @staticmethod
    def resolve_head_name(obj):
        return obj.head.name if obj.head_id else None


class PersonOut(Schema):
    id: int
    region_code: str
    household_id: int | None
    name: str
    gender: str
    age_band: str = Field(description="十岁一档的年龄段，如 30–39岁（不给出生年份）")
    id_number: str = Field(description="脱敏；明文须调用 reveal")
    phone: str = Field(description="脱敏；明文须调用 reveal")
    ethnicity: str
    political_status: str
    relation_to_head: str
    residence_type: str
    special_groups: str = Field(description="脱敏：有无都显示******，明文须调用 reveal")

    @staticmethod
    def resolve_age_band(obj):
        return age_band(obj.birth_date)

    @staticmethod
    def resolve_id_number(obj):
        return mask_id_number(obj.id_number)

    @staticmethod
    def resolve_phone(obj):
        return mask_phone(obj.phone)

    @staticmethod
    def resolve_special_groups(obj):
        return SPECIAL_GROUPS_MASK


class RevealIn(Schema):
    field: str = Field(description="id_number、phone 或 special_groups")


class RevealOut(Schema):
    field: str
    value: str


@router.get(
    "/regions", response=list[RegionOut], summary="下级区划（不带 parent 时为本人可见的顶层）"
)
def region_list(request, parent: str | None = None):
    if parent:
        region = selectors.region_get(user=request.user, code=parent)
        return list(region.children.order_by("code"))
    return selectors.regions_visible(user=request.user)


@router.get("/regions/{code}", response=RegionOut, summary="一个区划节点")
def region_detail(request, code: str):
    return selectors.region_get(user=request.user, code=code)


@router.get("/grids", response=list[GridOut], summary="网格列表")
@paginate
def grid_list(request, within: str | None = None):
    grids = Region.objects.filter(level=Region.Level.GRID)
    grids = scope_filter(grids, request.user, "regions.view", "code")
    if within:
        require(request.user, "regions.view", _digits(within))
        grids = grids.filter(code__within=within)
    return grids.select_related("leader").order_by("code")


@router.get("/grids/{code}", response=GridOut, summary="一个网格")
def grid_detail(request, code: str):
    region = selectors.region_get(user=request.user, code=code)
    if not region.is_grid:
        raise DomainError("该编码不是网格。", code="not_grid")
    return region


@router.get("/households", response=list[HouseholdOut], summary="户列表")
@paginate
def household_list(request, within: str | None = None):
    if within:
        require(request.user, "people.view", _digits(within))
    return (
        selectors.household_list(user=request.user, region_code=within)
        .annotate(member_count=Count("members"))
        .order_by("region_code", "number")
    )


@router.get("/households/{household_id}", response=HouseholdOut, summary="一户")
def household_detail(request, household_id: int):
    household = selectors.household_get(user=request.user, pk=household_id)
    household.member_count = household.members.count()
    return household


@router.get("/persons", response=list[PersonOut], summary="人员列表或搜索（脱敏）")
@paginate
def person_list(request, within: str | None = None, q: str | None = None):
    if within:
        require(request.user, "people.view", _digits(within))
    if q:
        return selectors.person_search(user=request.user, query=q, region_code=within)
    return selectors.person_list(user=request.user, region_code=within).order_by(
        "region_code", "id"
    )


@router.get("/persons/{person_id}", response=PersonOut, summary="一名人员（脱敏）")
def person_detail(request, person_id: int):
    return selectors.person_get(user=request.user, pk=person_id)


@router.post("/persons/{person_id}/reveal", response=RevealOut, summary="查看一项明文（记入审计）")
def person_reveal(request, person_id: int, payload: RevealIn):
    person: Person = personal.reveal_target(
        actor=request.user, action="person.reveal", object_type="places.person",
        object_id=person_id, find=lambda: selectors.person_get(user=request.user, pk=person_id),
    )  # fmt: skip
    value = services.person_reveal(actor=Actor.of(request), person=person, field=payload.field)
    return RevealOut(field=payload.field, value=value)


def _digits(code: str) -> str:
    if not code.isdigit() or len(code) > MAX_LENGTH:
        raise DomainError("区划编码只能由数字组成。", code="bad_region_code")
    return code
