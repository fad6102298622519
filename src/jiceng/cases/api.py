"""REST API for the staff app: queues, one request, staff entry, and workflow steps."""

import datetime

from ninja import Field, Router, Schema, Status
from ninja.pagination import paginate

from jiceng.cases import actions, selectors, services
from jiceng.cases.catalogue import catalogue_list
from jiceng.cases.models import Case
from jiceng.core.actors import Actor
from jiceng.core.errors import DomainError, Forbidden, NotFound
from jiceng.core.masking import mask_name, mask_phone
from jiceng.core.region_codes import county_of
from jiceng.places.models import Building
from jiceng.places.selectors import check_report_scope

router = Router(tags=["诉求"])


class CaseOut(Schema):
    id: int
    tracking_code: str
    region_code: str
    status: str
    status_label: str = Field(alias="get_status_display")
    category: str | None = None
    description: str
    channel: str
    reported_as: str = Field(
        "",
        description="上报身份：captain（楼栋长）、rider（红骑手）、property（物业兼职网格员）或空",
    )
    reported_as_label: str = Field("", alias="get_reported_as_display")
    received_at: datetime.datetime
    due_at: datetime.datetime | None
    handle_due_at: datetime.datetime | None
    lateness: str = Field("", description="overdue（红牌）、due_soon（黄牌）或空")
    handler: str | None = None
    reporter: str = Field("", description="脱敏；网格及以下工作人员仅在居民同意时可见，否则为空")
    void_pending: bool = Field(False, description="网格员已申请作废，待社区确认")
    about_staff: bool = Field(False, description="反映工作人员：由乡镇（街道）办理")
    rework_count: int
    supervised: bool = False

    @staticmethod
    def resolve_category(obj):
        return obj.category.code if obj.category_id else None

    @staticmethod
    def resolve_handler(obj):
        if obj.handler_id:
            return str(obj.handler)
        return obj.handler_department.name if obj.handler_department_id else None

    @staticmethod
    def resolve_reporter(obj, context):
        if not selectors.may_see_reporter(context["request"].user, obj):
            return ""
        return f"{mask_name(obj.reporter_name)} {mask_phone(obj.reporter_phone)}".strip()

    @staticmethod
    def resolve_supervised(obj):
        return bool(obj.supervised_region_code)

    @staticmethod
    def resolve_lateness(obj, context):
        return context["request"].clock.lateness(obj)


class EventOut(Schema):
    at: datetime.datetime
    actor: str = Field(alias="actor_label")
    action: str
    from_status: str
    to_status: str
    note: str
    public: bool = Field(alias="is_public")


class CaseDetailOut(CaseOut):
    result: str
    public_reply: str = Field(description="答复：对居民和公众公开")
    answers: dict
    events: list[EventOut]
    actions: list[str]

    @staticmethod
    def resolve_events(obj):
        return selectors.case_events(case=obj)

    @staticmethod
    def resolve_actions(obj, context):
        return sorted(selectors.available_actions(context["request"].user, obj))


class CaseIn(Schema):
    region_code: str
    building_id: int | None = Field(None, description="所在楼栋；楼栋长只能为本楼栋登记")
    category: str | None = Field(None, description="类别代码，如 facilities.gas")
    description: str
    answers: dict = {}
    address: str = ""
    reporter_name: str = ""
    reporter_phone: str = ""


class StepIn(Schema):
    note: str = ""
    category: str | None = None
    grid: str | None = None
    handler_id: int | None = None
    department_id: int | None = None
    into: str | None = Field(None, description="合并到的查询码")
    days: int = 0
    approve: bool = False
    passed: bool = False
    result: str = Field("", description="办理结果（内部，可含人名）")
    reply: str = Field("", description="答复（对居民和公众公开）")


def _with_clock(request):
    request.clock = selectors.Clock.current()


@router.get("/cases", response=list[CaseOut], summary="工作队列")
@paginate
def case_list(request, queue: str = "open", within: str | None = None, q: str = ""):
    if not selectors.may_see_requests(request.user):
        raise Forbidden()
    if within and not within.isdigit():
        raise DomainError("区划编码只能由数字组成。", code="bad_region_code")
    if queue not in selectors.QUEUES:
        raise DomainError("未知队列。", code="unknown_queue")
    _with_clock(request)
    return selectors.case_queue(user=request.user, queue=queue, region_code=within, query=q)


