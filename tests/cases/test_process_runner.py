"""The one process runner (core.process), seen through the request process."""

import pytest

from jiceng.cases.models import Case, Event
from jiceng.cases.workflow import PROCESS
from jiceng.core.errors import DomainError
from jiceng.core.models import AuditEvent

S = Case.Status


def test_a_stale_read_cannot_win(world, submit, monkeypatch):
    """The change is a conditional UPDATE on the status the runner checked: a row that
    moved in between (a database that does not lock) is refused and nothing is written."""
    worker = world.a("grid_worker")
    case = submit()
    stale = Case.objects.get(pk=case.pk)
    Case.objects.filter(pk=case.pk).update(status=S.VOIDED)  # another transaction won
    real = Case.objects.select_for_update

    class Stale:
        def get(self, **_):
            return stale

    monkeypatch.setattr(Case.objects, "select_for_update", lambda: Stale())
    with pytest.raises(DomainError) as refused:
        PROCESS.run(case, "accept", actor=worker, category=case.category)
    monkeypatch.setattr(Case.objects, "select_for_update", real)
    assert refused.value.code == "invalid_transition"
    assert Case.objects.get(pk=case.pk).status == S.VOIDED
    assert not Event.objects.filter(case=case, action="accept").exists()
    assert not AuditEvent.objects.filter(action="case.accept").exists()


def test_each_step_appends_its_event_and_audit_record(world, submit):
    worker = world.a("grid_worker")
    case = submit()
    PROCESS.run(case, "note", actor=worker, note="已电话联系", event={"is_public": False})
    event = Event.objects.get(case=case, action="note")
    assert (event.actor, event.is_public, event.from_status) == (worker, False, S.RECEIVED)
    audit = AuditEvent.objects.get(action="case.note")
    assert audit.detail == {"from": S.RECEIVED, "to": S.RECEIVED}
    assert audit.actor_kind == "staff"


def test_a_step_needs_an_actor(world, submit):
    case = submit()
    with pytest.raises(TypeError):
        PROCESS.run(case, "note", actor=None, note="x")
    assert not Event.objects.filter(case=case, action="note").exists()


def test_the_states_of_a_set_of_steps_come_from_the_table():
    assert PROCESS.states("start", "return") == (S.DISPATCHED, S.IN_PROGRESS)


def test_the_residents_steps_are_audited_as_the_public_or_the_resident(world, login, submit):
    """Rating and reopening by the private link were audited with no actor at all."""
    from jiceng.cases import services
    from jiceng.core.actors import Actor

    worker, community = world.a("grid_worker"), world.a("community_worker")
    case = services.case_accept(actor=worker, case=submit())
    case = services.case_dispatch(actor=worker, case=case, handler=worker)
    case = services.case_start(actor=worker, case=case)
    case = services.case_handle(actor=worker, case=case, result="已修好")
    case = services.case_check(actor=community, case=case, passed=True, note="已修好")
    services.case_rate(actor=Actor.public("tracking_link"), case=case, rating=5)
    submitted = AuditEvent.objects.get(action="case.submit", object_id=str(case.pk))
    rated = AuditEvent.objects.get(action="case.rate")
    assert (submitted.actor_kind, rated.actor_kind) == ("public", "public")
    assert rated.actor_username == "tracking_link"
