from django.urls import path, re_path

from jiceng.cases import open311, public, settings_views, views

app_name = "cases"
urlpatterns = [
    path("cases/", views.queue, name="queue"),
    path("cases/new/", views.case_new, name="new"),
    path("cases/suspects/void/", views.suspects_void, name="suspects_void"),
    path("cases/supervision/", views.supervision, name="supervision"),
    path("cases/supervision/export.xlsx", views.supervision_export, name="supervision_export"),
    path("cases/figures/", views.figures, name="figures"),
    path("cases/<int:pk>/", views.case_detail, name="detail"),
    path("cases/<int:pk>/act/<str:action>/", views.case_act, name="act"),
    path("cases/<int:pk>/reporter/", views.case_reporter, name="reporter"),
    path("cases/<int:pk>/photos/<int:photo_id>/", views.case_photo, name="photo"),
    path("regions/<str:code>/posters/", views.posters, name="posters"),
    path("regions/<str:code>/poster.svg", views.poster_download, name="poster"),
    path("regions/<str:code>/work-phones/", views.work_phones, name="work_phones"),
    path("inbox/", views.inbox, name="inbox"),
    path("inbox/read/", views.inbox_read, name="inbox_read"),
]

public_patterns = (
    [
        path("q/<str:grid_code>/", public.intake, name="intake"),
        path("q/<str:grid_code>/questions/", public.intake_questions, name="questions"),
        path("t/", public.lookup, name="lookup"),
        path("t/<str:code>/", public.lookup, name="lookup_code"),
        path("t/<str:code>/<str:token>/", public.tracking, name="tracking"),
        path("t/<str:code>/<str:token>/rate/", public.rate, name="rate"),
        path("t/<str:code>/<str:token>/reopen/", public.reopen, name="reopen"),
        path("t/<str:code>/<str:token>/photos/<int:photo_id>/", public.photo, name="photo"),
    ],
    "cases_public",
)

settings_patterns = (
    [
        path("catalogue/", settings_views.catalogue, name="catalogue"),
        path("catalogue/<int:pk>/", settings_views.category_edit, name="category"),
        path("catalogue/<int:pk>/questions/", settings_views.question_add, name="question_add"),
        path(
            "catalogue/<int:pk>/questions/<int:question_pk>/delete/",
            settings_views.question_remove,
            name="question_remove",
        ),
        path("open311/", settings_views.open311_clients, name="open311"),
        path(
            "open311/<int:pk>/active/", settings_views.open311_client_active, name="open311_active"
        ),
    ],
    "cases_settings",
)

FMT = r"\.(?P<fmt>xml|json)$"
open311_patterns = (
    [
        path("", open311.root, name="root"),
        path("openapi.json", open311.openapi, name="openapi"),
        re_path(r"^discovery" + FMT, open311.discovery, name="discovery"),
        re_path(r"^services" + FMT, open311.service_list, name="services"),
        re_path(r"^services/(?P<code>[\w.-]+?)" + FMT, open311.service_definition, name="service"),
        re_path(r"^requests" + FMT, open311.requests_view, name="requests"),
        re_path(r"^requests/(?P<request_id>\w+)" + FMT, open311.request_detail, name="request"),
        re_path(r"^tokens/(?P<token>\w+)" + FMT, open311.token_detail, name="token"),
        re_path(r"^(?P<path>(?s:.*))$", open311.unknown, name="unknown"),
    ],
    "open311",
)
