"""Rosters (花名册) of households and persons: import from .xlsx/.xls/.csv, export to .xlsx.

Import reads and checks every row before it writes anything; any error means nothing is
written and the caller gets the list of errors (row, column, Chinese message). A clean
file is written in one transaction. Persons are matched on their ID number, so running
the same file again changes nothing.
"""

import codecs
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
from jiceng.places.constants import (
    ETHNICITIES,
    HEAD,
    POLITICAL_STATUSES,
    RELATIONS_TO_HEAD,
    VARIANTS,
)
from jiceng.places.models import Household, Person, Region, SpecialGroup
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
COLUMN_BY_KEY = {c.key: c for c in COLUMNS}
HEADER_BY_KEY = {c.key: c.header for c in COLUMNS}
RESIDENCE_TYPES = {label: value for value, label in Person.ResidenceType.choices}
RESIDENCE_LABELS = dict(Person.ResidenceType.choices)
HEADER_SEARCH = 10  # rows above the header (a title, a date) are skipped
# What Excel makes of a long number typed into a cell not set to text: 3.70829E+17.
EXPONENT = re.compile(r"^\d(\.\d+)?E\+?\d+$", re.IGNORECASE)
AS_NUMBER = "此列被 Excel 存成了数字，末尾几位已丢失，请将该列设为文本后重新录入。"
EXAMPLE_MARK = "(示例)"  # the template's example row, which no import takes for a person
FIRST_ERRORS = 10  # shown on the result page; the rest are in the error workbook
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
    value: str = ""  # what the cell held, repeated in the error workbook


@dataclass
class ImportResult:
    total: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)
    ignored_headers: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # said, but nothing refused for them
    households_created: int = 0
    buildings_created: int = 0


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
    # Excel in China saves CSV as GBK; everything else is UTF-8 (maybe with a BOM). A BOM
    # before GBK text (an editor that added one) is dropped, not read as two characters.
    # GB18030 is a superset of GBK, so it reads both.
    with _binary(path) as raw:
        content = raw.read().removeprefix(codecs.BOM_UTF8)
    for encoding in ("utf-8", "gb18030"):
        try:
            text = content.decode(encoding)
        except UnicodeDecodeError:
            continue
        try:
            rows = list(csv.reader(io.StringIO(text, newline="")))
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
        raise RosterFileError("不是有效的 .xlsx 文件。", code="xlsx_invalid") from None
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


def _read_xls(path: Path | BinaryIO) -> Iterator[list[str]]:
    """An old Excel 97-2003 workbook (offices still send them), through xlrd."""
    import xlrd

    with _binary(path) as raw:
        content = raw.read()
    try:
        book = xlrd.open_workbook(file_contents=content, on_demand=True)
    except Exception:  # xlrd raises many kinds on a damaged or disguised file
        raise RosterFileError(
            "无法读取该 .xls 文件，请在 Excel 中另存为 .xlsx 后再导入。", code="xls_invalid"
        ) from None
    try:
        sheet = book.sheet_by_index(0)
        for number in range(sheet.nrows):
            cells = []
            for cell in sheet.row(number):
                if cell.ctype in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK):
                    cells.append("")
                elif cell.ctype == xlrd.XL_CELL_DATE:
                    cells.append(_cell_text(xlrd.xldate_as_datetime(cell.value, book.datemode)))
                elif cell.ctype in (xlrd.XL_CELL_NUMBER, xlrd.XL_CELL_TEXT):
                    cells.append(_cell_text(cell.value))
                else:  # a boolean or an error value
                    cells.append(str(cell.value))
            yield cells
    finally:
        book.release_resources()


class NumberCell(str):
    """The text of a cell the spreadsheet stored as a number (digits beyond the 15th of
    a long one are lost, and so are leading zeros)."""


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
    if suffix == ".xls":
        return _read_xls(path)
    raise RosterFileError("只支持 .xlsx、.xls 和 .csv 文件。", code="file_type")


# --- normalising -----------------------------------------------------------------------

SPACES = re.compile(r"\s+")
BETWEEN_HAN = re.compile(r"(?<=[\u3400-\u9fff])\s+(?=[\u3400-\u9fff])")
_VARIANTS = {
    kind: {SPACES.sub("", unicodedata.normalize("NFKC", k)): v for k, v in table.items()}
    for kind, table in VARIANTS.items()
}


def tidy(text: str) -> str:
    """A cell as it was meant: full-width digits and letters (３７０８, Ｘ) and the
    ideographic space read as their ASCII forms (NFKC), runs of spaces as one, none at
    either end, and none between Chinese characters ("王  五", aligned by hand)."""
    if not unicodedata.is_normalized("NFKC", text):  # the common case costs a scan
        text = unicodedata.normalize("NFKC", text)
    text = text.strip()
    if SPACES.search(text):
        text = BETWEEN_HAN.sub("", SPACES.sub(" ", text))
    return text


