"""A dump of the demo database holds no ID number or phone in clear, and its clear
columns do not give back what a mask hides (the birth date, the tails)."""

import re

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import connection

from jiceng.core import personal
from jiceng.core.personal import PersonalField
from jiceng.places.models import Person

DIGITS = re.compile(r"\d{7,18}X?")


@pytest.fixture
def demo(db, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    call_command("demo", "--scale", "tiny", "--no-serve")


def dump() -> dict[str, list[tuple]]:
    """Every row of every table, as the database holds it."""
    quote = connection.ops.quote_name
    tables = {}
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {quote(table)}")  # noqa: S608
            tables[table] = cursor.fetchall()
    return tables


def clear_values() -> set[str]:
    """Every ID number and phone the demo holds, read in clear through the fields."""
    values = set()
    for model in apps.get_models():
        fields = [
            f.name
            for f in model._meta.concrete_fields
            if isinstance(f, PersonalField) and f.kind in ("id_number", "phone")
        ]
        for name in fields:
            for value in model.objects.values_list(name, flat=True).iterator():
                if value:
                    values.add(personal.clear(value))
    return values


def test_the_dump_holds_no_id_number_or_phone_in_clear(demo):
    secrets = clear_values()
    assert len(secrets) > 100  # persons, accounts, residents, requests
    found = []
    for table, rows in dump().items():
        for row in rows:
            for cell in row:
                text = cell.decode(errors="ignore") if isinstance(cell, bytes) else str(cell)
                found += [(table, m) for m in DIGITS.findall(text) if m in secrets]
    assert found == []


def test_the_clear_columns_do_not_rebuild_an_id_number(demo):
    """The mask shows the first six and last four digits and hides the birth date: no
    clear column may hold the birth date or a tail (which would give the number back)."""
    columns = [c.name for c in connection.introspection.get_table_description(
        connection.cursor(), Person._meta.db_table
    )]  # fmt: skip
    raw = {row[columns.index("id")]: row for row in dump()[Person._meta.db_table]}
    people = list(Person.objects.values_list("pk", "id_number", "birth_date", "phone")[:200])
    assert people
    for pk, id_number, birth_date, phone in people:
        id_number, birth = personal.clear(id_number), personal.clear(birth_date)
        cells = {str(cell) for cell in raw[pk]}
        hidden = {id_number[-4:], id_number[6:14], birth.isoformat(), f"{birth:%Y%m%d}"}
        if personal.clear(phone):
            hidden.add(personal.clear(phone)[-4:])
        assert not cells & hidden, (pk, cells & hidden)


def test_uploaded_rosters_and_error_workbooks_are_sealed_on_disk(db, settings, tmp_path):
    from django.core.files.base import ContentFile

    from jiceng.places.models import ImportJob

    settings.MEDIA_ROOT = tmp_path
    for field in ("file", "error_file"):
        storage = ImportJob._meta.get_field(field).storage
        clear = "身份证号,联系电话\n37082919900101123X,13912345678\n".encode()
        name = storage.save(f"imports/{field}.csv", ContentFile(clear))
        on_disk = (tmp_path / name).read_bytes()
        assert b"37082919900101123X" not in on_disk and b"13912345678" not in on_disk
        with storage.open(name) as handle:
            assert handle.read() == clear
