import datetime

from django.apps import AppConfig
from django.db.backends.signals import connection_created
from django.db.models.signals import post_migrate


class CoreConfig(AppConfig):
    name = "jiceng.core"
    label = "core"
    verbose_name = "系统内核"

    def ready(self) -> None:
        # The `within` lookup and our checks register themselves on import.
        from jiceng.core import checks, fields, history, outbox, quota, schedule  # noqa: F401

        quota.register()

        connection_created.connect(history.wrap_connection)
        # After every migrate (SQLite's table rebuilds drop triggers silently).
        post_migrate.connect(history.install_after_migrate, sender=self)
        schedule.register("core.outbox_prune", outbox.prune, every=datetime.timedelta(days=1))
