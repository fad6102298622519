"""Personal fields: sealed at rest, masked by default, found by blind index, revealed
only through the one audited service."""

import datetime
import json

import pytest
from django.db import connection
from django.template import Context, Template

from jiceng.core import personal
from jiceng.core.errors import NotFound
from jiceng.core.models import AuditEvent
from jiceng.places.models import Person
from tests.factories import PersonFactory, UserFactory

ID_NUMBER = "37082919900101123X"


def _raw(person, column):
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM places_person WHERE id = %s", [person.pk])  # noqa: S608
        return cursor.fetchone()[0]


@pytest.fixture
def person(world):
    return PersonFactory(
        household=world.household_a,
        region_code=world.household_a.region_code,
        id_number=ID_NUMBER,
        birth_date=datetime.date(1990, 1, 1),
        phone="13912345678",
    )


def test_sealed_at_rest_and_masked_wherever_shown(person):
    assert ID_NUMBER not in _raw(person, "id_number")
    assert "13912345678" not in _raw(person, "phone")
    assert "1990" not in _raw(person, "birth_date")
    assert _raw(person, "id_tail") != "123X" and _raw(person, "phone_tail") != "5678"
    loaded = Person.objects.get(pk=person.pk)
    assert loaded.id_number == ID_NUMBER  # code compares the clear value …
    assert str(loaded.id_number) == "370829********123X"  # … everything shown is masked
    assert str(loaded.phone) == "139****5678" and loaded.phone[-4:] == "5678"
    assert Template("{{ p.id_number }} {{ p.phone }}").render(Context({"p": loaded})) == (
        "370829********123X 139****5678"
    )
    assert loaded.birth_year == 1990 and "岁" in str(loaded.birth_date)
    with pytest.raises(TypeError):
        json.dumps({"phone": loaded.phone})


def test_exact_and_tail_lookups_go_through_the_blind_indexes(person):
    assert Person.objects.get(id_number=ID_NUMBER) == person
    assert Person.objects.filter(id_number_index=ID_NUMBER).exists()
    assert Person.objects.filter(id_tail="123X").exists()
    assert Person.objects.filter(phone_tail="5678").exists()
    assert not Person.objects.filter(id_tail="5678").exists()  # tails are kept apart


def test_reveal_audits_the_allowed_and_the_denied(person, world):
    allowed = world.users_a["grid_worker"]
    value = personal.reveal(
        actor=allowed, allowed=True, action="person.reveal", obj=person, value=lambda: person.phone
    )
    assert value == "13912345678" and type(value) is str
    with pytest.raises(NotFound):
        personal.reveal(
            actor=UserFactory(),
            allowed=False,
            action="person.reveal",
            obj=person,
            value=lambda: person.phone,
        )
    outcomes = list(
        AuditEvent.objects.filter(action="person.reveal", object_id=str(person.pk))
        .order_by("id")
        .values_list("outcome", flat=True)
    )
    assert outcomes == [AuditEvent.SUCCESS, AuditEvent.FAILURE]


def test_sealing_existing_rows_resumes_and_skips_sealed_ones(person):
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE places_person SET id_number = %s, id_number_index = '', id_tail = '' "
            "WHERE id = %s",
            [ID_NUMBER, person.pk],
        )
    spec = {
        "table": "places_person",
        "sealed": {"id_number": "places.person.id_number"},
        "indexes": {
            "id_number_index": ("id_number", "places.person.id_number_index", None),
            "id_tail": ("id_number", "places.person.id_tail", 4),
        },
    }
    assert personal.seal_existing_rows(connection, **spec, batch=1) == 1
    assert personal.seal_existing_rows(connection, **spec, batch=1) == 0  # a rerun
    assert Person.objects.get(id_number=ID_NUMBER, id_tail="123X").pk == person.pk
