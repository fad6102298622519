"""The gatherings kernel with a kind no app of Jiceng declares (tests.gatherings.reception):
a monthly series on a venue, sign-up, check-in by code, a mark by hand, leave, and the
attendance read back per person; the feed shows the series as one event with its rule."""

import datetime
from decimal import Decimal

import icalendar
import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from jiceng.core.actors import Actor
from jiceng.core.errors import DomainError, NotFound
from jiceng.core.models import AuditEvent
from jiceng.gatherings import selectors, services
from jiceng.gatherings.models import Gathering, Series, SignUp
from tests.factories import paper_sheet, resident
from tests.gatherings.reception import CODE

COMMUNITY_A = "370829001001"
TOWN_A = "370829001"
P = Gathering.Phase


def at(*args) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime(*args))


@pytest.fixture
def clock():
    with time_machine.travel(at(2026, 11, 2, 9, 0), tick=False) as traveller:
        yield traveller


@pytest.fixture
def hall(world):
    """A town's 党群服务中心: the communities of the town book it."""
    return services.venue_create(
        actor=world.a("town_staff"),
        region_code=TOWN_A,
        name="街道党群服务中心",
        kind="centre",
        capacity=80,
        opens_at=datetime.time(8),
        closes_at=datetime.time(18),
    )


def _series(world, hall, **extra):
    return services.series_schedule(
        actor=world.a("community_worker"),
        kind=CODE,
        region_code=COMMUNITY_A,
        title="物业经理接待日",
        rule="FREQ=MONTHLY;BYDAY=1FR",  # the first Friday of the month
        first_starts_at=at(2026, 11, 6, 14),
        duration=datetime.timedelta(hours=2),
        until=datetime.date(2027, 2, 28),
        capacity=30,
        venue=hall,
        public=True,
        phase=P.OPEN,
        **extra,
    )


def test_a_monthly_series_of_a_kind_declared_elsewhere(world, hall, clock):
    staff = world.a("community_worker")
    meetings = _series(world, hall)
    starts = [timezone.localtime(g.starts_at) for g in meetings]
    assert [(s.month, s.day, s.hour) for s in starts] == [
        (11, 6, 14),
        (12, 4, 14),
        (1, 1, 14),
        (2, 5, 14),
    ]
    assert Series.objects.get().occurrences.count() == 4
    assert {g.venue_id for g in meetings} == {hall.pk}

    # The venue is booked: another gathering cannot take the slot of any occurrence.
    with pytest.raises(DomainError) as taken:
        services.gathering_schedule(
            actor=staff, kind=CODE, region_code=COMMUNITY_A, title="另一场",
            starts_at=at(2026, 12, 4, 15), ends_at=at(2026, 12, 4, 17), capacity=10,
            venue=hall, phase=P.PLANNED,
        )  # fmt: skip
    assert taken.value.code == "venue_booked"

    first = meetings[0]
    people = [resident(region_code=COMMUNITY_A) for _ in range(3)]
    signups = [services.signup_create(actor=Actor.of_resident(p), gathering=first) for p in people]
    assert [s.status for s in signups] == ["confirmed"] * 3

    clock.move_to(at(2026, 11, 6, 14, 5))
    services.gathering_phase(actor=staff, gathering=first, phase=P.UNDER_WAY)
    checked = services.signup_check_in(
        actor=Actor.of_resident(people[0]),
        gathering=first,
        code=services.check_in_code(first),
    )
    assert checked.attendance == SignUp.Attendance.CLAIMED
    assert services.attendance_confirm_claims(actor=staff, gathering=first) == 1
    paper_sheet(first)
    services.attendance_mark(actor=staff, signup=signups[1], attended=True)  # paper sheet
    services.attendance_leave(actor=staff, signup=signups[2], reason="外出务工")

    clock.move_to(at(2026, 11, 6, 16, 30))
    services.attendance_close(actor=staff, gathering=first)
    first.refresh_from_db()
    assert first.phase == P.CLOSED

    rows = {
        row.resident_id: row
        for row in selectors.attendance_by_person(Gathering.objects.filter(kind=CODE))
    }
    assert (rows[people[0].pk].attended, rows[people[0].pk].hours) == (1, Decimal("1.92"))
    assert (rows[people[1].pk].attended, rows[people[1].pk].hours) == (1, Decimal("2.00"))
    assert (rows[people[2].pk].attended, rows[people[2].pk].leave) == (0, 1)
    assert SignUp.objects.get(pk=signups[2].pk).reason == "外出务工"
    marks = AuditEvent.objects.filter(action="gathering.attendance")
    assert marks.count() == 3


