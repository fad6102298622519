"""The resident's home page (/me/): points, sign-ups, teams led and redemptions waiting,
at a glance. Here because it shows activities and points, and activities is the app that
may read both."""

from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from jiceng.activities import selectors as activity_selectors
from jiceng.gatherings.selectors import resident_signups
from jiceng.party.models import PartyMember, PartyOrganization
from jiceng.points import selectors as points_selectors
from jiceng.points.models import Redemption
from jiceng.residents import selectors as resident_selectors
from jiceng.residents.decorators import resident_required


@resident_required
@require_GET
def home(request):
    resident = request.resident
    return render(
        request,
        "activities/me/home.html",
        {
            "resident": resident,
            "accounts": points_selectors.resident_accounts(resident),
            "signups": resident_signups(resident, upcoming_only=True)[:20],
            "teams": activity_selectors.led_teams(resident),
            "pending": resident.redemptions.filter(
                status=Redemption.Status.PENDING,
                created_at__gte=timezone.now() - Redemption.PENDING_FOR,
            )
            .select_related("store")
            .prefetch_related("lines__good"),
            "label": points_selectors.resident_label(resident),
            "captains": bool(resident_selectors.captained_buildings(resident)),
            "rider": resident_selectors.rider_of(resident),
            # An in-service member reports to the community where they live (双报到).
            "in_service": resident.person_id is not None
            and PartyMember.objects.filter(
                person_id=resident.person_id,
                left_on__isnull=True,
                organization__kind__in=PartyOrganization.UNITS,
            ).exists(),
        },
    )
