"""Reference data shipped with Jiceng: Jining's divisions, the towns of 嘉祥县 (and the
other towns the source articles name), and the special-group categories.

Loaded by a data migration; also callable with the current models, for tests that empty
the database between runs.
"""

import csv
from pathlib import Path

from jiceng.core.region_codes import parent_of

DATA = Path(__file__).resolve().parent / "data"


def load(Region, SpecialGroup) -> None:  # model classes, historical or current
    with open(DATA / "regions.csv", encoding="utf-8") as handle:
        rows = sorted(csv.DictReader(handle), key=lambda r: len(r["code"]))
    for row in rows:
        code = row["code"]
        Region.objects.update_or_create(
            code=code,
            defaults={
                "name": row["name"],
                "level": row["level"],
                "parent_id": parent_of(code),
                "is_statutory": row["is_statutory"] == "1",
                "is_rural": row["is_rural"] == "1",
            },
        )
    with open(DATA / "special_groups.csv", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            SpecialGroup.objects.update_or_create(code=row["code"], defaults={"name": row["name"]})
