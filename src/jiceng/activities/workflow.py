"""The activity process, declared in one table.

draft ─publish→ published ─claim (a team, 抢单)→ claimed ─open_signup→ signup ─hold→ held
                    └─assign (the community, 派单)─┘                              │
 held ─complete (attendance final)→ completed ─settle (points issued)→ settled     │
 draft/published/claimed/signup ─cancel→ cancelled (signed-up residents are told)  ┘

Each step is one service in activities.services, run by the one process runner
(core.process); this table says from which states it may start, where it leads, and who
may take it: staff with activities.manage in the activity's community, or (claim, open
sign-up, hold, complete) the leader of the team concerned. The states in which residents
sign up, withdraw, check in and are marked present are read from it too.
"""

from django.utils import timezone

from jiceng.activities.models import Activity, ActivityEvent
from jiceng.core.access import has_permission
from jiceng.core.actors import Actor
from jiceng.core.errors import DomainError
from jiceng.core.masking import mask_name
from jiceng.core.process import Process, Step
from jiceng.gatherings.models import Gathering
from jiceng.gatherings.services import CHECK_IN_EARLY

A = Activity.Status
MANAGE = "activities.manage"


def LEADER(actor: Actor, activity: Activity) -> bool:
    """The resident leading the activity's team: access held by assignment, read the one
    way core.access reads every assignment."""
    return bool(
        actor.is_resident
        and activity.team_id
        and has_permission(actor, "activities.lead", obj=activity.team)
    )


def TEAM_LEADER(actor: Actor, activity: Activity) -> bool:
    """A resident, claiming for a team they lead (the service checks the team)."""
    return actor.is_resident


def NEAR_THE_START(activity: Activity) -> DomainError | None:
    """Check-in opens half an hour before the start."""
    if timezone.now() < activity.gathering.starts_at - CHECK_IN_EARLY:
        return DomainError("活动开始前半小时内才能开始签到。", code="too_early")
    return None


def BEGUN(activity: Activity) -> DomainError | None:
    """Attendance is confirmed once the activity has begun."""
    if timezone.now() < activity.gathering.starts_at:
        return DomainError("活动尚未开始，不能确认出勤。", code="too_early")
    return None


STEPS = {
    "create": Step("创建", (), A.DRAFT),
    "publish": Step("发布认领", (A.DRAFT,), A.PUBLISHED, MANAGE),
    "claim": Step("抢单认领", (A.PUBLISHED,), A.CLAIMED, rule=TEAM_LEADER),
    "assign": Step("派单", (A.DRAFT, A.PUBLISHED), A.CLAIMED, MANAGE),
    "open_signup": Step("开放报名", (A.CLAIMED,), A.SIGNUP, MANAGE, rule=LEADER),
    "hold": Step("开始活动", (A.SIGNUP,), A.HELD, MANAGE, rule=LEADER, guard=NEAR_THE_START),
    "complete": Step("确认出勤", (A.HELD,), A.COMPLETED, MANAGE, rule=LEADER, guard=BEGUN),
    "settle": Step("结算积分", (A.COMPLETED,), A.SETTLED, MANAGE),
    "cancel": Step("取消", (A.DRAFT, A.PUBLISHED, A.CLAIMED, A.SIGNUP), A.CANCELLED, MANAGE),
    # Rescheduling or moving keeps the status; only what has not started may change.
    "update": Step(
        "改期",
        (A.DRAFT, A.PUBLISHED, A.CLAIMED, A.SIGNUP),
        None,
        MANAGE,
        refusal="活动已举行或已取消，不能修改。",
    ),
}


def actor_label(actor: Actor) -> str:
    if actor.is_resident:
        return f"居民 {actor.resident}"
    if actor.is_staff:
        return f"工作人员 {mask_name(actor.user.full_name or actor.user.username)}"
    return "系统"


def leader_label(actor: Actor, team) -> str:
    """A team leader's steps (the claim, opening sign-up, starting, attendance) are signed
    as the leader of their team, not as a resident."""
    return f"队长 {actor.resident}（{team.name}）"[:64]


PROCESS = Process(
    name="activity",
    model=Activity,
    steps=STEPS,
    event_model=ActivityEvent,
    event_object="activity",
    actor_label=actor_label,
    sequence_field="sequence",
    subject="活动",
)

# The phase of the activity's gathering in each of its states: sign-up opens with
# open_signup, check-in with it and with hold, attendance is final once completed.
G = Gathering.Phase
PHASE = {
    A.DRAFT: G.DRAFT,
    A.PUBLISHED: G.PLANNED,
    A.CLAIMED: G.PLANNED,
    A.SIGNUP: G.OPEN,
    A.HELD: G.UNDER_WAY,
    A.COMPLETED: G.CLOSED,
    A.SETTLED: G.CLOSED,
    A.CANCELLED: G.CANCELLED,
}
