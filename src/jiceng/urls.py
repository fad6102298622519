"""URL map. Every route is declared in the authorization matrix (tests/test_access_matrix.py)."""

from django.contrib import admin
from django.urls import include, path

from jiceng.activities.urls import leader_patterns
from jiceng.activities.urls import resident_patterns as activities_resident_patterns
from jiceng.api import api
from jiceng.cases.urls import open311_patterns, settings_patterns
from jiceng.cases.urls import public_patterns as cases_public_patterns
from jiceng.core import views as core_views
from jiceng.gatherings.urls import organizer_patterns as gatherings_organizer_patterns
from jiceng.gatherings.urls import public_patterns as gatherings_public_patterns
from jiceng.party.urls import resident_patterns as party_resident_patterns
from jiceng.places import views as places_views
from jiceng.points.urls import resident_patterns as points_resident_patterns
from jiceng.points.urls import store_patterns
from jiceng.residents import urls as residents_urls
from jiceng.residents.urls import staff_patterns as residents_staff_patterns

# The resident's pages, one namespace ("me") declared by the apps whose things they show:
# residents below points below activities, so residents cannot list the others' views.
resident_patterns = (
    [
        *activities_resident_patterns,
        *party_resident_patterns,
        *residents_urls.urlpatterns,
        *points_resident_patterns,
    ],
    residents_urls.app_name,
)

urlpatterns = [
    path("", places_views.home, name="home"),
    path("healthz", core_views.healthz, name="healthz"),
    path("audit/", core_views.audit_list, name="audit_list"),
    path("audit/export.xlsx", core_views.audit_export, name="audit_export"),
    path("approvals/", core_views.approval_list, name="approval_list"),
    path("approvals/<int:pk>/", core_views.approval_detail, name="approval_detail"),
    path("approvals/<int:pk>/<slug:action>", core_views.approval_decide, name="approval_decide"),
    path("reveals/more/", core_views.reveal_more, name="reveal_more"),
    path("reveals/emergency/", core_views.reveal_emergency, name="reveal_emergency"),
    path("accounts/", include("jiceng.accounts.urls")),
    path("", include("jiceng.places.urls")),
    path("", include("jiceng.party.urls")),
    path("", include("jiceng.cases.urls")),
    path("", include(cases_public_patterns)),
    path("settings/", include(settings_patterns)),
    path("patrols/", include("jiceng.patrols.urls")),
    path("", include(residents_staff_patterns)),
    path("me/", include(resident_patterns)),
    path("me/", include(leader_patterns)),
    path("activities/", include("jiceng.activities.urls")),
    path("", include(gatherings_public_patterns)),
    path("", include(gatherings_organizer_patterns)),
    path("", include("jiceng.points.urls")),
    path("stores/", include(store_patterns)),
    path("open311/v2/", include(open311_patterns)),
    path("api/v1/", api.urls),
    path("admin/", admin.site.urls),
]
