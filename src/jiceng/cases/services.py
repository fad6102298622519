"""Every change to a request: intake, and one function per step of cases.workflow.

Each step runs on the one process runner (core.process) with the table of
cases.workflow: it locks the request row, checks its status and the actor's right, changes
it with a conditional update, appends an Event and an audit record, keeps the request's
deadline row, and queues the notifications in the same transaction. Every service takes
the typed actor (core.actors.Actor) first.
"""

import datetime
import hashlib
import itertools
import secrets
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from jiceng.accounts.selectors import staff_at
from jiceng.cases import notify, selectors
from jiceng.cases.models import Case, Category, Event, Photo
from jiceng.cases.selectors import may_reveal_reporter
from jiceng.cases.workflow import NAMED, PROCESS, actor_label
from jiceng.core import approvals, audit, personal, phones, throttle
from jiceng.core.access import has_permission, require, scope_q, scopes
from jiceng.core.actors import Actor
from jiceng.core.calendar import DAY, WorkCalendar
from jiceng.core.errors import DomainError, NotFound
from jiceng.core.intake import Sender
from jiceng.core.models import Approval
from jiceng.core.photos import CleanPhoto
from jiceng.core.process import actor_required
from jiceng.core.region_codes import community_of, county_of, is_within, town_of
from jiceng.places.models import Building, Region
from jiceng.places.region_names import region_name

S = Case.Status
TRACKING_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
MAX_DESCRIPTION = 4000
MAX_PHOTOS = settings.JICENG_INTAKE_MAX_PHOTOS
DEFAULT_ACCEPT = (1, DAY)  # for a request that arrives without a category


def _tracking_code() -> str:
    return "".join(secrets.choice(TRACKING_ALPHABET) for _ in range(10))


def _deadline(start: datetime.datetime, amount: int, unit: str) -> datetime.datetime:
    return WorkCalendar().deadline(start, amount, unit)


# --- intake ----------------------------------------------------------------------------


SENDER_LIMITED = "您提交得太频繁了，请一小时后再试。紧急情况请直接联系网格员或拨打12345。"
HOUR = datetime.timedelta(hours=1)


def _sender_limits(sender: Sender) -> list[tuple[str, object, int]]:
    """The buckets a sender's submissions count in: a registered client app by itself (its
    residents' devices are its business); anyone else by address, and by device when the
    token is the server's own."""
    if sender.client is not None:
        return [("cases.intake.client", sender.client, settings.JICENG_INTAKE_PER_HOUR_CLIENT)]
    limits = [("cases.intake.address", sender.address, settings.JICENG_INTAKE_PER_HOUR_ADDRESS)]
    if sender.device:
        limits.append(
            ("cases.intake.device", sender.device, settings.JICENG_INTAKE_PER_HOUR_DEVICE)
        )
    return limits


def _admitted(sender: Sender, region_code: str) -> bool:
    """Count an anonymous submission against its sender, refusing it past the sender's
    limits (that sender is the flood); then whether the grid is past its own hourly limit.
    A grid's flood is not refused: a genuine resident among it is kept, as suspect.
    Every try counts in each of its sender's buckets, a refused one too, and is counted
    before it is compared, so tries sent at once cannot pass together; the grid's count
    is read (a few over under a race only mark a few more suspect)."""
    limits = _sender_limits(sender)
    for scope, key, _ in limits:
        throttle.hit(scope, key)
    for scope, key, limit in limits:
        if throttle.count(scope, key, within=HOUR, limit=limit + 1) > limit:
            raise DomainError(SENDER_LIMITED, code="rate_limited")
    grid_limit = settings.JICENG_INTAKE_PER_HOUR_GRID
    recent = Case.objects.filter(  # anonymous ones: a registered client has its own limit
        region_code=region_code,
        received_at__gte=timezone.now() - HOUR,
        submitted_by__isnull=True,
        open311_client__isnull=True,
    )
    # Count only up to the limit: a busy grid must not make every submission slower.
    return recent[:grid_limit].count() >= grid_limit


def _point_in_polygon(lon: float, lat: float, boundary: dict) -> bool:
    polygons = (
        [boundary["coordinates"]] if boundary["type"] == "Polygon" else boundary["coordinates"]
    )
    for polygon in polygons:
        ring = polygon[0]
        inside = False
        for (x1, y1), (x2, y2) in itertools.pairwise(ring):
            if (y1 > lat) != (y2 > lat) and lon < (x2 - x1) * (lat - y1) / (y2 - y1) + x1:
                inside = not inside
        if inside:
            return True
    return False


def check_location(region: Region, latitude, longitude) -> None:
    """A point must lie in the county (when the county's boundary is known)."""
    if latitude is None and longitude is None:
        return
    if latitude is None or longitude is None:
        raise DomainError("经纬度须同时提供。", code="location_incomplete")
    lat, lon = float(latitude), float(longitude)
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise DomainError("经纬度超出范围。", code="location_invalid")
    county = Region.objects.filter(code=county_of(region.code)).only("boundary").first()
    if county and county.boundary and not _point_in_polygon(lon, lat, county.boundary):
        raise DomainError("该位置不在本县（市、区）范围内。", code="location_outside")


def check_answers(category: Category, answers: dict) -> dict:
    """Keep the answers to the category's questions, in their declared types."""
    clean = {}
    for question in category.questions.all():
        value = answers.get(question.code)
        if value in (None, "", []):
            if question.required:
                raise DomainError(f"请回答：{question.label}", code="answer_required")
            continue
        keys = {str(v.get("key")) for v in question.values}
        if question.datatype == "number":
            try:
                value = float(value)
            except (TypeError, ValueError):
                raise DomainError(f"“{question.label}”须为数字。", code="answer_invalid") from None
        elif question.datatype == "singlevaluelist":
            if str(value) not in keys:
                raise DomainError(f"“{question.label}”的选项无效。", code="answer_invalid")
            value = str(value)
        elif question.datatype == "multivaluelist":
            values = value if isinstance(value, list) else [value]
            if not {str(v) for v in values} <= keys:
                raise DomainError(f"“{question.label}”的选项无效。", code="answer_invalid")
            value = [str(v) for v in values]
        else:
            value = str(value)[:1000]
        clean[question.code] = value
    return clean


