import pytest
from django.db import DatabaseError, connection, transaction

from jiceng.core import audit
from jiceng.core.actors import Actor
from jiceng.core.history import AppendOnlyError
from jiceng.core.models import AuditEvent


@pytest.fixture
def event(db):
    return audit.record(actor=Actor.system("test"), action="test.event", region_code="370829")


def test_events_cannot_be_changed_or_deleted_through_the_orm(event):
    event.action = "changed"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).update(action="changed")
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).delete()


def test_the_database_refuses_updates_too(event):
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE core_auditevent SET action = 'x' WHERE id = %s", [event.pk])
    assert AuditEvent.objects.get(pk=event.pk).action == "test.event"


def test_the_database_refuses_deleting_recent_events(event):
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM core_auditevent WHERE id = %s", [event.pk])
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_the_request_address_is_recorded(world, login):
    login(world.a("grid_worker")).post(
        f"/persons/{world.person_a.pk}/reveal/phone/", REMOTE_ADDR="10.1.2.3"
    )
    event = AuditEvent.objects.get(action="person.reveal")
    assert event.ip_address == "10.1.2.3"
    assert event.actor == world.a("grid_worker")
    assert event.detail == {"field": "phone"}


def test_an_alert_is_shown_to_the_auditor_of_its_county_only(world, login):
    from jiceng.core import audit

    audit.alert(kind="test", text="有人在短时间内大量导入", region_code="370829001")
    mine = login(world.a("auditor")).get("/audit/").content.decode()
    other = login(world.b("auditor")).get("/audit/").content.decode()
    assert "有人在短时间内大量导入" in mine
    assert "有人在短时间内大量导入" not in other
