"""The request process (12345 / 数字城管), declared in one table.

received ─accept→ accepted ─dispatch→ dispatched ─start→ in_progress ─handle→ handled
   │void              ▲                    │ return (退单, within the limit) → accepted
   ▼                  └──── return ────────┘
 voided                handled ─check(pass)→ closed     handled ─check(fail)→ dispatched (返工)
                       closed ─rate(不满意)/reopen→ dispatched (返工; the second time 督办)
 received/accepted ─merge→ merged   (by staff at the community or above)

A grid worker's void is proposed first (propose_void: an approval of kind cases.void);
the community's approval takes void, a refusal or withdrawal void_declined; the request
stays received meanwhile (作废待社区确认).

A suspect submission (可疑提交) stays received, outside the triage queue and without a
time limit, until confirm_genuine lets it in, or it is voided (one by one, or in bulk
through an approval: core.approvals kind cases.bulk_void).

Each action is one service function in cases.services, run by the one process runner
(core.process); this table says from which states it may start, where it leads, and who
may take it: a permission at the request's region, or the assigned handler (`HANDLER`);
whoever the request names (反映工作人员, `NAMED`) takes none of the steps that decide it.
Rating, extension and supervision keep the status and only append events. The runner
keeps each request's deadline row (its current `due_at`) while it is open.
"""

from jiceng.cases.models import Case, Event
from jiceng.core.access import has_permission
from jiceng.core.actors import Actor
from jiceng.core.errors import DomainError
from jiceng.core.masking import mask_name
from jiceng.core.process import Process, Step
from jiceng.core.region_codes import community_of

S = Case.Status


def HANDLER(actor: Actor, case: Case) -> bool:
    """The assigned handler, or staff of the assigned department who handle requests."""
    from jiceng.cases.selectors import may_handle

    return may_handle(actor.user, case)


def NAMED(actor: Actor, case: Case) -> DomainError | None:
    """Conflict of interest: the staff a request names (反映工作人员) stand aside."""
    from jiceng.cases.selectors import names

    if names(actor.user, case):
        return DomainError(
            "这件诉求反映的是您本人或您所在网格的工作人员，您须回避：不能受理、办理或作废。",
            code="conflict_of_interest",
        )
    return None


def MERGER(actor: Actor, case: Case) -> DomainError | None:
    """A merge ends a request for good, so it is taken by staff posted at the request's
    community or above (who void at once too); a grid's worker proposes a duplicate's void
    instead, naming the request it repeats. The named stand aside as for every decision."""
    if not has_permission(actor, "cases.triage", community_of(case.region_code)):
        return DomainError(
            "合并须由社区或以上的工作人员办理；重复的诉求请申请作废并写明与哪件重复，由社区确认。",
            code="merge_by_community",
        )
    return NAMED(actor, case)


def _no_void_pending(case: Case) -> DomainError | None:
    """While a grid worker's void waits for the community, the request is not triaged
    otherwise (the community approves or refuses the void first)."""
    if case.void_pending:
        return DomainError(
            "这件诉求的作废申请待社区确认，请先在审批中批准或不批准。", code="void_pending"
        )
    return None


def _void_pending(case: Case) -> DomainError | None:
    if not case.void_pending:
        return DomainError("这件诉求没有待确认的作废申请。", code="void_none")
    return None


def _no_pending_extension(case: Case) -> DomainError | None:
    if case.extension_requested_days:
        return DomainError("已有待审批的延期申请。", code="extension_pending")
    return None


def _pending_extension(case: Case) -> DomainError | None:
    if not case.extension_requested_days:
        return DomainError("没有待审批的延期申请。", code="extension_none")
    return None


def _confirmed(case: Case) -> DomainError | None:
    """A suspect joins the work only once someone has confirmed it (and texted it)."""
    if case.is_suspect:
        return DomainError("这是可疑提交，请先确认为真实诉求。", code="suspect_unconfirmed")
    return None


def _suspect(case: Case) -> DomainError | None:
    """Only a suspect is confirmed; one a bulk void holds may be too (a genuine request
    seen among the flood leaves the bulk void, which then passes over it)."""
    if not case.is_suspect:
        return DomainError("这件诉求不是可疑提交。", code="not_suspect")
    return None


def _ready(case: Case) -> DomainError | None:
    """Accepted or merged only once confirmed genuine and with no void awaiting the
    community."""
    return _confirmed(case) or _no_void_pending(case)


