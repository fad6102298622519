from django.urls import path

from jiceng.party import views

app_name = "party"
urlpatterns = [
    path("party/first-secretaries/", views.first_secretaries, name="first_secretaries"),
    path("party/<str:code>/", views.region_organizations, name="region"),
]