def test_one_occurrence_moved_and_one_cancelled_read_in_the_feed(world, hall, clock):
    staff = world.a("community_worker")
    meetings = _series(world, hall)
    services.gathering_update(
        actor=staff,
        gathering=meetings[1],
        starts_at=at(2026, 12, 11, 14),
        ends_at=at(2026, 12, 11, 16),
    )
    services.gathering_cancel(actor=staff, gathering=meetings[2], reason="元旦放假")
    assert Gathering.objects.get(pk=meetings[3].pk).phase == P.OPEN  # the others stand

    feed = Client().get(f"/calendar/{COMMUNITY_A}/activities.ics").content
    events = icalendar.Calendar.from_ical(feed).walk("VEVENT")
    masters = [e for e in events if "RRULE" in e]
    assert len(masters) == 1
    master = masters[0]
    assert master["RRULE"]["FREQ"] == ["MONTHLY"] and master["RRULE"]["BYDAY"] == ["1FR"]
    excluded = (
        [d.dt for d in master["EXDATE"].dts]
        if not isinstance(master["EXDATE"], list)
        else [d.dt for group in master["EXDATE"] for d in group.dts]
    )
    assert excluded == [at(2027, 1, 1, 14)]
    moved = [e for e in events if "RECURRENCE-ID" in e]
    assert len(moved) == 1 and moved[0]["UID"] == master["UID"]
    assert moved[0]["RECURRENCE-ID"].dt == at(2026, 12, 4, 14)
    assert moved[0]["DTSTART"].dt == at(2026, 12, 11, 14)
    # The month page lists each occurrence with the tag its kind gives it.
    month = Client().get(f"/calendar/{COMMUNITY_A}/?month=2026-12").content.decode()
    assert "物业经理接待日" in month and "接待日" in month


def test_an_early_morning_series_keeps_its_weekday_in_the_feed(world, clock):
    """07:00 on Tuesdays in Beijing is Monday in UTC: the feed writes local times with
    their zone, so a calendar expanding the rule lands on Tuesdays. A series capped at
    MAX_OCCURRENCES ends, in the feed, at its last occurrence."""
    from dateutil import rrule

    from jiceng.gatherings.recurrence import MAX_OCCURRENCES

    services.series_schedule(
        actor=world.a("community_worker"), kind=CODE, region_code=COMMUNITY_A, title="晨练",
        rule="FREQ=WEEKLY;BYDAY=TU", first_starts_at=at(2026, 11, 3, 7),
        duration=datetime.timedelta(hours=1), until=datetime.date(2028, 12, 31), capacity=30,
        place="广场", public=True, phase=P.OPEN,
    )  # fmt: skip
    series = Series.objects.get()
    assert series.occurrences.count() == MAX_OCCURRENCES
    last = timezone.localtime(series.occurrences.order_by("-occurrence").first().occurrence)
    assert series.until == last.date()

    feed = Client().get(f"/calendar/{COMMUNITY_A}/activities.ics").content
    calendar = icalendar.Calendar.from_ical(feed)
    assert [tz["TZID"] for tz in calendar.walk("VTIMEZONE")] == ["Asia/Shanghai"]
    (master,) = [e for e in calendar.walk("VEVENT") if "RRULE" in e]
    assert b"DTSTART;TZID=Asia/Shanghai:20261103T070000" in feed
    starts = rrule.rrulestr(master["RRULE"].to_ical().decode(), dtstart=master["DTSTART"].dt)
    expanded = list(starts)
    assert {d.weekday() for d in expanded} == {1} and len(expanded) == MAX_OCCURRENCES
    assert expanded[-1] == last


def test_a_rule_with_more_than_its_value_is_refused(world, clock):
    for rule in ("RRULE:FREQ=WEEKLY", "FREQ=WEEKLY\nDTSTART:20260101", "FREQ=SOMETIMES"):
        with pytest.raises(DomainError) as refused:
            services.series_schedule(
                actor=world.a("community_worker"), kind=CODE, region_code=COMMUNITY_A,
                title="x", rule=rule, first_starts_at=at(2026, 11, 3, 7),
                duration=datetime.timedelta(hours=1), until=datetime.date(2027, 1, 1),
                capacity=5, place="广场",
            )  # fmt: skip
        assert refused.value.code == "rule_invalid"
    assert not Series.objects.exists()


