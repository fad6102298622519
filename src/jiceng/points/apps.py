from django.apps import AppConfig


class PointsConfig(AppConfig):
    name = "jiceng.points"
    label = "points"
    verbose_name = "积分与文明超市"

    def ready(self) -> None:
        import datetime

        from jiceng.core import approvals, schedule
        from jiceng.points.services import adjust_approval_kind, deed_approval_kind, expire_lots

        # Points that carry an expiry move to the expiry account (nothing where none do).
        schedule.register("points.expire", expire_lots, every=datetime.timedelta(days=1))
        # What another member of staff decides: good deeds, and additions by adjustment
        # beyond what one worker may add alone.
        approvals.register(deed_approval_kind())
        approvals.register(adjust_approval_kind())
