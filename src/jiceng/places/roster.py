"""Rosters (花名册) of households and persons: import from .xlsx/.csv, export to .xlsx.

Import reads and checks every row before it writes anything; any error means nothing is
written and the caller gets the list of errors (row, column, Chinese message). A clean
file is written in one transaction. Persons are matched on their ID number, so running
the same file again changes nothing.
"""

import contextlib
import csv
import datetime
import io
import logging
import re
import unicodedata
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, NamedTuple

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from jiceng.core import audit, personal, phones
from jiceng.core.access import require
from jiceng.core.actors import Actor
from jiceng.core.errors import DomainError
from jiceng.core.idnumber import parse_id_number
from jiceng.core.models import AuditEvent
from jiceng.core.sheets import safe_cell, unguard
from jiceng.places.constants import ETHNICITIES, HEAD, POLITICAL_STATUSES, RELATIONS_TO_HEAD
from jiceng.places.models import Person, Region, SpecialGroup
from jiceng.places.roster_writer import RosterWriter

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    required: bool = False
    width: int = 12


COLUMNS = [
    Column("grid_code", "网格编码", True, 18),
    Column("household_number", "户号", True, 14),
    Column("relation_to_head", "与户主关系", True),
    Column("name", "姓名", True),
    Column("id_number", "身份证号", True, 21),
    Column("phone", "联系电话", False, 14),
    Column("ethnicity", "民族"),
    Column("political_status", "政治面貌", False, 14),
    Column("residence_type", "居住类型"),
    Column("special_groups", "特殊人群", False, 16),
    Column("building", "楼栋"),
    Column("unit", "单元", False, 6),
    Column("room", "房号", False, 8),
    Column("address", "住址", False, 30),
]
COLUMN_BY_HEADER = {c.header: c for c in COLUMNS}
HEADER_BY_KEY = {c.key: c.header for c in COLUMNS}
RESIDENCE_TYPES = {label: value for value, label in Person.ResidenceType.choices}
RESIDENCE_LABELS = dict(Person.ResidenceType.choices)
HEADER_SEARCH = 10  # rows above the header (a title, a date) are skipped
# What Excel makes of a long number typed into a cell not set to text: 3.70829E+17.
EXPONENT = re.compile(r"^\d(\.\d+)?E\+?\d+$", re.IGNORECASE)
ID_AS_NUMBER = "身份证号被 Excel 存成了数字，后几位已丢失。请把该列设为“文本”，重新填入完整号码。"
LIST_SEPARATORS = re.compile(r"[、,，;；/\s]+")
UNIT_RE = re.compile(r"[0-9]{1,2}")
MAX_ROWS = 2_000_000
MAX_ERRORS = 1000  # listed; a file with more is refused at that point
MAX_XLSX_UNCOMPRESSED = 1024 * 1024 * 1024
PROGRESS_EVERY = 5000
IMPORT_LEVELS = (Region.Level.COUNTY, Region.Level.TOWN, Region.Level.COMMUNITY, Region.Level.GRID)


@dataclass(frozen=True)
class RowError:
    row: int
    column: str
    message: str


@dataclass
class ImportResult:
    total: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)
    ignored_headers: list[str] = field(default_factory=list)


class RosterFileError(DomainError):
    """The file as a whole cannot be read (format, encoding, headers)."""


ProgressCallback = Callable[[str, int, int], None]


# --- reading -------------------------------------------------------------------------


def _binary(source: Path | BinaryIO):
    """A binary handle on a roster: a path, or a file already opened (a sealed upload,
    opened in memory by its storage), read from its start and left open."""
    if isinstance(source, str | Path):
        return open(source, "rb")
    source.seek(0)
    return contextlib.nullcontext(source)