def case_submit(
    *,
    actor: Actor,
    channel: str,
    region_code: str,
    description: str,
    category: Category | None = None,
    answers: dict | None = None,
    building: Building | None = None,
    unit_number: int | None = None,
    address: str = "",
    latitude: Decimal | None = None,
    longitude: Decimal | None = None,
    reporter_name: str = "",
    reporter_phone: str = "",
    share_reporter_with_grid: bool = False,
    reporter_account: str = "",
    media_url: str = "",
    device_id: str = "",
    sender: Sender | None = None,
    photos: list[CleanPhoto] = (),
    open311_client=None,
    patrol=None,
    idempotency_key: str | None = None,
    is_suspect: bool = False,
    about_staff: bool = False,
    named_staff=None,
    named_post: str = "",
    reported_as: str = "",
) -> tuple[Case, bool]:
    """Record a new request. Returns (case, created): a replayed submission (same
    idempotency key) returns the request it created the first time. A staff actor is the
    one who entered it (代为登记, a patrol finding); anyone else is the public, whose
    `sender` is counted against its limits (refused past them) and whose submission to a
    grid past its hourly limit is kept as suspect. A reporter who left a mobile number is
    texted the tracking link, unless the submission is suspect: a suspect has no time
    limit and waits in 可疑提交 until confirmed (case_confirm_genuine) or voided.

    The reporter is shown to staff posted at the community or above; to the grid's
    workers only with `share_reporter_with_grid` (the form says so). A request about
    staff (`about_staff`, 反映工作人员) made in a grid goes to its town, naming the grid
    (its workers stand aside and do not see it) and `named_staff` if the resident named
    one."""
    actor = actor_required(actor)
    submitted_by = actor.user if actor.is_staff else None
    if idempotency_key:
        existing = Case.objects.filter(idempotency_key=idempotency_key).first()
        if existing:
            return existing, False
    if submitted_by is not None:
        require(submitted_by, "cases.submit", region_code, building.pk if building else None)
        department = submitted_by.department
        if department is not None and department.kind == department.Kind.PROPERTY:
            reported_as = Case.ReportedAs.PROPERTY
    if reported_as and reported_as not in Case.ReportedAs.values:
        raise DomainError("未知的上报身份。", code="reported_as_invalid")
    region = Region.objects.filter(code=region_code).first()
    # Requests through the interfaces may arrive placed only at a town or the county;
    # triage then puts them in a grid. Everything else starts in a grid.
    interface = channel in (Case.Channel.OPEN311, Case.Channel.API)
    placeable = (
        (Region.Level.GRID, Region.Level.TOWN, Region.Level.COUNTY)
        if interface
        else (Region.Level.GRID,)
    )
    if region is None or region.level not in placeable:
        raise DomainError("未找到该网格。", code="grid_unknown")
    description = (description or "").strip()
    if not description:
        raise DomainError("请描述遇到的问题。", code="description_required", field="description")
    if len(description) > MAX_DESCRIPTION:
        raise DomainError(
            f"问题描述不能超过 {MAX_DESCRIPTION} 字。",
            code="description_too_long",
            field="description",
        )
    if category is not None:
        if (
            category.is_group
            or not category.is_active
            or category.region_code != county_of(region_code)
        ):
            raise DomainError("请选择有效的诉求类别。", code="category_invalid", field="category")
        answers = check_answers(category, answers or {})
    if building is not None and building.region_code != region_code:
        raise DomainError("楼栋不在该网格内。", code="building_invalid", field="building")
    shown = Case.ReporterShownTo
    shown_to = shown.GRID if share_reporter_with_grid else shown.COMMUNITY
    named_grid_code = ""
    if about_staff:
        shown_to = shown.COMMUNITY
        if region.level == Region.Level.GRID:
            named_grid_code, region_code = region_code, town_of(region_code)
    if len(photos) > MAX_PHOTOS:
        raise DomainError(f"最多上传 {MAX_PHOTOS} 张照片。", code="too_many_photos", field="photos")
    if latitude is None and longitude is None:
        located = next((p for p in photos if p.latitude is not None), None)
        if located:
            latitude, longitude = located.latitude, located.longitude
    check_location(region, latitude, longitude)
    if reporter_phone:
        number = phones.phone(reporter_phone)
        if number is None:
            raise DomainError(
                "联系电话应为手机号或固定电话号码。", code="phone_invalid", field="reporter_phone"
            )
        reporter_phone = number

    if sender is not None:
        is_suspect = _admitted(sender, region_code) or is_suspect
    now = timezone.now()
    try:
        with transaction.atomic():
            case = Case.objects.create(
                region_code=region_code,
                tracking_code=_tracking_code(),
                access_token=secrets.token_urlsafe(24),
                category=category,
                description=description,
                answers=answers or {},
                channel=channel,
                reported_as=reported_as,
                building=building,
                unit_number=unit_number,
                address=address[:200],
                media_url=media_url[:500],
                latitude=latitude,
                longitude=longitude,
                reporter_name=reporter_name[:64],
                reporter_phone=reporter_phone,
                reporter_shown_to=shown_to,
                about_staff=about_staff,
                named_grid_code=named_grid_code,
                named_staff=named_staff if about_staff else None,
                named_post=named_post.strip()[:60] if about_staff else "",
                reporter_account=reporter_account[:100],
                device_id=device_id[:100],
                client_fingerprint=sender.fingerprint if sender else "",
                submitted_by=submitted_by,
                open311_client=open311_client,
                patrol=patrol,
                idempotency_key=idempotency_key or "",
                is_suspect=is_suspect,
                received_at=now,
                due_at=None if is_suspect else _accept_deadline(category, now),
            )
            for photo in photos:
                Photo.objects.create(case=case, kind=Photo.Kind.REPORT, image=photo.content)
            PROCESS.started(
                case, actor=actor, action="submit", event={"data": {"channel": channel}}
            )
            if is_suspect:
                _suspects_notice(case, actor=actor)
            else:
                _received_notices(case, actor=actor)
    except IntegrityError:
        if idempotency_key:  # the same submission raced itself: return the winner
            existing = Case.objects.filter(idempotency_key=idempotency_key).first()
            if existing:
                return existing, False
        raise
    return case, True


