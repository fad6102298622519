from django.urls import path

from jiceng.accounts import views

app_name = "accounts"
urlpatterns = [
    path("login/", views.login_view, name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("password/", views.password_view, name="password"),
    path("users/", views.user_list, name="user_list"),
    path("users/<int:pk>/", views.user_detail, name="user_detail"),
    path("users/<int:pk>/grant/", views.user_grant, name="user_grant"),
    path("users/<int:pk>/grant/buildings/", views.grant_buildings, name="grant_buildings"),
    path("users/<int:pk>/revoke/<int:membership_pk>/", views.user_revoke, name="user_revoke"),
    path("users/<int:pk>/active/", views.user_set_active, name="user_set_active"),
    path("users/<int:pk>/password/", views.user_reset_password, name="user_reset_password"),
]