def _read_csv(path: Path | BinaryIO) -> Iterator[list[str]]:
    # Excel in China saves CSV as GBK; everything else is UTF-8 (maybe with a BOM).
    # GB18030 is a superset of GBK, so it reads both.
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            with _binary(path) as raw:
                handle = io.TextIOWrapper(raw, encoding=encoding, newline="")
                try:
                    rows = list(csv.reader(handle))
                finally:
                    handle.detach()
        except UnicodeDecodeError:
            continue
        except csv.Error as error:
            raise RosterFileError(f"CSV 文件格式有误：{error}", code="csv_malformed") from None
        yield from rows
        return
    raise RosterFileError("无法识别文件编码，请另存为 UTF-8 或 GBK 编码的 CSV。", code="encoding")


def _read_xlsx(path: Path | BinaryIO) -> Iterator[list[str]]:
    from openpyxl import load_workbook

    if not isinstance(path, str | Path):
        path.seek(0)
    try:
        with zipfile.ZipFile(path) as archive:
            if sum(i.file_size for i in archive.infolist()) > MAX_XLSX_UNCOMPRESSED:
                raise RosterFileError("表格解压后过大，拒绝处理。", code="xlsx_too_large")
    except zipfile.BadZipFile:
        raise RosterFileError(
            "不是有效的 .xlsx 文件（旧版 .xls 请在 Excel 中另存为 .xlsx）。", code="xlsx_invalid"
        ) from None
    if not isinstance(path, str | Path):
        path.seek(0)
    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception:
        raise RosterFileError("无法读取该 .xlsx 文件。", code="xlsx_invalid") from None
    try:
        sheet = workbook.worksheets[0]
        for values in sheet.iter_rows(values_only=True):
            yield ["" if v is None else _cell_text(v) for v in values]
    finally:
        workbook.close()


class NumberCell(str):
    """The text of a cell the spreadsheet stored as a number (digits beyond the 15th of
    a long one are lost)."""


def _cell_text(value) -> str:
    if isinstance(value, float) and value.is_integer():
        return NumberCell(int(value))
    if isinstance(value, int | float):
        return NumberCell(value)
    if isinstance(value, datetime.datetime):
        return value.date().isoformat()
    return str(value)


def read_table(path: Path | BinaryIO, original_name: str) -> Iterator[list[str]]:
    suffix = Path(original_name).suffix.lower()
    if suffix == ".csv":
        return _read_csv(path)
    if suffix == ".xlsx":
        return _read_xlsx(path)
    raise RosterFileError("只支持 .xlsx 和 .csv 文件。", code="file_type")


# --- checking --------------------------------------------------------------------------


class Entry(NamedTuple):
    """One roster row that passed every check."""

    row: int
    grid: str
    household_number: str
    relation: str
    name: str
    id_number: str
    gender: str
    birth_date: datetime.date
    phone: str
    ethnicity: str
    political_status: str
    residence_type: str
    groups: tuple[str, ...]
    building: str
    unit: int
    room: str
    address: str


def header_row(numbered: Iterator[tuple[int, list]], required: list[str]) -> list[str]:
    """The column names of the header: the first of the first HEADER_SEARCH rows that
    names every required column (offices put a title or a date above it). `numbered`
    yields (row number, cells) and goes on after the header."""
    empty = True
    for number, row in numbered:
        empty = False
        names = [unicodedata.normalize("NFKC", str(c)).strip().rstrip("*").strip() for c in row]
        if all(name in names for name in required):
            return names
        if number >= HEADER_SEARCH:
            break
    if empty:
        raise RosterFileError("文件是空的。", code="empty_file")
    raise RosterFileError(
        f"前{HEADER_SEARCH}行中找不到表头：须有{'、'.join(required)}这几列。请使用导入模板的表头。",
        code="header_missing",
    )


REQUIRED_HEADERS = [c.header for c in COLUMNS if c.required]
TEXT_COLUMNS = {"grid_code", "household_number", "id_number", "phone", "room"}