def canonical(kind: str, text: str) -> str:
    """The value of a list column (`kind` a key of places.constants.VARIANTS) that `text`
    means: "妻" → "配偶", "汉" → "汉族"; text the table does not know comes back tidied,
    for the caller's check to refuse."""
    key = SPACES.sub("", unicodedata.normalize("NFKC", text))
    return _VARIANTS.get(kind, {}).get(key, key)


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
    warnings: list[str] = field(default_factory=list)
    capped: bool = False  # stopped at MAX_ERRORS: the rest of the file was not read


def looks_numeric(raw: str, text: str) -> bool:
    """A cell the spreadsheet held as a number: a numeric cell of a workbook, or in a CSV
    the scientific notation Excel writes for one (3.70829E+17)."""
    return isinstance(raw, NumberCell) or bool(EXPONENT.match(text))


class _Households:
    """Households as the file gives them: each one's first row and whether it names a
    head, and the look of their numbers (a file mixing 0001 and 1 lost zeros somewhere)."""

    def __init__(self):
        self.first_row: dict[tuple[str, str], int] = {}
        self.with_head: set[tuple[str, str]] = set()
        self.heads_elsewhere: set[str] = set()  # numbers with a head row of a bad grid code
        self.padded = ""  # one number written with leading zeros, e.g. 0001
        self.bare = ""  # one number a numeric cell (or a shorter number) gave, e.g. 1

    def see(self, key: tuple[str, str], row: int, *, is_head: bool, numeric: bool) -> None:
        if not key[0]:  # an unknown grid, already an error: its head counts for the number
            if is_head:
                self.heads_elsewhere.add(key[1])
        else:
            self.first_row.setdefault(key, row)
            if is_head:
                self.with_head.add(key)
        number = key[1]
        if not number.isdigit():
            return
        if number[0] == "0" and len(number) > 1:
            self.padded = self.padded or number
        elif numeric or len(number) < len(self.padded or number):
            self.bare = self.bare or number

    def warning(self) -> str | None:
        if self.padded and self.bare:
            return (
                f"户号列中既有补零的（如“{self.padded}”），也有未补零的数字（如“{self.bare}”）："
                f"Excel 可能去掉了开头的 0，“{self.bare}”与“{self.bare.zfill(len(self.padded))}”"
                "会被当作两个不同的户。请核对，必要时将该列设为文本后重新录入。"
            )
        return None

    def without_head(self) -> list[tuple[tuple[str, str], int]]:
        return sorted(
            (
                (key, row)
                for key, row in self.first_row.items()
                if key not in self.with_head and key[1] not in self.heads_elsewhere
            ),
            key=lambda item: item[1],
        )


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
) -> _Households:
    """Check every row; hand each good row to `sink` until the first error (after which
    the rest is only checked, so that the error list is complete up to MAX_ERRORS).
    Nothing here depends on the database: the caller checks what needs it (households
    that exist already) from what this returns."""
    numbered = enumerate(rows, start=1)
    positions, found.ignored_headers = _header_map(header_row(numbered, REQUIRED_HEADERS))
    id_index = positions["id_number"]
    phone_index = positions.get("phone")
    household_index = positions["household_number"]
    errors = found.errors
    seen_ids = found.row_of_id
    head_rows: dict[tuple[str, str], int] = {}
    households = _Households()
    today = datetime.date.today()
    indexes = [positions.get(c.key) for c in COLUMNS]

    for row_number, row in numbered:
        width = len(row)
        values = [unguard(tidy(row[i])) if i is not None and i < width else "" for i in indexes]
        if not any(values):
            continue
        (grid_code, number, relation, name, raw_id, phone, ethnicity, political,
         residence_label, groups_text, building, unit_text, room, address) = values  # fmt: skip
        if name.startswith(EXAMPLE_MARK):
            continue  # the template's example, left in
        grid_code, number, raw_id, phone, unit_text, room = (
            SPACES.sub("", v) for v in (grid_code, number, raw_id, phone, unit_text, room)
        )
        relation = canonical("relation_to_head", relation)
        ethnicity = canonical("ethnicity", ethnicity)
        political = canonical("political_status", political)
        residence_label = canonical("residence_type", residence_label)
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
            as_number = EXPONENT.match(grid_code)
            problems.append(
                ("grid_code", AS_NUMBER if as_number else "网格编码不存在，或不在本次导入范围内。")
            )
        if not number:
            problems.append(("household_number", "户号不能为空。"))
        elif len(number) > 32:
            problems.append(("household_number", "户号不能超过32个字符。"))
        else:
            households.see(
                (grid_code if grid_code in grids else "", number),
                row_number,
                is_head=relation == HEAD,
                numeric=isinstance(row[household_index], NumberCell),
            )
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
        elif looks_numeric(row[id_index], raw_id):
            # Even an 18-digit number a double happens to hold exactly: the column is
            # numeric, and Excel keeps 15 digits of the next one.
            problems.append(("id_number", AS_NUMBER))
        else:
            try:
                parsed = parse_id_number(raw_id, today=today)
            except DomainError as failure:
                # A numeric column saved as CSV keeps 15 digits and pads with zeros.
                lost = failure.code == "id_number_check_digit" and raw_id.endswith("000")
                problems.append(("id_number", AS_NUMBER if lost else failure.message))
        if parsed is not None:
            first = seen_ids.get(parsed.value)
            if first is not None:
                problems.append(("id_number", f"与第{first}行的身份证号重复。"))
            else:
                seen_ids[parsed.value] = row_number
        if phone:
            checked = phones.phone(phone) or ""
            if not checked:
                numeric = phone_index is not None and looks_numeric(row[phone_index], phone)
                problems.append(
                    (
                        "phone",
                        AS_NUMBER if numeric else "联系电话应为11位手机号或带区号的固定电话。",
                    )
                )
            phone = checked
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
                group_name = canonical("special_groups", group_name)
                if group_name in group_codes:
                    groups.append(group_codes[group_name])
                elif group_name:
                    problems.append(("special_groups", f"未知的特殊人群类别“{group_name}”。"))
        unit_text = unit_text or "1"
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
            shown = dict(zip(COLUMNS, values, strict=True))
            errors.extend(
                RowError(row_number, HEADER_BY_KEY[k], m, shown[COLUMN_BY_KEY[k]])
                for k, m in problems
            )
            if len(errors) >= MAX_ERRORS:
                errors.append(
                    RowError(row_number, "", f"错误已超过 {MAX_ERRORS} 处，其后各行未再检查。")
                )
                found.capped = True
                break
        elif not errors:
            sink(
                Entry(row_number, grid_code, number, relation, name, parsed.value, parsed.gender,
                      parsed.birth_date, phone, ethnicity, political, residence, tuple(groups),
                      building, unit, room, address)
            )  # fmt: skip
    warning = households.warning()
    if warning:
        found.warnings.append(warning)
    if progress:
        progress("validating", found.count, total)
    return households


