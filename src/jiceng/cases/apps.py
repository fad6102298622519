from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "jiceng.cases"
    label = "cases"
    verbose_name = "民情诉求"

    def ready(self) -> None:
        import datetime

        from django.urls import reverse

        from jiceng.cases import services
        from jiceng.cases.services import VOID_KIND, deadline_notices
        from jiceng.core import approvals, schedule

        # A grid worker's void is a proposal the community decides.
        approvals.register(VOID_KIND)
        # Yellow- and red-card warnings, each once (keyed by its deadline).
        # (The job is called with the worker's actor; the notices name no one.)
        schedule.register(
            "cases.deadline_notices",
            lambda *, actor: deadline_notices(),
            every=datetime.timedelta(minutes=5),
        )
        # A flood's suspect submissions voided together, never by one person alone.
        approvals.register(
            approvals.Kind(
                name=services.BULK_VOID,
                label="批量作废可疑提交",
                permission="cases.triage",
                apply=services.suspects_void_apply,
                release=services.suspects_void_release,
                details=services.voided_requests,
                link=lambda approval: (
                    f"{reverse('cases:queue')}?queue=suspect&proposal={approval.pk}"
                ),
            )
        )
