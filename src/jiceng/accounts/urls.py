from django.urls import path

from jiceng.accounts import views

app_name = "accounts"
urlpatterns = [
    path("login/", views.login_view, name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("login/code/", views.second_factor_view, name="second_factor"),
    path("verify/", views.step_up_view, name="step_up"),
    path("password/", views.password_view, name="password"),
    path("tokens/", views.token_list, name="token_list"),
    path("tokens/<int:pk>/revoke/", views.token_revoke, name="token_revoke"),
    path("users/", views.user_list, name="user_list"),
    path("users/import/", views.user_import, name="user_import"),
    path("users/import/template.xlsx", views.user_import_template, name="user_import_template"),
    path("grants/", views.grant_list, name="grant_list"),
    path("grants/<int:pk>/sign/", views.grant_sign, name="grant_sign"),
    path("grants/<int:pk>/refuse/", views.grant_refuse, name="grant_refuse"),
    path("grants/batches/<int:pk>/", views.grant_batch, name="grant_batch"),
    path("grants/batches/<int:pk>/sign/", views.grant_batch_sign, name="grant_batch_sign"),
    path("users/<int:pk>/", views.user_detail, name="user_detail"),
    path("users/<int:pk>/grant/", views.user_grant, name="user_grant"),
    path("users/<int:pk>/grant/buildings/", views.grant_buildings, name="grant_buildings"),
    path("users/<int:pk>/revoke/<int:membership_pk>/", views.user_revoke, name="user_revoke"),
    path("users/<int:pk>/active/", views.user_set_active, name="user_set_active"),
    path("users/<int:pk>/password/", views.user_reset_password, name="user_reset_password"),
    path(
        "users/<int:pk>/second-factor/reset/",
        views.user_second_factor_reset,
        name="user_second_factor_reset",
    ),
]