def test_a_series_that_clashes_anywhere_books_nothing(world, hall, clock):
    staff = world.a("community_worker")
    services.gathering_schedule(
        actor=staff, kind=CODE, region_code=COMMUNITY_A, title="先订的",
        starts_at=at(2027, 1, 1, 15), ends_at=at(2027, 1, 1, 16), capacity=10, venue=hall,
        phase=P.PLANNED,
    )  # fmt: skip
    with pytest.raises(DomainError) as clash:
        _series(world, hall)
    assert clash.value.code == "venue_booked" and "01月01日" in clash.value.message
    assert not Series.objects.exists()
    assert Gathering.objects.count() == 1


def test_a_venue_serves_its_node_and_below_only(world, hall, clock):
    with pytest.raises(DomainError) as far:
        services.gathering_schedule(
            actor=world.b("community_worker"), kind=CODE, region_code="370829002001",
            title="别的街道", starts_at=at(2026, 11, 20, 9), ends_at=at(2026, 11, 20, 10),
            capacity=10, venue=hall,
        )  # fmt: skip
    assert far.value.code == "venue_invalid"
    # A booking of another community's that is not public is not named to the asker.
    services.gathering_schedule(
        actor=world.a("community_worker"), kind=CODE, region_code=COMMUNITY_A,
        title="甲社区内部会议", starts_at=at(2026, 11, 20, 9), ends_at=at(2026, 11, 20, 10),
        capacity=10, venue=hall, phase=P.PLANNED,
    )  # fmt: skip
    with pytest.raises(DomainError) as booked:
        services.gathering_schedule(
            actor=world.a("town_staff"), kind=CODE, region_code="370829001002",
            title="乙社区", starts_at=at(2026, 11, 20, 9), ends_at=at(2026, 11, 20, 10),
            capacity=10, venue=hall, phase=P.PLANNED,
        )  # fmt: skip
    assert booked.value.code == "venue_booked" and "甲社区内部会议" not in booked.value.message


def test_an_invited_meeting_takes_no_sign_ups_and_its_roster_is_invited(world, hall, clock):
    staff = world.a("community_worker")
    meeting = services.gathering_schedule(
        actor=staff, kind=CODE, region_code=COMMUNITY_A, title="党员大会",
        starts_at=at(2026, 11, 20, 9), ends_at=at(2026, 11, 20, 10), capacity=10,
        audience=Gathering.Audience.INVITED, phase=P.OPEN,
    )  # fmt: skip
    members = [resident(region_code=COMMUNITY_A) for _ in range(2)]
    stranger = resident(region_code=COMMUNITY_A)
    with pytest.raises(DomainError) as refused:
        services.signup_create(actor=Actor.of_resident(stranger), gathering=meeting)
    assert refused.value.code == "not_invited"
    assert services.signup_invite(actor=staff, gathering=meeting, residents=members) == 2
    assert services.signup_invite(actor=staff, gathering=meeting, residents=members) == 0
    assert set(meeting.signups.values_list("resident_id", flat=True)) == {m.pk for m in members}
    with pytest.raises(NotFound):  # another community's staff do not organize it
        services.signup_invite(
            actor=world.b("community_worker"), gathering=meeting, residents=[stranger]
        )
    # An invited member opens it though it is not on the public calendar.
    phone = Client()
    session = phone.session
    session["resident_id"] = members[0].pk
    session.save()
    assert phone.get(f"/a/{meeting.pk}/").status_code == 200
    stranger_phone = Client()
    session = stranger_phone.session
    session["resident_id"] = stranger.pk
    session.save()
    assert stranger_phone.get(f"/a/{meeting.pk}/").status_code == 404


