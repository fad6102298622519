"""`jiceng restore FILE [--replace] [--allow-unencrypted]`: put a backup back, then migrate
it to this release. A plain .tar from a release before backups were sealed is refused
unless `--allow-unencrypted` is given (the restore is then audited as unencrypted).

Stop the web server first: on SQLite the file is rewritten under it, and on PostgreSQL
open sessions would block the restore's transaction."""

import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from jiceng.core.actors import Actor
from jiceng.core.backup import restore
from jiceng.core.errors import DomainError


class Command(BaseCommand):
    help = "从备份文件恢复数据库和上传的文件，然后执行迁移。恢复前请先停止服务。"

    def add_arguments(self, parser):
        parser.add_argument("file", help="jiceng backup 生成的备份文件")
        parser.add_argument(
            "--replace", action="store_true", help="当前数据库已有数据时，确认用备份覆盖"
        )
        parser.add_argument(
            "--allow-unencrypted",
            action="store_true",
            help="允许恢复早期版本生成的未加密 .tar 备份（记入审计日志）",
        )

    def handle(self, *args, file, replace, allow_unencrypted, **options):
        try:
            manifest = restore(
                actor=Actor.system("restore"),
                path=file,
                replace=replace,
                allow_unencrypted=allow_unencrypted,
            )
        except DomainError as refused:
            raise CommandError(refused.message) from refused
        self.stdout.write(f"已恢复 {_local_time(manifest.created)} 的备份，并迁移到当前版本。")


def _local_time(created: str) -> str:
    """The manifest's moment (UTC, ISO 8601) as the operator reads a clock: 2026-12-02
    12:20 in Asia/Shanghai; a manifest that names no moment is printed as it is."""
    try:
        moment = datetime.datetime.fromisoformat(created)
    except (TypeError, ValueError):
        return str(created)
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, datetime.timezone.utc)
    return f"{timezone.localtime(moment):%Y-%m-%d %H:%M}"
