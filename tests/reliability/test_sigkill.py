"""SIGKILL the server in the middle of a request submission, a redemption and a roster
import: afterwards the database holds all of each, or none of it."""

import contextlib
import secrets
import threading

import pytest
import requests
from django.contrib.sessions.backends.db import SessionStore

from jiceng.accounts.services import api_token_issue
from jiceng.cases.catalogue import catalogue_seed
from jiceng.cases.models import Case
from jiceng.core.actors import Actor
from jiceng.places.models import Household, ImportJob, Person
from jiceng.points import services as points_services
from jiceng.points.ledger import account_for, ledger_for, post
from jiceng.points.models import Account, Good, JournalEntry, Redemption
from tests.factories import PASSWORD, resident
from tests.places.test_roster_import import family, write_csv
from tests.reliability.conftest import table_locked, wait_for_a_blocked_write

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def in_background(call) -> threading.Thread:
    def run():
        with contextlib.suppress(requests.RequestException):  # the server dies under it
            call()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_killed_while_a_request_is_submitted(reference_data, world, server):
    catalogue_seed(county_code="370829")
    token, _ = api_token_issue(actor=Actor.staff(world.a("grid_worker")))
    body = {"region_code": world.grid_a.code, "description": "被打断的提交：路灯不亮"}
    with table_locked("core_auditevent"):  # the submission's last write inside its transaction
        in_background(
            lambda: requests.post(
                f"{server.base}/api/v1/cases",
                json=body,
                headers={"Authorization": f"Bearer {token}"},
                timeout=30,
            )
        )
        wait_for_a_blocked_write()  # the case and its first event are written, not committed
        server.kill()
    assert not Case.objects.filter(description=body["description"]).exists()


def test_killed_while_a_redemption_is_confirmed(reference_data, world, server):
    manager = world.a("community_worker")
    store = points_services.store_create(
        actor=Actor.staff(manager), region_code="370829001001", name="超市"
    )
    points_services.store_add_clerk(
        actor=Actor.staff(manager), store=store, clerk=world.a("store_clerk")
    )
    good = points_services.good_create(
        actor=Actor.staff(manager), store=store, name="米", price=30, stock=5
    )
    someone = resident()
    ledger = ledger_for("370829001001")
    post(
        ledger=ledger, key="seed", kind=JournalEntry.Kind.EARN, memo="活动",
        lines=[(account_for(ledger, Account.Kind.RESIDENT, someone), 100),
               (account_for(ledger, Account.Kind.ISSUANCE), -100)],
    )  # fmt: skip
    order = points_services.redemption_open(
        actor=Actor.staff(world.a("store_clerk")), store=store, resident=someone, items={good.pk: 2}
    )
    session = SessionStore()
    session["resident_id"] = someone.pk
    session.create()
    csrf = secrets.token_hex(16)
    with table_locked("points_posting"):  # after the stock and the entry, before postings
        in_background(
            lambda: requests.post(
                f"{server.base}/me/redemptions/{order.pk}/confirm/",
                cookies={"sessionid": session.session_key, "csrftoken": csrf},
                headers={"X-CSRFToken": csrf},
                timeout=30,
            )
        )
        wait_for_a_blocked_write()
        server.kill()
    assert Good.objects.get(pk=good.pk).stock == 5
    assert Redemption.objects.get(pk=order.pk).status == Redemption.Status.PENDING
    assert not JournalEntry.objects.filter(key=f"redeem:{order.pk}").exists()
    assert account_for(ledger, Account.Kind.RESIDENT, someone).balance == 100


def test_killed_during_a_roster_import(reference_data, world, server, tmp_path):
    path = write_csv(tmp_path / "名册.csv", family("0701", 3) + family("0702", 2), "gbk")
    web = requests.Session()
    web.get(f"{server.base}/accounts/login/", timeout=10)
    web.post(
        f"{server.base}/accounts/login/",
        data={"username": world.a("grid_worker").username, "password": PASSWORD,
              "csrfmiddlewaretoken": web.cookies["csrftoken"]},
        timeout=10,
    )  # fmt: skip
    persons_before = Person.objects.count()
    with table_locked("places_household"):  # persons are streamed in; households come last
        in_background(
            lambda: web.post(
                f"{server.base}/imports/",
                data={"region": world.grid_a.code, "csrfmiddlewaretoken": web.cookies["csrftoken"]},
                files={"file": ("名册.csv", path.read_bytes(), "text/csv")},
                timeout=30,
            )
        )
        wait_for_a_blocked_write()
        server.kill()
    job = ImportJob.objects.get()  # the upload itself was committed before the job ran
    assert not job.is_finished
    assert Person.objects.count() == persons_before
    assert not Household.objects.filter(number__in=["0701", "0702"]).exists()
