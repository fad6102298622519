"""The supervision queue (督办) as an .xlsx file: what the page shows, filtered the same
way, with the reporter's name and phone masked as on the page (and left out where the
page hides them); each export is audited."""

import io

from django.utils import timezone

from jiceng.cases import selectors
from jiceng.cases.models import Case
from jiceng.core import audit
from jiceng.core.access import require, scopes
from jiceng.core.actors import Actor, user_of
from jiceng.core.deadlines import Clock
from jiceng.core.masking import mask_name, mask_phone
from jiceng.core.region_codes import ancestors_of, is_within
from jiceng.places.region_names import region_name
from jiceng.places.roster import safe_cell

EXPORT_LIMIT = 20_000  # rows; a larger queue is exported community by community
HEADERS = [
    "查询码", "社区", "网格", "类别", "诉求内容", "状态", "红黄牌", "时限", "承办",
    "被督办", "反映人", "联系电话", "受理时间",
]  # fmt: skip
LATENESS = {"overdue": "红牌·超期", "due_soon": "黄牌·临期"}


def _local(moment) -> str:
    return f"{timezone.localtime(moment):%Y-%m-%d %H:%M}" if moment else ""


def _row(case: Case, clock: Clock, actor: Actor) -> list:
    community, grid = selectors.community_and_grid(case.region_code)
    handler = case.handler or case.handler_department
    shown = selectors.may_see_reporter(user_of(actor), case)
    return [
        safe_cell(value)
        for value in (
            case.tracking_code,
            region_name(community),
            region_name(grid),
            str(case.category) if case.category else "待确认",
            case.description,
            case.get_status_display(),
            LATENESS.get(clock.lateness(case), ""),
            _local(case.due_at),
            str(handler) if handler else "",
            "是" if case.supervised_region_code else "",
            mask_name(case.reporter_name) if shown else "",
            mask_phone(case.reporter_phone) if shown else "",
            _local(case.received_at),
        )
    ]


def supervision_export(*, actor: Actor, community: str = "") -> tuple[bytes, int]:
    """The supervisor's queue (one community of their scope, or all of it) as .xlsx bytes,
    and its row count. `community` must be one the supervisor may filter by (the caller
    checks it against `selectors.supervision_communities`)."""
    require(actor, "cases.supervise", community or None)
    from openpyxl import Workbook

    clock = Clock.current()
    queue = selectors.supervision_queue(user=actor, clock=clock, region_code=community or None)
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("督办")
    sheet.append(HEADERS)
    count = 0
    for case in queue[:EXPORT_LIMIT].iterator(chunk_size=2000):
        sheet.append(_row(case, clock, actor))
        count += 1
    if count == EXPORT_LIMIT:
        sheet.append([f"仅导出了前 {EXPORT_LIMIT} 件，请按社区筛选后分别导出。"])
    target = io.BytesIO()
    workbook.save(target)
    audit.record(
        actor=actor,
        action="case.supervision_export",
        object_type="places.region",
        object_id=community,
        region_code=community or _scope_label(actor),
        detail={"rows": count, "community": community},
    )
    return target.getvalue(), count


def _scope_label(actor) -> str:
    """The region an export of a whole queue is recorded at: the supervisor's scope, or
    the lowest node above all of their scopes."""
    prefixes = scopes(actor, "cases.supervise")
    if len(prefixes) == 1:
        return prefixes[0]
    shared = [
        code
        for code in ancestors_of(prefixes[0])
        if all(is_within(prefix, code) for prefix in prefixes)
    ]
    return shared[-1] if shared else ""
