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