def _accept_deadline(category: Category | None, start: datetime.datetime) -> datetime.datetime:
    limit = (category.accept_limit, category.accept_unit) if category else DEFAULT_ACCEPT
    return _deadline(start, *limit)


def _received_notices(case: Case, *, actor: Actor) -> None:
    """A request that joins the work: the triage staff are told, the reporter texted."""
    notify.triage_staff(
        case, "new", f"新诉求 {case.tracking_code}：{case.description[:40]}", actor=actor
    )
    notify.resident_tracking_link(case, "case_received", f"case:{case.pk}:received")


def _suspects_notice(case: Case, *, actor: Actor) -> None:
    """One notice an hour per grid, not one per suspect: a flood must not flood the inbox."""
    hour = timezone.localtime(case.received_at).strftime("%Y%m%d%H")
    notify.triage_staff(
        case,
        "suspect",
        "近一小时匿名提交超过上限，新提交已列入“可疑提交”，请甄别",
        f"suspect:{case.region_code}:{hour}",
        actor=actor,
    )


# --- triage ----------------------------------------------------------------------------


def _event(*, public: bool = True, data: dict | None = None) -> dict:
    """The request-specific fields of an Event: shown to the resident, and its data."""
    return {"is_public": public, "data": data or {}}


def case_accept(
    *, actor: Actor, case: Case, category: Category | None = None, grid: Region | None = None,
    note: str = "",
) -> Case:  # fmt: skip
    """立案: confirm the category, and the grid if the request came in without one; the
    request is then to be dispatched."""
    category = category or case.category
    if category is None or category.is_group or category.region_code != county_of(case.region_code):
        raise DomainError("立案前请确认诉求类别。", code="category_required", field="category")
    changes = {"category": category}
    if case.about_staff:
        if grid is not None:
            raise DomainError(
                "反映工作人员的诉求由乡镇（街道）受理办理，不转到网格。",
                code="about_staff_stays",
                field="grid",
            )
    elif len(case.region_code) != Region.CODE_LENGTHS[Region.Level.GRID] or grid is not None:
        if (
            grid is None
            or not grid.is_grid
            or not is_within(grid.code, county_of(case.region_code))
        ):
            raise DomainError("立案前请确定所在网格。", code="grid_required", field="grid")
        require(actor, "cases.triage", grid.code)
        changes["region_code"] = grid.code
    return PROCESS.run(case, "accept", actor=actor, note=note, event=_event(), **changes)


def case_void(*, actor: Actor, case: Case, reason: str) -> Case:
    """作废. Staff posted at the request's community or above void it at once; a grid's
    worker (who triages in the grid only) proposes it, and the request stays received,
    marked 作废待社区确认, until the community decides (`VOID_KIND`)."""
    actor = actor_required(actor)
    reason = reason.strip()
    if not reason:
        raise DomainError("作废须说明理由。", code="reason_required", field="reason")
    if not has_permission(actor, "cases.triage", community_of(case.region_code)):
        return _void_propose(actor=actor, case=case, reason=reason)

    def no_proposal(locked: Case) -> None:
        if locked.void_pending:
            raise DomainError(
                "这件诉求有待确认的作废申请，请在审批中批准或不批准。", code="void_pending"
            )

    return _void(case, actor=actor, reason=reason, check=no_proposal)


def _void(case: Case, *, actor: Actor, reason: str, check=None, event: dict | None = None):
    return PROCESS.run(
        case, "void", actor=actor, note=reason, event=_event(**(event or {})), check=check,
        due_at=None, closed_at=timezone.now(), void_pending=False,
    )  # fmt: skip


VOID = "cases.void"


def _void_propose(*, actor: Actor, case: Case, reason: str) -> Case:
    """申请作废: the proposal is an approval at the request's community, asked in the same
    transaction as the request is marked."""

    def ask(locked: Case) -> None:
        approvals.ask(
            actor=actor,
            kind=VOID,
            region_code=community_of(locked.region_code),
            summary=f"作废诉求 {locked.tracking_code}",
            reason=reason,
            obj=locked,
        )

    return PROCESS.run(
        case, "propose_void", actor=actor, note=reason, event=_event(public=False),
        void_pending=True, effects=ask,
    )  # fmt: skip


def _proposed_case(approval) -> Case:
    return Case.objects.get(pk=int(approval.object_id))


def _void_approved(approval, actor: Actor) -> None:
    """The community approves: the void step, for the decider, with the proposal's reason."""
    _void(
        _proposed_case(approval), actor=actor, reason=approval.reason,
        event={"data": {"approval": approval.pk}},
    )  # fmt: skip


def _void_released(approval, actor: Actor) -> None:
    """Refused or withdrawn: the request is triaged as before."""
    from jiceng.core.models import Approval

    withdrawn = approval.status == Approval.Status.CANCELLED
    PROCESS.run(
        _proposed_case(approval), "void_declined", actor=actor, note=approval.decision_note,
        event=_event(public=False, data={"approval": approval.pk, "withdrawn": withdrawn}),
        void_pending=False,
    )  # fmt: skip


