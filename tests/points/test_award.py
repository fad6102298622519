"""points_award: how the other apps post points (an activity's settlement), one entry per
award from the community's issuance, each key posted once."""

import pytest

from jiceng.activities.models import VolunteerTeam
from jiceng.core.actors import Actor
from jiceng.core.errors import DomainError
from jiceng.points.ledger import verify
from jiceng.points.models import Account, JournalEntry, Posting
from jiceng.points.services import Award, points_award
from tests.points.conftest import COMMUNITY_A


def test_awards_post_once_to_residents_and_teams(world, ledger_a, someone):
    team = VolunteerTeam.objects.create(region_code=COMMUNITY_A, name="红帆志愿队", leader=someone)
    actor = Actor.system("test")
    awards = [
        Award(key="checkin:1", memo="参加活动：义诊", points=5, resident=someone),
        Award(key="activity:1:team", memo="承办活动：义诊", points=5, team=team),
    ]
    entries = points_award(actor=actor, region_code=COMMUNITY_A, awards=awards)
    again = points_award(actor=actor, region_code=COMMUNITY_A, awards=awards)
    assert [e.pk for e in again] == [e.pk for e in entries]
    assert JournalEntry.objects.filter(kind=JournalEntry.Kind.EARN).count() == 2
    balances = dict(Account.objects.filter(ledger=ledger_a).values_list("kind", "balance"))
    assert balances == {"resident": 5, "team": 5, "issuance": -10}
    assert Posting.objects.count() == 4
    assert verify(COMMUNITY_A) == (2, [])


@pytest.mark.parametrize(
    "award",
    [
        dict(points=5),  # nobody
        dict(points=0, resident=True),
        dict(points=-5, resident=True),
    ],
)
def test_an_award_goes_to_one_holder_and_adds_points(world, ledger_a, someone, award):
    award = {**award, "resident": someone} if award.get("resident") else award
    with pytest.raises(DomainError):
        points_award(
            actor=Actor.system("test"),
            region_code=COMMUNITY_A,
            awards=[Award(key="checkin:9", memo="x", **award)],
        )
    assert not JournalEntry.objects.exists()
