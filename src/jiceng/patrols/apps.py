from django.apps import AppConfig


class PatrolsConfig(AppConfig):
    name = "jiceng.patrols"
    label = "patrols"
    verbose_name = "巡查走访"