def _void_decider(approval, actor: Actor) -> DomainError | None:
    """Whoever the request names does not decide whether it is voided."""
    return NAMED(actor, _proposed_case(approval))


SHOWN_TO_DECIDER = 200


def voided_requests(approval) -> approvals.Details:
    """What the decider of a void reads: each request it would void (the one proposed, or
    those a bulk void holds), with what it says, when it came and whether its reporter
    left a phone (a resident's own among a flood shows here)."""
    if approval.kind == VOID:
        cases = Case.objects.filter(pk=int(approval.object_id))
    else:
        cases = Case.objects.filter(void_proposal=approval)
    cases = cases.order_by("received_at", "pk")
    total = cases.count()
    rows = [
        (
            case.tracking_code,
            case.description[:80],
            timezone.localtime(case.received_at).strftime("%m-%d %H:%M"),
            "留有电话" if case.reporter_phone else "",
        )
        for case in cases[:SHOWN_TO_DECIDER]
    ]
    return approvals.Details(
        title="将作废的诉求",
        columns=("查询码", "内容", "提交时间", "反映人"),
        rows=rows,
        total=total,
        empty="没有待作废的诉求（已另行确认或作废）。",
    )


VOID_KIND = approvals.Kind(
    name=VOID,
    label="作废诉求",
    permission="cases.triage",
    apply=_void_approved,
    release=_void_released,
    check=_void_decider,
    link=lambda approval: reverse("cases:detail", args=[int(approval.object_id)]),
    details=voided_requests,
)


def case_merge(*, actor: Actor, case: Case, into: Case, note: str = "") -> Case:
    """Merge a duplicate into another open request; its reporter follows that one.

    Both rows are locked, in key order, before either is read: two requests merged into
    each other at the same moment would otherwise both end merged, and neither handled.
    """
    actor = actor_required(actor)
    if into.pk == case.pk:
        raise DomainError(MERGE_TARGET, code="merge_target")
    require(actor, "cases.triage", into.region_code)

    def target_open(locked: Case) -> None:
        if _named(locked) != _named(into):
            # A request about staff follows only one about the same staff: merged into
            # another, it would be triaged and handled where the named could see it.
            raise DomainError(
                "反映工作人员的诉求只能与反映同一工作人员的诉求合并。", code="merge_target"
            )
        # A conditional write: it lands only while the target is open and not merged.
        if not Case.objects.filter(
            pk=into.pk, status__in=Case.OPEN, merged_into__isnull=True
        ).update(updated_at=timezone.now()):
            raise DomainError(MERGE_TARGET, code="merge_target")

    def merged_in(merged: Case) -> None:
        target = Case.objects.get(pk=into.pk)
        Event.objects.create(
            case=target,
            at=timezone.now(),
            actor=actor.user,
            actor_label=actor_label(actor),
            action="merged_in",
            from_status=target.status,
            to_status=target.status,
            note=f"合并了 {merged.tracking_code}",
        )

    with transaction.atomic():
        list(Case.objects.select_for_update().filter(pk__in=[case.pk, into.pk]).order_by("pk"))
        note = note or f"与 {into.tracking_code} 为同一问题，合并办理"
        return PROCESS.run(
            case, "merge", actor=actor, note=note, event=_event(), check=target_open,
            effects=merged_in, merged_into=into, due_at=None,
        )  # fmt: skip


MERGE_TARGET = "只能合并到另一件未办结的诉求。"


def _named(case: Case) -> tuple:
    """Whom a request about staff names (反映工作人员); () for any other request."""
    if not case.about_staff:
        return ()
    return (case.named_staff_id, case.named_grid_code, case.named_post)


# --- suspect submissions (可疑提交) ---------------------------------------------------------


def case_confirm_genuine(*, actor: Actor, case: Case, note: str = "") -> Case:
    """A suspect is a resident's own request after all: it joins the work as if it had
    just come in (its acceptance time limit starts now, the triage staff are told) and the
    reporter is texted the tracking link that was held back."""
    now = timezone.now()
    return PROCESS.run(
        case, "confirm_genuine", actor=actor, note=note.strip()[:500], event=_event(public=False),
        is_suspect=False, void_proposal=None,
        derive=lambda c: {"due_at": _accept_deadline(c.category, now)},
        effects=lambda c: _received_notices(c, actor=actor),
    )  # fmt: skip


BULK_VOID = "cases.bulk_void"
BULK_VOID_MAX = 500


