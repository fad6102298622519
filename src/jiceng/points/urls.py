from django.urls import path

from jiceng.points import resident_views, store_views, views

app_name = "points"
urlpatterns = [
    path("points/", views.ledger, name="ledger"),
    path("points/adjust/", views.adjust, name="adjust"),
    path("points/entries/<int:pk>/reverse/", views.reverse, name="reverse"),
    path("points/rules/", views.rule_create, name="rule_create"),
    path("points/deeds/", views.deed_propose, name="deed_propose"),
    path("points/deeds/<int:pk>/decide/", views.deed_decide, name="deed_decide"),
    path("rank/<str:code>/", views.ranking, name="ranking"),
]

# The resident's points pages, in the resident's namespace ("me", see jiceng/urls.py).
resident_patterns = [
    path("points/", resident_views.points, name="points"),
    path("code/", resident_views.code, name="code"),
    path("code/number/", resident_views.code_number, name="code_number"),
    path("stores/", resident_views.stores, name="stores"),
    path("redemptions/<int:pk>/", resident_views.redemption, name="redemption"),
    path(
        "redemptions/<int:pk>/confirm/",
        resident_views.redemption_confirm,
        name="redemption_confirm",
    ),
    path(
        "redemptions/<int:pk>/cancel/", resident_views.redemption_cancel, name="redemption_cancel"
    ),
]

store_patterns = (
    [
        path("", store_views.store_list, name="list"),
        path("scan/<str:token>/", store_views.scan, name="scan"),
        path("<int:pk>/", store_views.store_detail, name="detail"),
        path("<int:pk>/goods/", store_views.good_create, name="good_create"),
        path("<int:pk>/goods/<int:good_pk>/restock/", store_views.good_restock, name="restock"),
        path("<int:pk>/goods/<int:good_pk>/edit/", store_views.good_edit, name="good_edit"),
        path("<int:pk>/update/", store_views.store_update, name="update"),
        path("<int:pk>/clerks/", store_views.clerk_add, name="clerk_add"),
        path("<int:pk>/report/", store_views.report, name="report"),
        path("<int:pk>/counter/", store_views.counter, name="counter"),
        path("<int:pk>/orders/<int:order_pk>/", store_views.order, name="order"),
        path(
            "<int:pk>/orders/<int:order_pk>/cancel/", store_views.order_cancel, name="order_cancel"
        ),
    ],
    "stores",
)
