from django.apps import AppConfig


class PointsConfig(AppConfig):
    name = "jiceng.points"
    label = "points"
    verbose_name = "积分与文明超市"

    def ready(self) -> None:
        import datetime

        from jiceng.core import approvals, schedule
        from jiceng.points.services import adjust_approval_kind, expire_lots

        # Points that carry an expiry move to the expiry account (nothing where none do).
        schedule.register("points.expire", expire_lots, every=datetime.timedelta(days=1))
        # Large additions wait for a second person (积分调整超出限额).
        approvals.register(adjust_approval_kind())
