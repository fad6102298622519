"""`jiceng backup [FILE]`: the database and the uploaded files in one file, sealed with
SM4 under the master key's backup subkey (core.backup)."""

from django.core.management.base import BaseCommand, CommandError

from jiceng.core.actors import Actor
from jiceng.core.backup import backup
from jiceng.core.errors import DomainError


class Command(BaseCommand):
    help = "备份数据库和上传的文件到一个 SM4 加密的文件（默认 var/backups/ 下）。"

    def add_arguments(self, parser):
        parser.add_argument("file", nargs="?", help="备份文件路径（默认按时间命名）")

    def handle(self, *args, file, **options):
        try:
            path = backup(actor=Actor.system("backup"), path=file)
        except DomainError as refused:
            raise CommandError(refused.message) from refused
        size = path.stat().st_size / 1024 / 1024
        self.stdout.write(f"已备份到 {path}（{size:.1f} MB）。")