def suspects_void_propose(
    *,
    actor: Actor,
    reason: str,
    case_ids: list[int] | None = None,
    grid_code: str = "",
    since: datetime.datetime | None = None,
    until: datetime.datetime | None = None,
) -> Approval:
    """Ask for the void of suspect submissions — those chosen, or all of one grid's
    received in a period — as one approval (kind cases.bulk_void) that someone else
    holding cases.triage at their community decides: a flood is cleared in one step, but
    never by one person. Until it is decided they are held: not confirmed, not proposed
    again. All must lie in one community; a chosen one that is no longer a free suspect
    refuses the whole proposal (the list was stale)."""
    actor = actor_required(actor)
    reason = reason.strip()[:300]
    if not reason:
        raise DomainError("作废须说明理由。", code="reason_required", field="reason")
    reach = Case.objects.filter(scope_q(scopes(actor, "cases.triage")))
    ids = sorted(set(case_ids or ()))
    if ids:
        if reach.filter(pk__in=ids).count() != len(ids):
            raise NotFound()
        chosen = reach.filter(pk__in=ids)
    elif grid_code:
        chosen = reach.filter(region_code=grid_code)
        if since is not None:
            chosen = chosen.filter(received_at__gte=since)
        if until is not None:
            chosen = chosen.filter(received_at__lt=until)
    else:
        raise DomainError("请勾选要作废的可疑提交，或指定网格和时段。", code="selection_required")
    with transaction.atomic():
        held = list(
            chosen.select_for_update()
            .filter(
                is_suspect=True, status=S.RECEIVED, void_proposal__isnull=True, void_pending=False
            )
            .order_by("pk")
            .values_list("pk", "region_code")[: BULK_VOID_MAX + 1]
        )
        if ids and len(held) != len(ids):
            raise DomainError(
                "所选诉求中有已确认、已处理或已列入其他作废审批的，请刷新后重选。",
                code="not_suspect",
            )
        if not held:
            raise DomainError("没有可以作废的可疑提交。", code="nothing_to_void")
        if len(held) > BULK_VOID_MAX:
            raise DomainError(f"一次最多作废 {BULK_VOID_MAX} 件，请缩小时段。", code="too_many")
        communities = {community_of(code) for _, code in held}
        if len(communities) != 1:
            raise DomainError("一次只能作废同一社区（村）的可疑提交。", code="one_community")
        community = communities.pop()
        pks = [pk for pk, _ in held]
        approval = approvals.ask(
            actor=actor,
            kind=BULK_VOID,
            region_code=community,
            summary=f"作废{region_name(community)}可疑提交 {len(pks)} 件",
            payload={
                "cases": pks,
                "grid": grid_code if not ids else "",
                "since": since.isoformat() if since and not ids else "",
                "until": until.isoformat() if until and not ids else "",
            },
            reason=reason,
        )
        if Case.objects.filter(pk__in=pks, void_proposal__isnull=True).update(
            void_proposal=approval
        ) != len(pks):  # a database that does not lock rows let another proposal in
            raise DomainError(
                "这些可疑提交刚被列入另一项作废审批，请刷新后重选。", code="void_proposed"
            )
    return approval


def suspects_void_apply(approval: Approval, actor: Actor) -> None:
    """Approved (in the deciding transaction): each held suspect is voided by the void
    step, with its event and audit record, as the approver, noting the approval. One
    confirmed genuine or voided singly meanwhile, or whose single void a grid worker has
    proposed since (that proposal decides it), is passed over."""
    note = f"批量作废可疑提交（审批 {approval.pk}）：{approval.reason}"
    if approval.decision_note:
        note += f"；审批意见：{approval.decision_note}"
    held = Case.objects.select_for_update().filter(void_proposal=approval).order_by("pk")
    for case in held:
        if case.is_suspect and case.status == S.RECEIVED and not case.void_pending:
            case_void(actor=actor, case=case, reason=note[:500])


def suspects_void_release(approval: Approval, actor: Actor) -> None:
    """Refused or withdrawn: the held suspects are free to be confirmed or proposed again."""
    Case.objects.filter(void_proposal=approval).update(void_proposal=None)


HANDLER_ROLES = ("grid_worker", "specialist_grid_worker", "community_worker")


def handlers_for(case: Case):
    """Accounts posted at this request's grid (or its community) who handle requests: the
    usual choices when dispatching."""
    found = staff_at(
        roles=HANDLER_ROLES, region_codes=[case.region_code, community_of(case.region_code)]
    )
    if case.named_staff_id:
        found = found.exclude(pk=case.named_staff_id)
    return found.order_by("department_id", "full_name")


def _may_dispatch_to(actor, handler) -> bool:
    """Cross-grid dispatch is allowed within the dispatcher's own scope."""
    codes = handler.scope_codes("cases.handle") if handler.is_active else ()
    return any(has_permission(actor, "cases.triage", code) for code in codes)


def _handling_deadline(case: Case, start) -> dict:
    due = _deadline(start, case.category.handle_limit, case.category.handle_unit)
    return {"handle_due_at": due, "due_at": due}


def case_dispatch(
    *, actor: Actor, case: Case, handler=None, department=None, note: str = ""
) -> Case:
    """派单 to a person who handles requests, or to a department whose specialist grid
    workers take it. The handling deadline starts now."""
    if (handler is None) == (department is None):
        raise DomainError("请选择一名承办人或一个承办部门。", code="handler_required")
    if handler is not None and not _may_dispatch_to(actor, handler):
        raise DomainError("该账号不能承办这件诉求。", code="handler_invalid", field="handler")
    if handler is not None and selectors.names(handler, case):
        raise DomainError(
            "这件诉求反映的正是该工作人员，不能派给其本人。",
            code="conflict_of_interest",
            field="handler",
        )
    if department is not None and department.region_code != county_of(case.region_code):
        raise DomainError("承办部门不属于本县。", code="department_invalid", field="department")
    now = timezone.now()
    return PROCESS.run(
        case, "dispatch", actor=actor, note=note, event=_event(), handler=handler,
        handler_department=department, dispatched_at=now,
        derive=lambda c: _handling_deadline(c, now),
        effects=lambda c: notify.handlers(
            c, "dispatched", f"新派单 {c.tracking_code}：{c.description[:40]}", actor=actor
        ),
    )  # fmt: skip


# --- handling --------------------------------------------------------------------------


def case_start(*, actor: Actor, case: Case) -> Case:
    """接单: the handler (or one of the department's staff, who then owns it) starts."""
    actor = actor_required(actor)
    return PROCESS.run(case, "start", actor=actor, event=_event(), handler=actor.user)


