"""Check-in attestation: a check-in by the rotating code only claims attendance; the team's
leader confirms it or strikes it out (and marks present someone without a phone), and
only confirmed attendance is paid at settlement, once. A link forwarded to a chat is stale
before anyone away from the room can use it."""

import datetime
import time
from decimal import Decimal

import pytest
from django.test import Client

from jiceng.activities import services
from jiceng.activities.models import Activity
from jiceng.core.actors import Actor
from jiceng.core.errors import DomainError, NotFound
from jiceng.core.models import AuditEvent
from jiceng.gatherings import services as gatherings
from jiceng.gatherings.models import SignUp
from jiceng.points.ledger import verify
from jiceng.points.models import Account, JournalEntry
from tests.activities.conftest import at
from tests.factories import household_with_people, paper_sheet, resident

A = Activity.Status
Attendance = SignUp.Attendance


@pytest.fixture
def held(make_activity, team, clock):
    """An activity of the team, started (09:00), with four residents signed up."""

    def make():
        activity = make_activity("signup", team=team)
        people = [resident() for _ in range(4)]
        signups = [
            gatherings.signup_create(actor=Actor.of_resident(p), gathering=activity.gathering)
            for p in people
        ]
        clock.move_to(at(2026, 11, 10, 9, 0))
        activity = services.activity_hold(actor=Actor.of_resident(team.leader), activity=activity)
        return activity, people, signups

    return make


def _check_in(activity, person, **kwargs) -> SignUp:
    return gatherings.signup_check_in(
        actor=Actor.of_resident(person),
        gathering=activity.gathering,
        code=gatherings.check_in_code(activity.gathering),
        **kwargs,
    )


def _balances() -> dict:
    return dict(
        Account.objects.filter(kind=Account.Kind.RESIDENT).values_list("resident_id", "balance")
    )


def test_only_confirmed_attendance_is_paid(held, leader, staff_a, clock):
    activity, people, signups = held()
    as_leader = Actor.of_resident(leader)
    for person in people[:3]:
        assert _check_in(activity, person).attendance == Attendance.CLAIMED
    gatherings.attendance_mark(actor=as_leader, signup=signups[0], attended=True)
    gatherings.attendance_mark(actor=as_leader, signup=signups[1], attended=False)  # not there
    clock.move_to(at(2026, 11, 10, 11, 30))
    with pytest.raises(DomainError) as pending:
        services.activity_complete(actor=as_leader, activity=activity)
    assert pending.value.code == "attendance_pending"
    assert Activity.objects.get(pk=activity.pk).status == A.HELD
    assert not activity.events.filter(action="complete").exists()

    assert gatherings.attendance_confirm_claims(actor=as_leader, gathering=activity.gathering) == 1
    activity = services.activity_complete(actor=as_leader, activity=activity)
    services.activity_settle(actor=staff_a, activity=activity)

    attendance = dict(SignUp.objects.values_list("pk", "attendance"))
    assert [attendance[s.pk] for s in signups] == ["confirmed", "struck", "confirmed", ""]
    assert set(JournalEntry.objects.values_list("key", flat=True)) == {
        f"checkin:{signups[0].pk}",
        f"checkin:{signups[2].pk}",
        f"activity:{activity.pk}:team",
    }
    assert _balances() == {people[0].pk: 10, people[2].pk: 10}
    hours = dict(SignUp.objects.values_list("pk", "hours"))
    assert hours[signups[0].pk] == Decimal("2.00") and hours[signups[1].pk] == 0
    marks = AuditEvent.objects.filter(action="gathering.attendance").order_by("pk")
    assert [(m.object_id, m.detail["attended"]) for m in marks] == [
        (str(signups[0].pk), True),
        (str(signups[1].pk), False),
        (str(signups[2].pk), True),
    ]
    assert verify() == (3, [])


def test_confirming_twice_pays_once(held, leader, staff_a, clock):
    activity, people, signups = held()
    as_leader = Actor.of_resident(leader)
    _check_in(activity, people[0])
    gatherings.attendance_mark(actor=as_leader, signup=signups[0], attended=True)
    gatherings.attendance_mark(actor=as_leader, signup=signups[0], attended=True)
    assert gatherings.attendance_confirm_claims(actor=as_leader, gathering=activity.gathering) == 0
    assert AuditEvent.objects.filter(action="gathering.attendance").count() == 1
    clock.move_to(at(2026, 11, 10, 11, 30))
    activity = services.activity_complete(actor=as_leader, activity=activity)
    services.activity_settle(actor=staff_a, activity=activity)
    with pytest.raises(DomainError):
        services.activity_settle(actor=staff_a, activity=activity)
    assert JournalEntry.objects.filter(key=f"checkin:{signups[0].pk}").count() == 1
    assert _balances() == {people[0].pk: 10}


