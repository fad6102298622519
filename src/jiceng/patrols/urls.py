from django.urls import path

from jiceng.patrols import views

app_name = "patrols"
urlpatterns = [
    path("", views.patrol_list, name="list"),
    path("new/", views.patrol_new, name="new"),
    path("<int:pk>/", views.patrol_detail, name="detail"),
    path("<int:pk>/finding/", views.patrol_finding, name="finding"),
    path("<int:pk>/visit/", views.patrol_visit, name="visit"),
    path("visits/<int:pk>/reveal/", views.visit_reveal, name="visit_reveal"),
]