def test_the_organizers_day_page_for_staff_and_nobody_else(world, hall, clock, login):
    staff = world.a("community_worker")
    meeting = services.gathering_schedule(
        actor=staff, kind=CODE, region_code=COMMUNITY_A, title="接待日",
        starts_at=at(2026, 11, 2, 9, 10), ends_at=at(2026, 11, 2, 11), capacity=10,
        phase=P.OPEN, public=True,
    )  # fmt: skip
    someone = resident(region_code=COMMUNITY_A)
    signup = services.signup_create(actor=Actor.of_resident(someone), gathering=meeting)
    page = login(staff).get(f"/a/{meeting.pk}/roster/")
    assert page.status_code == 200 and "请假" in page.content.decode()
    marked = login(staff).post(
        f"/a/{meeting.pk}/leave/{signup.pk}/", {"reason": "住院", "next": "https://evil.example/"}
    )
    assert marked.status_code == 302 and marked["Location"] == f"/a/{meeting.pk}/roster/"
    assert SignUp.objects.get(pk=signup.pk).attendance == SignUp.Attendance.LEAVE
    assert login(world.b("community_worker")).get(f"/a/{meeting.pk}/roster/").status_code == 404
    assert Client().get(f"/a/{meeting.pk}/roster/").status_code == 302  # sign in first


def _png() -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (40, 30), "white").save(out, "PNG")
    return out.getvalue()


def test_a_paper_sheet_is_kept_sealed_and_each_look_is_recorded(world, clock, login, settings):
    from django.core.files.uploadedfile import SimpleUploadedFile

    staff = world.a("community_worker")
    meeting = services.gathering_schedule(
        actor=staff, kind=CODE, region_code=COMMUNITY_A, title="接待日",
        starts_at=at(2026, 11, 2, 9, 10), ends_at=at(2026, 11, 2, 11), capacity=10,
        phase=P.UNDER_WAY,
    )  # fmt: skip
    client = login(staff)
    for _ in range(2):  # two pages: the second is added, the first kept
        upload = SimpleUploadedFile("sheet.png", _png(), content_type="image/png")
        assert client.post(f"/a/{meeting.pk}/sheet/", {"sheet": upload}).status_code == 302
    first, second = meeting.sheets.all()
    for page in (first, second):
        with open(page.photo.storage.path(page.photo.name), "rb") as raw:
            assert not raw.read().startswith(b"\xff\xd8")  # sealed on disk, not a JPEG
    photo = client.get(f"/a/{meeting.pk}/sheet/{first.pk}.jpg")
    assert photo.status_code == 200
    assert b"".join(photo.streaming_content).startswith(b"\xff\xd8")  # re-encoded JPEG
    views = AuditEvent.objects.filter(action="gathering.sheet_view")
    assert [e.detail["page"] for e in views] == [first.pk]
    assert "第2页" in client.get(f"/a/{meeting.pk}/roster/").content.decode()
    other = login(world.b("community_worker"))
    assert other.get(f"/a/{meeting.pk}/sheet/{first.pk}.jpg").status_code == 404
    elsewhere = _meeting(world)  # a page of another gathering, by this one's address
    page = paper_sheet(elsewhere)
    assert client.get(f"/a/{meeting.pk}/sheet/{page.pk}.jpg").status_code == 404
    assert views.count() == 1
    text = SimpleUploadedFile("sheet.png", b"not an image", content_type="image/png")
    client.post(f"/a/{meeting.pk}/sheet/", {"sheet": text})
    assert meeting.sheets.count() == 2
    assert AuditEvent.objects.filter(action="gathering.sheet").count() == 2  # refused: none


def _meeting(world, **extra):
    return services.gathering_schedule(
        actor=world.a("community_worker"), kind=CODE, region_code=COMMUNITY_A, title="党员大会",
        starts_at=at(2026, 11, 2, 9, 10), ends_at=at(2026, 11, 2, 11), capacity=10,
        audience=Gathering.Audience.INVITED, phase=P.UNDER_WAY, **extra,
    )  # fmt: skip