def test_the_leader_marks_present_someone_without_a_phone(held, leader, staff_a, clock):
    activity, people, signups = held()
    as_leader = Actor.of_resident(leader)
    # A hand mark rests on the photographed paper sheet: none yet, no mark.
    with pytest.raises(DomainError) as bare:
        gatherings.attendance_mark(actor=as_leader, signup=signups[3], attended=True)
    assert bare.value.code == "sheet_required"
    assert SignUp.objects.get(pk=signups[3].pk).attendance == Attendance.NONE
    paper_sheet(activity.gathering)
    gatherings.attendance_mark(actor=as_leader, signup=signups[3], attended=True)
    row = SignUp.objects.get(pk=signups[3].pk)
    assert row.attendance == Attendance.CONFIRMED and row.checked_in_at is None
    assert row.hours == Decimal("2.00")  # the whole activity
    with pytest.raises(DomainError) as twice:
        _check_in(activity, people[3])
    assert twice.value.code == "already_checked_in"
    # A mistake can be struck out until attendance is final (nothing has been paid).
    gatherings.attendance_mark(actor=as_leader, signup=signups[3], attended=False)
    assert SignUp.objects.get(pk=signups[3].pk).hours == 0
    gatherings.attendance_mark(actor=as_leader, signup=signups[3], attended=True)
    clock.move_to(at(2026, 11, 10, 11, 30))
    services.activity_settle(
        actor=staff_a, activity=services.activity_complete(actor=as_leader, activity=activity)
    )
    assert _balances() == {people[3].pk: 10}
    with pytest.raises(DomainError) as closed:  # final: no more marks
        gatherings.attendance_mark(actor=as_leader, signup=signups[0], attended=True)
    assert closed.value.code == "attendance_closed"


def test_a_struck_check_in_neither_checks_out_nor_counts(held, leader, clock):
    activity, people, signups = held()
    _check_in(activity, people[0])
    gatherings.attendance_mark(actor=Actor.of_resident(leader), signup=signups[0], attended=False)
    clock.move_to(at(2026, 11, 10, 10, 0))
    with pytest.raises(DomainError) as out:
        gatherings.signup_check_out(
            actor=Actor.of_resident(people[0]), gathering=activity.gathering
        )
    assert out.value.code == "not_checked_in"
    clock.move_to(at(2026, 11, 10, 11, 30))
    services.activity_complete(actor=Actor.of_resident(leader), activity=activity)
    row = SignUp.objects.get(pk=signups[0].pk)
    assert row.attendance == Attendance.STRUCK and row.hours == 0 and row.checked_out_at is None


def test_only_the_leader_or_the_communitys_staff_confirm(held, world, staff_a):
    activity, people, signups = held()
    _check_in(activity, people[0])
    for someone in (Actor.of_resident(people[1]), world.b("community_worker")):
        with pytest.raises(NotFound):
            gatherings.attendance_mark(actor=someone, signup=signups[0], attended=True)
        with pytest.raises(NotFound):
            gatherings.attendance_confirm_claims(actor=someone, gathering=activity.gathering)
    assert SignUp.objects.get(pk=signups[0].pk).attendance == Attendance.CLAIMED
    assert not AuditEvent.objects.filter(action="gathering.attendance").exists()
    gatherings.attendance_mark(actor=staff_a, signup=signups[0], attended=True)
    assert SignUp.objects.get(pk=signups[0].pk).attendance == Attendance.CONFIRMED


def test_closing_attendance_early_counts_hours_to_that_moment(held, leader, clock):
    """The leader ends at 10:00 an activity set for 09:00–11:00: who checked in at 09:00
    and did not check out served one hour, not two; so did someone without a phone."""
    activity, people, signups = held()
    as_leader = Actor.of_resident(leader)
    _check_in(activity, people[0])
    paper_sheet(activity.gathering)
    gatherings.attendance_mark(actor=as_leader, signup=signups[0], attended=True)
    gatherings.attendance_mark(actor=as_leader, signup=signups[3], attended=True)  # no phone
    clock.move_to(at(2026, 11, 10, 10, 0))
    services.activity_complete(actor=as_leader, activity=activity)
    hours = dict(SignUp.objects.values_list("pk", "hours"))
    assert (hours[signups[0].pk], hours[signups[3].pk]) == (Decimal("1.00"), Decimal("1.00"))


