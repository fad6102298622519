"""Backup and restore: one file holding the database (pg_dump's custom format, or a
consistent copy of the SQLite file), the uploaded files, and a manifest saying what made it.

The file is a tar archive sealed with SM4-GCM under the master key's backup subkey, in
framed chunks (core.sealed_stream says why that construction and what it detects): it is
written and read as a stream, one chunk in memory however large the dump, created with
mode 0600, and opens only with the master key it names (the current one, or one kept in
JICENG_MASTER_KEYS_PREVIOUS after a rotation). The database dump waits in a scratch
directory (mode 0700) beside the backup until it is sealed.

Restore checks every chunk as it reads and refuses a file that was changed, cut short or
sealed under a key not configured here, before the database is touched. A plain .tar made
by an earlier release (before backups were sealed) is refused unless the operator passes
`--allow-unencrypted`; its restore is audited as unencrypted. Restore also refuses a backup
made by a newer Jiceng (its migrations are unknown here) or for the other database engine,
and refuses to overwrite a database that holds data unless told to. On PostgreSQL the
whole restore is one transaction: it lands completely or not at all."""

import io
import json
import os
import shutil
import sqlite3
import stat
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from django.apps import apps
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.utils import timezone

from jiceng.core import keys, sealed_stream
from jiceng.core.actors import Actor
from jiceng.core.audit import record
from jiceng.core.errors import DomainError

FORMAT = 1
MANIFEST = "manifest.json"
MEDIA = "media"


@dataclass(frozen=True)
class Manifest:
    created: str
    vendor: str
    migrations: dict[str, list[str]]

    def to_json(self) -> bytes:
        body = {"format": FORMAT, "created": self.created, "vendor": self.vendor,
                "migrations": self.migrations}  # fmt: skip
        return json.dumps(body, ensure_ascii=False, indent=2).encode()


def _database_file_name(vendor: str) -> str:
    return "database.dump" if vendor == "postgresql" else "database.sqlite3"


def _applied_migrations() -> dict[str, list[str]]:
    applied = MigrationLoader(connection, ignore_no_migrations=True).applied_migrations
    by_app: dict[str, list[str]] = {}
    for app, name in sorted(applied):
        by_app.setdefault(app, []).append(name)
    return by_app


def _connection_arguments() -> list[str]:
    db = connection.settings_dict
    args = ["--dbname", db["NAME"]]
    for flag, key in (("--host", "HOST"), ("--port", "PORT"), ("--username", "USER")):
        if db.get(key):
            args += [flag, str(db[key])]
    return args


def _run(program: str, *args: str, failure: str, code: str = "backup_tool_failed") -> None:
    """Run a PostgreSQL client program (no shell), the password through the environment."""
    found = shutil.which(program)
    if found is None:
        raise DomainError(
            f"找不到 {program}：请安装与数据库服务器同版本的 PostgreSQL 客户端。",
            code="tool_missing",
        )
    db = connection.settings_dict
    env = {**os.environ, "PGOPTIONS": "-c client_min_messages=warning"}
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = db["PASSWORD"]
    if db.get("OPTIONS", {}).get("sslmode"):
        env["PGSSLMODE"] = db["OPTIONS"]["sslmode"]
    done = subprocess.run([found, *args], env=env, capture_output=True, text=True)  # noqa: S603
    if done.returncode != 0:
        raise DomainError(f"{failure}{done.stderr.strip()[-2000:]}", code=code)


def _dump_database(target: Path) -> None:
    if connection.vendor == "postgresql":
        _run("pg_dump", "--format=custom", "--no-owner", "--no-privileges",
             "--file", str(target), *_connection_arguments(), failure="备份失败：")  # fmt: skip
        return
    connection.ensure_connection()
    with sqlite3.connect(target) as copy:
        connection.connection.backup(copy)  # a consistent copy even while others write
    copy.close()


