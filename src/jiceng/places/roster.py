"""Rosters (花名册) of households and persons: import from .xlsx/.csv, export to .xlsx.

Import reads and checks every row before it writes anything; any error means nothing is
written and the caller gets the list of errors (row, column, Chinese message). A clean
file is written in one transaction. Persons are matched on their ID number, so running
the same file again changes nothing.
"""

import csv
import datetime
import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import transaction

from jiceng.core import audit
from jiceng.core.access import has_permission, require
from jiceng.core.bulk import bulk_insert
from jiceng.core.errors import DomainError
from jiceng.core.idnumber import parse_id_number
from jiceng.core.masking import mask_id_number, mask_phone, mask_text
from jiceng.places.constants import ETHNICITIES, HEAD, POLITICAL_STATUSES, RELATIONS_TO_HEAD
from jiceng.places.models import (
    Building,
    BuildingUnit,
    Dwelling,
    Household,
    Person,
    Region,
    SpecialGroup,
)


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
PHONE_RE = re.compile(r"^(1[3-9]\d{9}|0\d{2,3}-?\d{7,8})$")
LIST_SEPARATORS = re.compile(r"[、,，;；/\s]+")
MAX_ROWS = 2_000_000
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


def _read_csv(path: Path) -> Iterator[list[str]]:
    # Excel in China saves CSV as GBK; everything else is UTF-8 (maybe with a BOM).
    # GB18030 is a superset of GBK, so it reads both.
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            with open(path, encoding=encoding, newline="") as handle:
                rows = list(csv.reader(handle))
        except UnicodeDecodeError:
            continue
        except csv.Error as error:
            raise RosterFileError(f"CSV 文件格式有误：{error}", code="csv_malformed") from None
        yield from rows
        return
    raise RosterFileError("无法识别文件编码，请另存为 UTF-8 或 GBK 编码的 CSV。", code="encoding")


def _read_xlsx(path: Path) -> Iterator[list[str]]:
    from openpyxl import load_workbook

    try:
        with zipfile.ZipFile(path) as archive:
            if sum(i.file_size for i in archive.infolist()) > MAX_XLSX_UNCOMPRESSED:
                raise RosterFileError("表格解压后过大，拒绝处理。", code="xlsx_too_large")
    except zipfile.BadZipFile:
        raise RosterFileError(
            "不是有效的 .xlsx 文件（旧版 .xls 请在 Excel 中另存为 .xlsx）。", code="xlsx_invalid"
        ) from None
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


def _cell_text(value) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime.datetime):
        return value.date().isoformat()
    return str(value)


def read_table(path: Path, original_name: str) -> Iterator[list[str]]:
    suffix = Path(original_name).suffix.lower()
    if suffix == ".csv":
        return _read_csv(path)
    if suffix == ".xlsx":
        return _read_xlsx(path)
    raise RosterFileError("只支持 .xlsx 和 .csv 文件。", code="file_type")


# --- checking --------------------------------------------------------------------------


@dataclass
class _Checked:
    """What the check pass hands to the write pass."""

    persons: list[tuple] = field(default_factory=list)  # see _PERSON_FIELDS
    groups: dict[str, list[str]] = field(default_factory=dict)  # id_number -> group codes
    households: dict[tuple[str, str], dict] = field(default_factory=dict)
    heads: dict[tuple[str, str], str] = field(default_factory=dict)  # household -> head ID
    row_of_id: dict[str, int] = field(default_factory=dict)  # id_number -> row in file


_PERSON_FIELDS = (
    "region_code",
    "household_key",
    "name",
    "id_number",
    "gender",
    "birth_date",
    "phone",
    "ethnicity",
    "political_status",
    "relation_to_head",
    "residence_type",
)


def _header_map(header: list[str]) -> tuple[dict[str, int], list[str]]:
    positions: dict[str, int] = {}
    ignored: list[str] = []
    for index, raw in enumerate(header):
        name = str(raw).strip().rstrip("*＊").strip()
        if not name:
            continue
        column = COLUMN_BY_HEADER.get(name)
        if column is None:
            ignored.append(name)
            continue
        if column.key in positions:
            raise RosterFileError(f"表头“{name}”出现了两次。", code="header_duplicate")
        positions[column.key] = index
    missing = [c.header for c in COLUMNS if c.required and c.key not in positions]
    if missing:
        raise RosterFileError(
            f"缺少必填列：{'、'.join(missing)}。请使用导入模板的表头。", code="header_missing"
        )
    return positions, ignored


