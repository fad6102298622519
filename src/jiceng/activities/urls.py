from django.urls import path

from jiceng.activities import leader, me, public, views

app_name = "activities"
urlpatterns = [
    path("", views.activity_list, name="list"),
    path("new/", views.activity_new, name="new"),
    path("figures/", views.figures, name="figures"),
    path("needs/", views.needs, name="needs"),
    path("venues/", views.venues, name="venues"),
    path("teams/", views.teams, name="teams"),
    path("teams/<int:pk>/", views.team, name="team"),
    path("teams/<int:pk>/members/", views.team_member_add, name="team_member_add"),
    path("<int:pk>/", views.activity_detail, name="detail"),
    path("<int:pk>/act/<str:action>/", views.activity_act, name="act"),
    path("<int:pk>/reschedule/", views.reschedule, name="reschedule"),
    path("<int:pk>/attendance/<int:signup_pk>/", views.attendance, name="attendance"),
]

public_patterns = (
    [
        path("calendar/", public.index, name="index"),
        path("calendar/<str:code>/", public.month, name="month"),
        path("calendar/<str:code>/activities.ics", public.ical, name="ical"),
        path("calendar/<str:code>/rss/", public.feed, name="rss"),
        path("a/<int:pk>/", public.activity, name="activity"),
        path("a/<int:pk>/signup/", public.signup, name="signup"),
        path("a/<int:pk>/cancel/", public.signup_cancel, name="signup_cancel"),
        path("a/<int:pk>/checkin/<str:code>/", public.check_in, name="check_in"),
        path("a/<int:pk>/checkout/", public.check_out, name="check_out"),
    ],
    "calendar",
)

# The resident's home page, in the resident's namespace ("me", see jiceng/urls.py).
resident_patterns = [path("", me.home, name="home")]

leader_patterns = (
    [
        path("teams/<int:pk>/", leader.team, name="team"),
        path("teams/<int:pk>/claim/<int:activity_pk>/", leader.claim, name="claim"),
        path("activities/<int:pk>/", leader.activity, name="activity"),
        path("activities/<int:pk>/act/<str:action>/", leader.act, name="act"),
        path("activities/<int:pk>/code/", leader.code, name="code"),
        path(
            "activities/<int:pk>/attendance/<int:signup_pk>/",
            leader.attendance,
            name="attendance",
        ),
        path(
            "activities/<int:pk>/attendance/confirm/",
            leader.confirm_claims,
            name="confirm_claims",
        ),
    ],
    "leader",
)
