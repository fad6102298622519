"""The region code column and its `within` lookup: the scope test of every query.

Region codes are paths of digits (37 → 3708 → 370829 → 370829001 → 370829001001 →
370829001001001), so "inside region R" is "code starts with R's code".
"""

from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Lookup

from jiceng.core.errors import DomainError
from jiceng.core.region_codes import MAX_LENGTH

region_code_validator = RegexValidator(r"^[0-9]{2,24}$", "区划编码只能由2至24位数字组成。")


class RegionCodeField(models.CharField):
    description = "Region code (a path of digits)"

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_length", MAX_LENGTH)
        if not args:
            kwargs.setdefault("verbose_name", "区划编码")
        super().__init__(*args, **kwargs)
        self.validators.append(region_code_validator)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        if kwargs.get("max_length") == MAX_LENGTH:
            del kwargs["max_length"]
        if kwargs.get("verbose_name") == "区划编码":
            del kwargs["verbose_name"]
        return name, path, args, kwargs


@RegionCodeField.register_lookup
class Within(Lookup):
    """`region_code__within="370829001"`: the row lies in that region or below it."""

    lookup_name = "within"
    prepare_rhs = False

    def get_prep_lookup(self):
        if not isinstance(self.rhs, str) or not self.rhs.isdigit():
            # Often straight from a query string: a clear 400, not a server error.
            raise DomainError("区划编码只能由数字组成。", code="bad_region_code")
        return self.rhs

    def as_sql(self, compiler, connection):
        # PostgreSQL: LIKE 'prefix%' uses the varchar_pattern_ops index Django adds to
        # indexed CharFields. Codes are digits, so there is nothing to escape.
        lhs, lhs_params = self.process_lhs(compiler, connection)
        return f"{lhs} LIKE %s", [*lhs_params, self.rhs + "%"]

    def as_sqlite(self, compiler, connection):
        # SQLite's LIKE is case-insensitive and skips indexes; a range on the digits does
        # not (":" sorts right after "9").
        lhs, lhs_params = self.process_lhs(compiler, connection)
        return f"({lhs} >= %s AND {lhs} < %s)", [
            *lhs_params,
            self.rhs,
            *lhs_params,
            self.rhs + ":",
        ]
