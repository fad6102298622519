"""`jiceng demo`: build the demo county (once) and serve it, printing the logins, with
`jiceng worker` running beside the web server (it sends the one-time codes)."""

import json
import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from jiceng.core.actors import Actor
from jiceng.core.backup import sqlite_file_private
from jiceng.demo.generator import build_demo, database_has_real_data
from jiceng.demo.models import DemoRun
from jiceng.envfile import FILE_NAME, write_env_file

SCALES = ["tiny", "urban", "county", "city"]


class Command(BaseCommand):
    help = "生成演示县（嘉祥县城区）并启动服务；已生成过则直接启动。"

    def add_arguments(self, parser):
        parser.add_argument(
            "--scale",
            choices=SCALES,
            default="urban",
            help="urban: 嘉祥县城区（默认）；county: 全县；city: 济宁全市（性能测试用）；"
            "tiny: 测试用",
        )
        parser.add_argument("--seed", type=int, default=2026)
        parser.add_argument("--no-serve", action="store_true", help="只生成数据，不启动服务")
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))

    def handle(self, *args, scale, seed, no_serve, port, **options):
        started = time.monotonic()
        call_command("migrate", interactive=False, verbosity=0)
        sqlite_file_private()  # var/jiceng.sqlite3, created by the migrate under the umask
        self._write_env(port)
        run = DemoRun.objects.order_by("pk").first()
        if run is None:
            if database_has_real_data():
                raise CommandError(
                    "数据库中已有非演示数据（人员或账号），演示模式拒绝在其上运行。"
                    "请用 JICENG_DATABASE_URL 指向一个空数据库。"
                )
            self.stdout.write(f"正在生成演示数据（{scale}）……")
            run, totals = build_demo(
                actor=Actor.system("demo"), scale=scale, seed=seed, progress=self.stdout.write
            )
            logins = totals.logins
            self._write_logins(logins)
            self.stdout.write(
                f"已生成：{totals.grids} 个网格，{totals.households} 户，{totals.persons} 人，"
                f"{totals.party_branches} 个网格党支部（组织生活 {totals.meetings} 次），"
                f"{totals.specialists} 名专业网格员，"
                f"{totals.users} 个账号，{totals.requests} 件诉求，{totals.patrols} 次巡查，"
                f"{totals.activities} 场活动（{totals.participations} 人次），"
                f"{totals.stores} 家文明超市。"
                f"用时 {time.monotonic() - started:.1f} 秒。"
            )
        else:
            if not run.persons:
                raise CommandError("上次生成演示数据未完成。请删除数据库文件（var/）后重新运行。")
            if run.scale != scale:
                self.stdout.write(f"已有 {run.scale} 规模的演示数据，沿用之。")
            logins = self._read_logins()
        self._print_logins(logins)
        if self._second_factor_off():
            self.stdout.write(
                "演示模式：工作人员登录不要求动态口令（第二因素，JICENG_SECOND_FACTOR=0）；"
                "正式部署默认开启，jiceng check --deploy 在关闭时发出警告。"
            )
        if no_serve:
            return
        if self._second_factor_off():
            settings.JICENG_SECOND_FACTOR = False  # for the server this command runs
        if not settings.DEBUG:
            self.stderr.write("提示：演示服务应以 JICENG_DEBUG=1 运行（make demo 已设置）。")
        # The worker sends what the pages queue; with the log senders it prints each SMS
        # (residents' one-time codes among them) here, as "SMS to 139****1111: …".
        worker = subprocess.Popen([sys.executable, "-m", "jiceng", "worker"])
        self.stdout.write(
            f"演示服务：http://127.0.0.1:{port}/  （Ctrl-C 停止）\n"
            "短信（居民登录验证码等）由 jiceng worker 发送，演示时打印在本窗口：SMS to …"
        )
        # Stopped by SIGTERM as by Ctrl-C: the worker stops with the server.
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        try:
            call_command("runserver", f"127.0.0.1:{port}", use_reloader=False, use_threading=True)
        finally:
            worker.terminate()
            worker.wait(timeout=30)

    @staticmethod
    def _second_factor_off() -> bool:
        """The demo's logins are printed for anyone to try: no second factor, unless the
        environment asks for one."""
        return os.environ.get("JICENG_SECOND_FACTOR", "0").strip().lower() in (
            "0",
            "false",
            "no",
            "off",
        )

    def _write_env(self, port: int) -> None:
        """The settings this demo runs with, for the `jiceng` commands typed after it in the
        same shell (`make demo` sets them for the demo alone)."""
        values = {"JICENG_SECRET_KEY": settings.SECRET_KEY}
        if settings.DEBUG:
            values["JICENG_DEBUG"] = "1"
        if not settings.HTTPS:
            values["JICENG_HTTPS"] = "0"
        # Printed in the QR posters that `jiceng qr-posters` draws for the demo; an address
        # of the operator's own is kept.
        public_url = os.environ.get("JICENG_PUBLIC_URL", "")
        if not public_url or public_url.startswith("http://127.0.0.1:"):
            public_url = f"http://127.0.0.1:{port}"
        values["JICENG_PUBLIC_URL"] = public_url
        # And for the server this command runs: its tracking-link texts carry the address.
        settings.JICENG_PUBLIC_URL = public_url
        if self._second_factor_off():
            values["JICENG_SECOND_FACTOR"] = "0"
        if os.environ.get("JICENG_DATABASE_URL"):
            values["JICENG_DATABASE_URL"] = os.environ["JICENG_DATABASE_URL"]
        write_env_file(
            settings.VAR_DIR / FILE_NAME,
            values,
            header="Written by `jiceng demo` for the demo only: read by the `jiceng` command,\n"
            "never overriding a variable set in the environment. Not for production.",
        )

    def _logins_path(self):
        return settings.VAR_DIR / "demo-logins.json"

    def _write_logins(self, logins: list[dict]) -> None:
        path = self._logins_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(logins, ensure_ascii=False, indent=2), encoding="utf-8")

    def _read_logins(self) -> list[dict]:
        path = self._logins_path()
        if not path.exists():
            raise CommandError(f"找不到 {path}，请删除数据库后重新生成演示数据。")
        return json.loads(path.read_text(encoding="utf-8"))

    def _print_logins(self, logins: list[dict]) -> None:
        self.stdout.write("")
        self.stdout.write(f"{'角色':<24}{'账号':<20}{'密码':<14}区划")
        for login in logins:
            key = f"  api_key={login['api_key']}" if "api_key" in login else ""
            key += f"  {login['note']}" if "note" in login else ""
            self.stdout.write(
                f"{login['role']:<24}{login['username']:<20}{login['password']:<14}"
                f"{login['region_code']}{key}"
            )
        self.stdout.write(f"（以上也已写入 {self._logins_path()}）")
