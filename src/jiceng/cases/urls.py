from django.urls import path

from jiceng.cases import public, views

app_name = "cases"
urlpatterns = [
    path("cases/", views.queue, name="queue"),
    path("cases/new/", views.case_new, name="new"),
    path("cases/supervision/", views.supervision, name="supervision"),
    path("cases/<int:pk>/", views.case_detail, name="detail"),
    path("cases/<int:pk>/act/<str:action>/", views.case_act, name="act"),
    path("cases/<int:pk>/reporter/", views.case_reporter, name="reporter"),
    path("cases/<int:pk>/photos/<int:photo_id>/", views.case_photo, name="photo"),
    path("inbox/", views.inbox, name="inbox"),
    path("inbox/read/", views.inbox_read, name="inbox_read"),
]

public_patterns = (
    [
        path("q/<str:grid_code>/", public.intake, name="intake"),
        path("q/<str:grid_code>/questions/", public.intake_questions, name="questions"),
        path("t/<str:code>/<str:token>/", public.tracking, name="tracking"),
        path("t/<str:code>/<str:token>/rate/", public.rate, name="rate"),
        path("t/<str:code>/<str:token>/reopen/", public.reopen, name="reopen"),
        path("t/<str:code>/<str:token>/photos/<int:photo_id>/", public.photo, name="photo"),
    ],
    "cases_public",
)
