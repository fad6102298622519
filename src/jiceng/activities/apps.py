from django.apps import AppConfig


class ActivitiesConfig(AppConfig):
    name = "jiceng.activities"
    label = "activities"
    verbose_name = "服务活动与志愿服务队"

    def ready(self) -> None:
        from jiceng.activities import selectors
        from jiceng.core.access import register_assignments
        from jiceng.gatherings.kinds import Kind, declare

        # A team's leader (a resident) holds its leader's rights there (core.access).
        register_assignments(selectors.TEAM, {"activities.lead"}, selectors.teams_led)
        # Each activity is a gathering of this kind: its leader or staff organize it.
        declare(
            Kind(
                code="activity",
                label="服务活动",
                organizes=selectors.organizes,
                notes=selectors.notes,
                manage_url=selectors.manage_url,
                confirms_organizers="社区工作人员",
            )
        )
