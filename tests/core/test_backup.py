"""`jiceng backup` / `jiceng restore` round-trip the database and uploaded files in a file
sealed with SM4 (mode 0600, streamed), and refuse what would damage a county's data: a
full database, a damaged, changed or truncated file, a missing key, an unencrypted backup
unless allowed, a backup from a newer release or the other engine, paths that climb out
of the media folder."""

import io
import json
import os
import sqlite3
import stat
import struct
import subprocess
import sys
import tarfile
import tracemalloc
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from jiceng.core import backup as backup_module
from jiceng.core import keys, sealed_stream
from jiceng.core.actors import Actor
from jiceng.core.backup import backup, restore
from jiceng.core.errors import DomainError
from jiceng.core.models import AuditEvent
from jiceng.places.models import Person
from jiceng.points.ledger import account_for, ledger_for, post, verify
from jiceng.points.models import Account, JournalEntry
from tests import factories
from tests.factories import resident

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def county(reference_data, world, settings, tmp_path):
    """The small county, a points entry and one uploaded photo."""
    settings.MEDIA_ROOT = tmp_path / "media"
    photo = settings.MEDIA_ROOT / "cases" / "2026" / "路灯.jpg"
    photo.parent.mkdir(parents=True)
    photo.write_bytes(b"\xff\xd8 a photo")
    ledger = ledger_for("370829001001")
    post(
        ledger=ledger, key="seed", kind=JournalEntry.Kind.EARN, memo="活动",
        lines=[(account_for(ledger, Account.Kind.RESIDENT, resident()), 50),
               (account_for(ledger, Account.Kind.ISSUANCE), -50)],
    )  # fmt: skip
    return photo


def unsealed(source) -> bytes:
    """The plain tar inside a sealed backup: what a backup was before backups were sealed."""
    with open(source, "rb") as raw:
        reader = sealed_stream.Reader(raw, keys.keyring())
        return reader.read()


def sealed(tar: bytes, target):
    with open(target, "wb") as raw, sealed_stream.Writer(raw, keys.keyring().current) as out:
        out.write(tar)
    return target


def repack(source, target, *, manifest=None, replace_member=None, extra=()):
    """A copy of backup `source` with its manifest or one member changed, sealed again
    under the right key (a bad backup that passes the integrity check)."""
    plain = io.BytesIO()
    with tarfile.open(fileobj=io.BytesIO(unsealed(source))) as old, \
            tarfile.open(fileobj=plain, mode="w") as new:  # fmt: skip
        for member in old.getmembers():
            body = old.extractfile(member).read() if member.isfile() else None
            if member.name == "manifest.json" and manifest is not None:
                body = json.dumps(manifest(json.loads(body))).encode()
            if replace_member and member.name == replace_member[0]:
                body = replace_member[1](body)
            if body is not None:
                member.size = len(body)
            new.addfile(member, io.BytesIO(body) if body is not None else None)
        for name, body in extra:
            info = tarfile.TarInfo(name)
            info.size = len(body)
            new.addfile(info, io.BytesIO(body))
    return sealed(plain.getvalue(), target)


def frames(data: bytes) -> tuple[bytes, list[bytes]]:
    """A sealed file's header and its frames (length, ciphertext and tag each)."""
    header, offset, found = data[: sealed_stream.HEADER_BYTES], sealed_stream.HEADER_BYTES, []
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        end = offset + 4 + length + keys.TAG_BYTES
        found.append(data[offset:end])
        offset = end
    return header, found


def test_a_backup_round_trips_the_database_and_the_photos(county, tmp_path):
    persons, entries = Person.objects.count(), JournalEntry.objects.count()
    path = backup(actor=Actor.system("backup"), path=tmp_path / "county.tar")
    assert AuditEvent.objects.filter(action="system.backup", object_id="county.tar").exists()
    factories.household_with_people("370829001001001", name="备份后新增")
    county.unlink()

    with pytest.raises(DomainError) as refused:
        restore(actor=Actor.system("restore"), path=path)
    assert refused.value.code == "database_not_empty"
    assert Person.objects.filter(name="备份后新增").exists()  # untouched

    restore(actor=Actor.system("restore"), path=path, replace=True)
    assert Person.objects.count() == persons
    assert not Person.objects.filter(name="备份后新增").exists()
    assert JournalEntry.objects.count() == entries
    assert verify()[1] == []
    assert county.read_bytes() == b"\xff\xd8 a photo"
    assert AuditEvent.objects.filter(action="system.restore").count() == 1


