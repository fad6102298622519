"""The request process (12345 / 数字城管), declared in one table.

received ─accept→ accepted ─dispatch→ dispatched ─start→ in_progress ─handle→ handled
   │void              ▲                    │ return (退单, within the limit) → accepted
   ▼                  └──── return ────────┘
 voided                handled ─check(pass)→ closed     handled ─check(fail)→ dispatched (返工)
                       closed ─rate(不满意)/reopen→ dispatched (返工; the second time 督办)
 received/accepted ─merge→ merged

A suspect submission (可疑提交) stays received, outside the triage queue and without a
time limit, until confirm_genuine lets it in, or it is voided (one by one, or in bulk
through an approval: core.approvals kind cases.bulk_void).

Each action is one service function in cases.services, run by the one process runner
(core.process); this table says from which states it may start, where it leads, and who
may take it: a permission at the request's region, or the assigned handler (`HANDLER`).
Rating, extension and supervision keep the status and only append events. The runner
keeps each request's deadline row (its current `due_at`) while it is open.
"""

from jiceng.cases.models import Case, Event
from jiceng.core.actors import Actor
from jiceng.core.errors import DomainError
from jiceng.core.masking import mask_name
from jiceng.core.process import Process, Step

S = Case.Status


def HANDLER(actor: Actor, case: Case) -> bool:
    """The assigned handler, or staff of the assigned department who handle requests."""
    from jiceng.cases.selectors import may_handle

    return may_handle(actor.user, case)


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


def _suspect_free(case: Case) -> DomainError | None:
    if not case.is_suspect:
        return DomainError("这件诉求不是可疑提交。", code="not_suspect")
    if case.void_proposal_id:
        return DomainError("这件可疑提交已列入批量作废审批，请等审批结束。", code="void_proposed")
    return None


STEPS = {
    "submit": Step("提交", (), S.RECEIVED),
    # 可疑提交 (past the grid's hourly limit): confirmed, it joins the work as if just in.
    "confirm_genuine": Step(
        "确认为真实诉求", (S.RECEIVED,), None, "cases.triage", guard=_suspect_free
    ),
    "accept": Step("立案", (S.RECEIVED,), S.ACCEPTED, "cases.triage", guard=_confirmed),
    "void": Step("作废", (S.RECEIVED,), S.VOIDED, "cases.triage"),
    "merge": Step("合并", (S.RECEIVED, S.ACCEPTED), S.MERGED, "cases.triage", guard=_confirmed),
    "dispatch": Step("派单", (S.ACCEPTED,), S.DISPATCHED, "cases.triage"),
    "start": Step("接单", (S.DISPATCHED,), S.IN_PROGRESS, rule=HANDLER),
    "return": Step("退单", (S.DISPATCHED, S.IN_PROGRESS), S.ACCEPTED, rule=HANDLER),
    "request_extension": Step(
        "申请延期", (S.DISPATCHED, S.IN_PROGRESS), None, rule=HANDLER, guard=_no_pending_extension
    ),
    "decide_extension": Step(
        "审批延期",
        (S.DISPATCHED, S.IN_PROGRESS),
        None,
        "cases.approve_extension",
        guard=_pending_extension,
        not_by=("request_extension",),
    ),
    "handle": Step("办结反馈", (S.IN_PROGRESS,), S.HANDLED, rule=HANDLER),
    # Closed, or back to dispatched; never by the one who handled it.
    "check": Step("核查", (S.HANDLED,), None, "cases.check", not_by=("handle",)),
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
