from django.apps import AppConfig


class PointsConfig(AppConfig):
    name = "jiceng.points"
    label = "points"
    verbose_name = "积分与文明超市"

    def ready(self) -> None:
        import datetime

        from jiceng.core import schedule
        from jiceng.points.services import expire_lots

        # Points that carry an expiry move to the expiry account (nothing where none do).
        schedule.register("points.expire", expire_lots, every=datetime.timedelta(days=1))
