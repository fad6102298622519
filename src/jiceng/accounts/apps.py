from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "jiceng.accounts"
    label = "accounts"
    verbose_name = "账号与角色"

    def ready(self) -> None:
        from jiceng.accounts import assignments, selectors
        from jiceng.core.access import register_holders

        assignments.register()  # posts held by assignment (core.access)
        register_holders(selectors.holders_of)  # whom the kernel tells (core.approvals)
