from django.apps import AppConfig


class GatheringsConfig(AppConfig):
    name = "jiceng.gatherings"
    label = "gatherings"
    verbose_name = "聚会、阵地与出勤"
