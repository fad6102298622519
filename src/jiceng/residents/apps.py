from django.apps import AppConfig


class ResidentsConfig(AppConfig):
    name = "jiceng.residents"
    label = "residents"
    verbose_name = "居民账号"
