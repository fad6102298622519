"""A year of organization life for the demo's grid branches: the county's twelve-month
theme calendar (一月一主题), and each branch's 三会一课 and 主题党日 of the last four
quarters as the county's rhythm asks — held, attended (present, on leave or absent) and
minuted — except in the branches the town will find behind. Written in bulk, as the rest of
the demo; nothing here runs through the services."""

import datetime
import random
import secrets
from decimal import Decimal

from django.conf import settings
from django.utils import timezone

from jiceng.core.region_codes import county_of
from jiceng.gatherings.models import Gathering, SignUp
from jiceng.party.models import Appointment, Meeting, MonthlyTheme, PartyMember, PartyOrganization
from jiceng.party.selectors import quarter_bounds, quarter_of

THEMES = [
    "学习贯彻新年寄语，谋划全年工作",
    "弘扬雷锋精神，开展志愿服务",
    "学习全国两会精神",
    "缅怀革命先烈，传承红色基因",
    "劳动创造幸福，弘扬劳模精神",
    "安全生产月，排查身边隐患",
    "庆祝建党节，重温入党誓词",
    "拥军优属，关爱退役军人",
    "尊师重教，助力学子成长",
    "喜迎国庆，厚植家国情怀",
    "敬老爱老，走访困难老党员",
    "学习党章党规，开展民主评议准备",
]
KIND = "party_meeting"
PLACES = ["社区党群服务中心", "网格党群服务站", "小区党员活动室"]
BEHIND = 0.12  # the share of branches that miss some of the current quarter's meetings


class PartyLife:
    def __init__(self, rng: random.Random, county_codes: list[str], creator_id: int | None):
        self.rng = rng
        self.county_codes = county_codes
        self.creator_id = creator_id
        self.today = timezone.localdate()
        self.now = timezone.now()

    def build(self) -> int:
        themes = self._themes()
        branches = list(
            PartyOrganization.objects.filter(
                kind=PartyOrganization.Kind.GRID_BRANCH, closed_on__isnull=True
            ).order_by("pk")
        )
        people = {}
        for org, person in PartyMember.objects.filter(
            organization__in=branches, left_on__isnull=True, person__isnull=False
        ).values_list("organization", "person"):
            people.setdefault(org, []).append(person)
        committees = set(
            Appointment.objects.filter(organization__in=branches, ended_on__isnull=True)
            .exclude(post="secretary")
            .values_list("organization", flat=True)
        )
        grouped = set(
            PartyOrganization.objects.filter(
                parent__in=branches, kind=PartyOrganization.Kind.BUILDING_GROUP
            ).values_list("parent", flat=True)
        )
        quarters = self._quarters()
        behind = {b.pk for b in branches if self.rng.random() < BEHIND}
        planned = []  # (branch, kind, day, theme)
        for branch in branches:
            for quarter in quarters:
                for kind, n in settings.JICENG_PARTY_RHYTHM.items():
                    if kind == "committee" and branch.pk not in committees:
                        continue
                    if kind == "group" and branch.pk not in grouped:
                        continue
                    for day in self._days(quarter, kind, n):
                        if day > self.today:
                            continue
                        if branch.pk in behind and quarter == quarters[-1] and kind != "assembly":
                            continue
                        theme = themes.get((county_of(branch.region_code), day.replace(day=1)))
                        planned.append((branch, kind, day, theme if kind == "theme_day" else None))
        return self._write(planned, people)

    def _themes(self) -> dict:
        rows = [
            MonthlyTheme(
                region_code=county,
                month=datetime.date(self.today.year, month, 1),
                title=title,
                created_by_id=self.creator_id,
            )
            for county in self.county_codes
            for month, title in enumerate(THEMES, start=1)
        ]
        MonthlyTheme.objects.bulk_create(rows)
        return {
            (t.region_code, t.month): t
            for t in MonthlyTheme.objects.filter(region_code__in=self.county_codes)
        }

    def _quarters(self) -> list[str]:
        quarters, day = [], self.today
        for _ in range(4):
            quarters.insert(0, quarter_of(day))
            day = quarter_bounds(quarter_of(day))[0] - datetime.timedelta(days=1)
        return quarters

    def _days(self, quarter: str, kind: str, n: int) -> list[datetime.date]:
        """`n` days of the quarter for meetings of `kind`: a theme day in each month, the
        others spread over the quarter."""
        first, last = quarter_bounds(quarter)
        if kind == "theme_day":
            return [
                datetime.date(first.year, first.month + i, self.rng.randint(5, 25))
                for i in range(min(n, 3))
            ]
        span = (last - first).days
        return sorted(
            first + datetime.timedelta(days=self.rng.randrange(i * span // n, (i + 1) * span // n))
            for i in range(n)
        )

    def _write(self, planned, people) -> int:
        tz = timezone.get_current_timezone()
        gatherings = []
        for branch, kind, day, theme in planned:
            start = datetime.datetime.combine(day, datetime.time(self.rng.choice([9, 15, 19])))
            start = start.replace(tzinfo=tz)
            label = Meeting.Kind(kind).label
            gatherings.append(
                Gathering(
                    kind=KIND,
                    region_code=branch.region_code,
                    title=theme.title if theme else f"{branch.name}{label}",
                    starts_at=start,
                    ends_at=start + datetime.timedelta(hours=2),
                    place=self.rng.choice(PLACES),
                    capacity=max(1, len(people.get(branch.pk, []))),
                    audience=Gathering.Audience.BRANCH,
                    phase=Gathering.Phase.CLOSED,
                    check_in_secret=secrets.token_hex(16),
                )
            )
        Gathering.objects.bulk_create(gatherings, batch_size=2000)
        meetings, signups = [], []
        for (branch, kind, day, theme), gathering in zip(planned, gatherings, strict=True):
            meetings.append(
                Meeting(
                    region_code=branch.region_code,
                    organization=branch,
                    gathering=gathering,
                    kind=kind,
                    theme=theme,
                    held_on=day,
                    agenda="1. 学习传达上级精神；2. 讨论本网格重点工作；3. 党员发言",
                    minutes="会议按议程进行，与会党员逐一发言，形成决议。",
                    resolutions="按分工落实，下次会议通报进展。",
                    minutes_filed_at=gathering.ends_at,
                    minutes_filed_by_id=self.creator_id,
                    created_by_id=self.creator_id,
                )
            )
            for person in people.get(branch.pk, []):
                roll = self.rng.random()
                attendance = (
                    SignUp.Attendance.CONFIRMED
                    if roll < 0.82
                    else SignUp.Attendance.LEAVE
                    if roll < 0.94
                    else SignUp.Attendance.STRUCK
                )
                signups.append(
                    SignUp(
                        gathering=gathering,
                        person_id=person,
                        status=SignUp.Status.CONFIRMED,
                        attendance=attendance,
                        reason="外出务工" if attendance == SignUp.Attendance.LEAVE else "",
                        hours=Decimal(2) if attendance == SignUp.Attendance.CONFIRMED else 0,
                    )
                )
        Meeting.objects.bulk_create(meetings, batch_size=2000)
        SignUp.objects.bulk_create(signups, batch_size=5000)
        return len(meetings)
