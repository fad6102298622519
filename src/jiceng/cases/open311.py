"""Open311 GeoReport v2 at /open311/v2/ (XML and JSON), for outside client apps.

jurisdiction_id is the county code. POST needs an api_key issued to the client app by the
county administrator. Reading requests needs no key, but then shows only what anyone may
see (status, type, dates, the public reply): the description, address, position and the
reporter's details are given only to the client app that submitted the request.

Location: address_id may be a grid code (printed under each QR code); otherwise lat/long
is placed in the grid whose boundary holds it, or at the county for triage to place.
"""

import datetime
import hashlib
from decimal import Decimal, InvalidOperation
from xml.etree import ElementTree

from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponse, JsonResponse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from jiceng.cases import services
from jiceng.cases.catalogue import catalogue_list
from jiceng.cases.models import Case, Category, Open311Client
from jiceng.cases.open311_openapi import open311_openapi
from jiceng.cases.workflow import resident_status
from jiceng.core import phones
from jiceng.core.actors import Actor
from jiceng.core.errors import DomainError
from jiceng.core.intake import Sender
from jiceng.core.region_codes import is_within
from jiceng.places.models import Region

SPEC = "http://wiki.open311.org/GeoReport_v2"
MAX_RESULTS = 1000
MAX_SPAN = datetime.timedelta(days=90)
CLOSED = (Case.Status.CLOSED, Case.Status.VOIDED, Case.Status.MERGED)


class Open311Error(Exception):
    def __init__(self, status: int, description: str):
        super().__init__(description)
        self.status = status
        self.description = description


# --- rendering ---------------------------------------------------------------------------


def _xml_value(parent, key: str, value) -> None:
    element = ElementTree.SubElement(parent, key)
    if isinstance(value, list):
        child_name = {"attributes": "attribute", "values": "value", "endpoints": "endpoint",
                      "formats": "format"}.get(key, "item")  # fmt: skip
        for item in value:
            if isinstance(item, dict):
                _xml_dict(ElementTree.SubElement(element, child_name), item)
            else:
                ElementTree.SubElement(element, child_name).text = _text(item)
    elif isinstance(value, dict):
        _xml_dict(element, value)
    else:
        element.text = _text(value)


def _xml_dict(element, data: dict) -> None:
    for key, value in data.items():
        _xml_value(element, key, value)


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def render(data, fmt: str, root: str, item: str, status: int = 200) -> HttpResponse:
    """JSON: the list itself (or the object); XML: <root><item>…</item></root>."""
    if fmt == "json":
        return JsonResponse(
            data, safe=False, status=status, json_dumps_params={"ensure_ascii": False}
        )
    top = ElementTree.Element(root)
    for entry in data if isinstance(data, list) else [data]:
        _xml_dict(ElementTree.SubElement(top, item) if item else top, entry)
    body = b'<?xml version="1.0" encoding="utf-8"?>' + ElementTree.tostring(top, encoding="utf-8")
    return HttpResponse(body, status=status, content_type="text/xml; charset=utf-8")


def error(fmt: str, status: int, description: str) -> HttpResponse:
    return render([{"code": status, "description": description}], fmt, "errors", "error", status)


def open311_view(view):
    """Public (no session, no CSRF: clients authenticate by api_key) with spec errors."""

    def wrapper(request, *args, fmt: str, **kwargs):
        try:
            return view(request, *args, fmt=fmt, **kwargs)
        except Open311Error as failure:
            return error(fmt, failure.status, failure.description)
        except DomainError as failure:
            return error(fmt, failure.status, f"{failure.message} ({failure.code})")

    wrapper.__name__ = view.__name__
    wrapper.__doc__ = view.__doc__
    return login_not_required(csrf_exempt(wrapper))


def _param(request, name: str) -> str:
    """An empty optional parameter acts as absent."""
    source = request.POST if request.method == "POST" else request.GET
    return source.get(name, "").strip()


