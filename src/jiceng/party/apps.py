from django.apps import AppConfig


class PartyConfig(AppConfig):
    name = "jiceng.party"
    label = "party"
    verbose_name = "党组织"

    def ready(self) -> None:
        import datetime

        from jiceng.core import schedule
        from jiceng.gatherings.kinds import Kind, declare
        from jiceng.party import imports, selectors, services, tally
        from jiceng.places.imports import Importer, register_importer

        # A month before a probation ends, the branch's keepers are texted (once).
        schedule.register(
            "party.probation_reminders",
            services.probation_reminders,
            every=datetime.timedelta(days=1),
        )

        # The overview's members and organization life behind, counted every few minutes.
        schedule.register("party.tally", tally.tally_count, every=datetime.timedelta(minutes=10))

        # Each organization-life meeting is a gathering of this kind: the keepers of its
        # branch (its secretary and organization member, the department above) organize it.
        declare(
            Kind(
                code="party_meeting",
                label="组织生活",
                organizes=selectors.meeting_organizes,
                notes=selectors.meeting_notes,
                manage_url=selectors.meeting_url,
                confirms_organizers="支部书记或组织委员",
            )
        )
        # A branch's members arrive through the one import pipeline.
        register_importer(
            Importer(
                code="party_members",
                label="党员名册",
                check=imports.check_upload,
                run=imports.run_job,
                visible=imports.visible_jobs,
                back=imports.job_back,
            )
        )
