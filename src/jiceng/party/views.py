"""Pages for party organizations on the region tree and for first secretaries."""

from django.shortcuts import render
from django.views.decorators.http import require_GET

from jiceng.core.access import require
from jiceng.core.masking import mask_phone
from jiceng.core.pagination import page_of
from jiceng.party import selectors
from jiceng.places.selectors import region_breadcrumbs, region_get


@require_GET
def region_organizations(request, code: str):
    region = region_get(user=request.user, code=code)
    return render(
        request,
        "party/region.html",
        {
            "region": region,
            "crumbs": region_breadcrumbs(user=request.user, region=region),
            "organizations": selectors.organization_list(user=request.user, region_code=code),
            "counts": selectors.organization_counts(user=request.user, region_code=code),
        },
    )


@require_GET
def first_secretaries(request):
    require(request.user, "party.view")
    page = page_of(request, selectors.first_secretary_list(user=request.user))
    rows = [(secretary, mask_phone(secretary.phone)) for secretary in page]
    return render(request, "party/first_secretaries.html", {"rows": rows, "page": page})
