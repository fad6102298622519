from django.urls import path

from jiceng.residents import views

# The resident's sign-in; jiceng/urls.py adds the pages other apps show the resident
# to the same namespace, "me".
app_name = "me"
urlpatterns = [
    path("login/", views.login, name="login"),
    path("logout/", views.logout, name="logout"),
    path("requests/", views.requests, name="requests"),
    path("building/", views.building, name="building"),
]

staff_patterns = (
    [
        path("persons/<int:pk>/resident/", views.confirm, name="confirm"),
        path("regions/<str:code>/riders/", views.riders, name="riders"),
        path("riders/<int:pk>/end/", views.rider_end, name="rider_end"),
    ],
    "residents",
)