def case_return(*, actor: Actor, case: Case, reason: str) -> Case:
    """退单: outside the handler's remit, sent back to triage within the return limit."""
    if not reason.strip():
        raise DomainError("退单须说明理由。", code="reason_required", field="reason")

    def within_limit(locked: Case) -> None:
        limit = _deadline(locked.dispatched_at, locked.category.return_limit_days, DAY)
        if timezone.now() > limit:
            raise DomainError(
                f"已超过退单时限（派单后{locked.category.return_limit_days}个工作日），请按期办理或申请延期。",
                code="return_too_late",
            )

    now = timezone.now()
    return PROCESS.run(
        case, "return", actor=actor, note=reason.strip(), event=_event(), check=within_limit,
        handler=None, handler_department=None, handle_due_at=None, due_at=_deadline(now, 1, DAY),
        effects=lambda c: notify.triage_staff(
            c, "returned", f"诉求 {c.tracking_code} 被退单：{reason[:40]}", actor=actor
        ),
    )  # fmt: skip


def case_request_extension(*, actor: Actor, case: Case, days: int, reason: str) -> Case:
    """申请延期: asks for more working days, within the category's cap."""
    if not reason.strip():
        raise DomainError("申请延期须说明理由。", code="reason_required", field="reason")

    def within_cap(locked: Case) -> None:
        room = locked.category.max_extension_days - locked.extension_days
        if not 1 <= days <= room:
            raise DomainError(
                f"最多还可延期 {room} 个工作日。" if room > 0 else "已达延期上限，不能再延期。",
                code="extension_cap",
                field="days",
            )

    return PROCESS.run(
        case, "request_extension", actor=actor, note=reason.strip(), check=within_cap,
        event=_event(data={"days": days}), extension_requested_days=days,
        effects=lambda c: notify.approvers(
            c, "extension", f"诉求 {c.tracking_code} 申请延期 {days} 个工作日", actor=actor
        ),
    )  # fmt: skip


def case_decide_extension(*, actor: Actor, case: Case, approve: bool, note: str = "") -> Case:
    """审批延期: an approved extension moves the handling deadline by that many working days."""

    event = _event(data={"approved": approve})

    def decided(locked: Case) -> dict:
        event["data"]["days"] = locked.extension_requested_days  # the timeline says how many
        changes = {"extension_requested_days": 0}
        if approve:
            due = timezone.localtime(locked.handle_due_at)
            day = WorkCalendar().add_workdays(due.date(), locked.extension_requested_days)
            due = due.replace(year=day.year, month=day.month, day=day.day)
            changes.update(
                handle_due_at=due,
                due_at=due,
                extension_days=locked.extension_days + locked.extension_requested_days,
            )
        return changes

    return PROCESS.run(
        case, "decide_extension", actor=actor, note=note, event=event,
        derive=decided,
        effects=lambda c: notify.handlers(
            c, f"extension_{'ok' if approve else 'no'}",
            f"诉求 {c.tracking_code} 的延期申请{'已批准' if approve else '未批准'}", actor=actor,
        ),
    )  # fmt: skip


def _check_deadline(case: Case, start):
    return _deadline(start, case.category.check_limit, case.category.check_unit)


MAX_REPLY = 1000


def case_handle(
    *, actor: Actor, case: Case, result: str, reply: str = "", photos: list[CleanPhoto] = ()
) -> Case:
    """办结反馈: the handler reports what was done (`result`, internal: it may name
    people) and answers the public (`reply`, 答复: what the resident's page and Open311
    show); the community then checks it."""
    result = (result or "").strip()
    reply = (reply or "").strip()
    if not result:
        raise DomainError("请填写办理结果。", code="result_required", field="result")
    if len(result) > MAX_DESCRIPTION or len(photos) > MAX_PHOTOS:
        raise DomainError("办理结果过长或照片过多。", code="result_too_long", field="result")
    if len(reply) > MAX_REPLY:
        raise DomainError(f"答复不能超过 {MAX_REPLY} 字。", code="reply_too_long", field="reply")
    now = timezone.now()

    def effects(handled: Case) -> None:
        for photo in photos:
            Photo.objects.create(case=handled, kind=Photo.Kind.RESULT, image=photo.content)
        notify.checkers(
            handled, "handled", f"诉求 {handled.tracking_code} 已办理，请核查", actor=actor
        )

    return PROCESS.run(
        case, "handle", actor=actor, note=result, event=_event(data={"reply": reply}),
        result=result, public_reply=reply, handled_at=now,
        derive=lambda c: {"due_at": _check_deadline(c, now)}, effects=effects,
    )  # fmt: skip


def _rework(locked: Case, now) -> dict:
    """Back to the same handler with a fresh handling deadline (返工)."""
    due = _deadline(now, locked.category.handle_limit, locked.category.handle_unit)
    return {
        "status": Case.Status.DISPATCHED,
        "rework_count": locked.rework_count + 1,
        "dispatched_at": now,
        "handle_due_at": due,
        "due_at": due,
        "closed_at": None,
        "closed_on_time": None,
    }


def case_check(*, actor: Actor, case: Case, passed: bool, note: str = "") -> Case:
    """核查: on site. Passed closes the request; failed sends it back as rework."""
    if not passed and not note.strip():
        raise DomainError("核查不通过须说明原因。", code="reason_required", field="note")
    now = timezone.now()

    def outcome(locked: Case) -> dict:
        if not passed:
            return _rework(locked, now)
        return {
            "status": Case.Status.CLOSED,
            "closed_at": now,
            "closed_on_time": locked.handled_at <= locked.handle_due_at,
            "due_at": None,
        }

    def effects(checked: Case) -> None:
        if passed:
            notify.handlers(
                checked, "closed", f"诉求 {checked.tracking_code} 核查通过，已结案", actor=actor
            )
            notify.resident_tracking_link(
                checked, "case_closed", f"case:{checked.pk}:closed:{checked.closed_at.isoformat()}"
            )
        else:
            notify.handlers(
                checked,
                "rework",
                f"诉求 {checked.tracking_code} 核查未通过，请返工：{note[:40]}",
                actor=actor,
            )

    return PROCESS.run(
        case, "check", actor=actor, note=note, event=_event(data={"passed": passed}),
        derive=outcome, effects=effects,
    )  # fmt: skip


