"""Open311 GeoReport v2, exercised by a small client that knows only the published spec
(http://wiki.open311.org/GeoReport_v2): endpoint paths, form-encoded POSTs, XML and JSON
bodies. It knows nothing of our models or views."""

import datetime
import json
from xml.etree import ElementTree

import pytest
from django.test import Client

from jiceng.cases.models import Case
from jiceng.cases.services import open311_client_create

JURISDICTION = "370829"


class GeoReportClient:
    """What any GeoReport v2 client does: GET discovery/services/requests, POST requests."""

    def __init__(self, http, base="/open311/v2/", api_key=None):
        self.http, self.base, self.api_key = http, base, api_key

    def get(self, path, fmt="json", **params):
        if self.api_key is not None:
            params.setdefault("api_key", self.api_key)
        response = self.http.get(f"{self.base}{path}.{fmt}", params)
        return response.status_code, self._parse(response, fmt)

    def post_request(self, fmt="json", **params):
        if self.api_key is not None:
            params.setdefault("api_key", self.api_key)
        response = self.http.post(f"{self.base}requests.{fmt}", params)
        return response.status_code, self._parse(response, fmt)

    @staticmethod
    def _parse(response, fmt):
        if fmt == "json":
            return json.loads(response.content)
        assert response["Content-Type"].startswith("text/xml")
        return ElementTree.fromstring(response.content)


@pytest.fixture
def api_key(world, catalogue):
    _, key = open311_client_create(
        actor=world.a("county_admin"), name="嘉祥县微信小程序", county_code=JURISDICTION
    )
    return key


@pytest.fixture
def client311(api_key):
    return GeoReportClient(Client(), api_key=api_key)


def test_discovery_names_the_spec_and_both_formats(client311):
    status, root = client311.get("discovery", "xml")
    assert status == 200
    endpoint = root.find("endpoints/endpoint")
    assert endpoint.findtext("specification") == "http://wiki.open311.org/GeoReport_v2"
    assert {f.text for f in endpoint.findall("formats/format")} == {"text/xml", "application/json"}


def test_services_in_json_and_xml(client311):
    status, services = client311.get("services", jurisdiction_id=JURISDICTION)
    assert status == 200 and isinstance(services, list)
    gas = next(s for s in services if s["service_code"] == "facilities.gas")
    assert gas["metadata"] is True and gas["type"] == "realtime" and gas["group"] == "公共设施"
    status, root = client311.get("services", "xml", jurisdiction_id=JURISDICTION)
    codes = [s.findtext("service_code") for s in root.findall("service")]
    assert "facilities.gas" in codes and len(codes) == len(services)


def test_a_service_definition_lists_its_attributes(client311):
    status, definition = client311.get("services/facilities.gas", jurisdiction_id=JURISDICTION)
    assert status == 200
    (attribute,) = definition["attributes"]
    assert attribute["code"] == "smell" and attribute["datatype"] == "singlevaluelist"
    assert attribute["required"] is True and attribute["variable"] is True
    assert {v["key"] for v in attribute["values"]} == {"yes", "no"}
    status, root = client311.get("services/facilities.gas", "xml", jurisdiction_id=JURISDICTION)
    assert root.tag == "service_definition"
    assert root.findtext("attributes/attribute/values/value/key") in ("yes", "no")
    status, errors = client311.get("services/no.such", jurisdiction_id=JURISDICTION)
    assert status == 404 and errors[0]["code"] == 404


def post_gas(client, fmt="json", **extra):
    params = {
        "jurisdiction_id": JURISDICTION,
        "service_code": "facilities.gas",
        "lat": "35.41",
        "long": "116.34",
        "description": "单元门口有燃气味",
        "attribute[smell]": "yes",
        "device_id": "phone-1",
        "first_name": "明",
        "last_name": "张",
        "phone": "139-0000-4444",
    }
    params.update(extra)
    return client.post_request(fmt, **params)


def test_post_and_read_back_in_both_formats(world, client311):
    status, created = post_gas(client311)
    assert status == 201
    request_id = created[0]["service_request_id"]
    assert isinstance(request_id, str)
    case = Case.objects.get(tracking_code=request_id)
    assert (case.channel, case.region_code, case.reporter_phone) == (
        "open311",
        "370829",
        "13900004444",
    )
    assert case.answers == {"smell": "yes"}

    status, found = client311.get(f"requests/{request_id}", jurisdiction_id=JURISDICTION)
    assert status == 200 and len(found) == 1
    item = found[0]
    assert item["status"] == "open" and item["service_code"] == "facilities.gas"
    assert item["description"] == "单元门口有燃气味"  # the client that posted it
    assert datetime.datetime.fromisoformat(item["requested_datetime"]).tzinfo is not None
    status, root = client311.get(f"requests/{request_id}", "xml", jurisdiction_id=JURISDICTION)
    assert root.tag == "service_requests"
    assert root.findtext("request/service_request_id") == request_id

    status, token = client311.get(f"tokens/{request_id}")
    assert token[0]["service_request_id"] == request_id


def test_others_read_no_personal_details(world, client311):
    _, created = post_gas(client311)
    anonymous = GeoReportClient(Client())
    _, found = anonymous.get(
        f"requests/{created[0]['service_request_id']}", jurisdiction_id=JURISDICTION
    )
    assert found[0]["description"] == "" and found[0]["lat"] == "" and found[0]["address"] == ""
    assert "13900004444" not in json.dumps(found)


