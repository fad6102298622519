from django.apps import AppConfig


class PlacesConfig(AppConfig):
    name = "jiceng.places"
    label = "places"
    verbose_name = "区划、网格与一标三实"
