from django.apps import AppConfig


class ResidentsConfig(AppConfig):
    name = "jiceng.residents"
    label = "residents"
    verbose_name = "居民账号"

    def ready(self) -> None:
        from jiceng.residents import selectors

        selectors.register()