def test_nobody_confirms_their_own_attendance(make_activity, team, leader, staff_a, clock):
    """The leader signed up for their own activity: their check-in is confirmed by staff,
    neither one by one nor in 全部确认 by themselves (confirmed attendance is paid)."""
    activity = make_activity("signup", team=team)
    other = resident()
    own = gatherings.signup_create(actor=Actor.of_resident(leader), gathering=activity.gathering)
    theirs = gatherings.signup_create(actor=Actor.of_resident(other), gathering=activity.gathering)
    clock.move_to(at(2026, 11, 10, 9, 0))
    as_leader = Actor.of_resident(leader)
    activity = services.activity_hold(actor=as_leader, activity=activity)
    _check_in(activity, leader)
    _check_in(activity, other)
    with pytest.raises(DomainError) as refused:
        gatherings.attendance_mark(actor=as_leader, signup=own, attended=True)
    assert refused.value.code == "own_attendance"
    assert gatherings.attendance_confirm_claims(actor=as_leader, gathering=activity.gathering) == 1
    attendance = dict(SignUp.objects.values_list("pk", "attendance"))
    assert (attendance[own.pk], attendance[theirs.pk]) == ("claimed", "confirmed")
    marks = AuditEvent.objects.filter(action="gathering.attendance")
    assert list(marks.values_list("object_id", flat=True)) == [str(theirs.pk)]
    page = Client()
    session = page.session
    session["resident_id"] = leader.pk
    session.save()
    shown = page.get(f"/me/activities/{activity.pk}/").content.decode()
    assert f"/attendance/{own.pk}/" not in shown and f"/attendance/{theirs.pk}/" in shown
    assert "本人的出勤由社区工作人员确认" in shown
    gatherings.attendance_mark(actor=staff_a, signup=own, attended=True)
    assert SignUp.objects.get(pk=own.pk).attendance == "confirmed"


def test_a_fresh_scan_may_be_confirmed_a_little_later(held, clock):
    activity, people, _ = held()
    clock.move_to(at(2026, 11, 10, 9, 5, 0))
    code, scanned = gatherings.check_in_code(activity.gathering), time.time()
    clock.move_to(at(2026, 11, 10, 9, 6, 30))  # the tap, 90 s after the scan
    with pytest.raises(DomainError) as stale:  # the code alone is stale by now
        gatherings.signup_check_in(
            actor=Actor.of_resident(people[0]), gathering=activity.gathering, code=code
        )
    assert stale.value.code == "code_stale"
    checked = gatherings.signup_check_in(
        actor=Actor.of_resident(people[0]),
        gathering=activity.gathering,
        code=code,
        scanned_at=scanned,
    )
    assert checked.check_in_step == gatherings.check_in_step(scanned)
    clock.move_to(at(2026, 11, 10, 9, 7, 1))  # past SCAN_GRACE: the scan no longer counts
    with pytest.raises(DomainError) as late:
        gatherings.signup_check_in(
            actor=Actor.of_resident(people[1]),
            gathering=activity.gathering,
            code=code,
            scanned_at=scanned,
        )
    assert late.value.code == "code_stale"
    with pytest.raises(DomainError):  # a scan "from the future" is not believed either
        gatherings.signup_check_in(
            actor=Actor.of_resident(people[1]),
            gathering=activity.gathering,
            code=code,
            scanned_at=time.time() + 60,
        )
    assert SignUp.objects.filter(checked_in_at__isnull=False).count() == 1


def _signed_in(person) -> Client:
    client = Client()
    session = client.session
    session["resident_id"] = person.pk
    session.save()
    return client


