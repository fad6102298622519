"""A branch's members from a workbook, through the one import pipeline (places.imports):
checked in full and written in one transaction or not at all, with an error workbook for
a refused file; idempotent on the ID number. A row is matched to a member of the branch
already there, else to a person of the register only inside the importer's reveal scope
(people.view_sensitive), else it enters as a member without a person (待关联人口), to be
linked by staff who see the register: no answer depends on records the importer may not
see. The branch's yearly ledger (台账) leaves as a masked workbook."""

import datetime
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.utils import timezone

from jiceng.core import audit
from jiceng.core.access import require, scope_filter, scope_q, scopes
from jiceng.core.actors import Actor
from jiceng.core.errors import DomainError
from jiceng.core.masking import mask_id_number, mask_phone
from jiceng.core.personal import clear
from jiceng.core.sheets import safe_cell
from jiceng.party.models import Meeting, PartyMember, PartyOrganization, Transfer
from jiceng.party.services import _check_dates, _check_mobility, _identity, check_not_elsewhere
from jiceng.places.models import Person
from jiceng.places.roster import (
    AS_NUMBER,
    ImportResult,
    RowError,
    header_row,
    looks_numeric,
    read_table,
)

HEADERS = [
    "姓名",
    "身份证号",
    "党员类别",
    "入党日期",
    "转正日期",
    "手机号",
    "工作单位",
    "流动情况",
    "流出（流入）地",
]
REQUIRED = ["姓名", "身份证号", "党员类别", "入党日期"]
COLUMN_OF_FIELD = {
    "name": "姓名",
    "id_number": "身份证号",
    "category": "党员类别",
    "joined_on": "入党日期",
    "full_on": "转正日期",
    "phone": "手机号",
    "work_unit": "工作单位",
    "mobility": "流动情况",
    "mobility_place": "流出（流入）地",
}
CATEGORIES = {label: value for value, label in PartyMember.Category.choices}
MOBILITY = {"": "", "—": "", "无": "", "流出": "out", "流入": "in"}
MAX_ROWS = 5000
FIELDS = ("category", "joined_on", "full_on", "work_unit", "mobility", "mobility_place")


class _Rejected(Exception):
    pass


def _date(text: str) -> datetime.date | None:
    text = (text or "").strip()
    if not text:
        return None
    for separator in ("-", "/", ".", "年"):
        text = text.replace(separator, "-")
    text = text.rstrip("日").replace("月", "-")
    parts = [p for p in text.split(" ")[0].split("-") if p]
    try:
        year, month, day = (int(p) for p in parts)
        return datetime.date(year, month, day)
    except (ValueError, TypeError):
        raise DomainError("日期应写作 2001-07-01。", code="date_invalid") from None


def require_member_importer(actor, organization: PartyOrganization) -> None:
    require(actor, "party.branch", obj=organization)
    if not organization.is_open or not organization.holds_members:
        raise DomainError("只能向未撤销的党支部导入党员。", code="organization_holds_no_members")


