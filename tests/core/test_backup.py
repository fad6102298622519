"""`jiceng backup` / `jiceng restore` round-trip the database and uploaded files, and
refuse what would damage a county's data: a full database, a damaged file, a backup from
a newer release or the other engine, paths that climb out of the media folder."""

import io
import json
import tarfile

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

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


def repack(source, target, *, manifest=None, replace_member=None, extra=()):
    """A copy of backup `source` with its manifest or one member changed."""
    with tarfile.open(source) as old, tarfile.open(target, "w") as new:
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
    return target


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