def _header_map(header: list[str]) -> tuple[dict[str, int], list[str]]:
    positions: dict[str, int] = {}
    ignored: list[str] = []
    for index, name in enumerate(header):
        if not name:
            continue
        column = COLUMN_BY_HEADER.get(name)
        if column is None:
            ignored.append(name)
            continue
        if column.key in positions:
            raise RosterFileError(f"表头“{name}”出现了两次。", code="header_duplicate")
        positions[column.key] = index
    return positions, ignored


@dataclass
class _Pass:
    """What one pass over the file found."""

    errors: list[RowError] = field(default_factory=list)
    count: int = 0
    ignored_headers: list[str] = field(default_factory=list)
    row_of_id: dict[str, int] = field(default_factory=dict)  # id_number -> row in file


def _check(
    rows: Iterator[list[str]],
    found: _Pass,
    *,
    grids: set[str],
    group_codes: dict[str, str],
    sink: Callable[[Entry], None],
    progress: ProgressCallback | None,
    total: int,
    quota: int,
) -> None:
    """Check every row; hand each good row to `sink` until the first error (after which
    the rest is only checked, so that the error list is complete up to MAX_ERRORS)."""
    numbered = enumerate(rows, start=1)
    positions, found.ignored_headers = _header_map(header_row(numbered, REQUIRED_HEADERS))
    id_index = positions["id_number"]
    errors = found.errors
    seen_ids = found.row_of_id
    head_rows: dict[tuple[str, str], int] = {}
    today = datetime.date.today()
    indexes = [positions.get(c.key) for c in COLUMNS]

    for row_number, row in numbered:
        width = len(row)
        values = [unguard(row[i].strip()) if i is not None and i < width else "" for i in indexes]
        if not any(values):
            continue
        (grid_code, number, relation, name, raw_id, phone, ethnicity, political,
         residence_label, groups_text, building, unit_text, room, address) = values  # fmt: skip
        found.count += 1
        if found.count > MAX_ROWS:
            raise RosterFileError(
                f"单个文件最多 {MAX_ROWS} 行，请拆分后导入。", code="too_many_rows"
            )
        if found.count > quota:
            raise RosterFileError(
                f"超过今日导入限额：24小时内最多还能导入 {max(quota, 0)} 行。请明日再导入，"
                "或请平台运维人员调整限额。",
                code="import_quota",
            )
        if progress and found.count % PROGRESS_EVERY == 0:
            progress("validating", found.count, total)
        problems: list[tuple[str, str]] = []  # (column key, message)

        if not grid_code:
            problems.append(("grid_code", "网格编码不能为空。"))
        elif grid_code not in grids:
            problems.append(("grid_code", "网格编码不存在，或不在本次导入范围内。"))
        if not number:
            problems.append(("household_number", "户号不能为空。"))
        elif len(number) > 32:
            problems.append(("household_number", "户号不能超过32个字符。"))
        if relation not in RELATIONS_TO_HEAD:
            problems.append(
                ("relation_to_head", f"与户主关系应为：{'、'.join(RELATIONS_TO_HEAD)}。")
            )
        if not name:
            problems.append(("name", "姓名不能为空。"))
        elif len(name) > 64 or any(c in name for c in "<>\"'&\t\r\n"):
            problems.append(("name", "姓名过长或含有不允许的字符。"))
        parsed = None
        if not raw_id:
            problems.append(("id_number", "身份证号不能为空。"))
        else:
            try:
                parsed = parse_id_number(raw_id, today=today)
            except DomainError as failure:
                as_number = isinstance(row[id_index], NumberCell) or EXPONENT.match(raw_id)
                problems.append(("id_number", ID_AS_NUMBER if as_number else failure.message))
        if parsed is not None:
            first = seen_ids.get(parsed.value)
            if first is not None:
                problems.append(("id_number", f"与第{first}行的身份证号重复。"))
            else:
                seen_ids[parsed.value] = row_number
        if phone:
            phone = phones.phone(phone) or ""
            if not phone:
                problems.append(("phone", "联系电话应为11位手机号或带区号的固定电话。"))
        ethnicity = ethnicity or "汉族"
        if ethnicity not in ETHNICITIES:
            problems.append(("ethnicity", "民族名称不正确（如：汉族、回族）。"))
        political = political or "群众"
        if political not in POLITICAL_STATUSES:
            problems.append(
                ("political_status", f"政治面貌应为：{'、'.join(POLITICAL_STATUSES)}。")
            )
        residence = RESIDENCE_TYPES.get(residence_label or "常住")
        if residence is None:
            problems.append(("residence_type", "居住类型应为：常住、暂住、流动。"))
        groups = []
        if groups_text:
            for group_name in LIST_SEPARATORS.split(groups_text):
                if group_name in group_codes:
                    groups.append(group_codes[group_name])
                elif group_name:
                    problems.append(("special_groups", f"未知的特殊人群类别“{group_name}”。"))
        unit_text = unicodedata.normalize("NFKC", unit_text or "1")
        unit = int(unit_text) if UNIT_RE.fullmatch(unit_text) and int(unit_text) > 0 else None
        if unit is None:
            problems.append(("unit", "单元应为1至99的数字。"))
        if room and not building:
            problems.append(("building", "填写了房号时必须填写楼栋。"))
        if len(building) > 64 or len(room) > 16:
            problems.append(("building" if len(building) > 64 else "room", "楼栋或房号过长。"))
        if len(address) > 200:
            problems.append(("address", "住址不能超过200个字符。"))
        if relation == HEAD and not problems:
            key = (grid_code, number)
            if key in head_rows:
                problems.append(
                    ("relation_to_head", f"户号{number}已在第{head_rows[key]}行登记户主。")
                )
            else:
                head_rows[key] = row_number
        if problems:
            errors.extend(RowError(row_number, HEADER_BY_KEY[k], m) for k, m in problems)
            if len(errors) >= MAX_ERRORS:
                errors.append(
                    RowError(row_number, "", f"错误已超过 {MAX_ERRORS} 处，其后各行未再检查。")
                )
                break
        elif not errors:
            sink(
                Entry(row_number, grid_code, number, relation, name, parsed.value, parsed.gender,
                      parsed.birth_date, phone, ethnicity, political, residence, tuple(groups),
                      building, unit, room, address)
            )  # fmt: skip
    if progress:
        progress("validating", found.count, total)