def member_import(
    *,
    actor: Actor,
    organization: PartyOrganization,
    path: Path | BinaryIO,
    original_name: str,
    progress: Callable[[str, int, int], None] | None = None,
) -> ImportResult:
    """Check the whole file and write it in one transaction, or write nothing."""
    require_member_importer(actor, organization)
    result = ImportResult()
    numbered = enumerate(read_table(path, original_name), start=1)
    header = header_row(numbered, REQUIRED)
    # The header is read as NFKC (full-width brackets as ASCII): so are our names of it.
    read_as = {unicodedata.normalize("NFKC", name): name for name in HEADERS}
    position: dict[str, int] = {}
    for index, name in enumerate(header):
        if name in read_as:
            position.setdefault(read_as[name], index)
    result.ignored_headers = [h for h in header if h and h not in read_as]
    reveal = scopes(actor, "people.view_sensitive")
    seen: dict[str, int] = {}
    try:
        with transaction.atomic():
            branch = PartyOrganization.objects.select_for_update().get(pk=organization.pk)
            for number, cells in numbered:
                values = {
                    name: cells[i].strip() if i < len(cells) and cells[i] is not None else ""
                    for name, i in position.items()
                }
                raw_id = cells[position["身份证号"]] if position["身份证号"] < len(cells) else ""
                if not any(values.values()):
                    continue
                result.total += 1
                if result.total > MAX_ROWS:
                    result.errors.append(
                        RowError(number, "", f"一次最多导入 {MAX_ROWS} 名党员，请拆分文件。")
                    )
                    break
                if progress and result.total % 500 == 0:
                    progress("validating", result.total, 0)
                # Even an 18-digit number a double happens to hold exactly (its last
                # digits made up, its check digit by chance right): the column is numeric.
                if looks_numeric(raw_id, str(raw_id)):
                    result.errors.append(RowError(number, "身份证号", AS_NUMBER, str(raw_id)))
                    continue
                try:
                    outcome = _row(actor, branch, values, number, seen, reveal)
                except DomainError as refusal:
                    column = COLUMN_OF_FIELD.get(refusal.field or "", "")
                    result.errors.append(
                        RowError(number, column, refusal.message, values.get(column, ""))
                    )
                    continue
                setattr(result, outcome, getattr(result, outcome) + 1)
            if not result.errors and result.total == 0:
                result.errors.append(RowError(2, "", "文件中没有数据行。"))
            if result.errors:
                raise _Rejected
            audit.record(
                actor=actor,
                action="party.member_import",
                obj=branch,
                detail={
                    "file": original_name,
                    "rows": result.total,
                    "created": result.created,
                    "updated": result.updated,
                },
            )
    except _Rejected:
        result.created = result.updated = result.unchanged = 0
        audit.record(
            actor=actor,
            action="party.member_import",
            obj=organization,
            outcome="failure",
            detail={"file": original_name, "errors": len(result.errors)},
        )
    except IntegrityError:
        result.errors = [RowError(0, "", "导入期间数据被他人修改，未写入任何数据，请重新导入。")]
    return result


def _row(actor, branch, values, number, seen, reveal) -> str:
    """Check and write one row: "created", "updated" or "unchanged"."""
    name = values.get("姓名", "")
    if not name:
        raise DomainError("姓名不能为空。", field="name")
    if len(name) > 64:
        raise DomainError("姓名不能超过64字。", field="name")
    raw_id = values.get("身份证号", "")
    if not raw_id:
        raise DomainError("身份证号为空：无法确定是哪一位党员。", field="id_number")
    try:
        id_number, phone = _identity(raw_id, "")
    except DomainError as refusal:
        # A numeric column saved as CSV keeps 15 digits and pads with zeros.
        lost = refusal.code == "id_number_check_digit" and raw_id.endswith("000")
        raise DomainError(AS_NUMBER if lost else refusal.message, field="id_number") from None
    if values.get("手机号"):
        try:
            _, phone = _identity("", values["手机号"])
        except DomainError as refusal:
            raise DomainError(refusal.message, field="phone") from None
    if id_number in seen:
        raise DomainError(f"与第 {seen[id_number]} 行身份证号重复。", field="id_number")
    seen[id_number] = number
    label = values.get("党员类别", "")
    if label not in CATEGORIES:
        raise DomainError("党员类别应填“正式党员”或“预备党员”。", field="category")
    try:
        joined_on = _date(values.get("入党日期", ""))
    except DomainError as refusal:
        raise DomainError(refusal.message, field="joined_on") from None
    try:
        full_on = _date(values.get("转正日期", ""))
    except DomainError as refusal:
        raise DomainError(refusal.message, field="full_on") from None
    category = CATEGORIES[label]
    _check_dates(category, joined_on, full_on)
    mobility_label = values.get("流动情况", "")
    if mobility_label not in MOBILITY:
        raise DomainError("流动情况应填“流出”“流入”或留空。", field="mobility")
    mobility = MOBILITY[mobility_label]
    place = _check_mobility(mobility, values.get("流出（流入）地", ""))
    work_unit = values.get("工作单位", "")[:100]
    fields = {
        "category": category,
        "joined_on": joined_on,
        "full_on": full_on,
        "work_unit": work_unit,
        "mobility": mobility,
        "mobility_place": place,
    }
    existing = (
        PartyMember.objects.select_for_update(of=("self",))
        .filter(organization=branch, left_on__isnull=True)
        .filter(Q(id_number_index=id_number) | Q(person__id_number_index=id_number))
        .first()
    )
    if existing is not None:
        changed = {k: v for k, v in fields.items() if getattr(existing, k) != v}
        if not changed:
            return "unchanged"
        PartyMember.objects.filter(pk=existing.pk).update(updated_at=timezone.now(), **changed)
        return "updated"
    check_not_elsewhere(actor, id_number)
    person = None
    if reveal:
        person = Person.objects.filter(
            scope_q(reveal), id_number_index=id_number, registration=Person.Registration.CONFIRMED
        ).first()
    if person is not None:
        if PartyMember.objects.filter(person=person).exists():
            raise DomainError(
                "该党员的组织关系在其他党组织，请办理组织关系转接。", field="id_number"
            )
        PartyMember.objects.create(
            region_code=branch.region_code,
            organization=branch,
            person=person,
            name=person.name,
            **fields,
        )
        return "created"
    PartyMember.objects.create(
        region_code=branch.region_code,
        organization=branch,
        name=name,
        id_number=id_number,
        phone=phone,
        **fields,
    )
    return "created"


