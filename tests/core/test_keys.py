"""The key module: subkeys, sealing, key ids, the check value and rotation."""

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command

from jiceng.core import keys, personal
from jiceng.core.management.commands import keys as keys_command
from jiceng.core.models import KeyCheck

KEY_A = "11" * 32
KEY_B = "22" * 32


def test_seal_opens_under_its_key_and_context_only():
    ring = keys.Keyring(KEY_A)
    sealed = ring.seal("370829199001011234", "places.person.id_number")
    assert "370829199001011234" not in sealed
    assert sealed.startswith(ring.current.id + "$")
    assert ring.open(sealed, "places.person.id_number") == "370829199001011234"
    # The same value twice gives two ciphertexts; another column's context fails.
    assert ring.seal("370829199001011234", "places.person.id_number") != sealed
    with pytest.raises(Exception):  # noqa: B017 - InvalidTag
        ring.open(sealed, "places.person.phone")
    with pytest.raises(ImproperlyConfigured, match="cannot be opened"):
        keys.Keyring(KEY_B).open(sealed, "places.person.id_number")


def test_subkeys_differ_and_blind_indexes_depend_on_purpose():
    key = keys.MasterKey(KEY_A)
    assert len({key.data_key, key.index_key[:16], key.backup_key}) == 3
    ring = keys.Keyring(KEY_A)
    assert ring.blind_index("1234", "a") == ring.blind_index("1234", "a")
    assert ring.blind_index("1234", "a") != ring.blind_index("1234", "b")
    assert keys.Keyring(KEY_B).blind_index("1234", "a") != ring.blind_index("1234", "a")


def test_a_malformed_master_key_fails_with_a_clear_message():
    with pytest.raises(ImproperlyConfigured, match="64 hexadecimal digits"):
        keys.Keyring("not-a-key")


@pytest.mark.django_db
def test_a_wrong_master_key_fails_loudly_at_start():
    keys.verify(keys.Keyring(KEY_A))
    assert KeyCheck.objects.get().holds_indexes
    with pytest.raises(ImproperlyConfigured, match="not the key this database"):
        keys.verify(keys.Keyring(KEY_B))
    # The system check reports it as well (as run by runserver, migrate and the worker).
    from jiceng.core import checks

    keys.forget()
    KeyCheck.objects.update(key_id="0badc0de")
    problems = checks.master_key(None)
    keys.forget()
    assert problems and problems[0].id == "jiceng.E010"


@pytest.mark.django_db
def test_a_new_key_beside_the_old_one_rotates_and_reindexes(settings, world):
    from jiceng.places.models import Person

    person = Person.objects.filter(region_code__within="370829").first()
    old_ring = keys.verify()
    clear = personal.clear(person.id_number)
    settings.MASTER_KEYS_PREVIOUS = [settings.MASTER_KEY]
    settings.MASTER_KEY = KEY_B
    keys.forget()
    try:
        ring = keys.verify()
        assert ring.current.id != old_ring.current.id
        assert ring.index.id == old_ring.current.id  # indexes stay until reindexed
        assert Person.objects.filter(pk=person.pk, id_number_index=clear).exists()
        assert keys_command.rotate(ring) > 0
        assert _raw(person, "id_number").startswith(ring.current.id + "$")
        assert Person.objects.get(pk=person.pk).id_number == clear
        assert keys_command.reindex(ring) > 0
        assert KeyCheck.objects.get(holds_indexes=True).key_id == ring.current.id
        assert Person.objects.filter(pk=person.pk, id_number_index=clear).exists()
        call_command("keys", "status")
    finally:
        keys.forget()


def _raw(obj, column: str) -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {column} FROM {obj._meta.db_table} WHERE id = %s",  # noqa: S608
            [obj.pk],
        )
        return cursor.fetchone()[0]