def _check(
    rows: Iterator[list[str]],
    *,
    grids: set[str],
    group_codes: dict[str, str],
    progress: ProgressCallback | None,
    total: int,
) -> tuple[_Checked, list[RowError], int, list[str]]:
    try:
        header = next(rows)
    except StopIteration:
        raise RosterFileError("文件是空的。", code="empty_file") from None
    positions, ignored = _header_map(header)
    checked = _Checked()
    errors: list[RowError] = []
    seen_ids = checked.row_of_id
    head_rows: dict[tuple[str, str], int] = {}
    today = datetime.date.today()
    count = 0
    get = {key: (lambda r, i=i: r[i].strip() if i < len(r) else "") for key, i in positions.items()}
    empty = lambda r: ""  # noqa: E731
    cell = {c.key: get.get(c.key, empty) for c in COLUMNS}

    for row_number, row in enumerate(rows, start=2):
        if not any(str(v).strip() for v in row):
            continue
        count += 1
        if count > MAX_ROWS:
            raise RosterFileError(
                f"单个文件最多 {MAX_ROWS} 行，请拆分后导入。", code="too_many_rows"
            )
        if progress and count % PROGRESS_EVERY == 0:
            progress("validating", count, total)

        def error(key: str, message: str, row_number=row_number) -> None:
            errors.append(RowError(row_number, HEADER_BY_KEY[key], message))

        grid_code = cell["grid_code"](row)
        if not grid_code:
            error("grid_code", "网格编码不能为空。")
        elif grid_code not in grids:
            error("grid_code", "网格编码不存在，或不在本次导入范围内。")
        number = cell["household_number"](row)
        if not number:
            error("household_number", "户号不能为空。")
        elif len(number) > 32:
            error("household_number", "户号不能超过32个字符。")
        relation = cell["relation_to_head"](row)
        if relation not in RELATIONS_TO_HEAD:
            error("relation_to_head", f"与户主关系应为：{'、'.join(RELATIONS_TO_HEAD)}。")
        name = cell["name"](row)
        if not name:
            error("name", "姓名不能为空。")
        elif len(name) > 64 or any(c in name for c in "<>\"'&\t\r\n"):
            error("name", "姓名过长或含有不允许的字符。")
        raw_id = cell["id_number"](row)
        parsed = None
        if not raw_id:
            error("id_number", "身份证号不能为空。")
        else:
            try:
                parsed = parse_id_number(raw_id, today=today)
            except DomainError as failure:
                error("id_number", failure.message)
        if parsed is not None:
            first = seen_ids.get(parsed.value)
            if first is not None:
                error("id_number", f"与第{first}行的身份证号重复。")
                parsed = None
            else:
                seen_ids[parsed.value] = row_number
        phone = cell["phone"](row).replace(" ", "")
        if phone and not PHONE_RE.match(phone):
            error("phone", "联系电话应为11位手机号或带区号的固定电话。")
        ethnicity = cell["ethnicity"](row) or "汉族"
        if ethnicity not in ETHNICITIES:
            error("ethnicity", "民族名称不正确（如：汉族、回族）。")
        political = cell["political_status"](row) or "群众"
        if political not in POLITICAL_STATUSES:
            error("political_status", f"政治面貌应为：{'、'.join(POLITICAL_STATUSES)}。")
        residence_label = cell["residence_type"](row) or "常住"
        residence = RESIDENCE_TYPES.get(residence_label)
        if residence is None:
            error("residence_type", "居住类型应为：常住、暂住、流动。")
        groups = []
        for group_name in LIST_SEPARATORS.split(cell["special_groups"](row)):
            if not group_name:
                continue
            if group_name not in group_codes:
                error("special_groups", f"未知的特殊人群类别“{group_name}”。")
            else:
                groups.append(group_codes[group_name])
        building = cell["building"](row)
        unit_text = cell["unit"](row) or "1"
        room = cell["room"](row)
        unit = int(unit_text) if unit_text.isdigit() and 0 < int(unit_text) < 100 else None
        if unit is None:
            error("unit", "单元应为1至99的数字。")
        if room and not building:
            error("building", "填写了房号时必须填写楼栋。")
        if len(building) > 64 or len(room) > 16:
            error("building" if len(building) > 64 else "room", "楼栋或房号过长。")
        address = cell["address"](row)
        if len(address) > 200:
            error("address", "住址不能超过200个字符。")

        if errors and errors[-1].row == row_number:
            continue
        key = (grid_code, number)
        household = checked.households.setdefault(
            key, {"address": "", "dwelling": None, "row": row_number}
        )
        if address and not household["address"]:
            household["address"] = address
        if building and room and household["dwelling"] is None:
            household["dwelling"] = (building, unit, room)
        if relation == HEAD:
            if key in head_rows:
                error("relation_to_head", f"户号{number}已在第{head_rows[key]}行登记户主。")
                continue
            head_rows[key] = row_number
            checked.heads[key] = parsed.value
        checked.persons.append(
            (
                grid_code,
                key,
                name,
                parsed.value,
                parsed.gender,
                parsed.birth_date,
                phone,
                ethnicity,
                political,
                relation,
                residence,
            )
        )
        checked.groups[parsed.value] = groups
    if progress:
        progress("validating", count, total)
    return checked, errors, count, ignored


