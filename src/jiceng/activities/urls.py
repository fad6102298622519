from django.urls import path

from jiceng.activities import leader, me, views

app_name = "activities"
urlpatterns = [
    path("", views.activity_list, name="list"),
    path("new/", views.activity_new, name="new"),
    path("figures/", views.figures, name="figures"),
    path("needs/", views.needs, name="needs"),
    path("teams/", views.teams, name="teams"),
    path("teams/<int:pk>/", views.team, name="team"),
    path("teams/<int:pk>/members/", views.team_member_add, name="team_member_add"),
    path("<int:pk>/", views.activity_detail, name="detail"),
    path("<int:pk>/act/<str:action>/", views.activity_act, name="act"),
    path("<int:pk>/reschedule/", views.reschedule, name="reschedule"),
]

# The resident's home page, in the resident's namespace ("me", see jiceng/urls.py).
resident_patterns = [path("", me.home, name="home")]

leader_patterns = (
    [
        path("teams/<int:pk>/", leader.team, name="team"),
        path("teams/<int:pk>/claim/<int:activity_pk>/", leader.claim, name="claim"),
        path("activities/<int:pk>/", leader.activity, name="activity"),
        path("activities/<int:pk>/act/<str:action>/", leader.act, name="act"),
    ],
    "leader",
)