def _existing_households(region_code: str, keys: list[tuple[str, str]]) -> set[tuple[str, str]]:
    """Which of these (grid, number) are households already, within the target (which
    the importer may reveal: the answer tells nothing beyond their scope)."""
    existing: set[tuple[str, str]] = set()
    for start in range(0, len(keys), 5000):
        chunk = keys[start : start + 5000]
        existing |= {
            key
            for key in Household.objects.filter(
                region_code__within=region_code,
                region_code__in={grid for grid, _ in chunk},
                number__in={number for _, number in chunk},
            ).values_list("region_code", "number")
            if key in chunk
        }
    return existing


CONFLICT = "导入期间数据被他人修改，未写入任何数据，请重新导入。"


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
    every error, and the transaction is rolled back. A conflict with another writer
    stops the writing too, never the check: the importer hears of it beside every error
    of the file. A system actor is the server's own command line (`jiceng
    import-roster`), which may import anywhere without a quota.
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
            conflict: list[RowError] = []

            def guarded(write: Callable, *args) -> None:
                """Write unless an error or a conflict came first. A batch meeting a
                conflict is rolled back to its savepoint (RosterWriter), so that the check
                goes on and queries after it run; the rest goes with the whole import."""
                if conflict or found.errors:
                    return
                try:
                    write(*args)
                except IntegrityError:
                    logger.warning(
                        "Roster import into %s met a conflict", region_code, exc_info=True
                    )
                    conflict.append(RowError(0, "", CONFLICT))

            households = _check(
                read_table(path, original_name),
                found,
                grids=grids,
                group_codes=group_codes,
                sink=lambda entry: guarded(writer.add, entry),
                progress=progress,
                total=total,
                quota=quota,
            )
            guarded(writer.flush)
            if not found.capped:
                headless = households.without_head()
                existing = _existing_households(region_code, [key for key, _ in headless])
                found.errors += [
                    RowError(
                        row,
                        HEADER_BY_KEY["relation_to_head"],
                        f"户号{number}是新登记的户，须有一行与户主关系为“户主”。",
                        number,
                    )
                    for (grid, number), row in headless
                    if (grid, number) not in existing
                ]
            # In the order of the file; the note on the cap, if any, stays last.
            found.errors.sort(key=lambda e: (not e.column and found.capped, e.row))
            if not found.errors and found.count == 0:
                found.errors.append(RowError(2, "", "文件中没有数据行。"))
            found.errors[:0] = conflict
            if found.errors:
                raise _Rejected
            if progress:
                progress("writing", found.count, total)
            result.created, result.updated = writer.finish()
            result.households_created = writer.households_created
            result.buildings_created = writer.buildings_created
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
        # Someone changed the same records while the households were written (imports
        # themselves take turns); the file itself was clean.
        logger.warning("Roster import into %s met a conflict", region_code, exc_info=True)
        found.errors = [RowError(0, "", CONFLICT)]
    result.total = found.count
    result.errors = found.errors
    result.ignored_headers = found.ignored_headers
    result.warnings = found.warnings
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
    """The errors with what each offending cell held, so that the office finds the cell
    without opening its own file beside this one (the workbook is sealed at rest)."""
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("错误清单")
    sheet.append(["行号", "列", "填写的内容", "错误说明"])
    for item in errors:
        sheet.append(
            [item.row, safe_cell(item.column), safe_cell(item.value), safe_cell(item.message)]
        )
    if isinstance(target, Path):
        target.parent.mkdir(parents=True, exist_ok=True)
    workbook.save(target)


TEMPLATE_ROWS = 2000  # rows formatted as text and offered the lists below the example
EXAMPLE = {
    "grid_code": "370829001001001",
    "household_number": "0001",
    "relation_to_head": HEAD,
    "name": EXAMPLE_MARK.replace("(", "（").replace(")", "）") + "王建国",
    "id_number": "11010519491231002X",
    "phone": "13905370001",
    "ethnicity": "汉族",
    "political_status": "群众",
    "residence_type": "常住",
    "special_groups": "",
    "building": "1号楼",
    "unit": "1",
    "room": "101",
    "address": "建设路1号",
}


def _template_lists() -> dict[str, list[str]]:
    return {
        "relation_to_head": RELATIONS_TO_HEAD,
        "ethnicity": ETHNICITIES,
        "political_status": POLITICAL_STATUSES,
        "residence_type": list(RESIDENCE_TYPES),
        "special_groups": list(SpecialGroup.objects.order_by("pk").values_list("name", flat=True)),
    }


def write_template(target) -> None:
    """A roster to fill in: the expected headers, one example row (which the import
    skips), the digit columns (ID, phone, 户号, grid code, room) formatted as text so that
    Excel keeps every digit and leading zero, and dropdowns of the allowed values, listed
    on a hidden sheet (民族 is too long a list to write into the validation itself)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "花名册"
    options = workbook.create_sheet("选项")
    options.sheet_state = "hidden"
    sheet.append([c.header + ("*" if c.required else "") for c in COLUMNS])
    sheet.append([EXAMPLE[c.key] for c in COLUMNS])
    lists = _template_lists()
    for index, column in enumerate(COLUMNS, start=1):
        letter = get_column_letter(index)
        sheet.cell(row=1, column=index).font = Font(bold=True)
        sheet.column_dimensions[letter].width = column.width
        if column.key in TEXT_COLUMNS:
            # Each cell, not only the column: Excel and WPS honour the cells' format
            # when a number is typed or pasted into them.
            sheet.column_dimensions[letter].number_format = "@"
            for row in range(2, TEMPLATE_ROWS + 2):
                sheet.cell(row=row, column=index).number_format = "@"
    for position, (key, values) in enumerate(lists.items(), start=1):
        letter = get_column_letter(position)
        options.cell(row=1, column=position, value=HEADER_BY_KEY[key])
        for row, value in enumerate(values, start=2):
            options.cell(row=row, column=position, value=value)
        if key == "special_groups":
            continue  # several in one cell: a list would refuse "残疾人、低保对象"
        validation = DataValidation(
            type="list",
            formula1=f"=选项!${letter}$2:${letter}${len(values) + 1}",
            allow_blank=True,
            showErrorMessage=True,
            errorTitle="请从列表中选择",
            error=f"{HEADER_BY_KEY[key]}请从下拉列表中选择。",
        )
        column = get_column_letter([c.key for c in COLUMNS].index(key) + 1)
        validation.add(f"{column}2:{column}{TEMPLATE_ROWS + 1}")
        sheet.add_data_validation(validation)
    workbook.save(target)


def require_exporter(user, region_code: str) -> None:
    """An export is unmasked: it takes the reveal right for the whole region."""
    require(user, "people.export", region_code)
    require(user, "people.view", region_code)
    require(user, "people.view_sensitive", region_code)


EXPORT_PROGRESS_EVERY = 2000


def roster_export(
    *,
    actor: Actor,
    region_code: str,
    target,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Write the households and persons under `region_code` as .xlsx, unmasked (an export
    takes the reveal right for the whole region); return the row count. `progress` hears
    (rows written, rows in all) every EXPORT_PROGRESS_EVERY rows."""
    require_exporter(actor, region_code)
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
    total = people.count() if progress else 0
    if progress:
        progress(0, total)
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
        if progress and count % EXPORT_PROGRESS_EVERY == 0:
            progress(count, total)
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
