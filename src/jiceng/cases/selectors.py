"""Scoped reads of requests: queues, the supervision queue, one request, lateness.

Lateness is never stored: a request is overdue (红牌) when its current deadline has
passed, and due soon (黄牌) once its deadline row's `warn_at` (two thirds of the step's
time limit) has passed (core.deadlines' Clock, the same for every process). Every read
of requests here carries `warn_at`, so a page judges its rows without a query per row."""

import datetime
from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet
from django.db.models.functions import Substr
from django.utils import timezone

from jiceng.cases.models import Case, Category, Event, Notification, Question
from jiceng.cases.workflow import PROCESS
from jiceng.core.access import has_permission, reach_q, require, scope_q, scopes
from jiceng.core.actors import user_of
from jiceng.core.deadlines import Clock, open_deadlines, with_warn_at
from jiceng.core.errors import NotFound
from jiceng.core.region_codes import (
    COMMUNITY,
    GRID,
    STATISTICAL_LENGTH,
    community_of,
    grid_of,
    is_above,
    is_within,
)
from jiceng.places.selectors import community_choices

S = Case.Status
QUEUE_LIMIT = 100


def visible_q(user) -> Q:
    """Requests in the user's scope or in a building assigned to them (楼栋长), plus those
    they entered, and those assigned to them or their department; never a request that
    names them (反映工作人员: the staff complained of do not see the complaint)."""
    condition = reach_q(user, "cases.view", building="building")
    if user.is_authenticated and has_permission(user, "cases.submit"):
        condition |= Q(submitted_by=user)
    if user.is_authenticated and has_permission(user, "cases.handle"):
        condition |= Q(handler=user)
        if user.department_id:
            condition |= Q(handler_department_id=user.department_id, handler__isnull=True)
    if user.is_authenticated:
        condition &= ~_naming_q(user)
    return condition


def _posted_grids(user) -> list[str]:
    """The grids the user holds a post in (a grid's worker, a captain of one of its
    buildings): a 反映工作人员 request from such a grid names them."""
    posts = user.active_memberships()
    return sorted({grid_of(m.region_code) for m in posts if not is_above(m.region_code, GRID)})


def _naming_q(user) -> Q:
    """The requests that name this staff member (see `names`)."""
    if user is None or not user.is_authenticated:
        return Q(pk__in=[])
    condition = Q(named_staff=user)
    grids = _posted_grids(user)
    if grids:
        condition |= Q(named_grid_code__in=grids)
    return condition


def names(user, case: Case) -> bool:
    """Whether the request is about this staff member: named in person, or a 反映工作人员
    request from a grid they hold a post in. Whoever it names may not triage, handle or
    void it (the process's `conflict`), nor decide a proposal to void it."""
    if case is None or user is None or not user.is_authenticated:
        return False
    if case.named_staff_id is not None and case.named_staff_id == user.pk:
        return True
    return bool(case.named_grid_code) and case.named_grid_code in _posted_grids(user)


def _posted_above_grid(user, permission: str, region_code: str | None = None) -> bool:
    """Whether the user holds `permission` by a post at a community or above (at
    `region_code`'s, if given): not only in a grid or a building."""
    return any(
        is_above(code, GRID) and (region_code is None or is_within(region_code, code))
        for code in scopes(user, permission)
    )


def may_see_reporter(user, case: Case) -> bool:
    """Whether the user is shown who asked (name and phone, masked): staff posted at the
    request's community or above, and a handler posted there. Of the staff posted below
    the community, only the request's own grid's, and only if the resident allowed it
    ("也允许本网格的网格员查看"): its grid workers (专职网格员), and a specialist grid
    worker (专业网格员) posted in it who handles the request and calls the resident back.
    The consent does not reach a property company's part-time grid workers (物业兼职网格员),
    of this grid or any other, nor staff of other grids. Whoever entered the request
    knows already. A request from before this default, whose resident asked to stay
    anonymous to the handler, is hidden from the handler."""
    if user is None or not user.is_authenticated:
        return False
    handler = may_handle(user, case)
    if handler and case.reporter_shown_to == Case.ReporterShownTo.NOT_HANDLER:
        return False
    if case.submitted_by_id is not None and case.submitted_by_id == user.pk:
        return True
    if _posted_above_grid(user, "cases.view", case.region_code):
        return True
    if handler and _posted_above_grid(user, "cases.handle"):
        return True
    if case.reporter_shown_to != Case.ReporterShownTo.GRID:
        return False
    roles = CONSENTED_HANDLER_ROLES if handler else CONSENTED_ROLES
    return _posted_in_grid_of(user, case.region_code, roles)


