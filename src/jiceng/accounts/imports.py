"""Accounts imported from a spreadsheet: a county onboards a thousand grid workers at once.

Every row is checked first; any error writes nothing. A clean file creates every account
with a first password of its own, sent by SMS to the holder's phone (no administrator
sees it; it must be changed at the first sign-in), grants at once the roles without
sensitive rights, and files the sensitive ones as one batch for two security
administrators to sign. Files come as offices make them: a title above the header, names
in capitals, full-width digits, phone numbers with +86.
"""

import itertools
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.db.models.functions import Lower

from jiceng.accounts.hashers import generated_password
from jiceng.accounts.models import Department, GrantBatch, GrantRequest, Membership, User
from jiceng.accounts.roles import ADMINISTRATOR_ROLES, ROLES
from jiceng.accounts.services import USERNAME, USERNAME_RULE, first_password_message
from jiceng.core import audit, outbox, phones
from jiceng.core.access import has_permission, require
from jiceng.core.actors import Actor
from jiceng.core.errors import DomainError
from jiceng.core.region_codes import is_within
from jiceng.places.models import Region
from jiceng.places.roster import EXPONENT, RowError, canonical, header_row, read_table, tidy

HEADERS = ["账号", "姓名", "手机号", "所属区划", "角色", "任职区划", "所属部门"]
REQUIRED = ["账号", "姓名", "所属区划"]
MAX_ROWS = 5000
MAX_BYTES = 5 * 1024 * 1024  # a file of 5,000 accounts is well under a megabyte
MAX_UNCOMPRESSED = 50 * 1024 * 1024
EXPONENT_MESSAGE = (
    "区划编码被 Excel 写成了科学计数法（如 3.70829E+14）。请把该列设为“文本”，"
    "重新填入完整编码后保存。"
)
IMPORTABLE = {
    canonical("role", role.label): role
    for role in ROLES.values()
    if role.code not in ADMINISTRATOR_ROLES and role.code != "building_captain"
}


@dataclass
class Row:
    number: int
    username: str
    full_name: str
    phone: str
    region_code: str
    role: str
    role_region: str
    department: Department | None


@dataclass
class AccountImportResult:
    errors: list[RowError] = field(default_factory=list)
    accounts: list[tuple[User, str]] = field(default_factory=list)  # user, its post
    batch: GrantBatch | None = None


def _text(value) -> str:
    return tidy(str(value))


def _rows(path: Path, original_name: str):
    """(row number, {header: text}) of each filled row under the header row, which may
    have a title or a date above it."""
    rows = enumerate(read_table(path, original_name), start=1)
    names = header_row(rows, REQUIRED)
    index = {h: names.index(h) for h in HEADERS if h in names}
    for number, raw in rows:
        values = {h: (_text(raw[i]) if i < len(raw) else "") for h, i in index.items()}
        if any(values.values()):
            yield number, values


def _check_size(path: Path, original_name: str) -> None:
    """Refuse what no account list needs before reading it (a padded or zipped bomb)."""
    too_big = DomainError(
        "账号表过大：请拆分为每份不超过5000个账号、5 MB的文件。", code="too_large"
    )
    if path.stat().st_size > MAX_BYTES:
        raise too_big
    if Path(original_name).suffix.lower() == ".xlsx":
        try:
            with zipfile.ZipFile(path) as archive:
                if sum(i.file_size for i in archive.infolist()) > MAX_UNCOMPRESSED:
                    raise too_big
        except zipfile.BadZipFile:
            pass  # read_table says what is wrong with it