def _check_against_database(checked: _Checked, region_code: str) -> list[RowError]:
    """What only the database can tell: IDs registered outside the target region, and
    new households without a head."""
    errors = []
    ids = list(checked.row_of_id)
    for start in range(0, len(ids), 5000):
        elsewhere = (
            Person.objects.filter(id_number__in=ids[start : start + 5000])
            .exclude(region_code__within=region_code)
            .values_list("id_number", flat=True)
        )
        errors += [
            RowError(
                checked.row_of_id[id_number],
                HEADER_BY_KEY["id_number"],
                "该身份证号已在本次导入范围以外登记，请先办理迁出。",
            )
            for id_number in elsewhere
        ]
    existing = set(
        Household.objects.filter(region_code__within=region_code).values_list(
            "region_code", "number"
        )
    )
    errors += [
        RowError(
            household["row"],
            HEADER_BY_KEY["relation_to_head"],
            f"户号{key[1]}是新登记的户，须有一行与户主关系为“户主”。",
        )
        for key, household in checked.households.items()
        if key not in checked.heads and key not in existing
    ]
    return sorted(errors, key=lambda e: e.row)


# --- writing -------------------------------------------------------------------------


def _ensure_dwellings(checked: _Checked) -> dict[tuple[str, str, int, str], int]:
    """Create the buildings, units and dwellings the file names; return their ids."""
    wanted = {
        (key[0], *household["dwelling"])
        for key, household in checked.households.items()
        if household["dwelling"]
    }
    if not wanted:
        return {}
    grids = {w[0] for w in wanted}

    def building_ids():
        rows = Building.objects.filter(region_code__in=grids).values_list(
            "region_code", "name", "id"
        )
        return {(g, name): pk for g, name, pk in rows}

    def unit_ids():
        rows = BuildingUnit.objects.filter(region_code__in=grids).values_list(
            "building_id", "number", "id"
        )
        return {(b, n): pk for b, n, pk in rows}

    def dwelling_ids():
        rows = Dwelling.objects.filter(region_code__in=grids).values_list("unit_id", "room", "id")
        return {(u, room): pk for u, room, pk in rows}

    buildings = building_ids()
    missing = sorted({(g, b) for g, b, _, _ in wanted} - buildings.keys())
    if missing:
        Building.objects.bulk_create([Building(region_code=g, name=b) for g, b in missing])
        buildings = building_ids()
    units = unit_ids()
    missing = sorted(
        {(g, buildings[(g, b)], u) for g, b, u, _ in wanted if (buildings[(g, b)], u) not in units}
    )
    if missing:
        BuildingUnit.objects.bulk_create(
            [BuildingUnit(region_code=g, building_id=b, number=u) for g, b, u in missing]
        )
        units = unit_ids()
    dwellings = dwelling_ids()
    located = {
        w: (w[0], buildings[(w[0], w[1])], units[(buildings[(w[0], w[1])], w[2])], w[3])
        for w in wanted
    }
    missing = sorted({spot for spot in located.values() if (spot[2], spot[3]) not in dwellings})
    if missing:
        Dwelling.objects.bulk_create(
            [Dwelling(region_code=g, building_id=b, unit_id=u, room=r) for g, b, u, r in missing],
            batch_size=2000,
        )
        dwellings = dwelling_ids()
    return {w: dwellings[(spot[2], spot[3])] for w, spot in located.items()}