def _private_file(path: Path):
    """A new file only its owner may read or write, whatever the umask (which can only
    take permissions away, so the mode is set again once the file exists)."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, stat.S_IRUSR | stat.S_IWUSR)
    os.fchmod(descriptor, stat.S_IRUSR | stat.S_IWUSR)
    return os.fdopen(descriptor, "wb")


def backup(*, actor: Actor, path: Path | None = None) -> Path:
    """Write a sealed backup file and return its path (by default under var/backups/)."""
    created = timezone.now()
    if path is None:
        stamp = timezone.localtime(created).strftime("%Y%m%d-%H%M%S")
        path = settings.VAR_DIR / "backups" / f"jiceng-{stamp}.tar.sm4"
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    manifest = Manifest(created.isoformat(), connection.vendor, _applied_migrations())
    key = keys.verify().current
    with tempfile.TemporaryDirectory(dir=path.parent) as scratch:
        database = Path(scratch) / _database_file_name(connection.vendor)
        _dump_database(database)
        partial = Path(scratch) / path.name
        with _private_file(partial) as raw:
            with (
                sealed_stream.Writer(raw, key) as sealed,
                tarfile.open(fileobj=sealed, mode="w|") as archive,
            ):
                info = tarfile.TarInfo(MANIFEST)
                body = manifest.to_json()
                info.size, info.mtime = len(body), int(created.timestamp())
                archive.addfile(info, io.BytesIO(body))
                archive.add(database, arcname=database.name)
                if Path(settings.MEDIA_ROOT).is_dir():
                    archive.add(settings.MEDIA_ROOT, arcname=MEDIA)
            raw.flush()
            os.fsync(raw.fileno())
        partial.replace(path)  # a half-written backup never carries the final name
    record(actor=actor, action="system.backup", object_type="backup", object_id=path.name,
           detail={"bytes": path.stat().st_size, "vendor": connection.vendor,
                   "key_id": key.id})  # fmt: skip
    return path


def _read_manifest(archive: tarfile.TarFile) -> Manifest:
    """The archive's first member, read as it streams past."""
    first = archive.next()
    try:
        if first is None or first.name != MANIFEST or not first.isfile():
            raise KeyError(MANIFEST)
        raw = json.loads(archive.extractfile(first).read())
    except (KeyError, AttributeError, ValueError) as missing:
        raise DomainError(
            "这不是 Jiceng 的备份文件（缺少清单）。", code="backup_invalid"
        ) from missing
    if raw.get("format") != FORMAT:
        raise DomainError(f"不认识的备份格式：{raw.get('format')}。", code="backup_invalid")
    return Manifest(raw["created"], raw["vendor"], raw["migrations"])


def _check_compatible(manifest: Manifest) -> None:
    if manifest.vendor != connection.vendor:
        raise DomainError(
            f"该备份来自 {manifest.vendor} 数据库，当前数据库是 {connection.vendor}，"
            "不能直接恢复。",
            code="backup_wrong_engine",
        )
    known = MigrationLoader(None, ignore_no_migrations=True).disk_migrations
    unknown = [
        f"{app}.{name}"
        for app, names in manifest.migrations.items()
        for name in names
        if (app, name) not in known
    ]
    if unknown:
        raise DomainError(
            f"该备份来自更新的版本（本程序不认识迁移 {', '.join(unknown[:5])}），请先升级。",
            code="backup_from_newer_release",
        )


def database_holds_data() -> bool:
    tables = connection.introspection.table_names()
    if "django_migrations" not in tables:
        return False
    # By name: core imports no app.
    models = [
        apps.get_model(*name.split("."))
        for name in ("accounts.User", "places.Person", "places.Region")
    ]
    return any(model.objects.exists() for model in models)


def _restore_postgresql(source: Path) -> None:
    """The dump is turned into SQL first — a damaged file is refused before anything is
    touched — then the schema is emptied and loaded in one transaction: tables the backup
    does not know go too, and a failure anywhere leaves the old data as it was."""
    script = source.with_suffix(".sql")
    _run("pg_restore", "--no-owner", "--no-privileges", "--file", str(script), str(source),
         failure="备份文件已损坏，数据库未改动：", code="backup_invalid")  # fmt: skip
    _run("psql", "--quiet", "--no-psqlrc", "--single-transaction", "-v", "ON_ERROR_STOP=1",
         "-c", "DROP SCHEMA public CASCADE", "-c", "CREATE SCHEMA public",
         "-f", str(script), *_connection_arguments(),
         failure="恢复失败，数据库未改动：")  # fmt: skip


def sqlite_file_private() -> None:
    """Make the SQLite database file, with its WAL and shared-memory files, readable and
    writable by its owner only: it holds every resident's record, and SQLite creates it
    under the umask (0644 as a rule). Nothing on PostgreSQL or in memory."""
    if connection.vendor != "sqlite" or connection.is_in_memory_db():
        return
    name = Path(connection.settings_dict["NAME"])
    for path in (name, name.with_name(f"{name.name}-wal"), name.with_name(f"{name.name}-shm")):
        if path.is_file():
            path.chmod(stat.S_IRUSR | stat.S_IWUSR)


def _restore_database(source: Path) -> None:
    connection.close()
    if connection.vendor == "postgresql":
        _restore_postgresql(source)
        return
    connection.ensure_connection()
    copy = sqlite3.connect(source)
    try:
        if copy.execute("PRAGMA quick_check").fetchone()[0] != "ok":
            raise sqlite3.DatabaseError("quick_check failed")
        copy.backup(connection.connection)  # one write transaction on this side
    except sqlite3.DatabaseError as broken:
        raise DomainError(
            f"备份文件已损坏，数据库未改动：{broken}", code="backup_invalid"
        ) from broken
    finally:
        copy.close()
    sqlite_file_private()


