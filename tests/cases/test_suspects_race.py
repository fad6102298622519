"""On PostgreSQL with real concurrent transactions: a flood's tries sent at once from one
address pass its limit by none, and two bulk voids proposed at once over the same
suspects hold each suspect in one proposal only."""

import pytest
from django.db import connection
from django.test import override_settings

from jiceng.cases import services
from jiceng.cases.models import Case
from jiceng.core.errors import DomainError
from jiceng.core.intake import Sender
from jiceng.core.models import Approval
from tests.points.test_concurrency import race

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL"),
]


@override_settings(JICENG_INTAKE_PER_HOUR_ADDRESS=5)
def test_tries_at_once_from_one_address_pass_its_limit_by_none(reference_data, world, submit):
    jobs = [
        lambda n=n: submit(text=f"刷单{n}", sender=Sender(address="203.0.113.5", device=f"d{n}"))
        for n in range(20)
    ]
    results = race(jobs)
    assert all(isinstance(r, Case | DomainError) for r in results), results
    assert Case.objects.count() <= 5
    assert sum(isinstance(r, Case) for r in results) == Case.objects.count()


def test_crossed_proposals_hold_each_suspect_once(reference_data, world, submit):
    suspects = [submit(text=f"刷单{n}", is_suspect=True) for n in range(6)]
    ids = [c.pk for c in suspects]
    worker, community = world.a("grid_worker"), world.a("community_worker")
    jobs = []
    for n in range(8):
        asker = worker if n % 2 else community
        chosen = ids if n % 3 else ids[::-1]
        jobs.append(
            lambda a=asker, c=chosen: services.suspects_void_propose(
                actor=a, reason="刷单", case_ids=c
            )
        )
    results = race(jobs)
    assert all(isinstance(r, Approval | DomainError) for r in results), results
    approvals = [r for r in results if isinstance(r, Approval)]
    assert len(approvals) == 1 and Approval.objects.count() == 1
    held = set(Case.objects.values_list("void_proposal", flat=True))
    assert held == {approvals[0].pk}
