"""The activity process: planning, claiming, sign-up with a waitlist, check-in by the
rotating code, attendance, hours, settlement and cancellation."""

import datetime
from decimal import Decimal

import pytest
from django.test import Client

from jiceng.activities import services
from jiceng.activities.models import Activity, ActivityEvent, ServiceType
from jiceng.core.actors import Actor
from jiceng.core.errors import DomainError, NotFound
from jiceng.core.models import AuditEvent
from jiceng.gatherings import services as gatherings
from jiceng.gatherings.models import Gathering, SignUp
from jiceng.points.ledger import verify
from jiceng.points.models import Account, JournalEntry
from tests.activities.conftest import COMMUNITY_A, at
from tests.factories import paper_sheet, resident

A = Activity.Status


@pytest.fixture
def sent(sms):
    """SMS texts sent during the test (queued, then delivered by the worker's step)."""
    return sms


def test_full_process_issues_points_once(world, staff_a, team, leader, make_activity, clock):
    activity = make_activity("published")
    activity = services.activity_claim(
        actor=Actor.of_resident(leader), activity=activity, team=team
    )
    assert activity.status == A.CLAIMED and activity.team == team and not activity.assigned
    activity = services.activity_open_signup(actor=Actor.of_resident(leader), activity=activity)
    residents = [resident() for _ in range(3)]
    signups = [
        gatherings.signup_create(actor=Actor.of_resident(r), gathering=activity.gathering)
        for r in residents
    ]
    clock.move_to(at(2026, 11, 10, 8, 45))
    activity = services.activity_hold(actor=Actor.of_resident(leader), activity=activity)
    code = gatherings.check_in_code(activity.gathering)
    gatherings.signup_check_in(
        actor=Actor.of_resident(residents[0]), gathering=activity.gathering, code=code
    )
    paper_sheet(activity.gathering)  # the second has no phone: on the paper sheet
    gatherings.attendance_mark(signup=signups[0], attended=True, actor=Actor.of_resident(leader))
    gatherings.attendance_mark(signup=signups[1], attended=True, actor=Actor.of_resident(leader))
    clock.move_to(at(2026, 11, 10, 10, 30))
    out = gatherings.signup_check_out(
        actor=Actor.of_resident(residents[0]), gathering=activity.gathering
    )
    assert out.hours == Decimal("1.50")  # counted from the start, not from arriving early
    clock.move_to(at(2026, 11, 10, 11, 30))
    activity = services.activity_complete(actor=Actor.of_resident(leader), activity=activity)
    activity = services.activity_settle(actor=staff_a, activity=activity)
    assert activity.status == A.SETTLED
    keys = set(JournalEntry.objects.values_list("key", flat=True))
    assert keys == {
        f"checkin:{signups[0].pk}",
        f"checkin:{signups[1].pk}",
        f"activity:{activity.pk}:team",
    }
    balances = {
        a.resident_id: a.balance for a in Account.objects.filter(kind=Account.Kind.RESIDENT)
    }
    assert balances == {residents[0].pk: 10, residents[1].pk: 10}  # the absent one gets none
    signups[1].refresh_from_db()
    assert signups[1].hours == Decimal("2.00")
    with pytest.raises(DomainError) as refused:
        services.activity_settle(actor=staff_a, activity=activity)
    assert refused.value.code == "invalid_transition"
    assert JournalEntry.objects.count() == 3
    assert verify() == (3, [])
    actions = list(activity.events.values_list("action", flat=True))
    assert actions == ["create", "publish", "claim", "open_signup", "hold", "complete", "settle"]