def _county(request) -> str:
    jurisdiction = _param(request, "jurisdiction_id")
    if jurisdiction:
        if not Region.objects.filter(code=jurisdiction, level=Region.Level.COUNTY).exists():
            raise Open311Error(404, f"unknown jurisdiction_id {jurisdiction}")
        return jurisdiction
    counties = Category.objects.order_by().values_list("region_code", flat=True).distinct()[:2]
    if len(counties) == 1:
        return counties[0]
    raise Open311Error(400, "jurisdiction_id is required")


def _iso(moment) -> str:
    return timezone.localtime(moment).isoformat(timespec="seconds") if moment else ""


# --- discovery and services --------------------------------------------------------------


@login_not_required
@require_GET
def openapi(request):
    """The OpenAPI description of these endpoints (JSON form)."""
    return JsonResponse(open311_openapi(), json_dumps_params={"ensure_ascii": False})


@open311_view
@require_GET
def discovery(request, fmt: str):
    base = request.build_absolute_uri("/open311/v2/")
    data = {
        "changeset": "2026-11-28T00:00:00+08:00",
        "contact": "县级指挥中心（12345）",
        "key_service": "向县级管理员申请 api_key",
        "endpoints": [
            {
                "specification": SPEC,
                "url": base,
                "changeset": "2026-11-28T00:00:00+08:00",
                "type": "production",
                "formats": ["text/xml", "application/json"],
            }
        ],
    }
    return render(data, fmt, "discovery", None)


@login_not_required
@require_GET
def root(request):
    """/open311/v2/ itself, the endpoint that discovery advertises: the discovery document,
    in XML when the client asks for it (Accept), else JSON."""
    fmt = "xml" if "xml" in request.headers.get("Accept", "") else "json"
    return discovery(request, fmt=fmt)


def _service(category: Category) -> dict:
    return {
        "service_code": category.code,
        "service_name": category.name,
        "description": category.description or f"{category.parent.name}·{category.name}",
        "metadata": bool(category.questions.all()),
        "type": "realtime",
        "keywords": ",".join(category.keywords.split()),
        "group": category.parent.name,
    }


@open311_view
@require_GET
def service_list(request, fmt: str):
    categories = catalogue_list(county_code=_county(request))
    return render([_service(c) for c in categories], fmt, "services", "service")


@open311_view
@require_GET
def service_definition(request, code: str, fmt: str):
    category = catalogue_list(county_code=_county(request)).filter(code=code).first()
    if category is None:
        raise Open311Error(404, f"unknown service_code {code}")
    attributes = [
        {
            "variable": True,
            "code": question.code,
            "datatype": question.datatype,
            "required": question.required,
            "datatype_description": question.get_datatype_display(),
            "order": question.order,
            "description": question.label,
            "values": [{"key": v["key"], "name": v["name"]} for v in question.values],
        }
        for question in category.questions.all()
    ]
    data = {"service_code": category.code, "attributes": attributes}
    return render(data, fmt, "service_definition", None)


# --- requests ----------------------------------------------------------------------------


def _client(request) -> Open311Client | None:
    key = _param(request, "api_key")
    if not key:
        return None
    client = Open311Client.objects.filter(
        key_digest=hashlib.sha256(key.encode()).hexdigest(), is_active=True
    ).first()
    if client is None:
        raise Open311Error(403, "invalid api_key")
    return client


def _locate(county: str, address_id: str, latitude, longitude) -> str:
    if address_id:
        grid = Region.objects.filter(code=address_id, level=Region.Level.GRID).first()
        if grid is None or not is_within(grid.code, county):
            raise Open311Error(400, f"unknown address_id {address_id}")
        return grid.code
    if latitude is not None:
        grids = Region.objects.filter(
            level=Region.Level.GRID, code__within=county, boundary__isnull=False
        ).only("code", "boundary")
        for grid in grids:
            if services._point_in_polygon(float(longitude), float(latitude), grid.boundary):
                return grid.code
    return county