def test_someone_without_an_account_is_on_the_roster_by_their_register_record(world, clock):
    """An elderly member with no phone account: invited by their person record, marked
    present by hand, and read back in attendance by that record."""
    staff = world.a("community_worker")
    meeting = _meeting(world)
    elder, member = world.household_a.members.order_by("pk")
    assert services.signup_invite(actor=staff, gathering=meeting, persons=[elder, member]) == 2
    assert services.signup_invite(actor=staff, gathering=meeting, persons=[elder]) == 0
    # Inviting again changed nothing, so recorded nothing.
    assert AuditEvent.objects.filter(action="gathering.invite").count() == 1
    row = SignUp.objects.get(gathering=meeting, person=elder)
    assert row.resident_id is None and row.status == SignUp.Status.CONFIRMED

    # The other member's own account, linked to their record, finds the row as its own:
    # it checks in on it, and inviting the account adds nobody.
    account = resident(person=member)
    assert services.signup_invite(actor=staff, gathering=meeting, residents=[account]) == 0
    services.signup_check_in(
        actor=Actor.of_resident(account), gathering=meeting, code=services.check_in_code(meeting)
    )
    assert SignUp.objects.filter(gathering=meeting).count() == 2
    theirs = SignUp.objects.get(gathering=meeting, person=member)
    assert theirs.attendance == SignUp.Attendance.CLAIMED and theirs.resident_id is None

    paper_sheet(meeting)
    services.attendance_mark(actor=staff, signup=row, attended=True)  # the paper sheet
    with pytest.raises(DomainError) as undone:  # leave does not undo confirmed hours
        services.attendance_leave(actor=staff, signup=row, reason="临时有事")
    assert undone.value.code == "already_attended"
    assert SignUp.objects.get(pk=row.pk).attendance == SignUp.Attendance.CONFIRMED
    services.attendance_confirm_claims(actor=staff, gathering=meeting)
    clock.move_to(at(2026, 11, 2, 11, 30))
    services.attendance_close(actor=staff, gathering=meeting)
    rows = {r.person_id: r for r in selectors.attendance_by_person(Gathering.objects.all())}
    assert (rows[elder.pk].attended, rows[elder.pk].resident_id) == (1, None)
    assert rows[elder.pk].hours == Decimal("1.83")
    assert (rows[member.pk].attended, rows[member.pk].resident_id) == (1, account.pk)
    assert AuditEvent.objects.filter(action="gathering.attendance").count() == 2


def test_the_account_cannot_confirm_its_own_register_row(world, clock):
    """Whose own row a person-row is follows the link to the account: a team leader or
    staff member whose record it is cannot confirm it."""
    staff = world.a("community_worker")
    meeting = _meeting(world)
    person = world.household_a.members.first()
    services.signup_invite(actor=staff, gathering=meeting, persons=[person])
    row = SignUp.objects.get(person=person)
    account = resident(person=person)
    own = selectors.own_account(Actor.of_resident(account))
    assert selectors.is_own(row, own)
    assert not selectors.is_own(row, (account.pk + 1, person.pk + 1))
    assert [s.pk for s in selectors.resident_signups(account)] == [row.pk]


def test_staff_put_someone_of_their_register_on_the_roster_and_nobody_else(world, clock, login):
    meeting = _meeting(world)
    client = login(world.a("community_worker"))
    elder = world.household_a.members.first()
    found = client.get(f"/a/{meeting.pk}/add/", {"q": elder.name})
    assert found.status_code == 200 and elder.name in found.content.decode()
    assert client.post(f"/a/{meeting.pk}/add/", {"person": elder.pk}).status_code == 302
    assert SignUp.objects.filter(gathering=meeting, person=elder).count() == 1
    assert "已在名单中" in client.get(f"/a/{meeting.pk}/add/", {"q": elder.name}).content.decode()
    again = client.post(f"/a/{meeting.pk}/add/", {"person": elder.pk}, follow=True)
    assert "此人已在名单中" in again.content.decode()
    assert AuditEvent.objects.filter(action="gathering.invite").count() == 1
    # Someone added from the register whose record has an account is not "without one".
    label = '<span class="muted">（无手机账号）</span>'
    assert label in client.get(f"/a/{meeting.pk}/roster/").content.decode()
    resident(person=elder)
    assert label not in client.get(f"/a/{meeting.pk}/roster/").content.decode()

    # Someone of another community's register is not found, nor added by id.
    far = world.household_b.members.first()
    missed = client.get(f"/a/{meeting.pk}/add/", {"q": far.name}).content.decode()
    assert "没有找到" in missed and f'value="{far.pk}"' not in missed
    assert client.post(f"/a/{meeting.pk}/add/", {"person": far.pk}).status_code == 404
    assert client.post(f"/a/{meeting.pk}/add/", {"person": "x"}).status_code == 404
    assert not SignUp.objects.filter(person=far).exists()
    # Another community's staff, and residents, find no such page.
    other = login(world.b("community_worker"))
    assert other.get(f"/a/{meeting.pk}/add/").status_code == 404
    assert other.post(f"/a/{meeting.pk}/add/", {"person": far.pk}).status_code == 404
    assert SignUp.objects.filter(gathering=meeting).count() == 1