# The posts (accounts.roles) that a resident's "也允许本网格的网格员查看" names, held in the
# request's grid: its grid workers; and, for the request they handle, its specialists.
CONSENTED_ROLES = frozenset({"grid_worker"})
CONSENTED_HANDLER_ROLES = CONSENTED_ROLES | {"specialist_grid_worker"}


def _posted_in_grid_of(user, region_code: str, roles: frozenset[str]) -> bool:
    """Whether the user holds one of `roles` now, at the grid `region_code` lies in (a
    request placed at a town or above lies in no grid)."""
    if is_above(region_code, GRID):
        return False
    grid = grid_of(region_code)
    return any(
        m.role in roles and m.region_code == grid and not m.is_assignment and m.is_current()
        for m in user.active_memberships()
    )


def may_see_requests(user) -> bool:
    """Whether the user has any requests to see: in a scope or building, or to handle."""
    return has_permission(user, "cases.view") or has_permission(user, "cases.handle")


def may_reveal_reporter(user, case: Case) -> bool:
    """Who may read a reporter's name and phone in clear: of those shown the reporter
    (`may_see_reporter`), staff holding cases.view_reporter at the request's region, and
    the request's assigned handler if their role may reveal reporters at all (who calls
    the resident back, as the 12345 rules expect of the handling unit; a role that may is
    granted by two security administrators)."""
    return may_see_reporter(user, case) and _holds_reveal_right(user, case)


def reporter_hidden_by_choice(user, case: Case) -> bool:
    """Whether only the resident's choice keeps the reporter from this user (who is then
    told so, rather than that there is nothing to see)."""
    return _holds_reveal_right(user, case) and not may_see_reporter(user, case)


def _holds_reveal_right(user, case: Case) -> bool:
    if may_handle(user, case) and case.handler_id == user.pk:
        return has_permission(user, "cases.view_own_reporter") or has_permission(
            user, "cases.view_reporter"
        )
    return has_permission(user, "cases.view_reporter", case.region_code)


def case_get(*, user, pk: int) -> Case:
    case = (
        with_warn_at(Case.objects.filter(visible_q(user), pk=pk), PROCESS.name)
        .select_related("category__parent", "handler", "handler_department", "building")
        .first()
    )
    if case is None:
        raise NotFound()
    return case


def case_events(*, case: Case, public_only: bool = False) -> list[Event]:
    events = case.events.order_by("at", "id")
    if public_only:
        events = events.filter(is_public=True)
    return list(events)


# Fetched for a page of a queue by id, not joined: the page's rows are chosen on the
# request table alone, whatever the planner believes about the joined tables.
QUEUE_RELATED = ("category__parent", "handler", "handler_department")