def _decimal(request, name: str):
    value = _param(request, name)
    if not value:
        return None
    try:
        return Decimal(value).quantize(Decimal("0.000001"))
    except InvalidOperation:
        raise Open311Error(400, f"{name} is not a number") from None


@open311_view
@require_http_methods(["GET", "POST"])
def requests_view(request, fmt: str):
    if request.method == "POST":
        return _post_request(request, fmt)
    return _list_requests(request, fmt)


def _post_request(request, fmt: str):
    client = _client(request)
    if client is None:
        raise Open311Error(403, "api_key is required")
    county = _county(request)
    if county != client.region_code:
        raise Open311Error(403, "api_key is not valid for this jurisdiction_id")
    code = _param(request, "service_code")
    category = catalogue_list(county_code=county).filter(code=code).first() if code else None
    if category is None:
        raise Open311Error(
            400, f"unknown service_code {code}" if code else "service_code is required"
        )
    latitude, longitude = _decimal(request, "lat"), _decimal(request, "long")
    address_string = _param(request, "address_string")
    address_id = _param(request, "address_id")
    if latitude is None and not address_string and not address_id:
        raise Open311Error(400, "one of lat/long, address_string or address_id is required")
    if (latitude is None) != (longitude is None):
        raise Open311Error(400, "lat and long go together")
    description = _param(request, "description")
    if len(description) > services.MAX_DESCRIPTION:
        raise Open311Error(400, "description is longer than 4000 characters")
    region_code = _locate(county, address_id, latitude, longitude)
    attributes = {
        key[len("attribute[") : -1]: request.POST.getlist(key)
        for key in request.POST
        if key.startswith("attribute[") and key.endswith("]")
    }
    answers = {k: v if len(v) > 1 else v[0] for k, v in attributes.items()}
    # A retried POST (same client, same fields, within about ten minutes) is one request.
    fields = sorted((k, v) for k, v in request.POST.lists() if k != "api_key")
    digest = hashlib.sha256(repr(fields).encode()).hexdigest()[:32]
    bucket = int(timezone.now().timestamp() // 600)
    keys = [f"open311:{client.pk}:{digest}:{b}" for b in (bucket - 1, bucket)]
    existing = Case.objects.filter(idempotency_key__in=keys).first()
    if existing:
        return render([_created(existing)], fmt, "service_requests", "request")
    name = " ".join(filter(None, [_param(request, "last_name"), _param(request, "first_name")]))
    case, _ = services.case_submit(
        actor=Actor.public(Case.Channel.OPEN311),
        channel=Case.Channel.OPEN311,
        region_code=region_code,
        description=description or category.name,
        category=category,
        answers=answers,
        address=address_string,
        latitude=latitude,
        longitude=longitude,
        media_url=_param(request, "media_url"),
        reporter_name=name,
        reporter_phone=phones.phone(_param(request, "phone"))
        or "",  # a client's stray text is dropped
        reporter_account=_param(request, "account_id") or _param(request, "email"),
        device_id=_param(request, "device_id"),  # kept for the client; it limits nothing
        sender=Sender(client=client.pk),
        open311_client=client,
        idempotency_key=keys[1],
    )
    return render([_created(case)], fmt, "service_requests", "request", status=201)


def _created(case: Case) -> dict:
    return {
        "service_request_id": case.tracking_code,
        "token": case.tracking_code,
        "service_notice": f"将于{_iso(case.due_at)[:10]}前受理" if case.due_at else "",
        "account_id": case.reporter_account,
    }


def _request_data(case: Case, client: Open311Client | None) -> dict:
    own = client is not None and case.open311_client_id == client.pk
    category = case.category
    address = " ".join(filter(None, [case.building.name if case.building else "", case.address]))
    return {
        "service_request_id": case.tracking_code,
        "status": "closed" if case.status in CLOSED else "open",
        # The public reply (答复) only: the internal result can name people. The client
        # that posted the request may still read the result of one handled before replies.
        "status_notes": case.public_reply or (case.result if own else "") or resident_status(case),
        "service_name": category.name if category else "",
        "service_code": category.code if category else "",
        "description": case.description if own else "",
        "agency_responsible": case.handler_department.name
        if case.handler_department_id
        else ("网格员" if case.handler_id else ""),
        "service_notice": "",
        "requested_datetime": _iso(case.received_at),
        "updated_datetime": _iso(case.updated_at),
        "expected_datetime": _iso(case.handle_due_at or case.due_at) if case.is_open else "",
        "address": address if own else "",
        "address_id": case.region_code,
        "zipcode": "",
        "lat": str(case.latitude) if own and case.latitude is not None else "",
        "long": str(case.longitude) if own and case.longitude is not None else "",
        "media_url": case.media_url if own else "",
    }


def _date(request, name: str):
    value = _param(request, name)
    if not value:
        return None
    moment = parse_datetime(value)
    if moment is None:
        raise Open311Error(400, f"{name} is not an ISO 8601 date and time")
    return moment if timezone.is_aware(moment) else timezone.make_aware(moment)


def _list_requests(request, fmt: str):
    client = _client(request)
    county = _county(request)
    cases = Case.objects.filter(region_code__within=county).select_related(
        "category", "handler_department", "building"
    )
    ids = [i.strip().upper() for i in _param(request, "service_request_id").split(",") if i.strip()]
    if ids:
        cases = cases.filter(tracking_code__in=ids)
    else:
        start, end = _date(request, "start_date"), _date(request, "end_date")
        if start and end and end < start:
            raise Open311Error(400, "end_date is before start_date")
        if start and end and end - start > MAX_SPAN:
            raise Open311Error(400, "start_date and end_date may be at most 90 days apart")
        end = end or timezone.now()
        start = start or end - MAX_SPAN
        if end - start > MAX_SPAN:
            raise Open311Error(400, "start_date and end_date may be at most 90 days apart")
        cases = cases.filter(received_at__gte=start, received_at__lte=end)
        codes = [c.strip() for c in _param(request, "service_code").split(",") if c.strip()]
        if codes:
            cases = cases.filter(category__code__in=codes)
        statuses = {s.strip() for s in _param(request, "status").split(",") if s.strip()}
        if statuses - {"open", "closed"}:
            raise Open311Error(400, "status is open or closed")
        if statuses == {"open"}:
            cases = cases.exclude(status__in=CLOSED)
        elif statuses == {"closed"}:
            cases = cases.filter(status__in=CLOSED)
    cases = cases.order_by("-received_at")[:MAX_RESULTS]
    return render([_request_data(c, client) for c in cases], fmt, "service_requests", "request")


@open311_view
@require_GET
def request_detail(request, request_id: str, fmt: str):
    client = _client(request)
    case = (
        Case.objects.filter(tracking_code=request_id.upper(), region_code__within=_county(request))
        .select_related("category", "handler_department", "building")
        .first()
    )
    if case is None:
        raise Open311Error(404, f"unknown service_request_id {request_id}")
    return render([_request_data(case, client)], fmt, "service_requests", "request")


@login_not_required
@csrf_exempt
def unknown(request, path: str):
    """Any other address under /open311/v2/: a GeoReport error, not an HTML page."""
    fmt = "xml" if path.endswith(".xml") else "json"
    return error(fmt, 404, "unknown endpoint")


@open311_view
@require_GET
def token_detail(request, token: str, fmt: str):
    case = Case.objects.filter(tracking_code=token.upper()).first()
    if case is None:
        raise Open311Error(404, f"unknown token {token}")
    data = [{"service_request_id": case.tracking_code, "token": case.tracking_code}]
    return render(data, fmt, "service_requests", "request")
