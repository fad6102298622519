"""`jiceng points verify` proves the books are whole; `jiceng points expire` moves the
unspent part of expired lots to each community's expiry account (run it daily)."""

from django.core.management.base import BaseCommand

from jiceng.core.actors import Actor
from jiceng.points.ledger import verify
from jiceng.points.services import expire_lots


class Command(BaseCommand):
    help = "积分账本：verify 校验，expire 处理到期积分。"

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["verify", "expire"])
        parser.add_argument("--region", default="", help="只校验该区划下的账本")

    def handle(self, *args, action, region, **options):
        if action == "expire":
            moved = expire_lots(actor=Actor.system("points expire"))
            self.stdout.write(f"到期积分：处理 {moved} 个批次。")
            return
        checked, problems = verify(region or None)
        for problem in problems[:50]:
            self.stderr.write(f"{problem.where}: {problem.what}")
        if problems:
            self.stderr.write(f"校验 {checked} 条分录，发现 {len(problems)} 处问题。")
            raise SystemExit(1)
        self.stdout.write(f"校验 {checked} 条分录：全部平衡，余额与过账一致，摘要链完整。")
