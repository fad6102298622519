"""A refusal's record survives the refusal; a limit counts every try."""

import datetime

import pytest
from django.db import transaction

from jiceng.core import refusals, throttle
from jiceng.core.errors import DomainError
from jiceng.core.models import Holiday, ThrottleHit

DAY = datetime.date(2031, 5, 1)


@refusals.atomic
def _service(*, fail: bool) -> None:
    Holiday.objects.create(date=DAY, is_workday=False, name="written in the transaction")
    refusals.keep(lambda: ThrottleHit.objects.create(scope="test", key="kept"))
    if fail:
        refusals.refuse(
            DomainError("不行。", code="no"),
            record=lambda: ThrottleHit.objects.create(scope="test", key="refused"),
        )


def test_a_refusal_rolls_back_the_work_but_keeps_its_records(db):
    with pytest.raises(DomainError):
        _service(fail=True)
    assert not Holiday.objects.exists()
    assert sorted(ThrottleHit.objects.values_list("key", flat=True)) == ["kept", "refused"]


def test_a_success_keeps_each_record_once(db):
    _service(fail=False)
    assert Holiday.objects.count() == 1
    assert list(ThrottleHit.objects.values_list("key", flat=True)) == ["kept"]


def test_a_crash_keeps_the_records_too(db):
    @refusals.atomic
    def crashing():
        refusals.keep(lambda: ThrottleHit.objects.create(scope="test", key="kept"))
        raise ZeroDivisionError

    with pytest.raises(ZeroDivisionError):
        crashing()
    assert ThrottleHit.objects.count() == 1


def test_nested_services_keep_through_the_outer_one(db):
    @refusals.atomic
    def outer():
        _service(fail=False)
        raise DomainError("外层拒绝。")

    with pytest.raises(DomainError):
        outer()
    assert not Holiday.objects.exists()
    assert list(ThrottleHit.objects.values_list("key", flat=True)) == ["kept"]


def test_keeping_inside_a_transaction_it_does_not_own_is_a_bug(db):
    with pytest.raises(RuntimeError, match="does not own"), transaction.atomic():
        refusals.keep(lambda: None)


def test_the_service_transaction_is_outermost(db):
    with pytest.raises(RuntimeError), transaction.atomic():
        _service(fail=False)


def test_a_limit_counts_refused_tries(db):
    error = DomainError("太频繁。", code="too_many")

    @refusals.atomic
    def attempt():
        throttle.take("test", "13900000000", limit=3, within=datetime.timedelta(hours=1),
                      error=error)  # fmt: skip
        raise DomainError("验证码不正确。", code="wrong")

    codes = []
    for _ in range(5):
        with pytest.raises(DomainError) as refusal:
            attempt()
        codes.append(refusal.value.code)
    assert codes == ["wrong", "wrong", "wrong", "too_many", "too_many"]
    assert throttle.count("test", "13900000000", within=datetime.timedelta(hours=1)) == 5
    assert throttle.count("test", "13900000001", within=datetime.timedelta(hours=1)) == 0
    assert not ThrottleHit.objects.filter(key__contains="1390000").exists()  # digests only


def test_a_record_that_keeps_writes_of_its_own_is_done_again_once(db):
    @refusals.atomic
    def attempt():
        refusals.refuse(
            DomainError("不行。"),
            record=lambda: throttle.hit("test", "nested"),
        )

    with pytest.raises(DomainError):
        attempt()
    assert throttle.count("test", "nested", within=datetime.timedelta(hours=1)) == 1