# --- the resident ----------------------------------------------------------------------


def case_for_resident(*, tracking_code: str, access_token: str) -> Case:
    """The request behind a private tracking link (both parts must match)."""
    case = Case.objects.filter(tracking_code=tracking_code.upper()).first()
    if case is None or not secrets.compare_digest(case.access_token, access_token):
        raise NotFound("未找到该诉求，请检查查询链接。")
    return case


LOOKUP_MISS = "查询码或手机号后四位不正确。请核对后再试，或凭专属查询链接查看。"
LOOKUP_LIMITED = (
    "这件诉求近一小时查询次数过多，请稍后再试；也可以用短信里的专属链接，"
    "或登录“我的”查看用本手机号反映的诉求。"
)


def case_lookup(*, fingerprint: str, tracking_code: str, tail: str) -> Case:
    """The request behind 查询码 + the last four digits of the phone it was given with,
    for a resident who lost the private link. Each try counts against the asker
    (`fingerprint`) and against the code, so that many addresses cannot share out one
    code's 10,000 tails; a miss says the same whichever part is wrong."""
    limit = settings.JICENG_TRACKING_LOOKUPS_PER_HOUR
    hour = datetime.timedelta(hours=1)
    limited = DomainError(LOOKUP_LIMITED, code="rate_limited")
    throttle.take("cases.lookup.address", fingerprint, limit=limit, within=hour, error=limited)
    throttle.take(
        "cases.lookup.code", tracking_code.strip().upper(), limit=limit, within=hour, error=limited
    )
    tail = tail.strip()
    case = selectors.case_by_code_and_tail(tracking_code=tracking_code, tail=tail)
    if case is None or len(tail) != selectors.TAIL or not tail.isdigit():
        raise DomainError(LOOKUP_MISS, code="lookup_miss")
    return case


@transaction.atomic
def case_link_resend(*, case: Case) -> bool:
    """Text the private tracking link again to the phone the request was given with, at
    most once a day per request and within the daily cap of tracking texts: a lookup by
    查询码 shows only what is public and hands out no link itself (查询码 are public in
    Open311, and four digits are few). Whether a text was queued."""
    key = f"case:{case.pk}:link:{timezone.localdate().isoformat()}"
    return notify.resident_tracking_link(case, "case_link", key)


def case_rate(*, actor: Actor, case: Case, rating: int, comment: str = "") -> Case:
    """评价 on the 5-level scale, by whoever holds the private link (the caller found the
    request with case_for_resident). Dissatisfied (不满意/非常不满意) reopens the request as
    rework; the second time it is also escalated to the town for supervision (督办)."""
    if rating not in Case.Rating.values:
        raise DomainError("请选择评价等级。", code="rating_invalid", field="rating")
    comment = comment.strip()[:500]
    now = timezone.now()

    def not_rated(locked: Case) -> None:
        if locked.rated_at and locked.rated_at >= locked.closed_at:
            raise DomainError("这次办理已经评价过了。", code="already_rated")

    def outcome(locked: Case) -> dict:
        changes = {"rating": rating, "rating_comment": comment, "rated_at": now}
        if rating > Case.Rating.DISSATISFIED:
            return changes
        changes["dissatisfied_count"] = locked.dissatisfied_count + 1
        changes.update(_rework(locked, now))
        if changes["dissatisfied_count"] >= 2:
            changes["supervised_region_code"] = town_of(locked.region_code)
        return changes

    def effects(rated: Case) -> None:
        if rated.status == Case.Status.DISPATCHED:
            notify.handlers(
                rated, "rework", f"居民对诉求 {rated.tracking_code} 不满意，请返工", actor=actor
            )
            notify.checkers(
                rated, "dissatisfied", f"诉求 {rated.tracking_code} 居民评价不满意", actor=actor
            )
        # Only when this rating is the second 不满意: a request supervised before for
        # another reason, or rated well, escalates nothing.
        if rating <= Case.Rating.DISSATISFIED and rated.dissatisfied_count >= 2:
            notify.supervisors(
                rated,
                "supervised",
                f"诉求 {rated.tracking_code} 两次不满意，已提级督办",
                actor=actor,
            )

    return PROCESS.run(
        case, "rate", actor=actor, note=comment, event=_event(data={"rating": rating}),
        check=not_rated, derive=outcome, effects=effects,
    )  # fmt: skip


def case_reopen(*, actor: Actor, case: Case, reason: str) -> Case:
    """申请重办: within JICENG_REOPEN_DAYS of closing, the resident asks for rework."""
    if not reason.strip():
        raise DomainError("请说明需要重办的原因。", code="reason_required", field="reason")
    now = timezone.now()

    def in_time(locked: Case) -> None:
        if now - locked.closed_at > datetime.timedelta(days=settings.JICENG_REOPEN_DAYS):
            raise DomainError(
                f"办结已超过 {settings.JICENG_REOPEN_DAYS} 天，不能申请重办。"
                "如有新问题请重新反映。",
                code="reopen_too_late",
            )

    return PROCESS.run(
        case, "reopen", actor=actor, note=reason.strip()[:500], event=_event(), check=in_time,
        derive=lambda c: _rework(c, now),
        effects=lambda c: notify.handlers(
            c, "rework", f"居民申请重办诉求 {c.tracking_code}", actor=actor
        ),
    )  # fmt: skip


# --- oversight ---------------------------------------------------------------------------