def test_a_link_forwarded_to_a_chat_checks_nobody_in(held, clock):
    """In the room, a resident scans (the page keeps the scan in their session) and taps
    a minute later; the link forwarded to a chat is opened 45 s after it was shown, by
    someone signed in elsewhere: stale. Tapping it without having scanned is stale too."""
    activity, people, signups = held()
    clock.move_to(at(2026, 11, 10, 9, 10, 0))
    url = f"/a/{activity.gathering_id}/checkin/{gatherings.check_in_code(activity.gathering)}/"
    in_the_room, in_the_chat, tapping = (_signed_in(p) for p in people[:3])
    assert "确认签到" in in_the_room.get(url).content.decode()
    clock.move_to(at(2026, 11, 10, 9, 10, 45))
    away = in_the_chat.get(url, follow=True).content.decode()
    assert "签到码已过期" in away and "确认签到" not in away
    clock.move_to(at(2026, 11, 10, 9, 11, 0))
    assert "签到成功" in in_the_room.post(url, follow=True).content.decode()
    assert "签到码已过期" in tapping.post(url, follow=True).content.decode()
    rows = dict(SignUp.objects.values_list("resident_id", "attendance"))
    assert rows == {people[0].pk: "claimed", people[1].pk: "", people[2].pk: "", people[3].pk: ""}
    assert SignUp.objects.get(pk=signups[0].pk).check_in_step == gatherings.check_in_step(
        at(2026, 11, 10, 9, 10, 0).timestamp()
    )
    assert AuditEvent.objects.filter(action="gathering.check_in").count() == 1


def test_the_leaders_page_lists_claims_to_confirm(held, leader, clock):
    activity, people, signups = held()
    _check_in(activity, people[0])
    _check_in(activity, people[1])
    page = _signed_in(leader).get(f"/me/activities/{activity.pk}/").content.decode()
    assert "全部确认（2 人待确认）" in page
    assert page.count('data-attendance="claimed"') == 2
    _signed_in(leader).post(
        f"/a/{activity.gathering_id}/attendance/{signups[1].pk}/", {"attended": "0"}
    )
    response = _signed_in(leader).post(f"/a/{activity.gathering_id}/attendance/confirm/")
    assert response.status_code == 302
    rows = dict(SignUp.objects.values_list("pk", "attendance"))
    assert (rows[signups[0].pk], rows[signups[1].pk]) == ("confirmed", "struck")
    page = _signed_in(leader).get(f"/me/activities/{activity.pk}/").content.decode()
    assert "全部确认" not in page and 'data-attendance="confirmed"' in page
    mine = _signed_in(people[0]).get(f"/a/{activity.gathering_id}/").content.decode()
    assert "出勤：已确认出勤" in mine


def test_the_code_page_changes_the_code_every_20_seconds(held, leader, clock):
    activity, _, _ = held()
    client = _signed_in(leader)
    first = client.get(f"/a/{activity.gathering_id}/code/").content.decode()
    clock.move_to(at(2026, 11, 10, 9, 0) + datetime.timedelta(seconds=gatherings.CODE_SECONDS))
    second = client.get(f"/a/{activity.gathering_id}/code/").content.decode()
    assert gatherings.CODE_SECONDS == 20
    assert (
        gatherings.check_in_code(activity.gathering) in second
        and gatherings.check_in_code(activity.gathering) not in first
    )


def test_someone_put_on_the_roster_by_record_is_paid_in_their_account_if_any(
    held, leader, staff_a, clock, world
):
    """Staff put two people of the register on the roster (no phone with them): the one
    whose record has an account is paid there; the other, with no account, holds no
    points and is paid nothing, though their attendance counts."""
    activity, _, _ = held()
    household = household_with_people(world.grid_a.code)
    with_account, without = household.members.order_by("pk")
    account = resident(person=with_account)
    gatherings.signup_invite(
        actor=staff_a, gathering=activity.gathering, persons=[with_account, without]
    )
    rows = SignUp.objects.filter(gathering=activity.gathering, person__isnull=False)
    paper_sheet(activity.gathering)
    for row in rows:
        gatherings.attendance_mark(actor=Actor.of_resident(leader), signup=row, attended=True)
    clock.move_to(at(2026, 11, 10, 11, 30))
    activity = services.activity_complete(actor=Actor.of_resident(leader), activity=activity)
    services.activity_settle(actor=staff_a, activity=activity)
    paid = rows.get(person=with_account)
    assert set(JournalEntry.objects.values_list("key", flat=True)) == {
        f"checkin:{paid.pk}",
        f"activity:{activity.pk}:team",
    }
    assert _balances() == {account.pk: 10}
    assert verify() == (2, [])
