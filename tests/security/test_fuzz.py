"""Fuzzing the REST API and the Open311 endpoints from their OpenAPI descriptions
(schemathesis): for generated requests — valid and invalid — no server error, and every
response matches what the description says."""

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import negative_data_rejection, positive_data_acceptance

from jiceng.accounts.services import api_token_issue
from jiceng.api import api
from jiceng.cases.open311_openapi import open311_openapi
from jiceng.core.actors import Actor

APP = get_wsgi_application()
schema = schemathesis.openapi.from_dict(api.get_openapi_schema())
schema.app = APP
open311 = schemathesis.openapi.from_dict(open311_openapi())
open311.app = APP
# Keep out what the checks cannot judge: valid-looking data may still break a rule of the
# domain (a wrong password, a period backwards) and is rightly refused with 400; query
# parameters the API does not know are ignored, as on the web at large. No server error,
# status codes, content types and bodies as described remain.
EXCLUDED = [positive_data_acceptance, negative_data_rejection]


@pytest.fixture
def token(world, settings):
    """A community worker's token; and the connection stays open between requests, as
    Django's own test client keeps it (the test's transaction lives on it)."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    settings.ALLOWED_HOSTS = ["localhost"]
    raw, _ = api_token_issue(actor=Actor.staff(world.a("community_worker")))
    yield raw
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_api(case, token):
    case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, excluded_checks=EXCLUDED)


@pytest.fixture
def api_key(token, catalogue):
    from jiceng.cases.services import open311_client_create

    _, key = open311_client_create(actor=catalogue["admin"], name="fuzz", county_code="370829")
    return key


@open311.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_open311(case, api_key):
    if case.method == "POST" and isinstance(case.body, dict):
        case.body.setdefault("api_key", api_key)
    case.call_and_validate(excluded_checks=EXCLUDED)


@pytest.fixture
def catalogue(world):
    from jiceng.cases.catalogue import catalogue_seed

    catalogue_seed(county_code="370829")
    return {"admin": world.a("county_admin")}