def test_the_commands_say_what_they_did(county, tmp_path, capsys):
    call_command("backup", str(tmp_path / "b.tar"))
    assert "已备份到" in capsys.readouterr().out
    with pytest.raises(CommandError, match="--replace"):
        call_command("restore", str(tmp_path / "b.tar"))
    call_command("restore", str(tmp_path / "b.tar"), "--replace")
    assert "已恢复" in capsys.readouterr().out


def test_a_restore_prints_when_the_backup_was_made_in_local_time(county, tmp_path, capsys):
    made = backup(actor=Actor.system("backup"), path=tmp_path / "b.tar")
    path = repack(
        made, tmp_path / "dated.tar",
        manifest=lambda m: {**m, "created": "2026-12-02T04:20:22.673419+00:00"},
    )  # fmt: skip
    call_command("restore", str(path), "--replace")
    assert "已恢复 2026-12-02 12:20 的备份，" in capsys.readouterr().out  # Asia/Shanghai
    event = AuditEvent.objects.get(action="system.restore")
    assert event.detail["created"] == "2026-12-02T04:20:22.673419+00:00"  # kept exact


def test_a_restored_sqlite_file_is_readable_by_its_owner_only(county, tmp_path):
    """The restored file holds every resident's record: not left world-readable (0644, as
    SQLite creates it under the usual umask), nor its WAL files."""
    if connection.vendor != "sqlite":
        pytest.skip("a SQLite database file")
    path = backup(actor=Actor.system("backup"), path=tmp_path / "b.tar")
    database = tmp_path / "var" / "jiceng.sqlite3"
    database.parent.mkdir()
    database.touch(mode=0o644)  # an empty database, as an operator's new server has
    database.chmod(0o644)
    restored = subprocess.run(  # a database file of its own, not the suite's in memory
        [sys.executable, "-m", "jiceng", "restore", str(path)],
        env={
            **os.environ,
            "JICENG_DATABASE_URL": f"sqlite:///{database}",
            "JICENG_VAR_DIR": str(tmp_path / "var"),
        },
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert restored.returncode == 0, restored.stderr
    assert "已恢复" in restored.stdout
    assert stat.S_IMODE(database.stat().st_mode) == 0o600
    for side in database.parent.glob("jiceng.sqlite3-*"):
        assert stat.S_IMODE(side.stat().st_mode) == 0o600, side.name
    with sqlite3.connect(database) as copy:
        assert copy.execute("SELECT count(*) FROM places_person").fetchone()[0] == (
            Person.objects.count()
        )
    copy.close()


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"manifest": lambda m: {**m, "migrations": {"core": ["9999_from_the_future"]}}},
         "backup_from_newer_release"),
        ({"manifest": lambda m: {**m, "vendor": "oracle"}}, "backup_wrong_engine"),
        ({"manifest": lambda m: {**m, "format": 99}}, "backup_invalid"),
        ({"replace_member": ("database.dump", lambda body: body[: len(body) // 2])},
         "backup_invalid"),
        ({"replace_member": ("database.sqlite3", lambda body: body[: len(body) // 3])},
         "backup_invalid"),
        ({"extra": [("media/../../escaped.txt", b"x")]}, "backup_invalid"),
    ],
)  # fmt: skip
def test_a_bad_backup_changes_nothing(county, tmp_path, change, code):
    database = "database.dump" if connection.vendor == "postgresql" else "database.sqlite3"
    if change.get("replace_member", (database,))[0] != database:
        pytest.skip("that damage is for the other engine's file")
    good = backup(actor=Actor.system("backup"), path=tmp_path / "good.tar")
    bad = repack(good, tmp_path / "bad.tar", **change)
    factories.household_with_people("370829001001001", name="恢复失败后仍在")
    persons = Person.objects.count()

    with pytest.raises(DomainError) as refused:
        restore(actor=Actor.system("restore"), path=bad, replace=True)
    assert refused.value.code == code
    assert Person.objects.count() == persons
    assert Person.objects.filter(name="恢复失败后仍在").exists()
    assert not (tmp_path / "escaped.txt").exists()
    assert not AuditEvent.objects.filter(action="system.restore").exists()


def test_a_file_that_is_not_a_backup_is_refused(db, tmp_path):
    (tmp_path / "名册.tar").write_bytes(b"not a tar file at all")
    with pytest.raises(DomainError) as refused:
        restore(actor=Actor.system("restore"), path=tmp_path / "名册.tar")
    assert refused.value.code == "backup_invalid"
    with pytest.raises(DomainError) as missing:
        restore(actor=Actor.system("restore"), path=tmp_path / "nowhere.tar")
    assert missing.value.code == "backup_missing"


@pytest.fixture
def table_creation_fails():
    """An event trigger that aborts creating one table — a load failing midway through,
    after the schema was emptied and half the tables were made again."""
    with connection.cursor() as c:
        c.execute("CREATE SCHEMA fault")
        c.execute(
            "CREATE FUNCTION fault.refuse() RETURNS event_trigger LANGUAGE plpgsql AS $$ "
            "BEGIN IF EXISTS (SELECT 1 FROM pg_event_trigger_ddl_commands() "
            "WHERE object_identity = 'public.points_posting') "
            "THEN RAISE EXCEPTION 'disk full'; END IF; END $$"
        )
        c.execute("CREATE EVENT TRIGGER refuse ON ddl_command_end EXECUTE FUNCTION fault.refuse()")
    yield
    with connection.cursor() as c:
        c.execute("DROP EVENT TRIGGER refuse")
        c.execute("DROP SCHEMA fault CASCADE")


@pytest.mark.postgres
def test_a_restore_failing_midway_leaves_the_old_data(county, tmp_path, request):
    if connection.vendor != "postgresql":
        pytest.skip("the one-transaction load is PostgreSQL's")
    path = backup(actor=Actor.system("backup"), path=tmp_path / "county.tar")
    factories.household_with_people("370829001001001", name="恢复失败后仍在")
    persons = Person.objects.count()
    request.getfixturevalue("table_creation_fails")

    with pytest.raises(DomainError) as refused:
        restore(actor=Actor.system("restore"), path=path, replace=True)
    assert refused.value.code == "backup_tool_failed"
    assert "disk full" in refused.value.message
    assert Person.objects.count() == persons
    assert verify()[1] == []


def test_a_backup_and_a_restore_are_recorded_as_the_system(county, tmp_path):
    path = backup(actor=Actor.system("backup"), path=tmp_path / "b.tar")
    event = AuditEvent.objects.get(action="system.backup")
    assert (event.actor_kind, event.actor_username, event.actor_id) == ("system", "backup", None)
    restore(actor=Actor.system("restore"), path=path, replace=True)
    event = AuditEvent.objects.get(action="system.restore")
    assert (event.actor_kind, event.actor_username) == ("system", "restore")


def test_a_backup_is_sealed_and_readable_by_its_owner_only(county, tmp_path):
    previous = os.umask(0)  # a careless shell: files would come out world-readable
    try:
        path = backup(actor=Actor.system("backup"), path=tmp_path / "county.tar")
    finally:
        os.umask(previous)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    data = path.read_bytes()
    assert data.startswith(sealed_stream.MAGIC)
    assert data[len(sealed_stream.MAGIC) + 1 :].startswith(keys.keyring().current.id.encode())
    for clear in (b"manifest.json", b"SQLite format 3", b"PGDMP", b"a photo", "路灯".encode()):
        assert clear not in data
    event = AuditEvent.objects.get(action="system.backup")
    assert event.detail["key_id"] == keys.keyring().current.id


def _changed_nothing(path, code, *, match=None, add_a_household=True):
    if add_a_household:
        factories.household_with_people("370829001001001", name="恢复失败后仍在")
    persons = Person.objects.count()
    with pytest.raises(DomainError) as refused:
        restore(actor=Actor.system("restore"), path=path, replace=True)
    assert refused.value.code == code
    if match:
        assert match in refused.value.message
    assert "数据库未改动" in refused.value.message
    assert Person.objects.count() == persons
    assert Person.objects.filter(name="恢复失败后仍在").exists()
    assert not AuditEvent.objects.filter(action="system.restore").exists()


def _flip_a_byte(data):
    middle = len(data) // 2
    return data[:middle] + bytes([data[middle] ^ 1]) + data[middle + 1 :]


def _swap_two_frames(data):
    header, found = frames(data)
    return header + found[1] + found[0] + b"".join(found[2:])


def _drop_the_last_frame(data):
    header, found = frames(data)
    return header + b"".join(found[:-1])


def _another_key_id(data):
    at = len(sealed_stream.MAGIC) + 1
    return data[:at] + keys.MasterKey("33" * 32).id.encode() + data[at + keys.KEY_ID_LENGTH :]


@pytest.mark.parametrize(
    "damage",
    [
        _flip_a_byte,
        _swap_two_frames,
        _drop_the_last_frame,
        lambda data: data[: len(data) - 7],  # cut inside the last frame
        lambda data: data[: sealed_stream.HEADER_BYTES - 3],  # cut inside the header
        lambda data: data + b"\0" * 512,  # something written after the end
    ],
    ids=["byte", "reordered", "last-frame-dropped", "cut", "header-cut", "trailing"],
)
def test_a_changed_or_truncated_backup_is_refused(county, tmp_path, monkeypatch, damage):
    monkeypatch.setattr(sealed_stream, "CHUNK_BYTES", 4096)  # many frames, to move them
    good = backup(actor=Actor.system("backup"), path=tmp_path / "good.tar")
    bad = tmp_path / "bad.tar"
    bad.write_bytes(damage(good.read_bytes()))
    _changed_nothing(bad, "backup_tampered", match="校验失败")


def test_a_header_naming_another_key_is_refused(county, tmp_path, settings):
    good = backup(actor=Actor.system("backup"), path=tmp_path / "good.tar")
    bad = tmp_path / "bad.tar"
    bad.write_bytes(_another_key_id(good.read_bytes()))
    settings.MASTER_KEYS_PREVIOUS = ["33" * 32]  # the key it names is there: the tag fails
    keys.forget()
    try:
        _changed_nothing(bad, "backup_tampered")
    finally:
        keys.forget()


def test_without_its_master_key_a_backup_is_refused_and_opens_after_a_rotation(
    county, tmp_path, settings
):
    path = backup(actor=Actor.system("backup"), path=tmp_path / "county.tar")
    persons = Person.objects.count()
    factories.household_with_people("370829001001001", name="恢复失败后仍在")
    old_key, old_id = settings.MASTER_KEY, keys.keyring().current.id
    settings.MASTER_KEY = "44" * 32
    keys.forget()
    try:
        _changed_nothing(path, "backup_key_missing", match=old_id, add_a_household=False)
        # The old key kept beside the new one (a rotation under way) opens it.
        settings.MASTER_KEYS_PREVIOUS = [old_key]
        keys.forget()
        restore(actor=Actor.system("restore"), path=path, replace=True)
        assert Person.objects.count() == persons
    finally:
        keys.forget()


def test_an_unencrypted_backup_of_an_earlier_release_needs_to_be_allowed(county, tmp_path, capsys):
    persons = Person.objects.count()
    old = tmp_path / "v0.1.tar"
    old.write_bytes(unsealed(backup(actor=Actor.system("backup"), path=tmp_path / "new.tar")))
    assert tarfile.is_tarfile(old)
    _changed_nothing(old, "backup_unencrypted", match="--allow-unencrypted")
    with pytest.raises(CommandError, match="未加密"):
        call_command("restore", str(old), "--replace")

    call_command("restore", str(old), "--replace", "--allow-unencrypted")
    assert "已恢复" in capsys.readouterr().out
    assert Person.objects.count() == persons
    event = AuditEvent.objects.get(action="system.restore")
    assert event.detail["encrypted"] is False


def test_a_large_backup_is_sealed_and_opened_one_chunk_at_a_time(
    county, tmp_path, settings, monkeypatch
):
    """A 24 MB upload goes through backup and restore with a few chunks in memory at most:
    the dump is never read whole."""
    monkeypatch.setattr(sealed_stream, "CHUNK_BYTES", 256 * 1024)
    big = settings.MEDIA_ROOT / "imports" / "big.bin"
    big.parent.mkdir(parents=True)
    with big.open("wb") as out:
        for _ in range(24):
            out.write(os.urandom(1024 * 1024))
    size = big.stat().st_size

    tracemalloc.start()
    try:
        path = backup(actor=Actor.system("backup"), path=tmp_path / "big.tar")
        _, backup_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        with path.open("rb") as raw:
            _, _, files = backup_module._unpack_file(raw, tmp_path / "out", sealed=True)
        _, restore_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert path.stat().st_size > size
    assert Path("imports/big.bin") in files
    assert (tmp_path / "out" / "media" / "imports" / "big.bin").stat().st_size == size
    assert backup_peak < size / 4
    assert restore_peak < size / 4
