from django.urls import path

from jiceng.party import views

app_name = "party"
urlpatterns = [
    path("party/", views.home, name="home"),
    path("party/first-secretaries/", views.first_secretaries, name="first_secretaries"),
    path("party/terms/", views.terms, name="terms"),
    path("party/duplicates/", views.duplicates, name="duplicates"),
    path("party/overview/", views.overview, name="overview"),
    path("party/o/new/", views.organization_new, name="organization_new"),
    path("party/o/<int:pk>/", views.organization, name="organization"),
    path("party/o/<int:pk>/edit/", views.organization_edit, name="organization_edit"),
    path("party/o/<int:pk>/close/", views.organization_close, name="organization_close"),
    path("party/o/<int:pk>/elect/", views.organization_elect, name="organization_elect"),
    path("party/o/<int:pk>/appoint/", views.appoint, name="appoint"),
    path("party/o/<int:pk>/twin/", views.twin, name="twin"),
    path("party/o/<int:pk>/members/new/", views.member_new, name="member_new"),
    path("party/o/<int:pk>/members/import/", views.member_import, name="member_import"),
    path("party/o/<int:pk>/ledger.xlsx", views.ledger, name="ledger"),
    path("party/members/template.xlsx", views.member_template, name="member_template"),
    path("party/appointments/<int:pk>/end/", views.appointment_end, name="appointment_end"),
    path("party/members/<int:pk>/", views.member, name="member"),
    path("party/members/<int:pk>/full/", views.member_full, name="member_full"),
    path("party/members/<int:pk>/link/", views.member_link, name="member_link"),
    path("party/members/<int:pk>/transfer/", views.transfer_new, name="transfer_new"),
    path("party/transfers/", views.transfers, name="transfers"),
    path("party/transfers/<int:pk>/", views.transfer, name="transfer"),
    path("party/transfers/<int:pk>/<slug:action>/", views.transfer_act, name="transfer_act"),
    path("party/o/<int:pk>/meetings/", views.meetings, name="meetings"),
    path("party/o/<int:pk>/meetings/new/", views.meeting_new, name="meeting_new"),
    path("party/meetings/<int:pk>/", views.meeting, name="meeting"),
    path("party/meetings/<int:pk>/<slug:action>/", views.meeting_act, name="meeting_act"),
    path("party/themes/", views.themes, name="themes"),
    path("party/completeness/", views.completeness, name="completeness"),
    path("party/o/<int:pk>/dual/", views.dual_unit, name="dual_unit"),
    path("party/o/<int:pk>/dual/<int:year>.xlsx", views.dual_year, name="dual_year"),
    path("party/dual/reports/<int:pk>/evaluate/", views.dual_evaluate, name="dual_evaluate"),
    path("party/dual/reports/<int:pk>/end/", views.dual_end, name="dual_end"),
    path("party/dual/<str:code>/", views.dual_community, name="dual_community"),
    path("party/<str:code>/", views.region_organizations, name="region"),
]

# The resident's pages (namespace "me", composed in jiceng/urls.py).
resident_patterns = [path("party-report/", views.me_dual, name="dual")]
