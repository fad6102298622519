from django.urls import path

from jiceng.places import views

app_name = "places"
urlpatterns = [
    path("regions/<str:code>/", views.region_detail, name="region"),
    path("regions/<str:code>/children/", views.region_child_create, name="region_child_create"),
    path("regions/<str:code>/grid/", views.grid_update, name="grid_update"),
    path("regions/<str:code>/export/", views.region_export, name="region_export"),
    path("buildings/<int:pk>/", views.building_detail, name="building"),
    path("buildings/<int:pk>/captain/", views.building_captain, name="building_captain"),
    path("households/<int:pk>/", views.household_detail, name="household"),
    path("persons/<int:pk>/", views.person_detail, name="person"),
    path("persons/<int:pk>/reveal/<str:field>/", views.person_reveal, name="person_reveal"),
    path("search/", views.search, name="search"),
    path("region-picker/", views.region_picker, name="region_picker"),
    path("moves/", views.move_list, name="moves"),
    path("moves/<int:pk>/", views.move_detail, name="move"),
    path("imports/", views.import_list, name="import_list"),
    path("imports/template.xlsx", views.import_template, name="import_template"),
    path("imports/<int:pk>/", views.import_detail, name="import_detail"),
    path("imports/<int:pk>/errors.xlsx", views.import_errors, name="import_errors"),
    path("imports/<int:pk>/roster.xlsx", views.export_file, name="export_file"),
]