def test_claim_refusals(world, staff_a, team, leader, make_activity):
    activity = make_activity("published")
    other_leader = resident()
    other = services.team_create(
        actor=staff_a, region_code=COMMUNITY_A, name="银龄服务队", leader=other_leader
    )
    with pytest.raises(NotFound):  # only the team's own leader claims for it
        services.activity_claim(actor=Actor.of_resident(other_leader), activity=activity, team=team)
    services.activity_claim(actor=Actor.of_resident(leader), activity=activity, team=team)
    with pytest.raises(DomainError) as late:
        services.activity_claim(
            actor=Actor.of_resident(other_leader), activity=activity, team=other
        )
    assert late.value.code == "already_claimed"
    far = services.team_create(
        actor=world.b("community_worker"),
        region_code="370829002001",
        name="远方服务队",
        leader=resident(),
    )
    fresh = make_activity("published", title="另一场")
    with pytest.raises(DomainError) as away:
        services.activity_claim(actor=Actor.of_resident(far.leader), activity=fresh, team=far)
    assert away.value.code == "team_far_away"
    assert Activity.objects.get(pk=fresh.pk).team is None


def test_staff_of_another_community_cannot_step(world, make_activity, team):
    activity = make_activity("draft")
    with pytest.raises(NotFound):
        services.activity_publish(actor=world.b("community_worker"), activity=activity)
    with pytest.raises(NotFound):
        services.activity_assign(actor=world.b("town_staff"), activity=activity, team=team)
    assert Activity.objects.get(pk=activity.pk).status == A.DRAFT
    assert ActivityEvent.objects.filter(activity=activity).count() == 1


def test_venue_is_not_double_booked(world, staff_a, make_activity):
    venue = gatherings.venue_create(
        actor=staff_a,
        region_code=COMMUNITY_A,
        name="红帆驿站",
        kind="station",
        capacity=30,
        opens_at=datetime.time(8),
        closes_at=datetime.time(20),
    )
    make_activity("published", venue=venue)
    with pytest.raises(DomainError) as clash:
        make_activity(
            "published", venue=venue, starts_at=at(2026, 11, 10, 10), ends_at=at(2026, 11, 10, 12)
        )
    assert clash.value.code == "venue_booked"
    with pytest.raises(DomainError) as closed:
        make_activity(venue=venue, starts_at=at(2026, 11, 11, 19), ends_at=at(2026, 11, 11, 21))
    assert closed.value.code == "venue_closed"
    with pytest.raises(DomainError) as small:
        make_activity(
            venue=venue, capacity=50, starts_at=at(2026, 11, 12, 9), ends_at=at(2026, 11, 12, 10)
        )
    assert small.value.code == "venue_too_small"
    back_to_back = make_activity(
        "published", venue=venue, starts_at=at(2026, 11, 10, 11), ends_at=at(2026, 11, 10, 12)
    )
    assert back_to_back.gathering.venue == venue


def test_waitlist_promotes_in_order(
    world, team, make_activity, sent, django_capture_on_commit_callbacks
):
    activity = make_activity("signup", team=team, capacity=2)
    people = [resident() for _ in range(4)]
    signups = [
        gatherings.signup_create(actor=Actor.of_resident(p), gathering=activity.gathering)
        for p in people
    ]
    assert [s.status for s in signups] == ["confirmed", "confirmed", "waitlisted", "waitlisted"]
    with pytest.raises(DomainError) as twice:
        gatherings.signup_create(actor=Actor.of_resident(people[0]), gathering=activity.gathering)
    assert twice.value.code == "already_signed_up"
    with pytest.raises(NotFound):
        gatherings.signup_cancel(actor=Actor.of_resident(people[1]), signup=signups[0])
    with django_capture_on_commit_callbacks(execute=True):
        gatherings.signup_cancel(actor=Actor.of_resident(people[0]), signup=signups[0])
    statuses = dict(SignUp.objects.values_list("resident_id", "status"))
    assert statuses[people[2].pk] == "confirmed" and statuses[people[3].pk] == "waitlisted"
    assert [phone for phone, _ in sent] == [people[2].phone]
    again = gatherings.signup_create(
        actor=Actor.of_resident(people[0]), gathering=activity.gathering
    )
    assert again.pk == signups[0].pk and again.status == "waitlisted"


