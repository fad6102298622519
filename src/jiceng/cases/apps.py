from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "jiceng.cases"
    label = "cases"
    verbose_name = "民情诉求"

    def ready(self) -> None:
        import datetime

        from jiceng.cases.services import deadline_notices
        from jiceng.core import schedule

        # Yellow- and red-card warnings, each once (keyed by its deadline).
        # (The job is called with the worker's actor; the notices name no one.)
        schedule.register(
            "cases.deadline_notices",
            lambda *, actor: deadline_notices(),
            every=datetime.timedelta(minutes=5),
        )