def _write(checked: _Checked, region_code: str, result: ImportResult) -> None:
    dwelling_ids = _ensure_dwellings(checked)

    def dwelling_of(key):
        spot = checked.households[key]["dwelling"]
        return dwelling_ids[(key[0], *spot)] if spot else None

    in_target = Household.objects.filter(region_code__within=region_code)
    existing_households = {
        (h.region_code, h.number): h
        for h in in_target.only("id", "region_code", "number", "address", "dwelling_id", "head_id")
    }
    now = datetime.datetime.now(datetime.timezone.utc)
    new_households = [
        (key[0], key[1], household["address"], dwelling_of(key), now)
        for key, household in checked.households.items()
        if key not in existing_households
    ]
    bulk_insert(
        Household, ["region_code", "number", "address", "dwelling", "updated_at"], new_households
    )
    changed_households = []
    for key, household in existing_households.items():
        if key not in checked.households:
            continue
        address = checked.households[key]["address"] or household.address
        dwelling_id = dwelling_of(key) or household.dwelling_id
        if (address, dwelling_id) != (household.address, household.dwelling_id):
            household.address, household.dwelling_id = address, dwelling_id
            changed_households.append(household)
    Household.objects.bulk_update(changed_households, ["address", "dwelling"], batch_size=2000)
    household_ids = {
        (region, number): pk
        for pk, region, number in in_target.values_list("id", "region_code", "number")
    }

    existing = {p.id_number: p for p in Person.objects.filter(region_code__within=region_code)}
    new_rows = []
    changed = []
    for grid, key, name, id_number, gender, birth, phone, eth, pol, rel, res in checked.persons:
        household_id = household_ids[key]
        person = existing.get(id_number)
        if person is None:
            new_rows.append(
                (
                    grid,
                    household_id,
                    name,
                    id_number,
                    id_number[-4:],
                    gender,
                    birth,
                    phone,
                    phone[-4:],
                    eth,
                    pol,
                    rel,
                    res,
                    now,
                )
            )
            continue
        values = {
            "region_code": grid,
            "household_id": household_id,
            "name": name,
            "phone": phone,
            "phone_tail": phone[-4:],
            "ethnicity": eth,
            "political_status": pol,
            "relation_to_head": rel,
            "residence_type": res,
        }
        if any(getattr(person, f) != v for f, v in values.items()):
            for f, v in values.items():
                setattr(person, f, v)
            person.updated_at = now
            changed.append(person)
    bulk_insert(Person, [*PERSON_COLUMNS, "updated_at"], new_rows)
    Person.objects.bulk_update(changed, [*PERSON_UPDATE_COLUMNS, "updated_at"], batch_size=2000)
    person_ids = dict(
        Person.objects.filter(region_code__within=region_code).values_list("id_number", "id")
    )
    groups_changed = _write_special_groups(checked, region_code, person_ids)
    result.created = len(new_rows)
    result.updated = len({p.id_number for p in changed} | groups_changed)
    result.unchanged = len(checked.persons) - result.created - result.updated

    heads_changed = []
    for household in in_target.only("id", "region_code", "number", "head_id"):
        head_id_number = checked.heads.get((household.region_code, household.number))
        if head_id_number and household.head_id != person_ids[head_id_number]:
            household.head_id = person_ids[head_id_number]
            heads_changed.append(household)
    Household.objects.bulk_update(heads_changed, ["head"], batch_size=2000)


PERSON_COLUMNS = [
    "region_code",
    "household",
    "name",
    "id_number",
    "id_tail",
    "gender",
    "birth_date",
    "phone",
    "phone_tail",
    "ethnicity",
    "political_status",
    "relation_to_head",
    "residence_type",
]
PERSON_UPDATE_COLUMNS = [
    "region_code",
    "household",
    "name",
    "phone",
    "phone_tail",
    "ethnicity",
    "political_status",
    "relation_to_head",
    "residence_type",
]