def test_someone_on_the_roster_by_record_is_told_at_its_phone(world, clock):
    from jiceng.core.models import OutboxMessage

    staff = world.a("community_worker")
    meeting = services.gathering_schedule(
        actor=staff, kind=CODE, region_code=COMMUNITY_A, title="党员大会",
        starts_at=at(2026, 11, 20, 9), ends_at=at(2026, 11, 20, 10), capacity=10,
        audience=Gathering.Audience.INVITED, phase=P.OPEN,
    )  # fmt: skip
    with_phone, without = world.household_a.members.order_by("pk")
    with_phone.phone = "13912345678"
    with_phone.save()
    without.phone = ""
    without.save()
    services.signup_invite(actor=staff, gathering=meeting, persons=[with_phone, without])
    services.gathering_cancel(actor=staff, gathering=meeting, reason="改期")
    assert OutboxMessage.objects.count() == 1


def test_more_places_move_the_waitlist_up_in_order_and_only_into_free_places(world, clock):
    from jiceng.core.models import OutboxMessage

    staff = world.a("community_worker")
    meeting = services.gathering_schedule(
        actor=staff, kind=CODE, region_code=COMMUNITY_A, title="接待日",
        starts_at=at(2026, 11, 20, 9), ends_at=at(2026, 11, 20, 10), capacity=1,
        phase=P.OPEN, public=True,
    )  # fmt: skip
    first, second, third = (resident(region_code=COMMUNITY_A) for _ in range(3))
    signups = [
        services.signup_create(actor=Actor.of_resident(r), gathering=meeting)
        for r in (first, second, third)
    ]
    assert [s.status for s in signups] == ["confirmed", "waitlisted", "waitlisted"]
    services.gathering_update(actor=staff, gathering=meeting, capacity=2)
    statuses = dict(SignUp.objects.values_list("resident_id", "status"))
    assert statuses == {first.pk: "confirmed", second.pk: "confirmed", third.pk: "waitlisted"}
    promoted = AuditEvent.objects.filter(action="gathering.signup_promoted")
    assert [e.object_id for e in promoted] == [str(signups[1].pk)]
    assert OutboxMessage.objects.filter(template="waitlist_promoted").count() == 1

    # Invitees beyond the places: a withdrawal frees none of them.
    services.signup_invite(actor=staff, gathering=meeting, residents=[resident(), resident()])
    services.signup_cancel(actor=Actor.of_resident(first), signup=signups[0])
    assert SignUp.objects.get(pk=signups[2].pk).status == "waitlisted"
    assert promoted.count() == 1
    with pytest.raises(DomainError) as zero:
        services.gathering_update(actor=staff, gathering=meeting, capacity=0)
    assert zero.value.code == "numbers_invalid"


def test_no_check_out_before_the_start_and_no_mark_before_attendance_opens(world, clock):
    """Check-in opens half an hour early; a check-out then would count nothing and could
    not be undone, so it waits for the start. Marks wait for check-in to open."""
    staff = world.a("community_worker")
    meeting = services.gathering_schedule(
        actor=staff, kind=CODE, region_code=COMMUNITY_A, title="接待日",
        starts_at=at(2026, 11, 2, 10), ends_at=at(2026, 11, 2, 11), capacity=10,
        phase=P.OPEN, public=True,
    )  # fmt: skip
    someone = resident(region_code=COMMUNITY_A)
    signup = services.signup_create(actor=Actor.of_resident(someone), gathering=meeting)
    with pytest.raises(DomainError) as early_mark:
        services.attendance_mark(actor=staff, signup=signup, attended=False)
    assert early_mark.value.code == "attendance_closed" and "09:30" in early_mark.value.message
    assert SignUp.objects.get(pk=signup.pk).attendance == SignUp.Attendance.NONE
    clock.move_to(at(2026, 11, 2, 9, 40))
    services.gathering_phase(actor=staff, gathering=meeting, phase=P.UNDER_WAY)
    services.signup_check_in(
        actor=Actor.of_resident(someone), gathering=meeting, code=services.check_in_code(meeting)
    )
    with pytest.raises(DomainError) as early:
        services.signup_check_out(actor=Actor.of_resident(someone), gathering=meeting)
    assert early.value.code == "checkout_early"
    assert SignUp.objects.get(pk=signup.pk).checked_out_at is None
    clock.move_to(at(2026, 11, 2, 10, 30))
    done = services.signup_check_out(actor=Actor.of_resident(someone), gathering=meeting)
    assert done.hours == Decimal("0.50")
