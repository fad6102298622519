"""`jiceng import-roster FILE --region CODE`: import a roster on the server, with a progress bar."""

import sys
import time
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from jiceng.core.actors import Actor
from jiceng.core.errors import DomainError
from jiceng.places.roster import roster_import, write_error_workbook


class Command(BaseCommand):
    help = "导入花名册（.xlsx、.xls 或 .csv）：先检查全部行，有错误则一条不写并输出错误清单。"

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--region", required=True, help="导入范围：县、乡镇、社区或网格编码")
        parser.add_argument("--user", help="以该账号的权限导入（缺省为服务器管理员）")
        parser.add_argument("--errors", type=Path, help="错误清单保存位置（缺省与文件同目录）")

    def handle(self, *args, file: Path, region: str, user: str | None, errors, **options):
        if not file.exists():
            raise CommandError(f"找不到文件 {file}")
        actor = Actor.system("import-roster")
        if user:
            account = get_user_model().objects.filter(username=user, is_active=True).first()
            if account is None:
                raise CommandError(f"账号 {user} 不存在或已停用。")
            actor = Actor.staff(account)
        started = time.monotonic()
        try:
            result = roster_import(
                actor=actor,
                region_code=region,
                path=file,
                original_name=file.name,
                progress=self._progress,
            )
        except DomainError as error:
            raise CommandError(error.message) from None
        sys.stderr.write("\n")
        for warning in result.warnings:
            self.stderr.write(f"注意：{warning}")
        if result.errors:
            target = errors or file.with_name(f"{file.stem}-错误清单.xlsx")
            write_error_workbook(result.errors, target)
            for item in result.errors[:20]:
                self.stderr.write(f"第{item.row}行 {item.column}：{item.message}")
            raise CommandError(
                f"发现 {len(result.errors)} 处错误，未写入任何数据。错误清单：{target}"
            )
        seconds = time.monotonic() - started
        self.stdout.write(
            f"导入完成：{result.total} 行，新增 {result.created} 人，更新 {result.updated} 人，"
            f"未变 {result.unchanged} 人；新建 {result.households_created} 户、"
            f"{result.buildings_created} 栋楼，用时 {seconds:.1f} 秒"
            f"（{result.total / max(seconds, 0.001):.0f} 人/秒）。"
        )

    def _progress(self, stage: str, done: int, total: int) -> None:
        label = {"validating": "检查", "writing": "写入"}.get(stage, stage)
        if total:
            filled = min(30, done * 30 // total)
            bar = "#" * filled + "-" * (30 - filled)
            sys.stderr.write(f"\r{label} [{bar}] {done}/{total}")
        else:
            sys.stderr.write(f"\r{label} {done} 行")
        sys.stderr.flush()