def may_handle(user, case: Case) -> bool:
    """The assigned handler, or a member of the assigned department who handles requests."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if case.handler_id:
        return case.handler_id == user.pk
    return (
        case.handler_department_id is not None
        and user.department_id == case.handler_department_id
        and has_permission(user, "cases.handle")
    )


def available_actions(user, case: Case) -> set[str]:
    """The steps this user may take on this request now (for showing the right buttons),
    read from the process table."""
    return PROCESS.available_actions(user, case)


QUEUES = {
    "mine": "我承办的",
    "triage": "待受理派单",
    "suspect": "可疑提交",
    "check": "待核查",
    "open": "全部在办",
    "closed": "已办结",
}
# The permission a queue is for: a tab nobody could act on is not shown.
QUEUE_PERMISSIONS = {
    "mine": "cases.handle",
    "triage": "cases.triage",
    "suspect": "cases.triage",
    "check": "cases.check",
}


def queues_for(user) -> dict[str, str]:
    return {
        key: label
        for key, label in QUEUES.items()
        if key not in QUEUE_PERMISSIONS or has_permission(user, QUEUE_PERMISSIONS[key])
    }


def case_queue(
    *,
    user,
    queue: str,
    region_code: str | None = None,
    query: str = "",
    proposal: int | None = None,
) -> QuerySet:
    """One of the work queues, oldest deadline first (suspects, which have none, oldest
    first; `proposal` narrows them to those a bulk void holds). A query that is a
    request's tracking code finds it in whichever queue it now stands (what was handled
    has left 我承办的). A request that names the user is in none of their queues."""
    cases = with_warn_at(Case.objects.prefetch_related(*QUEUE_RELATED), PROCESS.name).exclude(
        _naming_q(user)
    )
    code = query.strip().upper().replace("-", "")
    if len(code) == 10 and code.isalnum() and queue in QUEUES:
        found = cases.filter(visible_q(user), tracking_code=code)
        if region_code:
            found = found.filter(region_code__within=region_code)
        return found.order_by("due_at", "id")
    if queue == "mine":
        mine = Q(handler=user)
        if user.department_id:
            mine |= Q(handler_department_id=user.department_id, handler__isnull=True)
        cases = cases.filter(mine, status__in=(S.DISPATCHED, S.IN_PROGRESS))
    elif queue == "triage":
        # Suspects (a grid's flood) are not fresh work until someone confirms them.
        cases = cases.filter(
            scope_q(scopes(user, "cases.triage")),
            status__in=(S.RECEIVED, S.ACCEPTED),
            is_suspect=False,
        )
    elif queue == "suspect":
        cases = cases.filter(
            scope_q(scopes(user, "cases.triage")), status=S.RECEIVED, is_suspect=True
        )
        if proposal is not None:
            cases = cases.filter(void_proposal_id=proposal)
    elif queue == "check":
        cases = cases.filter(scope_q(scopes(user, "cases.check")), status=S.HANDLED)
    elif queue == "open":
        cases = cases.filter(visible_q(user), status__in=Case.OPEN)
    elif queue == "closed":
        cases = cases.filter(visible_q(user), status__in=(S.CLOSED, S.VOIDED, S.MERGED))
    else:
        raise NotFound()
    if region_code:
        cases = cases.filter(region_code__within=region_code)
    query = query.strip()
    if query:
        code = query.upper().replace("-", "")
        cases = cases.filter(Q(tracking_code=code) | Q(description__contains=query[:50]))
    if queue == "closed":
        return cases.order_by("-closed_at", "-id")
    if queue == "suspect":
        return cases.order_by("received_at", "id")
    return cases.order_by("due_at", "id")


def supervision_queue(*, user, clock: Clock, region_code: str | None = None) -> QuerySet:
    """督办: open requests in the supervisor's scope that are due soon, overdue, or under
    supervision, the most pressing first."""
    require(user, "cases.supervise")
    prefixes = scopes(user, "cases.supervise")
    staff = user_of(user)
    late = (
        open_deadlines(PROCESS.name).filter(scope_q(prefixes), clock.late_q()).values("object_id")
    )
    if region_code:
        late = late.filter(region_code__within=region_code)
    cases = (
        with_warn_at(Case.objects, PROCESS.name)
        .filter(scope_q(prefixes), status__in=Case.OPEN)
        .filter(Q(pk__in=late) | ~Q(supervised_region_code=""))
        .exclude(_naming_q(staff))
    )
    if region_code:
        cases = cases.filter(region_code__within=region_code)
    return cases.prefetch_related(*QUEUE_RELATED).order_by("due_at", "id")


def community_and_grid(region_code: str) -> tuple[str, str]:
    """The codes of the community and grid a request lies in ("" for a level above)."""
    return (
        "" if is_above(region_code, COMMUNITY) else community_of(region_code),
        "" if is_above(region_code, GRID) else grid_of(region_code),
    )


def supervision_communities(*, user, queue: QuerySet) -> list[tuple[str, str, int]]:
    """(code, name, requests in `queue`) of each community the supervisor may filter the
    queue by: those at or under where they hold cases.supervise."""
    counts = dict(
        queue.order_by()
        .annotate(community=Substr("region_code", 1, STATISTICAL_LENGTH))
        .values("community")
        .annotate(n=Count("id"))
        .values_list("community", "n")
    )
    return [
        (code, name, counts.get(code, 0))
        for code, name in community_choices(user, "cases.supervise")
    ]


def supervision_counts(*, queue: QuerySet, clock: Clock) -> dict[str, int]:
    """How many requests a supervision queue holds: in all, overdue (红牌), due soon (黄牌,
    by the same deadline rows that put them in the queue) and under supervision."""
    late = open_deadlines(PROCESS.name).filter(clock.late_q()).values("object_id")
    return queue.order_by().aggregate(
        total=Count("id"),
        overdue=Count("id", filter=Q(due_at__lt=clock.now)),
        due_soon=Count("id", filter=Q(pk__in=late) & ~Q(due_at__lt=clock.now)),
        supervised=Count("id", filter=~Q(supervised_region_code="")),
    )


def duplicates_of(case: Case, limit: int = 5) -> list[tuple[Case, float]]:
    """Open requests in the same grid from the last 14 days whose text is alike."""
    from jiceng.cases.triage import similarity

    since = case.received_at - datetime.timedelta(days=14)
    candidates = (
        Case.objects.filter(
            region_code=case.region_code, status__in=Case.OPEN, received_at__gte=since
        )
        .exclude(pk=case.pk)
        .only("id", "tracking_code", "description", "status", "received_at")[:200]
    )
    scored = [(other, similarity(case.description, other.description)) for other in candidates]
    return sorted([s for s in scored if s[1] >= 0.3], key=lambda s: -s[1])[:limit]


def inbox(*, user, unread_only: bool = False) -> QuerySet:
    notes = Notification.objects.filter(user=user).select_related("case")
    if unread_only:
        notes = notes.filter(read_at__isnull=True)
    return notes.order_by("-created_at")


# --- figures ------------------------------------------------------------------------------


@dataclass
class Figures:
    """诉求统计 for one region and period (requests received in the period)."""

    region_code: str
    start: datetime.date
    end: datetime.date
    received: int = 0
    accepted: int = 0
    due_to_close: int = 0
    closed: int = 0
    closed_on_time: int = 0
    reworked: int = 0
    extended: int = 0
    rated: int = 0
    satisfied: int = 0
    average_hours_to_close: float | None = None
    top_categories: list = None

    @staticmethod
    def _rate(part: int, whole: int) -> float | None:
        return round(100 * part / whole, 1) if whole else None

    @property
    def closing_rate(self):  # 结案率
        return self._rate(self.closed, self.due_to_close)

    @property
    def on_time_rate(self):  # 按期结案率
        return self._rate(self.closed_on_time, self.due_to_close)

    @property
    def rework_rate(self):  # 返工率
        return self._rate(self.reworked, self.closed)

    @property
    def extension_rate(self):  # 延期率
        return self._rate(self.extended, self.accepted)

    @property
    def satisfaction_rate(self):  # 满意率
        return self._rate(self.satisfied, self.rated)


COUNTED = (
    "received", "accepted", "due_to_close", "closed", "closed_on_time", "reworked", "extended",
    "rated", "satisfied",
)  # fmt: skip


def case_figures(*, user, region_code: str, start: datetime.date, end: datetime.date) -> Figures:
    """The indicators of STANDARDS ("Case handling") over requests received in [start, end].

    应结案 (due to close): accepted requests whose handling deadline has passed by the end
    of the period, or that are closed. 结案率 = closed / due to close; 按期结案率 = closed on
    time / due to close; 返工率 = closed with rework / closed; 延期率 = extended / accepted.
    """
    from django.db.models import Count, DurationField, ExpressionWrapper, F, Sum

    require(user, "cases.figures", region_code)
    begin = timezone.make_aware(datetime.datetime.combine(start, datetime.time.min))
    finish = timezone.make_aware(datetime.datetime.combine(end, datetime.time.max))
    cases = Case.objects.filter(region_code__within=region_code, received_at__range=(begin, finish))
    accepted = ~Q(status__in=(S.RECEIVED, S.VOIDED, S.MERGED))
    closed = Q(status=S.CLOSED)
    due = accepted & (closed | Q(handle_due_at__lte=min(finish, timezone.now())))
    # One pass over the period, grouped by category: the totals are the sums of the groups,
    # and the groups are the category ranking.
    rows = list(
        cases.values("category_id")
        .annotate(
            received=Count("pk"),
            accepted=Count("pk", filter=accepted),
            due_to_close=Count("pk", filter=due),
            closed=Count("pk", filter=closed),
            closed_on_time=Count("pk", filter=closed & Q(closed_on_time=True)),
            reworked=Count("pk", filter=closed & Q(rework_count__gt=0)),
            extended=Count("pk", filter=accepted & Q(extension_days__gt=0)),
            rated=Count("pk", filter=Q(rating__isnull=False)),
            satisfied=Count("pk", filter=Q(rating__gte=Case.Rating.FAIRLY_SATISFIED)),
            time_to_close=Sum(
                ExpressionWrapper(F("closed_at") - F("received_at"), output_field=DurationField()),
                filter=closed,
            ),
        )
        .order_by()
    )
    counts = {name: sum(row[name] for row in rows) for name in COUNTED}
    time_to_close = sum(
        (row["time_to_close"] for row in rows if row["time_to_close"]), datetime.timedelta()
    )
    names = dict(
        Category.objects.filter(
            pk__in=[r["category_id"] for r in rows if r["category_id"]]
        ).values_list("pk", "name")
    )
    top = sorted(
        ((names[r["category_id"]], r["received"]) for r in rows if r["category_id"]),
        key=lambda item: -item[1],
    )[:10]
    average = time_to_close / counts["closed"] if counts["closed"] else None
    return Figures(
        region_code=region_code,
        start=start,
        end=end,
        average_hours_to_close=round(average.total_seconds() / 3600, 1) if average else None,
        top_categories=top,
        **counts,
    )


# --- the resident's own requests ---------------------------------------------------------

TAIL = 4


def case_by_code_and_tail(*, tracking_code: str, tail: str) -> Case | None:
    """The request with this 查询码 made with a phone ending in `tail`, or None: one
    indexed query whichever part is wrong (or the request has no phone), so neither the
    answer nor its time says whether the code exists."""
    return Case.objects.filter(
        tracking_code=tracking_code.strip().upper()[:12], reporter_phone_tail=tail[-TAIL:]
    ).first()


def resident_cases(*, phone: str, claimed_ids) -> QuerySet[Case]:
    """A signed-in resident's requests: those made with their phone (by its blind index)
    and those they claimed by 查询码; newest first."""
    return (
        Case.objects.filter(Q(reporter_phone=phone) | Q(pk__in=claimed_ids))
        .select_related("category")
        .order_by("-received_at", "-id")
    )


def case_answers(case: Case) -> list[tuple[str, str]]:
    """The answers to the category's extra questions as a person reads them: (问题, 回答)
    in the questions' order, an option shown by its name (是, not yes); an answer to a
    question the category no longer asks keeps its code."""
    if not case.answers:
        return []
    left = dict(case.answers)
    shown = []
    for question in case.category.questions.all() if case.category_id else ():
        if question.code not in left:
            continue
        value = left.pop(question.code)
        names = {str(v.get("key")): str(v.get("name", v.get("key"))) for v in question.values}
        if question.datatype == Question.Datatype.NUMBER and isinstance(value, float):
            value = f"{value:g}"
        values = value if isinstance(value, list) else [value]
        shown.append((question.label, "、".join(names.get(str(v), str(v)) for v in values)))
    return shown + [(code, str(value)) for code, value in left.items()]