def test_check_in_code_rotates(world, team, make_activity, clock):
    activity = make_activity("signup", team=team)
    person = resident()
    gatherings.signup_create(actor=Actor.of_resident(person), gathering=activity.gathering)
    clock.move_to(at(2026, 11, 10, 9, 0, 0))
    shown = gatherings.check_in_code(activity.gathering)
    clock.move_to(at(2026, 11, 10, 9, 1, 10))  # two windows later: a forwarded photo
    with pytest.raises(DomainError) as stale:
        gatherings.signup_check_in(
            actor=Actor.of_resident(person), gathering=activity.gathering, code=shown
        )
    assert stale.value.code == "code_stale"
    with pytest.raises(DomainError):
        gatherings.signup_check_in(
            actor=Actor.of_resident(person), gathering=activity.gathering, code="0123456789"
        )
    current = gatherings.check_in_code(activity.gathering)
    clock.move_to(at(2026, 11, 10, 9, 1, 41))  # two 20-second steps later: stale
    with pytest.raises(DomainError):
        gatherings.signup_check_in(
            actor=Actor.of_resident(person), gathering=activity.gathering, code=current
        )
    clock.move_to(at(2026, 11, 10, 9, 1, 10))
    current = gatherings.check_in_code(activity.gathering)
    clock.move_to(at(2026, 11, 10, 9, 1, 25))  # the previous 20-second step still counts
    checked = gatherings.signup_check_in(
        actor=Actor.of_resident(person), gathering=activity.gathering, code=current
    )
    assert checked.check_in_step == gatherings.check_in_step(at(2026, 11, 10, 9, 1, 10).timestamp())
    assert checked.attendance == SignUp.Attendance.CLAIMED
    with pytest.raises(DomainError) as twice:
        gatherings.signup_check_in(
            actor=Actor.of_resident(person),
            gathering=activity.gathering,
            code=gatherings.check_in_code(activity.gathering),
        )
    assert twice.value.code == "already_checked_in"
    stranger = resident()
    with pytest.raises(DomainError) as unknown:
        gatherings.signup_check_in(
            actor=Actor.of_resident(stranger),
            gathering=activity.gathering,
            code=gatherings.check_in_code(activity.gathering),
        )
    assert unknown.value.code == "not_signed_up"


def test_check_in_only_around_the_activity(world, team, make_activity, clock):
    activity = make_activity("signup", team=team)
    person = resident()
    gatherings.signup_create(actor=Actor.of_resident(person), gathering=activity.gathering)
    clock.move_to(at(2026, 11, 10, 8, 0))
    with pytest.raises(DomainError) as early:
        gatherings.signup_check_in(
            actor=Actor.of_resident(person),
            gathering=activity.gathering,
            code=gatherings.check_in_code(activity.gathering),
        )
    assert early.value.code == "checkin_closed"
    with pytest.raises(DomainError):
        services.activity_hold(actor=world.a("community_worker"), activity=activity)


def test_cancel_tells_signed_up_residents(
    world, staff_a, team, make_activity, sent, django_capture_on_commit_callbacks
):
    activity = make_activity("signup", team=team, capacity=1)
    first, second = resident(), resident()
    gatherings.signup_create(actor=Actor.of_resident(first), gathering=activity.gathering)
    gatherings.signup_create(actor=Actor.of_resident(second), gathering=activity.gathering)
    with pytest.raises(DomainError):
        services.activity_cancel(actor=staff_a, activity=activity, reason=" ")
    with django_capture_on_commit_callbacks(execute=True):
        services.activity_cancel(actor=staff_a, activity=activity, reason="大风预警")
    assert sorted(phone for phone, _ in sent) == sorted([first.phone, second.phone])
    assert all("大风预警" in text for _, text in sent)
    assert Activity.objects.get(pk=activity.pk).gathering.cancel_reason == "大风预警"


def test_reschedule_grows_sequence(world, staff_a, make_activity):
    activity = make_activity("published")
    before = Gathering.objects.get(pk=activity.gathering_id).sequence
    moved = services.activity_update(
        actor=staff_a,
        activity=activity,
        starts_at=at(2026, 11, 11, 9),
        ends_at=at(2026, 11, 11, 10),
    )
    assert moved.sequence == activity.sequence + 1
    # The feed's SEQUENCE is the gathering's: calendars see the new time as a change.
    assert Gathering.objects.get(pk=activity.gathering_id).sequence == before + 1
    feed = Client().get(f"/calendar/{COMMUNITY_A}/activities.ics").content.decode()
    assert f"SEQUENCE:{moved.gathering.sequence}" in feed


