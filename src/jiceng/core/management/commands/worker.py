"""`jiceng worker [--once] [--run JOB]`: send the outbox and run the schedule."""

import signal
import threading

from django.core.management.base import BaseCommand, CommandError

from jiceng.core import schedule, worker
from jiceng.core.actors import Actor


class Command(BaseCommand):
    help = (
        "后台进程：发送外发消息（短信、工作通知，失败自动重试），并按时运行定时任务"
        "（临期提醒、积分到期等）。--once 处理完当前到期的事后退出。"
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--once", action="store_true", help="发完当前到期的消息、运行到期的定时任务后退出"
        )
        parser.add_argument(
            "--run",
            metavar="JOB",
            help=f"立即运行一个定时任务后退出：{', '.join(sorted(schedule.JOBS))}",
        )

    def handle(self, *args, once: bool, run: str | None, **options):
        if run:
            if run not in schedule.JOBS:
                raise CommandError(f"没有定时任务 {run}；可选：{', '.join(sorted(schedule.JOBS))}")
            result = schedule.run_now(actor=Actor.system("worker"), name=run)
            self.stdout.write(f"{run}：{result}")
            return
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())  # finish the message in hand, then stop
        if not once:
            self.stdout.write("jiceng worker 已启动：发送外发消息，运行定时任务（Ctrl-C 停止）。")
        worker.run(actor=Actor.system("worker"), once=once, stop=stop)
