from django.apps import AppConfig


class ActivitiesConfig(AppConfig):
    name = "jiceng.activities"
    label = "activities"
    verbose_name = "服务活动与志愿服务队"
