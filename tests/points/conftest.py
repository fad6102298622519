import pytest

from jiceng.core.actors import Actor
from jiceng.points import services
from jiceng.points.ledger import account_for, ledger_for, post
from jiceng.points.models import Account, JournalEntry
from tests.factories import resident

COMMUNITY_A = "370829001001"
COMMUNITY_B = "370829002001"


@pytest.fixture
def ledger_a(world):
    return ledger_for(COMMUNITY_A)


@pytest.fixture
def award(ledger_a):
    """Give a resident points in community A (as an activity's settlement would)."""
    counter = iter(range(1, 10**6))

    def give(who, amount, key=None):
        return post(
            ledger=ledger_a,
            key=key or f"test:{next(counter)}",
            kind=JournalEntry.Kind.EARN,
            memo="参加活动",
            lines=[
                (account_for(ledger_a, Account.Kind.RESIDENT, who), amount),
                (account_for(ledger_a, Account.Kind.ISSUANCE), -amount),
            ],
        )

    return give


@pytest.fixture
def store_a(world):
    manager = world.a("community_worker")
    store = services.store_create(
        actor=Actor.staff(manager), region_code=COMMUNITY_A, name="城南文明超市"
    )
    clerk = world.a("store_clerk")
    services.store_add_clerk(actor=Actor.staff(manager), store=store, clerk=clerk)
    store.clerk = clerk
    return store


@pytest.fixture
def goods(world, store_a):
    manager = world.a("community_worker")
    return {
        "soap": services.good_create(
            actor=Actor.staff(manager), store=store_a, name="肥皂", price=5, stock=10
        ),
        "oil": services.good_create(
            actor=Actor.staff(manager), store=store_a, name="食用油", price=40, stock=2
        ),
    }


@pytest.fixture
def someone(world):
    return resident(person=world.person_a)


__all__ = ["COMMUNITY_B", "resident"]