def test_a_retried_post_is_one_request(client311):
    first = post_gas(client311)[1][0]["service_request_id"]
    second = post_gas(client311)[1][0]["service_request_id"]
    assert first == second
    assert Case.objects.count() == 1


@pytest.mark.parametrize(
    ("key", "extra", "status"),
    [
        (None, {}, 403),
        ("wrong-key", {}, 403),
        ("good", {"service_code": "no.such"}, 400),
        ("good", {"service_code": ""}, 400),
        ("good", {"description": "x" * 4001}, 400),
        ("good", {"lat": "31.23", "long": "121.47"}, 400),  # Shanghai, outside the county
        ("good", {"lat": "", "long": ""}, 400),  # no location at all
        ("good", {"lat": "abc"}, 400),
        ("good", {"jurisdiction_id": "370830"}, 403),  # the key belongs to 370829
        ("good", {"attribute[smell]": "perhaps"}, 400),
    ],
)
def test_bad_posts_are_refused_and_write_nothing(api_key, key, extra, status):
    client = GeoReportClient(Client(), api_key=api_key if key == "good" else key)
    for fmt in ("json", "xml"):
        code, body = post_gas(client, fmt, **extra)
        assert code == status
        if fmt == "json":
            assert body[0]["code"] == status and body[0]["description"]
        else:
            assert body.tag == "errors" and body.findtext("error/code") == str(status)
    assert not Case.objects.exists()


def test_an_address_id_places_the_request_in_that_grid(world, client311):
    _, created = post_gas(client311, lat="", long="", address_id=world.grid_a.code)
    assert Case.objects.get().region_code == world.grid_a.code
    assert created[0]["service_request_id"]


def test_request_filters(world, client311, submit):
    submit()  # a QR request in the same county
    post_gas(client311)
    _, every = client311.get("requests", jurisdiction_id=JURISDICTION)
    assert len(every) == 2
    _, gas = client311.get("requests", jurisdiction_id=JURISDICTION, service_code="facilities.gas")
    assert [r["service_code"] for r in gas] == ["facilities.gas"]
    _, closed = client311.get("requests", jurisdiction_id=JURISDICTION, status="closed")
    assert closed == []
    ids = ",".join(r["service_request_id"] for r in every)
    _, listed = client311.get("requests", jurisdiction_id=JURISDICTION, service_request_id=ids)
    assert len(listed) == 2
    _, empty_params = client311.get(
        "requests", jurisdiction_id=JURISDICTION, service_code="", status=""
    )
    assert len(empty_params) == 2  # an empty optional parameter acts as absent


@pytest.mark.parametrize(
    "params",
    [
        {"start_date": "2026-01-01T00:00:00+08:00", "end_date": "2026-06-01T00:00:00+08:00"},
        {"start_date": "2026-06-01T00:00:00+08:00", "end_date": "2026-05-01T00:00:00+08:00"},
        {"start_date": "yesterday"},
        {"status": "pending"},
    ],
)
def test_bad_filters_are_400(client311, params):
    status, errors = client311.get("requests", jurisdiction_id=JURISDICTION, **params)
    assert status == 400 and errors[0]["code"] == 400


def test_unknown_jurisdiction_and_request(client311):
    assert client311.get("services", jurisdiction_id="999999")[0] == 404
    assert client311.get("requests/NOSUCHCODE", jurisdiction_id=JURISDICTION)[0] == 404


@pytest.mark.parametrize("path", ["nothing-here", "services/a%0Ab", "requests/x%0D%0A"])
def test_any_other_address_is_a_georeport_404(client311, path):
    """Found by fuzzing: a line break in the path slipped past the catch-all to an HTML page."""
    status, errors = client311.get(path, jurisdiction_id=JURISDICTION)  # parses JSON or fails
    assert status == 404 and errors == [{"code": 404, "description": "unknown endpoint"}]


def test_the_base_address_answers_with_the_discovery_document(client311):
    """Discovery advertises /open311/v2/ as the endpoint: a client that opens it finds it."""
    response = Client().get("/open311/v2/")
    assert response.status_code == 200
    data = json.loads(response.content)
    assert data["endpoints"][0]["url"].endswith("/open311/v2/")
    xml = Client().get("/open311/v2/", HTTP_ACCEPT="text/xml")
    assert xml.status_code == 200 and ElementTree.fromstring(xml.content).tag == "discovery"


def test_the_public_reads_the_reply_never_the_internal_result(world, client311, county_staff):
    from jiceng.cases import services

    _, created = post_gas(client311)
    case = Case.objects.get(tracking_code=created[0]["service_request_id"])
    worker, community = world.a("grid_worker"), world.a("community_worker")
    services.case_accept(actor=county_staff, case=case, grid=world.grid_a)
    case = services.case_dispatch(
        actor=community, case=Case.objects.get(pk=case.pk), handler=worker
    )
    case = services.case_start(actor=worker, case=case)
    services.case_handle(
        actor=worker,
        case=case,
        result="302室王某某家燃气阀门老化，已换",
        reply="已更换老化的燃气阀门。",
    )
    anonymous = GeoReportClient(Client())
    for fmt in ("json", "xml"):
        _, found = anonymous.get(
            f"requests/{case.tracking_code}", fmt, jurisdiction_id=JURISDICTION
        )
        text = (
            json.dumps(found, ensure_ascii=False)
            if fmt == "json"
            else ElementTree.tostring(found, encoding="unicode")
        )
        assert "王某某" not in text and "已更换老化的燃气阀门。" in text
    _, listed = anonymous.get("requests", jurisdiction_id=JURISDICTION)
    assert "王某某" not in json.dumps(listed, ensure_ascii=False)
