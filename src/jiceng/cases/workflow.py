"""The request process (12345 / 数字城管), declared in one table.

received ─accept→ accepted ─dispatch→ dispatched ─start→ in_progress ─handle→ handled
   │void              ▲                    │ return (退单, within the limit) → accepted
   ▼                  └──── return ────────┘
 voided                handled ─check(pass)→ closed     handled ─check(fail)→ dispatched (返工)
                       closed ─rate(不满意)/reopen→ dispatched (返工; the second time 督办)
 received/accepted ─merge→ merged

Each action is one service function in cases.services; this table says from which
states it may start, where it leads, and which permission it needs. Rating, extension
and supervision keep the status and only append events.
"""

from dataclasses import dataclass

from jiceng.cases.models import Case

S = Case.Status


@dataclass(frozen=True)
class Step:
    label: str
    sources: tuple[str, ...]
    target: str | None  # None: the status stays
    permission: str | None  # None: the resident (by their private link)


STEPS = {
    "submit": Step("提交", (), S.RECEIVED, None),
    "accept": Step("立案", (S.RECEIVED,), S.ACCEPTED, "cases.triage"),
    "void": Step("作废", (S.RECEIVED,), S.VOIDED, "cases.triage"),
    "merge": Step("合并", (S.RECEIVED, S.ACCEPTED), S.MERGED, "cases.triage"),
    "dispatch": Step("派单", (S.ACCEPTED,), S.DISPATCHED, "cases.triage"),
    "start": Step("接单", (S.DISPATCHED,), S.IN_PROGRESS, "cases.handle"),
    "return": Step("退单", (S.DISPATCHED, S.IN_PROGRESS), S.ACCEPTED, "cases.handle"),
    "request_extension": Step("申请延期", (S.DISPATCHED, S.IN_PROGRESS), None, "cases.handle"),
    "decide_extension": Step(
        "审批延期", (S.DISPATCHED, S.IN_PROGRESS), None, "cases.approve_extension"
    ),
    "handle": Step("办结反馈", (S.IN_PROGRESS,), S.HANDLED, "cases.handle"),
    "check": Step("核查", (S.HANDLED,), None, "cases.check"),  # closed, or back to dispatched
    "rate": Step("评价", (S.CLOSED,), None, None),
    "reopen": Step("申请重办", (S.CLOSED,), S.DISPATCHED, None),
    "supervise": Step("督办", Case.OPEN, None, "cases.supervise"),
    "note": Step("备注", Case.OPEN, None, "cases.view"),
}

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
