"""The catalogue of request types: the standard list a county starts from, and edits."""

import json
from pathlib import Path

from django.db import transaction

from jiceng.accounts.models import Department
from jiceng.cases.models import Category, Question
from jiceng.core import audit
from jiceng.core.access import require
from jiceng.core.calendar import UNITS
from jiceng.core.errors import DomainError

STANDARD = Path(__file__).resolve().parent / "data" / "catalogue.json"


@transaction.atomic
def catalogue_seed(*, county_code: str) -> int:
    """Load the standard catalogue (数字城管 events plus community matters) for a county,
    linking default departments by name where the county has them. Existing categories
    are left as they are. Returns how many were created."""
    departments = {d.name: d for d in Department.objects.filter(region_code=county_code)}
    created = 0
    for order, group in enumerate(json.loads(STANDARD.read_text(encoding="utf-8"))):
        parent, new = Category.objects.get_or_create(
            region_code=county_code,
            code=group["code"],
            defaults={"name": group["name"], "sort_order": order},
        )
        created += new
        for position, item in enumerate(group["children"]):
            accept = item.get("accept", [4, "hour"])
            handle = item.get("handle", [5, "day"])
            category, new = Category.objects.get_or_create(
                region_code=county_code,
                code=f"{group['code']}.{item['code']}",
                defaults={
                    "name": item["name"],
                    "parent": parent,
                    "sort_order": position,
                    "keywords": item.get("keywords", ""),
                    "accept_limit": accept[0],
                    "accept_unit": accept[1],
                    "handle_limit": handle[0],
                    "handle_unit": handle[1],
                    "default_department": departments.get(item.get("department", "")),
                },
            )
            created += new
            if new:
                for index, question in enumerate(item.get("questions", [])):
                    Question.objects.create(category=category, order=index, **question)
    return created


def catalogue_list(*, county_code: str):
    """Active leaf categories of a county, grouped order (for forms and Open311)."""
    return (
        Category.objects.filter(region_code=county_code, parent__isnull=False, is_active=True)
        .select_related("parent", "default_department")
        .prefetch_related("questions")
        .order_by("parent__sort_order", "sort_order", "code")
    )


@transaction.atomic
def category_update(*, actor, category: Category, **fields) -> Category:
    """Edit a category's name, limits, default department or whether it is offered."""
    require(actor, "cases.manage_catalogue", category.region_code)
    units = {value for value, _ in UNITS}
    for unit in ("accept_unit", "handle_unit", "check_unit"):
        if unit in fields and fields[unit] not in units:
            raise DomainError("时限单位无效。", code="unit_invalid", field=unit)
    for limit in ("accept_limit", "handle_limit", "check_limit"):
        if limit in fields and not 1 <= int(fields[limit]) <= 60:
            raise DomainError("时限须在1至60之间。", code="limit_invalid", field=limit)
    department = fields.get("default_department")
    if department is not None and department.region_code != category.region_code:
        raise DomainError("默认承办部门须属于本县。", code="department_invalid")
    if (
        fields.get("handle_limit", category.handle_limit)
        + fields.get("max_extension_days", category.max_extension_days)
        > 10
        and fields.get("handle_unit", category.handle_unit) == "day"
    ):
        raise DomainError("办理时限加可延期天数不能超过10个工作日。", code="limit_total")
    for name, value in fields.items():
        setattr(category, name, value)
    category.save()
    audit.record(
        actor=actor, action="category.update", obj=category, detail={"fields": list(fields)}
    )
    return category


@transaction.atomic
def question_add(*, actor, category: Category, code: str, label: str, datatype: str,
                 required: bool = False, values_text: str = "") -> Question:  # fmt: skip
    """Add an extra question (an Open311 attribute). Choices are lines of key:name."""
    require(actor, "cases.manage_catalogue", category.region_code)
    code, label = code.strip(), label.strip()
    if not code.replace("-", "").replace("_", "").isalnum() or not code.isascii():
        raise DomainError("代码只能用英文字母、数字、- 和 _。", code="question_code", field="code")
    if not label:
        raise DomainError("请填写问题。", code="question_label", field="label")
    if datatype not in Question.Datatype.values:
        raise DomainError("问题类型无效。", code="question_type", field="datatype")
    if category.questions.filter(code=code).exists():
        raise DomainError("该代码已被本类别使用。", code="question_code_taken", field="code")
    values = []
    for line in values_text.splitlines():
        key, _, name = line.partition(":")
        if key.strip() and name.strip():
            values.append({"key": key.strip(), "name": name.strip()})
    if datatype in ("singlevaluelist", "multivaluelist") and len(values) < 2:
        raise DomainError(
            "单选、多选至少要两个选项（每行一个，写成 代码:名称）。", code="question_values"
        )
    question = Question.objects.create(
        category=category,
        code=code[:48],
        label=label[:120],
        datatype=datatype,
        required=required,
        order=category.questions.count(),
        values=values,
    )
    audit.record(
        actor=actor, action="category.question_add", obj=question, region_code=category.region_code
    )
    return question


@transaction.atomic
def question_remove(*, actor, question: Question) -> None:
    require(actor, "cases.manage_catalogue", question.category.region_code)
    audit.record(
        actor=actor,
        action="category.question_remove",
        obj=question,
        region_code=question.category.region_code,
        detail={"code": question.code},
    )
    question.delete()


def category_groups(county_code: str) -> list[tuple[str, list[tuple[int, str]]]]:
    """Leaf categories under their group names, for a <select> with optgroups."""
    groups: dict[str, list] = {}
    for category in catalogue_list(county_code=county_code):
        groups.setdefault(category.parent.name, []).append((category.pk, category.name))
    return list(groups.items())