# --- the pipeline's hooks (places.imports.Importer) -----------------------------------------


def _branch(target_id) -> PartyOrganization:
    branch = PartyOrganization.objects.filter(pk=target_id or 0).first()
    if branch is None:
        raise DomainError("未找到该党支部。", code="organization_unknown")
    return branch


def check_upload(actor, region_code: str, target_id) -> None:
    branch = _branch(target_id)
    if branch.region_code != region_code:
        raise DomainError("导入范围与党支部不一致。", code="region_mismatch")
    require_member_importer(actor, branch)


def run_job(*, actor, region_code, target_id, path, original_name, progress) -> ImportResult:
    return member_import(
        actor=actor,
        organization=_branch(target_id),
        path=path,
        original_name=original_name,
        progress=progress,
    )


def visible_jobs(user, jobs):
    return scope_filter(jobs, user, "party.branch", via={"party.partyorganization": "target_id"})


def job_back(job) -> tuple[str, str]:
    from django.urls import reverse

    return reverse("party:organization", args=[job.target_id]), "返回党支部"


# --- the template and the ledger ----------------------------------------------------------


def write_template(target) -> None:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "党员名册"
    sheet.append([f"{h}*" if h in REQUIRED else h for h in HEADERS])
    for column in ("B", "D", "E", "F"):
        for row in range(2, 1002):
            sheet[f"{column}{row}"].number_format = "@"
    workbook.save(target)


def write_ledger(*, actor: Actor, organization: PartyOrganization, year: int, target) -> int:
    """党支部工作台账: the branch's members (masked), its organization life and its
    transfers of `year`, as one workbook; audited. Returns the members written."""
    from openpyxl import Workbook

    require(actor, "party.branch", obj=organization)
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("党员名册")
    sheet.append(
        [
            "姓名",
            "身份证号",
            "党员类别",
            "入党日期",
            "转正日期",
            "手机号",
            "工作单位",
            "流动情况",
            "流出（流入）地",
            "关联实有人口",
        ]
    )
    members = (
        PartyMember.objects.filter(organization=organization, left_on__isnull=True)
        .select_related("person")
        .order_by("name", "pk")
    )
    count = 0
    for m in members.iterator(chunk_size=500):
        number = m.known_id_number
        phone = m.person.phone if m.person_id else m.phone
        sheet.append(
            [
                safe_cell(m.name),
                mask_id_number(clear(number)),
                m.get_category_display(),
                m.joined_on,
                m.full_on,
                mask_phone(clear(phone)),
                safe_cell(m.work_unit),
                m.get_mobility_display() if m.mobility else "",
                safe_cell(m.mobility_place),
                "是" if m.person_id else "否",
            ]
        )
        count += 1
    meetings = workbook.create_sheet("组织生活")
    meetings.append(["日期", "类型", "主题", "应到", "实到", "请假", "会议记录"])
    kept = ~Q(gathering__signups__status="cancelled")
    for meeting in (
        Meeting.objects.filter(organization=organization, held_on__year=year)
        .select_related("gathering")
        .annotate(
            invited=Count("gathering__signups", filter=kept),
            present=Count(
                "gathering__signups", filter=kept & Q(gathering__signups__attendance="confirmed")
            ),
            excused=Count(
                "gathering__signups", filter=kept & Q(gathering__signups__attendance="leave")
            ),
        )
        .order_by("held_on", "pk")
    ):
        meetings.append(
            [
                meeting.held_on,
                meeting.get_kind_display(),
                safe_cell(meeting.gathering.title),
                meeting.invited,
                meeting.present,
                meeting.excused,
                "已归档" if meeting.is_held else "未归档",
            ]
        )
    transfers = workbook.create_sheet("组织关系转接")
    transfers.append(["申请日期", "党员", "转出", "转入", "状态"])
    for t in (
        Transfer.objects.filter(requested_at__year=year)
        .filter(Q(from_organization=organization) | Q(to_organization=organization))
        .select_related("member", "from_organization", "to_organization")
        .order_by("requested_at", "pk")
    ):
        transfers.append(
            [
                timezone.localtime(t.requested_at).date(),
                safe_cell(t.member.name),
                t.from_organization.name,
                t.to_organization.name if t.to_organization else f"{t.destination}（县外）",
                t.get_status_display(),
            ]
        )
    workbook.save(target)
    audit.record(
        actor=actor,
        action="party.ledger_export",
        obj=organization,
        detail={"year": year, "members": count},
    )
    return count


