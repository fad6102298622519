"""REST API for the party register: organizations (listed, read, created), their members
(masked; entered), organization life (listed, read) and the quarter's completeness — the
same selectors, services, scope and masking as the pages."""

import datetime

from ninja import Field, Router, Schema
from ninja.pagination import paginate

from jiceng.core.actors import Actor
from jiceng.core.errors import DomainError
from jiceng.core.masking import mask_id_number
from jiceng.core.personal import clear
from jiceng.party import selectors, services
from jiceng.party.models import PartyMember, PartyOrganization
from jiceng.places.selectors import person_get

router = Router(tags=["党组织、党员与组织生活"])


class OrganizationOut(Schema):
    id: int
    region_code: str
    name: str
    kind: str
    kind_label: str = Field(alias="get_kind_display")
    parent: int | None = Field(None, alias="parent_id")
    founded_on: datetime.date | None
    term_started_on: datetime.date | None
    term_ends_on: datetime.date | None
    closed_on: datetime.date | None
    secretary: str | None = Field(None, alias="secretary_name")
    members: int = Field(0, alias="member_count")


@router.get(
    "/party/organizations", response=list[OrganizationOut], summary="党组织（本人辖区或所任支部）"
)
@paginate
def organization_list(request, region: str | None = None, kind: str = ""):
    organizations = selectors._organizations(request.user).filter(closed_on__isnull=True)
    if region:
        organizations = organizations.filter(region_code__within=region)
    if kind:
        organizations = organizations.filter(kind=kind)
    return selectors.with_secretary(organizations).order_by("region_code", "kind", "name", "pk")


def _organization(request, pk: int) -> PartyOrganization:
    found = selectors.with_secretary(
        PartyOrganization.objects.filter(pk=selectors.organization_get(user=request.user, pk=pk).pk)
    )
    return found.get()


@router.get(
    "/party/organizations/{organization_id}", response=OrganizationOut, summary="一个党组织"
)
def organization_detail(request, organization_id: int):
    return _organization(request, organization_id)


class OrganizationIn(Schema):
    kind: str
    name: str
    region_code: str
    parent: int | None = Field(None, description="上级党组织 id（县委之外必填）")
    founded_on: datetime.date | None = None
    term_started_on: datetime.date | None = None


@router.post("/party/organizations", response={201: OrganizationOut}, summary="成立党组织")
def organization_create(request, payload: OrganizationIn):
    parent = (
        selectors.organization_get(user=request.user, pk=payload.parent) if payload.parent else None
    )
    created = services.organization_create(
        actor=Actor.staff(request.user),
        kind=payload.kind,
        name=payload.name,
        region_code=payload.region_code,
        parent=parent,
        founded_on=payload.founded_on,
        term_started_on=payload.term_started_on,
    )
    return 201, _organization(request, created.pk)


class MemberOut(Schema):
    id: int
    organization: int = Field(alias="organization_id")
    name: str
    id_number: str = Field(description="脱敏")
    category: str
    joined_on: datetime.date | None
    full_on: datetime.date | None
    probation_ends_on: datetime.date | None
    work_unit: str
    mobility: str
    mobility_place: str
    person: int | None = Field(None, alias="person_id", description="实有人口（已关联时）")

    @staticmethod
    def resolve_id_number(obj: PartyMember) -> str:
        return mask_id_number(clear(obj.known_id_number))


@router.get(
    "/party/organizations/{organization_id}/members",
    response=list[MemberOut],
    summary="党员（脱敏）",
)
@paginate
def member_list(request, organization_id: int):
    organization = selectors.organization_get(user=request.user, pk=organization_id)
    return selectors.member_list(user=request.user, organization=organization)


class MemberIn(Schema):
    person: int | None = Field(
        None, description="实有人口 id（在本人查看范围内）；无则填姓名和身份证号"
    )
    name: str = ""
    id_number: str = ""
    phone: str = ""
    category: str = PartyMember.Category.FULL
    joined_on: datetime.date | None = None
    full_on: datetime.date | None = None
    work_unit: str = ""
    mobility: str = ""
    mobility_place: str = ""