STEPS = {
    "submit": Step("提交", (), S.RECEIVED),
    # 可疑提交 (past the grid's hourly limit): confirmed, it joins the work as if just in.
    "confirm_genuine": Step(
        "确认为真实诉求", (S.RECEIVED,), None, "cases.triage", guard=_suspect, conflict=NAMED
    ),
    "accept": Step("立案", (S.RECEIVED,), S.ACCEPTED, "cases.triage", guard=_ready, conflict=NAMED),
    # Staff posted at the community or above void at once; a grid's worker proposes
    # (propose_void, an approval of kind cases.void that the community decides: approving
    # takes this step for the decider, refusing or withdrawing takes void_declined).
    "void": Step("作废", (S.RECEIVED,), S.VOIDED, "cases.triage", conflict=NAMED),
    "propose_void": Step(
        "申请作废", (S.RECEIVED,), None, "cases.triage", guard=_no_void_pending, conflict=NAMED
    ),
    "void_declined": Step("未作废", (S.RECEIVED,), None, "cases.triage", guard=_void_pending),
    "merge": Step(
        "合并", (S.RECEIVED, S.ACCEPTED), S.MERGED, "cases.triage", guard=_ready, conflict=MERGER
    ),
    "dispatch": Step("派单", (S.ACCEPTED,), S.DISPATCHED, "cases.triage", conflict=NAMED),
    "start": Step("接单", (S.DISPATCHED,), S.IN_PROGRESS, rule=HANDLER, conflict=NAMED),
    "return": Step("退单", (S.DISPATCHED, S.IN_PROGRESS), S.ACCEPTED, rule=HANDLER),
    "request_extension": Step(
        "申请延期",
        (S.DISPATCHED, S.IN_PROGRESS),
        None,
        rule=HANDLER,
        guard=_no_pending_extension,
        conflict=NAMED,
    ),
    "decide_extension": Step(
        "审批延期",
        (S.DISPATCHED, S.IN_PROGRESS),
        None,
        "cases.approve_extension",
        guard=_pending_extension,
        not_by=("request_extension",),
        conflict=NAMED,
    ),
    "handle": Step("办结反馈", (S.IN_PROGRESS,), S.HANDLED, rule=HANDLER, conflict=NAMED),
    # Closed, or back to dispatched; never by the one who handled it.
    "check": Step("核查", (S.HANDLED,), None, "cases.check", not_by=("handle",), conflict=NAMED),
    "rate": Step("评价", (S.CLOSED,), None),  # the resident, by their private link
    "reopen": Step("申请重办", (S.CLOSED,), S.DISPATCHED),  # likewise
    "supervise": Step("督办", Case.OPEN, None, "cases.supervise"),
    # The handler notes their work whatever their region; others need cases.view there.
    "note": Step("备注", Case.OPEN, None, "cases.view", rule=HANDLER),
}


def event_label(event: Event) -> str:
    """What a timeline (the staff's and the resident's) says of one step, with how a
    decision went: a check passed or sent back, an extension granted (how many days) or
    refused, the rating given."""
    if event.action not in STEPS:
        return "合并办理"  # merged_in: another request joined this one
    label = STEPS[event.action].label
    data = event.data or {}
    if event.action == "check":
        return "核查通过，结案" if event.to_status == S.CLOSED else "核查未通过，返工"
    if event.action == "decide_extension" and "approved" in data:
        if not data["approved"]:
            return "不批准延期"
        days = data.get("days")
        return f"批准延期{days}个工作日" if days else "批准延期"
    if event.action == "void_declined":
        return "撤回作废申请" if data.get("withdrawn") else "社区不同意作废"
    if event.action == "rate" and data.get("rating") in Case.Rating.values:
        return f"评价：{Case.Rating(data['rating']).label}"
    return label


def actor_label(actor) -> str:
    """How who acted appears in a timeline a resident can read: role and masked name."""
    user = getattr(actor, "user", actor)
    if getattr(actor, "is_system", False):
        return "系统"
    if user is None:
        return "居民"
    memberships = user.active_memberships()
    role = memberships[0].get_role_display() if memberships else "工作人员"
    return f"{role} {mask_name(user.full_name or user.username)}"


PROCESS = Process(
    name="case",
    model=Case,
    steps=STEPS,
    event_model=Event,
    event_object="case",
    actor_label=actor_label,
    open_states=Case.OPEN,
    due_field="due_at",
    subject="这件诉求",
)

# What a resident reads for each status on the tracking page.
RESIDENT_STATUS = {
    S.RECEIVED: "已收到，等待工作人员受理",
    S.ACCEPTED: "已受理，正在安排承办人",
    S.DISPATCHED: "已派给承办人",
    S.IN_PROGRESS: "正在办理",
    S.HANDLED: "已办理，等待社区核查",
    S.CLOSED: "已办结",
    S.VOIDED: "未受理",
    S.MERGED: "与其他居民反映的同一问题合并办理",
}
# What intake (the QR page, staff entry) asks of a request about staff (反映工作人员).
ABOUT_STAFF = [
    ("", "不是"),
    ("grid_worker", "是，反映本网格的网格员"),
    ("other", "是，反映其他工作人员"),
]


SUSPECT_STATUS = (
    "已收到。本网格近一小时提交较多，须工作人员核实后受理；紧急情况请直接联系网格员或拨打12345"
)


def resident_status(case: Case) -> str:
    """What the resident reads of their request's status: a suspect one says it waits to
    be checked (no time limit runs), and where to turn if it cannot wait."""
    if case.is_suspect and case.status == S.RECEIVED:
        return SUSPECT_STATUS
    return RESIDENT_STATUS[case.status]
