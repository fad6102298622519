"""`jiceng grant`: on the server only — the first administrators of an installation, and
the accounts of security administrators and auditors, which no page may manage."""

from django.core.management.base import BaseCommand, CommandError

from jiceng.accounts import second_factor, services
from jiceng.accounts.roles import ROLES
from jiceng.core.actors import Actor
from jiceng.core.errors import DomainError


class Command(BaseCommand):
    help = (
        "授予（或 --revoke 撤销）一个角色；账号不存在时创建并打印其初始密码（首次登录须修改）。"
        "--reset-password 为账号生成新的初始密码；--reset-second-factor 重置其动态口令"
        "（下次登录时重新绑定）。每次都记入审计并告警审计管理员。"
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("role", nargs="?", choices=sorted(ROLES), help="角色代码")
        parser.add_argument("region_code", nargs="?", help="任职区划编码")
        parser.add_argument("--full-name", default="", help="新建账号的姓名")
        parser.add_argument("--phone", default="", help="新建账号的手机号")
        parser.add_argument("--revoke", action="store_true", help="撤销该角色")
        parser.add_argument("--reset-password", action="store_true", help="重置密码")
        parser.add_argument(
            "--reset-second-factor", action="store_true", help="重置动态口令（第二因素）"
        )

    def handle(self, *args, username, role, region_code, full_name, phone, revoke,
               reset_password, reset_second_factor, **options):  # fmt: skip
        try:
            if reset_second_factor:
                second_factor.server_reset_second_factor(
                    actor=Actor.system("jiceng grant"), username=username
                )
                self.stdout.write(f"已重置 {username} 的动态口令；下次登录时须重新绑定。")
                return
            if reset_password:
                password = services.server_reset_password(
                    actor=Actor.system("jiceng grant"), username=username
                )
                self.stdout.write(f"已为 {username} 生成新的初始密码：{password}")
                self.stdout.write("请当面交给本人；首次登录须修改。")
                return
            if not role or not region_code:
                raise CommandError(
                    "请给出角色和任职区划，例如：jiceng grant zhangsan auditor 370829"
                )
            user, password = services.server_grant(
                actor=Actor.system("jiceng grant"),
                username=username,
                role=role,
                region_code=region_code,
                full_name=full_name,
                phone=phone,
                revoke=revoke,
            )
        except DomainError as error:
            raise CommandError(error.message) from None
        verb = "撤销" if revoke else "授予"
        self.stdout.write(f"已{verb} {user.username} {ROLES[role].label}（{region_code}）。")
        if password:
            self.stdout.write(f"新建账号的初始密码：{password}（首次登录须修改，请当面交给本人）")