def _write_special_groups(checked: _Checked, region_code: str, person_ids: dict) -> set[str]:
    """Make each listed person's special groups what the file says; return the IDs of
    persons whose groups changed (a new person's first groups are not a change)."""
    through = Person.special_groups.through
    group_pk = dict(SpecialGroup.objects.values_list("code", "pk"))
    current: dict[int, set[int]] = {}
    for person_id, group_id in through.objects.filter(
        person__region_code__within=region_code
    ).values_list("person_id", "specialgroup_id"):
        current.setdefault(person_id, set()).add(group_id)
    replaced: list[int] = []
    rows: list[tuple[int, int]] = []
    changed = set()
    for id_number, codes in checked.groups.items():
        person_id = person_ids[id_number]
        wanted = {group_pk[c] for c in codes}
        have = current.get(person_id, set())
        if wanted == have:
            continue
        if have:
            replaced.append(person_id)
            changed.add(id_number)
        rows += [(person_id, g) for g in wanted]
    for start in range(0, len(replaced), 2000):
        through.objects.filter(person_id__in=replaced[start : start + 2000]).delete()
    bulk_insert(through, ["person", "specialgroup"], rows)
    return changed


def roster_import(
    *,
    actor,
    region_code: str,
    path: Path,
    original_name: str,
    progress: ProgressCallback | None = None,
) -> ImportResult:
    """Check the whole file, then write it in one transaction, or write nothing.

    `actor` None means the server's own command line (`jiceng import-roster`).
    """
    if actor is not None:
        require(actor, "people.import", region_code)
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
    checked, errors, count, ignored = _check(
        read_table(path, original_name),
        grids=grids,
        group_codes=group_codes,
        progress=progress,
        total=total,
    )
    result = ImportResult(total=count, errors=errors, ignored_headers=ignored)
    if not errors:
        errors.extend(_check_against_database(checked, region_code))
    if not errors and count == 0:
        errors.append(RowError(2, "", "文件中没有数据行。"))
    if errors:
        audit.record(
            actor=actor,
            action="roster.import",
            object_type="places.region",
            object_id=region_code,
            region_code=region_code,
            outcome="failure",
            detail={"file": original_name, "rows": count, "errors": len(errors)},
        )
        return result
    if progress:
        progress("writing", count, total)
    with transaction.atomic():
        _write(checked, region_code, result)
        audit.record(
            actor=actor,
            action="roster.import",
            object_type="places.region",
            object_id=region_code,
            region_code=region_code,
            detail={
                "file": original_name,
                "rows": count,
                "created": result.created,
                "updated": result.updated,
                "unchanged": result.unchanged,
            },
        )
    return result


def _count_rows(path: Path, original_name: str) -> int:
    """Rows in the file, for the progress bar (a cheap pass over the bytes)."""
    if Path(original_name).suffix.lower() == ".csv":
        with open(path, "rb") as handle:
            return max(0, sum(1 for _ in handle) - 1)
    return 0


# --- error workbook and export -------------------------------------------------------


def _safe_cell(value) -> object:
    """Defuse spreadsheet formulas: text starting with = + - @ is shown, not run."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def write_error_workbook(errors: list[RowError], target: Path) -> None:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("错误清单")
    sheet.append(["行号", "列", "错误说明"])
    for item in errors:
        sheet.append([item.row, _safe_cell(item.column), _safe_cell(item.message)])
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
        sheet.column_dimensions[sheet.cell(row=1, column=index).column_letter].width = column.width
    workbook.save(target)


def roster_export(*, user, region_code: str, target) -> int:
    """Write the households and persons under `region_code` as .xlsx; return the row
    count. Masked unless the user may reveal personal data for the whole region."""
    require(user, "people.export", region_code)
    require(user, "people.view", region_code)
    from openpyxl import Workbook

    reveal = has_permission(user, "people.view_sensitive", region_code)
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
                _safe_cell(v)
                for v in (
                    person.region_code,
                    household.number if household else "",
                    person.relation_to_head,
                    person.name,
                    person.id_number if reveal else mask_id_number(person.id_number),
                    person.phone if reveal else mask_phone(person.phone),
                    person.ethnicity,
                    person.political_status,
                    RESIDENCE_LABELS[person.residence_type],
                    groups if reveal else mask_text(groups),
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
        actor=user,
        action="roster.export",
        object_type="places.region",
        object_id=region_code,
        region_code=region_code,
        detail={"rows": count, "unmasked": reveal},
    )
    return count


def upload_limit_bytes() -> int:
    return settings.JICENG_MAX_UPLOAD_MB * 1024 * 1024