class _Rejected(Exception):
    pass


def roster_import(
    *,
    actor: Actor,
    region_code: str,
    path: Path | BinaryIO,
    original_name: str,
    progress: ProgressCallback | None = None,
) -> ImportResult:
    """Check the whole file and write it in one transaction, or write nothing.

    Good rows stream into the database while the rest of the file is checked (the server
    indexes them meanwhile); the first error stops the writing, the check goes on to list
    every error, and the transaction is rolled back. A system actor is the server's own
    command line (`jiceng import-roster`), which may import anywhere without a quota.
    """
    if not actor.is_system:
        require_importer(actor, region_code)
    target = Region.objects.filter(code=region_code).first()
    if target is None:
        raise DomainError("导入范围不存在。", code="region_unknown")
    if target.level not in IMPORT_LEVELS:
        raise DomainError("只能导入到县、乡镇（街道）、社区（村）或网格。", code="region_level")
    grids = set(
        Region.objects.filter(level=Region.Level.GRID, code__within=region_code).values_list(
            "code", flat=True
        )
    )
    group_codes = dict(SpecialGroup.objects.values_list("name", "code"))
    total = _count_rows(path, original_name)
    found = _Pass()
    result = ImportResult()
    try:
        with transaction.atomic():
            writer = RosterWriter(region_code, actor=actor)  # imports take turns from here
            today = _imported_today(actor)
            quota = MAX_ROWS if actor.is_system else _rows_per_day(region_code) - today["rows"]
            with writer:
                _check(
                    read_table(path, original_name),
                    found,
                    grids=grids,
                    group_codes=group_codes,
                    sink=writer.add,
                    progress=progress,
                    total=total,
                    quota=quota,
                )
            found.errors += [
                RowError(
                    row,
                    HEADER_BY_KEY["relation_to_head"],
                    f"户号{number}是新登记的户，须有一行与户主关系为“户主”。",
                )
                for row, number in writer.households_without_head()
            ]
            if not found.errors and found.count == 0:
                found.errors.append(RowError(2, "", "文件中没有数据行。"))
            if found.errors:
                raise _Rejected
            if progress:
                progress("writing", found.count, total)
            result.created, result.updated = writer.finish()
            result.unchanged = found.count - result.created - result.updated
            elsewhere = len(writer.move_checks)
            detail = {"created": result.created, "updated": result.updated}
            _audit(actor, region_code, original_name, found.count, detail, elsewhere=elsewhere)
            # The day's imports of one account together, so that splitting a file into
            # small ones raises the alert all the same.
            threshold = settings.JICENG_IMPORT_ELSEWHERE_ALERT
            before = today["elsewhere"]
            if not actor.is_system and before // threshold < (before + elsewhere) // threshold:
                audit.alert(
                    kind="roster_elsewhere",
                    text=f"{actor.reference} 24小时内导入的花名册中有 {before + elsewhere} 人"
                    "已在其可查看范围以外登记，已转迁入迁出核实。大量出现可能是在用导入试探"
                    "身份证号。",
                    region_code=region_code,
                    detail={"username": actor.reference, "rows": before + elsewhere},
                )
    except _Rejected:
        pass
    except RosterFileError as refusal:
        detail = {"refused": refusal.code}
        _audit(actor, region_code, original_name, found.count, detail, AuditEvent.FAILURE)
        raise
    except IntegrityError:
        # Someone changed the same records meanwhile (imports themselves take turns).
        logger.warning("Roster import into %s met a conflict", region_code, exc_info=True)
        found.errors = [RowError(0, "", "导入期间数据被他人修改，未写入任何数据，请重新导入。")]
    result.total = found.count
    result.errors = found.errors
    result.ignored_headers = found.ignored_headers
    if result.errors:
        detail = {"errors": len(result.errors)}
        _audit(actor, region_code, original_name, found.count, detail, AuditEvent.FAILURE)
    return result


