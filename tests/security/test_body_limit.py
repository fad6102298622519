"""Request bodies are capped by what their sender may upload, from the declared length and
before anything reads them: anonymous senders (the resident intake) at most its photos,
signed-in staff at most a roster; a body without a length is refused."""

import pytest
from django.conf import settings
from django.test import Client

from jiceng.cases.models import Case
from tests.conftest import client_for

MB = 1024 * 1024


class Tripwire:
    """A request body that counts how often anything tried to read it."""

    def __init__(self):
        self.reads = 0

    def read(self, *args):
        self.reads += 1
        return b""

    readline = read


def _post(client: Client, url: str, size: int | None, **extra):
    body = Tripwire()
    meta = {"wsgi.input": body, "CONTENT_TYPE": "multipart/form-data; boundary=xyz", **extra}
    if size is not None:
        meta["CONTENT_LENGTH"] = str(size)
    return client.generic("POST", url, **meta), body


def test_the_caps_follow_the_settings():
    photos = settings.JICENG_PHOTO_MAX_MB * settings.JICENG_INTAKE_MAX_PHOTOS
    assert photos * MB < settings.JICENG_BODY_MAX_ANONYMOUS <= (photos + 1) * MB
    assert settings.JICENG_MAX_UPLOAD_MB * MB < settings.JICENG_BODY_MAX_STAFF


def test_a_120_mb_anonymous_upload_is_refused_unread(world):
    url = f"/q/{world.grid_a.code}/"
    response, body = _post(Client(), url, 120 * MB)
    assert response.status_code == 413
    assert "提交的内容过大" in response.content.decode()
    assert body.reads == 0 and not Case.objects.exists()
    just_over, body = _post(Client(), url, settings.JICENG_BODY_MAX_ANONYMOUS + 1)
    assert just_over.status_code == 413 and body.reads == 0
    within, body = _post(Client(), url, settings.JICENG_BODY_MAX_ANONYMOUS)
    assert within.status_code != 413 and body.reads > 0  # the form reads it (and finds it empty)


@pytest.mark.parametrize("resident", [False, True])
def test_a_signed_in_resident_is_capped_like_anyone(world, resident):
    from tests.test_access_matrix import _resident

    client = Client()
    if resident:
        session = client.session
        session["resident_id"] = _resident(world).pk
        session.save()
    response, body = _post(client, f"/q/{world.grid_a.code}/", 50 * MB)
    assert response.status_code == 413 and body.reads == 0


def test_staff_may_send_a_roster_but_no_more(world):
    staff = client_for(world.a("grid_worker"))
    roster, body = _post(staff, "/imports/", 50 * MB)
    assert roster.status_code != 413 and body.reads > 0
    too_big, body = _post(staff, "/imports/", settings.JICENG_BODY_MAX_STAFF + 1)
    assert too_big.status_code == 413 and body.reads == 0


def test_the_api_answers_in_its_own_shape(world):
    response, body = _post(Client(), "/api/v1/cases", 120 * MB, CONTENT_TYPE="application/json")
    assert response.status_code == 413 and body.reads == 0
    assert response.json()["code"] == "body_too_large"
    open311, body = _post(Client(), "/open311/v2/requests.json", 120 * MB)
    assert open311.status_code == 413 and open311.json()[0]["code"] == 413


def test_a_body_without_a_length_is_refused(world):
    response, body = _post(
        Client(), f"/q/{world.grid_a.code}/", None, HTTP_TRANSFER_ENCODING="chunked"
    )
    assert response.status_code == 411 and body.reads == 0


def test_a_length_that_is_not_a_number_is_refused(client):
    """`Content-Length: +62914669` would read as nothing and let the body through."""
    response = client.post(
        "/q/370829001001001/", data=b"x", content_type="text/plain", CONTENT_LENGTH="+62914669"
    )
    assert response.status_code == 400