def _copy_out(archive: tarfile.TarFile, member: tarfile.TarInfo, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    with archive.extractfile(member) as source, target.open("wb") as out:
        shutil.copyfileobj(source, out)


def _unpack(archive: tarfile.TarFile, into: Path) -> tuple[Manifest, Path, list[Path]]:
    """Everything out of the archive, in the order it streams, before anything is changed:
    the database file and the uploaded files (regular files under media/ only: no links,
    devices or '..')."""
    manifest = _read_manifest(archive)
    _check_compatible(manifest)
    name = _database_file_name(manifest.vendor)
    files = []
    for member in archive:
        parts = PurePosixPath(member.name).parts
        if member.name == name and member.isfile():
            _copy_out(archive, member, into / name)
        elif parts[:1] == (MEDIA,) and len(parts) > 1 and member.isfile():
            if ".." in parts:
                raise DomainError(f"备份中有不安全的路径：{member.name}", code="backup_invalid")
            files.append(Path(*parts[1:]))
            _copy_out(archive, member, into / MEDIA / files[-1])
    if not (into / name).is_file():
        raise DomainError(f"备份中缺少 {name}。", code="backup_invalid")
    return manifest, into / name, files


def _refusal(refused: sealed_stream.Refused) -> DomainError:
    if refused.reason == "key_missing":
        return DomainError(
            f"该备份由主密钥 {refused.detail} 加密，当前配置的密钥（JICENG_MASTER_KEY、"
            "JICENG_MASTER_KEYS_PREVIOUS）中没有它，无法恢复；数据库未改动。"
            "请配置备份时使用的主密钥后重试。",
            code="backup_key_missing",
        )
    if refused.reason == "tampered":
        return DomainError(
            f"备份文件校验失败（{refused.detail}）：文件被改动过或不完整，数据库未改动。",
            code="backup_tampered",
        )
    return DomainError(f"{refused.detail}，数据库未改动。", code="backup_invalid")


def _unpack_file(raw, into: Path, *, sealed: bool) -> tuple[Manifest, Path, list[Path]]:
    """Unpack a sealed backup (every chunk checked, through to the last) or a plain one."""
    try:
        if not sealed:
            with tarfile.open(fileobj=raw, mode="r|") as archive:
                return _unpack(archive, into)
        reader = sealed_stream.Reader(raw, keys.keyring())
        with tarfile.open(fileobj=reader, mode="r|") as archive:
            unpacked = _unpack(archive, into)
        reader.finish()
        return unpacked
    except sealed_stream.Refused as refused:
        raise _refusal(refused) from refused
    except (tarfile.TarError, EOFError, OSError) as broken:
        raise DomainError(f"备份文件已损坏：{broken}", code="backup_invalid") from broken


def restore(
    *, actor: Actor, path: Path, replace: bool = False, allow_unencrypted: bool = False
) -> Manifest:
    """Put a backup back and migrate it to this release. Files under media/ are written
    over the current ones."""
    path = Path(path)
    if not path.is_file():
        raise DomainError(f"找不到备份文件：{path}", code="backup_missing")
    with path.open("rb") as raw, tempfile.TemporaryDirectory() as scratch:
        sealed = sealed_stream.is_sealed(raw)
        if not sealed and not tarfile.is_tarfile(path):
            raise DomainError("备份文件已损坏或不是 Jiceng 的备份文件。", code="backup_invalid")
        if not sealed and not allow_unencrypted:
            raise DomainError(
                "这是未加密的备份（早期版本生成的 .tar 文件），默认不予恢复，数据库未改动。"
                "确认文件来源可靠后，可加 --allow-unencrypted 恢复（记入审计日志）；"
                "恢复后请立即重新备份，并销毁这份未加密的文件。",
                code="backup_unencrypted",
            )
        manifest, database, files = _unpack_file(raw, Path(scratch), sealed=sealed)
        if database_holds_data() and not replace:
            raise DomainError(
                "当前数据库中已有数据；确认要用备份覆盖，请加 --replace。",
                code="database_not_empty",
            )
        _restore_database(database)
        for relative in files:
            target = Path(settings.MEDIA_ROOT) / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(Path(scratch) / MEDIA / relative, target)
    call_command("migrate", interactive=False, verbosity=0)
    record(actor=actor, action="system.restore", object_type="backup", object_id=path.name,
           detail={"created": manifest.created, "files": len(files),
                   "encrypted": sealed})  # fmt: skip
    return manifest
