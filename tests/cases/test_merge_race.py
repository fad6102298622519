"""Two requests merged into each other at the same moment, on PostgreSQL with real
concurrent transactions: one merge wins, the other request stays open to be handled."""

import pytest
from django.db import connection

from jiceng.cases import services
from jiceng.cases.models import Case, Event
from jiceng.core.errors import DomainError
from tests.points.test_concurrency import race

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL"),
]

PAIRS = 20


def test_crossed_merges_leave_one_request_open(reference_data, world, submit):
    worker, town = world.a("community_worker"), world.a("town_staff")
    pairs = [
        (submit(text=f"{n}号楼路灯不亮"), submit(text=f"{n}号楼门口路灯坏了")) for n in range(PAIRS)
    ]
    jobs = []
    for first, second in pairs:
        jobs.append(lambda a=first, b=second: services.case_merge(actor=worker, case=a, into=b))
        jobs.append(lambda a=first, b=second: services.case_merge(actor=town, case=b, into=a))

    results = race(jobs)

    assert all(isinstance(r, Case | DomainError) for r in results), results
    for first, second in pairs:
        statuses = sorted(
            Case.objects.filter(pk__in=[first.pk, second.pk]).values_list("status", flat=True)
        )
        assert statuses == sorted([Case.Status.MERGED, Case.Status.RECEIVED])
        kept = Case.objects.get(pk__in=[first.pk, second.pk], status=Case.Status.RECEIVED)
        assert kept.merged_into_id is None
        assert Event.objects.filter(case=kept, action="merged_in").count() == 1
        assert Event.objects.filter(case__in=[first, second], action="merge").count() == 1