@router.get("/cases/supervision", response=list[CaseOut], summary="督办队列：临期、超期、被督办")
@paginate
def supervision_list(request):
    _with_clock(request)
    return selectors.supervision_queue(user=request.user, clock=request.clock)


class FiguresOut(Schema):
    region_code: str
    start: datetime.date
    end: datetime.date
    received: int
    accepted: int
    due_to_close: int
    closed: int
    closed_on_time: int
    reworked: int
    extended: int
    rated: int
    satisfied: int
    closing_rate: float | None = Field(None, description="结案率 %")
    on_time_rate: float | None = Field(None, description="按期结案率 %")
    rework_rate: float | None = Field(None, description="返工率 %")
    extension_rate: float | None = Field(None, description="延期率 %")
    satisfaction_rate: float | None = Field(None, description="满意率 %")
    average_hours_to_close: float | None
    top_categories: list[tuple[str, int]]


@router.get("/cases/figures", response=FiguresOut, summary="诉求统计（按区划与时段）")
def figures(request, region: str, start: datetime.date, end: datetime.date):
    check_report_scope(region, start, end)
    return selectors.case_figures(user=request.user, region_code=region, start=start, end=end)


@router.get("/cases/{case_id}", response=CaseDetailOut, summary="一件诉求及其流转记录")
def case_detail(request, case_id: int):
    _with_clock(request)
    return selectors.case_get(user=request.user, pk=case_id)


@router.post("/cases", response={201: CaseDetailOut, 200: CaseDetailOut}, summary="代为登记")
def case_create(request, payload: CaseIn):
    """Send an Idempotency-Key header to make retries safe: the same key returns the
    request it created the first time (200) instead of a second one (201)."""
    key = request.headers.get("Idempotency-Key", "")[:60]
    category = None
    if payload.category:
        category = (
            catalogue_list(county_code=county_of(payload.region_code))
            .filter(code=payload.category)
            .first()
        )
        if category is None:
            raise DomainError("未知的诉求类别。", code="category_invalid", field="category")
    building = None
    if payload.building_id is not None:
        # Missing, or not in that grid: the same answer as a grid outside one's scope.
        building = Building.objects.filter(
            pk=payload.building_id, region_code=payload.region_code
        ).first()
        if building is None:
            raise NotFound()
    case, created = services.case_submit(
        channel=Case.Channel.API,
        region_code=payload.region_code,
        building=building,
        description=payload.description,
        category=category,
        answers=payload.answers,
        address=payload.address,
        reporter_name=payload.reporter_name,
        reporter_phone=payload.reporter_phone,
        actor=Actor.of(request),
        idempotency_key=f"api:{request.user.pk}:{key}" if key else None,
    )
    _with_clock(request)
    return Status(201 if created else 200, case)


class StepDoneOut(Schema):
    """A step after which the request has left the actor's sight (returned, dispatched
    elsewhere): what was done, and nothing more of the request."""

    id: int
    tracking_code: str
    status: str
    status_label: str
    visible: bool = False


@router.post(
    "/cases/{case_id}/steps/{action}",
    response=CaseDetailOut | StepDoneOut,
    summary="办理一步",
)
def case_step(request, case_id: int, action: str, payload: StepIn):
    """action: confirm_genuine (a suspect submission), accept, void, merge, dispatch, start,
    return, request_extension, decide_extension, handle, check, supervise, note. A grid
    worker's void is a proposal (an approval the community decides): the request stays
    received, void_pending."""
    user = request.user
    case = selectors.case_get(user=user, pk=case_id)
    given = actions.StepInput(
        note=payload.note,
        category_code=payload.category,
        grid=payload.grid or "",
        handler_id=payload.handler_id,
        department_id=payload.department_id,
        into=payload.into or "",
        days=payload.days,
        approve=payload.approve,
        passed=payload.passed,
        result=payload.result,
        reply=payload.reply,
    )
    case = actions.case_act(actor=Actor.of(request), case=case, action=action, given=given)
    _with_clock(request)
    if _still_visible(user, case):
        return selectors.case_get(user=user, pk=case.pk)
    return {
        "id": case.pk,
        "tracking_code": case.tracking_code,
        "status": case.status,
        "status_label": case.get_status_display(),
    }


def _still_visible(user, case: Case) -> bool:
    return Case.objects.filter(selectors.visible_q(user), pk=case.pk).exists()