def case_supervise(*, actor: Actor, case: Case, note: str) -> Case:
    """督办: a supervisor (community, town or county) presses an open request."""
    actor = actor_required(actor)
    if not note.strip():
        raise DomainError("请填写督办意见。", code="reason_required", field="note")
    level = next(
        (code for code in scopes(actor, "cases.supervise") if is_within(case.region_code, code)),
        town_of(case.region_code),
    )
    return PROCESS.run(
        case, "supervise", actor=actor, note=note.strip(), event=_event(),
        supervised_region_code=level,
        effects=lambda c: notify.handlers(
            c, "supervised", f"诉求 {c.tracking_code} 被督办：{note[:40]}", actor=actor
        ),
    )  # fmt: skip


def case_note(*, actor: Actor, case: Case, note: str) -> Case:
    """An internal note in the timeline (not shown to the resident): by staff who see the
    region's requests, and by the request's handler."""
    if not note.strip():
        raise DomainError("请填写备注。", code="reason_required", field="note")
    return PROCESS.run(
        case, "note", actor=actor, note=note.strip()[:2000], event=_event(public=False)
    )


def notifications_mark_read(*, user, case: Case | None = None) -> int:
    """The user's unread messages read: all of them, or those about one request (its
    page was opened)."""
    from jiceng.cases.models import Notification

    unread = Notification.objects.filter(user=user, read_at__isnull=True)
    if case is not None:
        unread = unread.filter(case=case)
    return unread.update(read_at=timezone.now())


def open311_client_create(*, actor: Actor, name: str, county_code: str) -> tuple:
    """Issue an api_key to a client app. The key is returned once; only its digest is kept."""
    from jiceng.cases.models import Open311Client

    actor = actor_required(actor)
    require(actor, "cases.manage_catalogue", county_code)
    name = name.strip()[:100]
    if not name:
        raise DomainError("请填写应用名称。", code="name_required", field="name")
    raw = "o311_" + secrets.token_urlsafe(24)
    client = Open311Client.objects.create(
        region_code=county_code,
        name=name,
        key_digest=hashlib.sha256(raw.encode()).hexdigest(),
        created_by=actor.user,
    )
    audit.record(actor=actor, action="open311.client_create", obj=client)
    return client, raw


def open311_client_set_active(*, actor: Actor, client, is_active: bool) -> None:
    from jiceng.cases.models import Open311Client

    require(actor, "cases.manage_catalogue", client.region_code)
    Open311Client.objects.filter(pk=client.pk).update(is_active=is_active)
    audit.record(
        actor=actor, action="open311.client_active", obj=client, detail={"active": is_active}
    )


def case_reveal_reporter(*, actor: Actor, case: Case) -> str:
    """The reporter's phone in clear, for those who may call the resident back; audited
    whether allowed or not. Whoever the reporter is hidden from is told so."""
    actor = actor_required(actor)
    hidden = None
    if selectors.reporter_hidden_by_choice(actor.user, case):
        anonymous = case.reporter_shown_to == Case.ReporterShownTo.NOT_HANDLER
        hidden = DomainError(
            "居民选择对承办人匿名。" if anonymous else REPORTER_HIDDEN, code="reporter_hidden"
        )
    return personal.reveal(
        actor=actor,
        allowed=may_reveal_reporter(actor.user, case),
        action="case.reveal_reporter",
        obj=case,
        value=lambda: case.reporter_phone,
        denied=hidden,
    )


REPORTER_HIDDEN = "反映人的联系方式只有社区及以上工作人员能看到（居民未同意网格员查看）。"


def case_deadlines_backfill() -> int:
    """Deadline rows for open requests written without the runner (the demo's history)."""
    from jiceng.core import deadlines

    open_cases = Case.objects.filter(status__in=Case.OPEN, due_at__isnull=False)
    rows = open_cases.values_list(
        "pk", "region_code", "received_at", "dispatched_at", "handled_at", "due_at"
    )
    return deadlines.backfill(
        PROCESS.name,
        (
            (pk, region_code, _step_started_at(*times), due_at)
            for pk, region_code, *times, due_at in rows.iterator()
        ),
    )


def _step_started_at(*moments):
    """When a request's current step started: the latest of its received, dispatched and
    handled times (a rework dispatches again after handling)."""
    return max(moment for moment in moments if moment is not None)


# --- deadline warnings ---------------------------------------------------------------------


def deadline_notices() -> int:
    """Warn about steps two thirds through their time limit (黄牌) and overdue ones (红牌).

    `jiceng worker` runs it every five minutes (job `cases.deadline_notices`). Each
    warning's key names the request, the kind and the deadline, so it is created (and
    sent) once, however often this runs; a new deadline (the next step, an extension)
    brings a new warning.
    """
    from jiceng.core.deadlines import Clock, open_deadlines

    clock = Clock.current()
    actor = Actor.system("cases.deadline_notices")
    created = 0
    late = open_deadlines(PROCESS.name).filter(clock.late_q()).values("object_id")
    pending = Case.objects.filter(pk__in=late, status__in=Case.OPEN).select_related("handler")
    for case in pending.iterator(chunk_size=500):
        overdue = case.due_at < clock.now
        kind = "overdue" if overdue else "due_soon"
        label = (
            "已超期（红牌）"
            if overdue
            else f"{timezone.localtime(case.due_at):%m-%d %H:%M}到期（黄牌）"
        )
        text = f"诉求 {case.tracking_code} {case.get_status_display()}，{label}"
        key = f"{kind}:{case.pk}:{case.due_at.isoformat()}"
        with transaction.atomic():
            if case.status in (S.DISPATCHED, S.IN_PROGRESS):
                created += len(notify.handlers(case, kind, text, key, actor=actor))
            elif case.status == S.HANDLED:
                created += len(notify.checkers(case, kind, text, key, actor=actor))
            else:
                created += len(notify.triage_staff(case, kind, text, key, actor=actor))
            if overdue:
                created += len(notify.supervisors(case, kind, text, key, actor=actor))
    return created
