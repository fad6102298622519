"""Organization life (三会一课, 主题党日) as gatherings of a branch's members: scheduled on
the county's monthly theme, members on the roster and told by SMS, checked in by the
rotating code, minutes filed; the quarter's completeness counts what was held."""

import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import timezone

from jiceng.core.actors import Actor
from jiceng.core.errors import DomainError, NotFound
from jiceng.core.models import OutboxMessage
from jiceng.gatherings import services as gatherings
from jiceng.gatherings.models import Gathering, SignUp
from jiceng.party import selectors, services
from jiceng.party.models import Appointment, Meeting, PartyMember
from jiceng.party.tally import tally_count
from tests.factories import PersonFactory
from tests.factories import resident as make_resident

SHANGHAI = ZoneInfo("Asia/Shanghai")

pytestmark = pytest.mark.django_db


@pytest.fixture
def branch(world):
    """Branch A with three members of the register (the world's person A and two more)
    and one without a person."""
    branch = world.branch_a
    for name in ("乙党员", "丙党员"):
        person = PersonFactory(region_code=branch.region_code, name=name)
        PartyMember.objects.create(
            region_code=branch.region_code, organization=branch, person=person, name=name,
            joined_on="2010-07-01",
        )  # fmt: skip
    PartyMember.objects.create(
        region_code=branch.region_code, organization=branch, name="县外党员", joined_on="2010-07-01"
    )
    return branch


def _schedule(world, branch, kind="theme_day", start_in=datetime.timedelta(minutes=10), **extra):
    start = timezone.now() + start_in
    return services.meeting_schedule(
        actor=Actor.staff(world.a("branch_secretary")), organization=branch, kind=kind,
        starts_at=start, ends_at=start + datetime.timedelta(hours=2), place="党群服务站", **extra,
    )  # fmt: skip


def test_a_theme_day_takes_the_county_theme_and_tells_the_members(world, branch):
    department = Actor.staff(world.a("org_department"))
    today = timezone.localdate()
    services.theme_set(actor=department, region_code="370829", month=today, title="学习党章")
    meeting = _schedule(world, branch)
    assert meeting.theme.title == meeting.gathering.title == "学习党章"
    assert meeting.gathering.audience == Gathering.Audience.BRANCH
    roster = set(meeting.gathering.signups.values_list("person__name", flat=True))
    assert roster == {world.person_a.name, "乙党员", "丙党员"}  # those with a person
    notices = OutboxMessage.objects.filter(template="party_meeting_notice")
    assert notices.count() == 3
    with pytest.raises(DomainError) as refusal:  # a committee meeting needs a committee
        _schedule(world, branch, kind="committee")
    assert refusal.value.code == "no_committee"
    with pytest.raises(NotFound):  # the second secretary of the grid: not their branch
        services.meeting_schedule(
            actor=Actor.staff(world.b("branch_secretary")), organization=branch,
            kind="lecture", title="党课", starts_at=timezone.now(),
            ends_at=timezone.now() + datetime.timedelta(hours=1),
        )  # fmt: skip
    with pytest.raises(DomainError) as refusal:  # a theme in use is not reworded
        services.theme_set(actor=department, region_code="370829", month=today, title="改")
    assert refusal.value.code == "theme_in_use"


def test_members_check_in_by_the_code_and_others_are_refused(world, branch):
    meeting = _schedule(world, branch, title="学习党章")
    secretary = Actor.staff(world.a("branch_secretary"))
    member = make_resident(person=world.person_a)
    outsider = make_resident(person=world.person_b)
    code = gatherings.check_in_code(meeting.gathering)
    with pytest.raises(DomainError) as refusal:  # not begun: outside the window
        gatherings.signup_check_in(
            actor=Actor.of_resident(member), gathering=meeting.gathering, code=code
        )
    assert refusal.value.code == "checkin_closed"
    services.meeting_begin(actor=secretary, meeting=meeting)
    gathering = Gathering.objects.get(pk=meeting.gathering_id)
    code = gatherings.check_in_code(gathering)
    signup = gatherings.signup_check_in(
        actor=Actor.of_resident(member), gathering=gathering, code=code
    )
    assert signup.person == world.person_a and signup.checked_in_at
    with pytest.raises(DomainError) as refusal:
        gatherings.signup_check_in(
            actor=Actor.of_resident(outsider), gathering=gathering, code=code
        )
    assert (refusal.value.code, refusal.value.message) == (
        "not_on_roster",
        "您不在这次的参加名单中。",
    )
    with pytest.raises(DomainError) as refusal:  # minutes wait for attendance to be final
        services.meeting_minutes(actor=secretary, meeting=meeting, minutes="记录", resolutions="")
    assert refusal.value.code == "meeting_not_closed"
    gatherings.attendance_confirm_claims(actor=secretary, gathering=gathering)
    absent = SignUp.objects.get(gathering=gathering, person__name="乙党员")
    gatherings.attendance_leave(actor=secretary, signup=absent, reason="外出务工")
    services.meeting_close(actor=secretary, meeting=meeting)
    filed = services.meeting_minutes(
        actor=secretary, meeting=meeting, minutes="学习了党章第一章。", resolutions="每月集中学习"
    )
    assert filed.is_held and filed.minutes_filed_by == world.a("branch_secretary")
    with pytest.raises(DomainError) as refusal:
        services.meeting_minutes(actor=secretary, meeting=meeting, minutes="改写", resolutions="")
    assert refusal.value.code == "minutes_filed"
    assert Meeting.objects.get(pk=meeting.pk).minutes == "学习了党章第一章。"


