from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "jiceng.core"
    label = "core"
    verbose_name = "系统内核"

    def ready(self) -> None:
        from jiceng.core import checks, fields  # noqa: F401  the `within` lookup, our checks