def _check(actor: Actor, path: Path, original_name: str) -> tuple[list[Row], list[RowError]]:
    rows: list[Row] = []
    errors: list[RowError] = []
    departments = {d.name: d for d in Department.objects.all()}
    seen: dict[str, int] = {}
    _check_size(path, original_name)
    parsed = list(itertools.islice(_rows(path, original_name), MAX_ROWS + 1))
    if len(parsed) > MAX_ROWS:
        raise DomainError(f"单个文件最多 {MAX_ROWS} 个账号，请拆分后导入。", code="too_many_rows")
    codes = {v.get("所属区划", "") for _, v in parsed} | {v.get("任职区划", "") for _, v in parsed}
    regions = {r.code: r for r in Region.objects.filter(code__in=codes - {""})}
    usernames = [v.get("账号", "").lower() for _, v in parsed]
    taken = set(
        User.objects.annotate(lower=Lower("username"))
        .filter(lower__in=usernames)
        .values_list("lower", flat=True)
    )
    for number, values in parsed:
        problems = []
        username = values.get("账号", "").lower()
        if not USERNAME.match(username):
            problems.append(("账号", USERNAME_RULE))
        elif username in taken:
            problems.append(("账号", "该账号已存在。"))
        elif username in seen:
            problems.append(("账号", f"与第{seen[username]}行的账号重复。"))
        else:
            seen[username] = number
        full_name = values.get("姓名", "")
        if not full_name or len(full_name) > 64:
            problems.append(("姓名", "姓名不能为空，且不超过64个字符。"))
        phone = phones.mobile(values.get("手机号", "")) or ""
        if not phone:
            problems.append(("手机号", "须填本人的11位手机号：初始密码以短信发到这个手机。"))
        home = values.get("所属区划", "")
        if EXPONENT.match(home) or EXPONENT.match(values.get("任职区划", "")):
            problems.append(("所属区划", EXPONENT_MESSAGE))
        elif home not in regions or not has_permission(actor, "users.manage", home):
            problems.append(("所属区划", "区划编码不存在，或不在您管理的范围内。"))
        role_label = canonical("role", values.get("角色", "")) if values.get("角色") else ""
        role_region = values.get("任职区划", "") or home
        role = IMPORTABLE.get(role_label)
        if EXPONENT.match(role_region):
            pass  # said once, above
        elif role_label and role is None:
            problems.append(("角色", f"角色应为：{'、'.join(IMPORTABLE)}。"))
        elif role is not None:
            region = regions.get(role_region)
            if region is None or not has_permission(actor, "users.manage", role_region):
                problems.append(("任职区划", "区划编码不存在，或不在您管理的范围内。"))
            elif region.level not in role.levels:
                problems.append(
                    ("任职区划", f"“{role.label}”不能设在{region.get_level_display()}一级。")
                )
        department = None
        if values.get("所属部门"):
            department = departments.get(values["所属部门"])
            if department is None or not is_within(home, department.region_code):
                problems.append(("所属部门", "没有这个部门，或它不在所属区划内。"))
        if problems:
            errors += [RowError(number, column, message) for column, message in problems]
            continue
        rows.append(
            Row(number, username, full_name, phone, home, role.code if role else "",
                role_region, department)
        )  # fmt: skip
    if not parsed:
        errors.append(RowError(2, "", "文件中没有数据行。"))
    return rows, errors


def account_import(*, actor: Actor, path: Path, original_name: str) -> AccountImportResult:
    """Check the whole file, then create every account in one transaction, or none."""
    require(actor, "users.manage")
    rows, errors = _check(actor, path, original_name)
    result = AccountImportResult(errors=errors)
    if errors:
        audit.record(
            actor=actor,
            action="user.import",
            region_code=actor.user.region_code,
            outcome="failure",
            detail={"file": original_name, "errors": len(errors)},
        )
        return result
    with transaction.atomic():
        passwords = [generated_password() for _ in rows]
        users = User.objects.bulk_create(
            [
                User(
                    username=row.username,
                    full_name=row.full_name,
                    phone=row.phone,
                    region_code=row.region_code,
                    department=row.department,
                    password=make_password(password, hasher="generated_sha256"),
                    password_must_change=True,
                )
                for row, password in zip(rows, passwords, strict=True)
            ]
        )
        users = {
            u.username: u for u in User.objects.filter(username__in=[r.username for r in rows])
        }
        sensitive = [r for r in rows if r.role and ROLES[r.role].is_sensitive]
        if sensitive:
            result.batch = GrantBatch.objects.create(
                region_code=actor.user.region_code,
                name=f"账号导入：{original_name}"[:200],
                created_by=actor.user,
            )
        granted = Membership.objects.bulk_create(
            [
                Membership(user=users[r.username], role=r.role, region_code=r.role_region,
                           created_by=actor.user)
                for r in rows
                if r.role and not ROLES[r.role].is_sensitive
            ]
        )  # fmt: skip
        GrantRequest.objects.bulk_create(
            [
                GrantRequest(user=users[r.username], role=r.role, region_code=r.role_region,
                             batch=result.batch, requested_by=actor.user)
                for r in sensitive
            ]
        )  # fmt: skip
        messages = []
        for row, password in zip(rows, passwords, strict=True):
            user = users[row.username]
            if not row.role:
                note = "未分配岗位"
            elif ROLES[row.role].is_sensitive:
                note = f"{ROLES[row.role].label}：待两名安全管理员审批"
            else:
                note = f"{ROLES[row.role].label}：已授予"
            result.accounts.append((user, note))
            messages.append(first_password_message(user, password))
            audit.record(
                actor=actor,
                action="user.create",
                obj=user,
                detail={"via": "import", "role": row.role},
            )
        for membership in Membership.objects.filter(pk__in=[m.pk for m in granted]):
            audit.record(
                actor=actor,
                action="user.grant",
                obj=membership,
                detail={
                    "user": membership.user.username,
                    "role": membership.role,
                    "role_label": ROLES[membership.role].label,
                },
            )
        audit.record(
            actor=actor,
            action="user.import",
            region_code=actor.user.region_code,
            detail={
                "file": original_name,
                "accounts": len(rows),
                "pending_grants": len(sensitive),
                "batch": result.batch.pk if result.batch else None,
            },
        )
        outbox.put(messages)
    return result


def write_template(target) -> None:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "账号"
    sheet.append([h + ("*" if h in REQUIRED else "") for h in HEADERS])
    sheet.append(
        ["wangjg", "王建国", "13905370001", "370829001", "专职网格员", "370829001001001", ""]
    )
    workbook.save(target)