def test_completeness_counts_held_meetings_against_the_rhythm(world, branch):
    secretary = Actor.staff(world.a("branch_secretary"))
    today = timezone.localdate()
    quarter = selectors.quarter_of(today)
    department = Actor.staff(world.a("org_department"))
    over = selectors.quarter_bounds(quarter)[1] + datetime.timedelta(days=1)  # all of it due
    rows = {r.organization_id: r for r in selectors.completeness(
        user=department, region_code="370829", quarter=quarter, as_of=over)}  # fmt: skip
    assert set(rows) == {world.branch_a.pk, world.branch_a2.pk, world.branch_b.pk}
    assert "committee" not in rows[branch.pk].required  # no committee: none required
    assert rows[branch.pk].behind == ["assembly", "lecture", "theme_day"]
    meeting = _schedule(world, branch, kind="lecture", title="党课：理想信念")
    services.meeting_begin(actor=secretary, meeting=meeting)
    services.meeting_close(actor=secretary, meeting=meeting)
    services.meeting_minutes(actor=secretary, meeting=meeting, minutes="讲授党课", resolutions="")
    Appointment.objects.create(
        region_code=branch.region_code, organization=branch, person=world.person_a,
        post="organizer", started_on=today,
    )  # fmt: skip
    row = next(
        r for r in selectors.completeness(
            user=department, region_code="370829", quarter=quarter, as_of=over
        )
        if r.organization_id == branch.pk
    )  # fmt: skip
    assert row.held == {"lecture": 1}
    assert row.required["committee"] == 3  # a committee now exists
    assert "lecture" not in row.behind
    # The town sees its own branches; the secretary sees theirs alone.
    town = selectors.completeness(
        user=Actor.staff(world.a("town_organizer")), region_code="370829001", quarter=quarter
    )
    assert {r.organization_id for r in town} == {world.branch_a.pk, world.branch_a2.pk}
    own = selectors.completeness(user=secretary, region_code=branch.region_code, quarter=quarter)
    assert [r.organization_id for r in own] == [branch.pk]


@time_machine.travel(datetime.datetime(2026, 12, 31, 10, tzinfo=SHANGHAI))
def test_the_overview_counts_the_branches_behind_as_the_report_does(world, branch):
    """The worker's count of branches behind agrees with the completeness report, and a
    branch that catches up leaves the count at the next count. On the quarter's last day
    two of its three theme days are due, and the assembly and lecture not yet."""
    department = Actor.staff(world.a("org_department"))
    quarter = selectors.quarter_of(timezone.localdate())
    Appointment.objects.filter(organization__region_code__within="370829").exclude(
        post="secretary"
    ).delete()  # no committees: the rhythm is assembly, lecture and theme day
    tally_count()
    report = selectors.completeness(user=department, region_code="370829", quarter=quarter)
    assert {tuple(r.behind) for r in report} == {("theme_day",)}
    assert report[0].due == {"assembly": 0, "lecture": 0, "theme_day": 2}
    behind = sum(1 for r in report if r.behind)
    assert behind == 3
    assert selectors.overview(user=department, region_code="370829").behind == behind
    secretary = Actor.staff(world.a("branch_secretary"))
    for kind in ("theme_day", "theme_day"):
        meeting = _schedule(world, branch, kind=kind, title=f"{kind}会")
        services.meeting_begin(actor=secretary, meeting=meeting)
        services.meeting_close(actor=secretary, meeting=meeting)
        services.meeting_minutes(actor=secretary, meeting=meeting, minutes="记录", resolutions="")
    assert selectors.overview(user=department, region_code="370829").behind == 3  # as counted
    tally_count()
    assert selectors.overview(user=department, region_code="370829").behind == 2


def test_a_quarters_rhythm_falls_due_as_its_days_pass():
    share = selectors.due_share
    assert share("2026Q4", datetime.date(2026, 9, 30)) == 0  # not begun
    assert share("2026Q4", datetime.date(2026, 10, 1)) == 0  # its first day: nothing yet
    assert share("2026Q4", datetime.date(2026, 12, 1)) == 61 / 92  # two months gone
    assert share("2026Q4", datetime.date(2027, 1, 1)) == 1  # over: all of it
