"""The activity process, declared in one table.

draft ─publish→ published ─claim (a team, 抢单)→ claimed ─open_signup→ signup ─hold→ held
                    └─assign (the community, 派单)─┘                              │
 held ─complete (attendance final)→ completed ─settle (points issued)→ settled     │
 draft/published/claimed/signup ─cancel→ cancelled (signed-up residents are told)  ┘

Each step is one service in activities.services; this table says from which states it may
start and where it leads. Who may take it: staff with activities.manage in the activity's
community, or (claim, hold, complete) the leader of the team concerned.
"""

from dataclasses import dataclass

from jiceng.activities.models import Activity

A = Activity.Status


@dataclass(frozen=True)
class Step:
    label: str
    sources: tuple[str, ...]
    target: str


STEPS = {
    "create": Step("创建", (), A.DRAFT),
    "publish": Step("发布认领", (A.DRAFT,), A.PUBLISHED),
    "claim": Step("抢单认领", (A.PUBLISHED,), A.CLAIMED),
    "assign": Step("派单", (A.DRAFT, A.PUBLISHED), A.CLAIMED),
    "open_signup": Step("开放报名", (A.CLAIMED,), A.SIGNUP),
    "hold": Step("活动开始", (A.SIGNUP,), A.HELD),
    "complete": Step("确认出勤", (A.HELD,), A.COMPLETED),
    "settle": Step("结算积分", (A.COMPLETED,), A.SETTLED),
    "cancel": Step("取消", (A.DRAFT, A.PUBLISHED, A.CLAIMED, A.SIGNUP), A.CANCELLED),
}

# What residents can see of an activity (the public preview, iCalendar, RSS).
PUBLIC = (A.PUBLISHED, A.CLAIMED, A.SIGNUP, A.HELD, A.COMPLETED, A.SETTLED, A.CANCELLED)