@router.post(
    "/party/organizations/{organization_id}/members",
    response={201: MemberOut},
    summary="登记党员",
)
def member_create(request, organization_id: int, payload: MemberIn):
    organization = selectors.organization_get(user=request.user, pk=organization_id)
    person = person_get(user=request.user, pk=payload.person) if payload.person else None
    member = services.member_add(
        actor=Actor.staff(request.user),
        organization=organization,
        person=person,
        **payload.dict(exclude={"person"}),
    )
    return 201, selectors.member_get(user=request.user, pk=member.pk)


class MeetingOut(Schema):
    id: int
    organization: int = Field(alias="organization_id")
    kind: str
    kind_label: str = Field(alias="get_kind_display")
    title: str = Field(alias="gathering.title")
    gathering: int = Field(alias="gathering_id", description="时间地点与出勤（/gatherings）")
    held_on: datetime.date
    starts_at: datetime.datetime = Field(alias="gathering.starts_at")
    phase: str = Field(alias="gathering.phase")
    theme: str | None = None
    minutes_filed: bool = Field(alias="is_held")

    @staticmethod
    def resolve_theme(obj):
        return obj.theme.title if obj.theme_id else None


@router.get(
    "/party/organizations/{organization_id}/meetings",
    response=list[MeetingOut],
    summary="组织生活",
)
@paginate
def meeting_list(request, organization_id: int):
    organization = selectors.organization_get(user=request.user, pk=organization_id)
    return selectors.meeting_list(user=request.user, organization=organization)


@router.get("/party/meetings/{meeting_id}", response=MeetingOut, summary="一次组织生活")
def meeting_detail(request, meeting_id: int):
    return selectors.meeting_get(user=request.user, pk=meeting_id)


class CompletenessOut(Schema):
    organization: int = Field(alias="organization_id")
    name: str
    region_code: str
    held: dict[str, int]
    required: dict[str, int]
    due: dict[str, int] = Field(description="截至今日应开（季度进行中按已过天数折算）")
    behind: list[str]


@router.get(
    "/party/completeness",
    response=list[CompletenessOut],
    summary="组织生活完成情况（按季度）",
)
@paginate
def completeness(request, region: str, quarter: str = ""):
    if not selectors.QUARTER.match(quarter or selectors.quarter_of(datetime.date.today())):
        raise DomainError("季度应写作 2026Q4。", code="bad_quarter", field="quarter")
    return selectors.completeness(user=request.user, region_code=region, quarter=quarter)


class OverviewOut(Schema):
    region_code: str
    by_kind: dict[str, int] = Field(description="党组织数，按类型")
    grids: int
    grids_without_branch: int
    branches: int
    without_secretary: int
    terms_due: int
    members: dict[str, int] = Field(description="党员数，按类别")
    without_person: int
    probation_due: int
    mobile: int
    quarter: str
    behind: int = Field(description="本季度组织生活未达要求的党支部")
    committee_members: int = Field(description="网格党支部班子成员")
    buildings: int
    buildings_with_captain: int
    unit_captains: int
    late_transfers: int = Field(description="临期、超期的组织关系转接")
    captains: int = Field(description="楼栋长、胡同长、单元长（在任）")
    property_companies: int = Field(description="有兼职网格员的物业服务企业")
    property_grid_workers: int = Field(description="物业兼职网格员")
    riders: int = Field(description="在册红骑手")
    units_reported: int = Field(description="向本区域社区报到的单位（双报到）")
    members_reported: int = Field(description="向本区域社区报到的在职党员（双报到）")
    counted_at: datetime.datetime | None = Field(
        description="党员和组织生活数字的统计时间（后台每10分钟统计；未统计为空）"
    )

    @staticmethod
    def resolve_by_kind(obj):
        return dict(obj.by_kind)


@router.get("/party/overview", response=OverviewOut, summary="党建总览（组织部）")
def overview(request, region: str):
    return selectors.overview(user=request.user, region_code=region)
