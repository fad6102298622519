from django.apps import AppConfig


class ActivitiesConfig(AppConfig):
    name = "jiceng.activities"
    label = "activities"
    verbose_name = "服务活动与志愿服务队"

    def ready(self) -> None:
        from jiceng.activities.selectors import TEAM, teams_led
        from jiceng.core.access import register_assignments

        # A team's leader (a resident) holds its leader's rights there (core.access).
        register_assignments(TEAM, {"activities.lead"}, teams_led)