def write_dual_year(*, actor: Actor, organization: PartyOrganization, year: int, target) -> int:
    """双报到年度报告 of a unit: where it and each of its in-service members reported, for
    every report in force at some time in `year` (one ended that year, and the one that
    followed it, are both rows), what each did there in the days it was in force
    (volunteer activities attended in that community, service hours) and how the
    community rated it that year, with its comment. Names with the masked ID number (two
    members of one name stay apart), audited. Returns the member rows written."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment
    from openpyxl.utils import get_column_letter

    from jiceng.party.selectors import dual_of_unit_in, dual_year_of
    from jiceng.places.region_names import region_names

    require(actor, "party.branch", obj=organization)
    own, reports = dual_of_unit_in(organization, year)
    dual_year_of([*own, *reports], year)
    names = region_names([r.region_code for r in [*own, *reports]])
    workbook = Workbook(write_only=True)
    wrapped = Alignment(wrap_text=True, vertical="top")

    def sheet(title: str, columns: list[tuple[str, int]]):
        # Widths before the first row: a write-only sheet writes its columns first.
        made = workbook.create_sheet(title)
        for index, (_, width) in enumerate(columns, start=1):
            made.column_dimensions[get_column_letter(index)].width = width
        made.append([label for label, _ in columns])
        return made

    def long_text(target_sheet, value: str) -> WriteOnlyCell:
        cell = WriteOnlyCell(target_sheet, value=safe_cell(value) or None)
        cell.alignment = wrapped
        return cell

    def grade(report) -> str:
        return report.evaluation.get_grade_display() if report.evaluation else "未评价"

    def comment(report) -> str:
        return report.evaluation.comment if report.evaluation else ""

    unit = sheet(
        "单位报到",
        [
            ("单位党组织", 28), ("报到社区", 24), ("报到日期", 12), ("结束日期", 12),
            ("服务承诺", 60), ("参加志愿服务（人次）", 12), ("服务时长（小时）", 12),
            (f"{year}年社区评价", 12), ("社区评语", 40),
        ],
    )  # fmt: skip
    for report in own:
        unit.append(
            [
                safe_cell(organization.name),
                names.get(report.region_code, report.region_code),
                report.reported_on,
                report.ended_on,
                long_text(unit, report.commitments),
                report.activities,
                float(report.hours),
                grade(report),
                long_text(unit, comment(report)),
            ]
        )
    people = sheet(
        "在职党员报到",
        [
            ("姓名", 12), ("身份证号", 22), ("报到社区", 24), ("报到日期", 12), ("结束日期", 12),
            ("参加志愿服务（次）", 12), ("服务时长（小时）", 12), (f"{year}年社区评价", 12),
            ("社区评语", 40),
        ],
    )  # fmt: skip
    for report in reports:
        member = report.member
        number = member.known_id_number
        people.append(
            [
                safe_cell(member.name),
                mask_id_number(clear(number)),
                names.get(report.region_code, report.region_code),
                report.reported_on,
                report.ended_on,
                report.activities,
                float(report.hours),
                grade(report),
                long_text(people, comment(report)),
            ]
        )
    workbook.save(target)
    audit.record(
        actor=actor,
        action="party.dual_export",
        obj=organization,
        detail={"year": year, "members": len(reports)},
    )
    return len(reports)
