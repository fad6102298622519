"""`jiceng notify-deadlines [--every SECONDS]`: send yellow- and red-card warnings once."""

import time

from django.core.management.base import BaseCommand

from jiceng.cases.services import deadline_notices


class Command(BaseCommand):
    help = "对临期（黄牌）和超期（红牌）的诉求发出提醒；每条提醒只发一次。"

    def add_arguments(self, parser):
        parser.add_argument(
            "--every", type=int, default=0, help="每隔多少秒运行一次（0 为只运行一次）"
        )

    def handle(self, *args, every: int, **options):
        while True:
            created = deadline_notices()
            self.stdout.write(f"发出提醒 {created} 条。")
            if not every:
                return
            time.sleep(every)
