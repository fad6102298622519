from django.urls import path

from jiceng.residents import views

app_name = "me"
urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.login, name="login"),
    path("logout/", views.logout, name="logout"),
    path("points/", views.points, name="points"),
    path("code/", views.code, name="code"),
    path("redemptions/<int:pk>/", views.redemption, name="redemption"),
    path("redemptions/<int:pk>/confirm/", views.redemption_confirm, name="redemption_confirm"),
    path("redemptions/<int:pk>/cancel/", views.redemption_cancel, name="redemption_cancel"),
]

staff_patterns = (
    [path("persons/<int:pk>/resident/", views.confirm, name="confirm")],
    "residents",
)