def test_need_is_recorded_to_a_grid(world):
    worker = world.a("grid_worker")
    health = ServiceType.objects.get(code="health")
    need = services.need_record(
        actor=worker, region_code=world.grid_a.code, text="希望有人上门量血压", service_type=health
    )
    assert need.region_code == world.grid_a.code
    with pytest.raises(NotFound):
        services.need_record(actor=worker, region_code=world.grid_b.code, text="越界")


def test_rescheduling_tells_those_signed_up(
    world, staff_a, team, make_activity, sent, django_capture_on_commit_callbacks
):
    activity = make_activity("signup", team=team)
    person = resident()
    gatherings.signup_create(actor=Actor.of_resident(person), gathering=activity.gathering)
    with django_capture_on_commit_callbacks(execute=True):
        services.activity_update(
            actor=staff_a, activity=activity, starts_at=at(2026, 11, 12, 14),
            ends_at=at(2026, 11, 12, 16),
        )  # fmt: skip
    assert [(phone, "11月12日 14:00" in text) for phone, text in sent] == [(person.phone, True)]
    with pytest.raises(DomainError) as past:
        services.activity_update(
            actor=staff_a, activity=activity, starts_at=at(2026, 11, 1, 9),
            ends_at=at(2026, 11, 1, 10),
        )  # fmt: skip
    assert past.value.code == "times_past"


def test_a_claim_from_a_stale_read_still_moves_the_sequence_on(
    staff_a, team, leader, make_activity, clock
):
    """Finding 3: the claim wrote `sequence = <the caller's copy> + 1`, so a copy read
    before a reschedule left the iCalendar SEQUENCE where the reschedule had put it
    (calendars kept the old time). The runner adds one in the database."""
    stale = make_activity("published")
    start = stale.gathering.starts_at
    services.activity_update(
        actor=staff_a,
        activity=Activity.objects.get(pk=stale.pk),
        starts_at=start + datetime.timedelta(hours=1),
        ends_at=stale.gathering.ends_at + datetime.timedelta(hours=1),
    )
    rescheduled = Activity.objects.get(pk=stale.pk).sequence
    assert rescheduled == stale.sequence + 1
    services.activity_claim(actor=Actor.of_resident(leader), activity=stale, team=team)
    claimed = Activity.objects.get(pk=stale.pk)
    assert claimed.status == A.CLAIMED
    assert claimed.sequence == rescheduled + 1
    assert claimed.gathering.starts_at == start + datetime.timedelta(
        hours=1
    )  # the stale copy wrote nothing


def test_steps_from_stale_copies_cannot_both_win(staff_a, team, leader, make_activity):
    """Two steps read from the same copy: the second is checked against the row, not the
    copy, and refused; one event, one audit record."""
    activity = make_activity("published")
    first, second = Activity.objects.get(pk=activity.pk), Activity.objects.get(pk=activity.pk)
    services.activity_assign(actor=staff_a, activity=first, team=team)
    with pytest.raises(DomainError) as late:
        services.activity_claim(actor=Actor.of_resident(leader), activity=second, team=team)
    assert late.value.code == "already_claimed"
    row = Activity.objects.get(pk=activity.pk)
    assert row.assigned and row.status == A.CLAIMED
    assert list(row.events.values_list("action", flat=True)).count("claim") == 0
    assert AuditEvent.objects.filter(action="activity.assign", object_id=str(row.pk)).count() == 1
    assert not AuditEvent.objects.filter(action="activity.claim").exists()


def test_residents_actions_are_audited_as_theirs(team, leader, make_activity, clock):
    activity = make_activity("published")
    services.activity_claim(actor=Actor.of_resident(leader), activity=activity, team=team)
    services.activity_open_signup(actor=Actor.of_resident(leader), activity=activity)
    person = resident()
    gatherings.signup_create(actor=Actor.of_resident(person), gathering=activity.gathering)
    kinds = dict(
        AuditEvent.objects.filter(
            action__in=["activity.claim", "activity.open_signup", "gathering.signup"]
        ).values_list("action", "actor_username")
    )
    assert kinds == {
        "activity.claim": f"resident:{leader.pk}",
        "activity.open_signup": f"resident:{leader.pk}",
        "gathering.signup": f"resident:{person.pk}",
    }
    assert set(
        AuditEvent.objects.filter(action__in=kinds).values_list("actor_kind", flat=True)
    ) == {"resident"}