def _audit(actor, region_code, file, rows, detail, outcome=AuditEvent.SUCCESS, elsewhere=0) -> None:
    """One event per import. `elsewhere` counts the rows that met a registration outside
    the importer's reveal scope: for the auditor, never shown to the importer."""
    audit.record(
        actor=actor,
        action="roster.import",
        object_type="places.region",
        object_id=region_code,
        region_code=region_code,
        outcome=outcome,
        detail={"file": file, "rows": rows, **detail, "elsewhere": elsewhere},
    )


def require_importer(user, region_code: str) -> None:
    """Importing or exporting a roster reveals whether, and as what, each person is
    registered: it takes the reveal right at the target, beside the import right."""
    require(user, "people.import", region_code)
    require(user, "people.view_sensitive", region_code)


def _rows_per_day(region_code: str) -> int:
    """Rows one account may import into `region_code` in 24 hours:
    JICENG_IMPORT_ROWS_PER_DAY, or by default twice the persons registered there (pending
    or confirmed alike, and none touched in those 24 hours, so that no import of the day
    moves the limit) plus 1,000."""
    if settings.JICENG_IMPORT_ROWS_PER_DAY is not None:
        return settings.JICENG_IMPORT_ROWS_PER_DAY
    since = timezone.now() - datetime.timedelta(hours=24)
    registered = Person.objects.filter(region_code__within=region_code, updated_at__lt=since)
    return 2 * registered.count() + 1000


