import datetime

from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


class PlacesConfig(AppConfig):
    name = "jiceng.places"
    label = "places"
    verbose_name = "区划、网格与一标三实"

    def ready(self):
        from jiceng.core import schedule
        from jiceng.places import imports, region_names
        from jiceng.places.models import Region

        schedule.register(
            "places.import_files_purge",
            imports.import_files_purge,
            every=datetime.timedelta(days=1),
        )
        # The kept names are a cache of this table: a saved region makes them stale.
        post_save.connect(region_names.forget, sender=Region, dispatch_uid="region-names")
        post_delete.connect(region_names.forget, sender=Region, dispatch_uid="region-names-del")