def test_a_towns_team_and_its_sub_team_earn_in_the_community_where_they_serve(
    world, staff_a, make_activity, clock
):
    """A town's corps (a sub-team under it) claims a community's activity; the team's
    points are posted in that community's ledger, one currency per community."""
    town_staff = world.a("town_staff")
    corps = services.team_create(
        actor=town_staff, region_code="370829001", name="银龄志愿服务总队", leader=resident()
    )
    branch_leader = resident()
    branch = services.team_create(
        actor=town_staff,
        region_code="370829001",
        name="银龄志愿服务一分队",
        leader=branch_leader,
        parent=corps,
    )
    assert branch.parent == corps and not Account.objects.filter(team__in=[corps, branch])
    with pytest.raises(DomainError) as wrong:
        services.team_create(
            actor=world.b("town_staff"), region_code="370829002", name="越界", leader=resident(),
            parent=corps,
        )  # fmt: skip
    assert wrong.value.code == "parent_invalid"
    activity = make_activity("published")
    activity = services.activity_claim(
        actor=Actor.of_resident(branch_leader), activity=activity, team=branch
    )
    services.activity_open_signup(actor=staff_a, activity=activity)
    someone = resident()
    signup = gatherings.signup_create(
        actor=Actor.of_resident(someone), gathering=activity.gathering
    )
    clock.move_to(at(2026, 11, 10, 9, 0))
    activity = services.activity_hold(actor=staff_a, activity=activity)
    paper_sheet(activity.gathering)
    gatherings.attendance_mark(actor=staff_a, signup=signup, attended=True)
    clock.move_to(at(2026, 11, 10, 11, 30))
    activity = services.activity_complete(actor=staff_a, activity=activity)
    services.activity_settle(actor=staff_a, activity=activity)
    team_account = Account.objects.get(team=branch)
    assert team_account.ledger.region_code == COMMUNITY_A and team_account.balance == 10
    assert verify(COMMUNITY_A)[1] == []


def test_a_branch_leads_a_team_and_the_figures_count_its_activities(
    world, staff_a, leader, make_activity, clock
):
    """党组织领办: a grid branch of the community leads a team; the figures show the
    branch with its team and the activities the team held. A branch of another community
    may not lead it; one the creator cannot see is not found."""
    import datetime

    from jiceng.activities.selectors import activity_figures
    from jiceng.core.errors import DomainError, NotFound

    team = services.team_create(
        actor=staff_a, region_code=COMMUNITY_A, name="小区党支部服务队", leader=leader,
        led_by=world.branch_a,
    )  # fmt: skip
    assert team.led_by == world.branch_a
    from jiceng.party.models import PartyOrganization

    elsewhere = PartyOrganization.objects.create(
        region_code="370829001002", name="另一社区党委", kind="community_committee",
        parent=world.branch_a.parent.parent,
    )  # fmt: skip
    with pytest.raises(DomainError) as refusal:
        services.team_create(
            actor=world.a("town_staff"), region_code=COMMUNITY_A, name="外社区领办",
            leader=leader, led_by=elsewhere,
        )  # fmt: skip
    assert refusal.value.code == "led_by_invalid"
    with pytest.raises(NotFound):  # community A's worker sees no branch of community B
        services.team_create(
            actor=staff_a, region_code=COMMUNITY_A, name="看不见", leader=leader,
            led_by=world.branch_b,
        )  # fmt: skip
    make_activity("held", team=team)
    figures = activity_figures(
        user=staff_a, region_code=COMMUNITY_A, start=datetime.date(2026, 11, 1),
        end=datetime.date(2026, 11, 30),
    )  # fmt: skip
    assert figures.by_branch == [(world.branch_a.name, 1, 1)]