def _imported_today(actor: Actor) -> dict[str, int]:
    """What this account's imports written in the last 24 hours held: rows, and rows that
    met a registration elsewhere. A refused file writes nothing and takes nothing (an
    office fixing its file uploads it several times)."""
    totals = {"rows": 0, "elsewhere": 0}
    if actor.user is None:
        return totals
    since = timezone.now() - datetime.timedelta(hours=24)
    for detail in AuditEvent.objects.filter(
        action="roster.import", actor=actor.user, at__gte=since, outcome=AuditEvent.SUCCESS
    ).values_list("detail", flat=True):
        totals["rows"] += detail.get("rows", 0)
        totals["elsewhere"] += detail.get("elsewhere", 0)
    return totals


def _count_rows(path: Path | BinaryIO, original_name: str) -> int:
    """Rows in the file, for the progress bar (a cheap pass over the bytes)."""
    if Path(original_name).suffix.lower() == ".csv":
        with _binary(path) as handle:
            return max(0, sum(1 for _ in handle) - 1)
    return 0


# --- error workbook and export -------------------------------------------------------


def write_error_workbook(errors: list[RowError], target: Path | BinaryIO) -> None:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("错误清单")
    sheet.append(["行号", "列", "错误说明"])
    for item in errors:
        sheet.append([item.row, safe_cell(item.column), safe_cell(item.message)])
    if isinstance(target, Path):
        target.parent.mkdir(parents=True, exist_ok=True)
    workbook.save(target)


def write_template(target) -> None:
    """A blank roster with the expected headers and one example row."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "花名册"
    sheet.append([c.header + ("*" if c.required else "") for c in COLUMNS])
    for index, column in enumerate(COLUMNS, start=1):
        sheet.cell(row=1, column=index).font = Font(bold=True)
        dimension = sheet.column_dimensions[sheet.cell(row=1, column=index).column_letter]
        dimension.width = column.width
        if column.key in TEXT_COLUMNS:
            dimension.number_format = "@"  # typed digits stay text: no lost zeros or digits
    workbook.save(target)


def roster_export(*, actor: Actor, region_code: str, target) -> int:
    """Write the households and persons under `region_code` as .xlsx, unmasked (an export
    takes the reveal right for the whole region); return the row count."""
    require(actor, "people.export", region_code)
    require(actor, "people.view", region_code)
    require(actor, "people.view_sensitive", region_code)
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("花名册")
    sheet.append([c.header for c in COLUMNS])
    people = (
        Person.objects.filter(region_code__within=region_code)
        .select_related("household__dwelling__building", "household__dwelling__unit")
        .prefetch_related("special_groups")
        .order_by("region_code", "household__number", "id")
    )
    count = 0
    for person in people.iterator(chunk_size=2000):
        household = person.household
        dwelling = household.dwelling if household else None
        groups = "、".join(g.name for g in person.special_groups.all())
        sheet.append(
            [
                safe_cell(v)
                for v in (
                    person.region_code,
                    household.number if household else "",
                    person.relation_to_head,
                    person.name,
                    # In clear: the export took the reveal right above and is audited.
                    personal.clear(person.id_number),
                    personal.clear(person.phone),
                    person.ethnicity,
                    person.political_status,
                    RESIDENCE_LABELS[person.residence_type],
                    groups,
                    dwelling.building.name if dwelling else "",
                    dwelling.unit.number if dwelling else "",
                    dwelling.room if dwelling else "",
                    household.address if household else "",
                )
            ]
        )
        count += 1
    workbook.save(target)
    audit.record(
        actor=actor,
        action="roster.export",
        object_type="places.region",
        object_id=region_code,
        region_code=region_code,
        detail={"rows": count, "unmasked": True},
    )
    return count


def upload_limit_bytes() -> int:
    return settings.JICENG_MAX_UPLOAD_MB * 1024 * 1024
