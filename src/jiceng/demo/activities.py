"""Demo service activities and points: a year of activities in every community (350+ held,
6,000+ participations, as 嘉祥 reported), teams and venues, residents who signed up and
checked in, points settled through the ledger, 160 points stores with goods, and the
redemptions, good deeds and corrections of the year. Every points movement goes through
points.ledger.post_many, in time order per community, so `points verify` holds."""

import datetime
import random
import secrets
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils import timezone

from jiceng.accounts.models import Membership, User
from jiceng.activities.models import (
    Activity,
    ActivityEvent,
    Need,
    ServiceType,
    TeamMember,
    VolunteerTeam,
)
from jiceng.activities.workflow import PHASE
from jiceng.core import personal
from jiceng.core.region_codes import community_of, serial_of
from jiceng.gatherings.models import Gathering, SignUp, Venue
from jiceng.gatherings.services import check_in_step
from jiceng.places.models import Person
from jiceng.points.ledger import Entry, ledger_for, post_many
from jiceng.points.models import (
    Account,
    DeedClaim,
    EarningRule,
    Good,
    JournalEntry,
    Redemption,
    RedemptionLine,
    Restock,
    Store,
)
from jiceng.residents.models import Resident

A = Activity.Status
TEAMS = [
    "红帆志愿服务队",
    "银龄互助队",
    "党员先锋队",
    "巾帼志愿服务队",
    "青年突击队",
    "小候鸟护学队",
]
TITLES = {
    "tutoring": ["暑期课业辅导", "周末作业辅导", "小学生阅读课"],
    "publicity": ["反诈宣传进小区", "垃圾分类宣讲", "民法典宣传", "防溺水安全宣传"],
    "elderly-disabled": ["为独居老人打扫卫生", "敬老院包饺子", "助残理发", "老年人智能手机课"],
    "culture-sport": ["广场舞展演", "社区乒乓球赛", "亲子运动会", "象棋比赛"],
    "errands": ["代缴水电费", "帮老人代购药品", "医保续费代办"],
    "health": ["义诊进社区", "免费测血压血糖", "中医理疗体验"],
    "safety": ["消防安全演练", "楼道杂物清理", "电动车安全充电宣传"],
    "crafts": ["手工编织课", "剪纸体验"],
    "calligraphy": ["书法进社区", "少儿绘画课"],
    "childcare": ["四点半课堂", "暑期托管"],
    "environment": ["小区环境整治", "绿地捡拾垃圾", "楼道小广告清理"],
    "performance": ["文艺汇演", "戏曲进社区"],
}
HOLIDAYS = {  # month: (tag, title)
    1: ("元旦", "元旦联欢会"),
    2: ("春节", "写春联送福字"),
    3: ("学雷锋", "学雷锋志愿服务日"),
    4: ("清明", "清明文明祭扫宣传"),
    6: ("端午", "端午包粽子"),
    7: ("七一", "七一党员志愿服务"),
    9: ("中秋", "中秋做月饼"),
    10: ("重阳", "重阳敬老宴"),
}
NEEDS = [
    "独居老人希望有人定期上门量血压",
    "双职工家庭孩子放学后没人看管",
    "老人不会用手机缴费，希望有人教",
    "楼道杂物多，希望组织清理",
    "希望多组织些文体活动",
    "残疾人家庭需要上门理发",
    "小区缺少防诈骗宣传",
    "希望开展消防安全培训",
]
VENUES = [
    ("红帆驿站", Venue.Kind.STATION, 40),
    ("红色议事厅", Venue.Kind.HALL, 60),
    ("小区广场", Venue.Kind.SQUARE, 200),
]
GOODS = [
    ("洗衣液", 30),
    ("食用油", 60),
    ("大米（5斤）", 50),
    ("肥皂", 5),
    ("牙膏", 10),
    ("抽纸", 8),
    ("毛巾", 12),
    ("酱油", 10),
    ("挂面", 6),
    ("鸡蛋（10个）", 15),
]
RULES = [
    ("环保卫士", EarningRule.Kind.DEED, 5),
    ("安全巡查员", EarningRule.Kind.DEED, 5),
    ("孝老爱亲", EarningRule.Kind.DEED, 10),
    ("乱扔垃圾", EarningRule.Kind.DEDUCTION, 5),
]
STORES_PER_COMMUNITY = 8
RESIDENTS_PER_COMMUNITY = 220


@dataclass
class Figures:
    held: int = 0
    participations: int = 0
    stores: int = 0
    redemptions: int = 0
    residents: int = 0
    logins: list[dict] = field(default_factory=list)


@dataclass(order=True)
class _Event:
    """Something that moves points, at a moment, in one community."""

    at: datetime.datetime
    order: int
    kind: str = field(compare=False)
    payload: object = field(compare=False)


class ActivityHistory:
    def __init__(self, rng: random.Random, grids: list[str], held_target: int = 380):
        self.rng = rng
        self.grids: dict[str, list[str]] = defaultdict(list)
        for code in grids:
            self.grids[community_of(code)].append(code)
        communities = sorted(self.grids)
        self.communities = communities
        self.per_community = max(2, held_target // max(1, len(communities)))
        self.now = timezone.now()
        self.year_start = timezone.make_aware(
            datetime.datetime(timezone.localdate().year, 1, 1, 0, 0)
        )
        self.types = list(ServiceType.objects.filter(is_active=True))
        self.figures = Figures()
        self.staff = {
            m.region_code: m.user
            for m in Membership.objects.filter(
                role="community_worker", region_code__in=communities
            ).select_related("user")
        }
        self.clerks = {
            m.region_code: m.user
            for m in Membership.objects.filter(
                role="store_clerk", region_code__in=communities
            ).select_related("user")
        }
        self.approver = (
            Membership.objects.filter(role="town_staff").select_related("user").first().user
        )
        self._order = 0

    def build(self) -> Figures:
        for code in self.communities:
            self._community(code)
        return self.figures

    # --- one community ----------------------------------------------------------------

    def _community(self, code: str) -> None:
        rng = self.rng
        staff = self.staff[code]
        ledger = ledger_for(code)
        residents = self._residents(code)
        venues = Venue.objects.bulk_create(
            Venue(
                region_code=code,
                name=f"{name}",
                kind=kind,
                capacity=capacity,
                opens_at=datetime.time(7, 30),
                closes_at=datetime.time(21, 0),
                address="社区党群服务中心" if kind != Venue.Kind.SQUARE else "小区中心广场",
            )
            for name, kind, capacity in VENUES
        )
        teams = self._teams(code, residents)
        needs = Need.objects.bulk_create(
            Need(
                region_code=rng.choice(self.grids[code]),
                text=rng.choice(NEEDS),
                service_type=rng.choice(self.types),
                recorded_by=staff,
            )
            for _ in range(8)
        )
        accounts = self._accounts(ledger, residents, teams)
        stores = self._stores(code, ledger, accounts)
        events = self._activities(code, staff, venues, teams, residents, needs, accounts)
        events += self._redemption_intents(code, residents, stores, events)
        events += self._deeds(ledger, staff, residents)
        events.append(self._event(self.now - datetime.timedelta(days=3), "adjust", residents[5]))
        self._post(ledger, accounts, events, stores)

    def _residents(self, code: str) -> list[Resident]:
        people = [
            (pk, personal.clear(phone), region_code)
            for pk, phone, region_code in Person.objects.filter(
                region_code__within=code, birth_year__lt=2010
            )
            .exclude(phone="")
            .values_list("pk", "phone", "region_code")[: RESIDENTS_PER_COMMUNITY * 3]
        ]
        chosen = self.rng.sample(people, min(len(people), RESIDENTS_PER_COMMUNITY))
        taken = set(
            Resident.objects.filter(phone__in=[p[1] for p in chosen]).values_list(
                "phone", flat=True
            )
        )
        rows, seen = [], set(taken)
        for pk, phone, region_code in chosen:
            if phone in seen:
                continue
            seen.add(phone)
            rows.append(
                Resident(
                    phone=phone,
                    person_id=pk,
                    region_code=region_code,
                    confirmed_by=self.staff[code],
                    confirmed_at=self.year_start,
                )
            )
        residents = Resident.objects.bulk_create(rows)
        self.figures.residents += len(residents)
        if not self.figures.logins:
            self.figures.logins.append(
                {
                    "role": "resident",
                    "username": personal.clear(residents[-1].phone),
                    "password": "",
                    "region_code": code,
                    "note": "用手机号登录，验证码见演示服务的日志",
                }
            )
        return residents

    def _teams(self, code: str, residents: list[Resident]) -> list[VolunteerTeam]:
        rng = self.rng
        names = rng.sample(TEAMS, 3)
        leaders = residents[:3]
        teams = VolunteerTeam.objects.bulk_create(
            VolunteerTeam(region_code=code, name=name, leader=leader, description="社区志愿服务队")
            for name, leader in zip(names, leaders, strict=True)
        )
        members = []
        for index, team in enumerate(teams):
            team.service_types.set(rng.sample(self.types, 3))
            crew = [team.leader, *residents[3 + index * 12 : 3 + (index + 1) * 12]]
            kinds = [TeamMember.Kind.PARTY_MEMBER, TeamMember.Kind.RETIREE]
            kinds += [TeamMember.Kind.RESIDENT, TeamMember.Kind.STUDENT]
            members += [TeamMember(team=team, resident=r, kind=rng.choice(kinds)) for r in crew]
        TeamMember.objects.bulk_create(members)
        if len(self.figures.logins) == 1:
            self.figures.logins.append(
                {
                    "role": "team_leader",
                    "username": personal.clear(teams[0].leader.phone),
                    "password": "",
                    "region_code": code,
                    "note": "用手机号登录，验证码见演示服务的日志",
                }
            )
        return teams

    def _accounts(self, ledger, residents, teams) -> dict:
        rows = [Account(ledger=ledger, kind=Account.Kind.RESIDENT, resident=r) for r in residents]
        rows += [Account(ledger=ledger, kind=Account.Kind.TEAM, team=t) for t in teams]
        rows += [
            Account(ledger=ledger, kind=Account.Kind.ISSUANCE, floor=None),
            Account(ledger=ledger, kind=Account.Kind.EXPIRY, floor=None),
        ]
        made = Account.objects.bulk_create(rows)
        accounts = {("resident", a.resident_id): a for a in made if a.resident_id}
        accounts.update({("team", a.team_id): a for a in made if a.team_id})
        accounts["issuance"], accounts["expiry"] = made[-2], made[-1]
        return accounts

    def _stores(self, code: str, ledger, accounts: dict) -> list[Store]:
        rng = self.rng
        grids = rng.sample(self.grids[code], min(STORES_PER_COMMUNITY, len(self.grids[code])))
        stores = Store.objects.bulk_create(
            Store(
                region_code=grid,
                name=f"第{int(serial_of(grid))}网格文明超市",
                address=f"第{int(serial_of(grid))}网格党群服务点",
            )
            for grid in sorted(grids)
        )
        clerk = self.clerks.get(code)
        for store in stores:
            if clerk:
                store.clerks.add(clerk)
            store.goods_list = Good.objects.bulk_create(
                Good(store=store, name=name, price=price, stock=rng.randint(40, 120))
                for name, price in rng.sample(GOODS, rng.randint(6, 9))
            )
        for account in Account.objects.bulk_create(
            Account(ledger=ledger, kind=Account.Kind.STORE, store=s) for s in stores
        ):
            accounts[("store", account.store_id)] = account
        self.figures.stores += len(stores)
        return stores

    # --- activities ---------------------------------------------------------------------

    def _when(self, day: datetime.date) -> tuple[datetime.datetime, datetime.datetime]:
        hour = self.rng.choice([9, 9, 10, 14, 15, 19])
        start = timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour)))
        return start, start + datetime.timedelta(hours=self.rng.choice([1, 2, 2, 3]))

    def _activities(self, code, staff, venues, teams, residents, needs, accounts) -> list:
        """The year's held activities, a few cancelled, and next month's plan."""
        rng = self.rng
        today = timezone.localdate()
        days_so_far = (today - self.year_start.date()).days
        past_days = sorted(
            self.year_start.date() + datetime.timedelta(days=rng.randrange(max(1, days_so_far)))
            for _ in range(self.per_community + 2)
        )
        future_days = sorted(today + datetime.timedelta(days=rng.randint(2, 35)) for _ in range(6))
        booked: dict[int, list] = defaultdict(list)
        plans, gatherings = [], []
        for index, day in enumerate(past_days + future_days):
            service_type = rng.choice(self.types)
            title = rng.choice(TITLES.get(service_type.code, ["志愿服务活动"]))
            holiday = HOLIDAYS.get(day.month) if rng.random() < 0.25 else None
            if holiday:
                title = holiday[1]
            start, end = self._when(day)
            venue = rng.choice(venues)
            if any(s < end and start < e for s, e in booked[venue.pk]):
                venue = None
            else:
                booked[venue.pk].append((start, end))
            capacity = min(venue.capacity if venue else 60, rng.choice([20, 25, 30, 30, 40]))
            past = day < today
            if past:
                status = A.CANCELLED if rng.random() < 0.04 else A.SETTLED
                if status == A.SETTLED and (today - day).days < 3:
                    status = A.COMPLETED
            else:
                # Every state a coming activity can be in, then any of them: a demo that
                # shows each whatever the day's draw.
                coming = [A.DRAFT, A.PUBLISHED, A.CLAIMED, A.SIGNUP, A.SIGNUP]
                later = index - len(past_days)
                status = coming[later] if later < len(coming) else rng.choice(coming)
            team = rng.choice(teams) if status not in (A.DRAFT, A.PUBLISHED) else None
            gatherings.append(
                Gathering(
                    kind="activity",
                    region_code=code,
                    title=title,
                    description=f"{title}，欢迎居民报名参加。",
                    venue=venue,
                    place="" if venue else "小区内",
                    starts_at=start,
                    ends_at=end,
                    capacity=capacity,
                    phase=PHASE[status],
                    public=status != A.DRAFT,
                    sequence=1,
                    cancel_reason="天气原因" if status == A.CANCELLED else "",
                    check_in_secret=secrets.token_hex(16),
                )
            )
            plans.append(
                Activity(
                    region_code=code,
                    service_type=service_type,
                    points=rng.choice([5, 10, 10, 15, 20]),
                    holiday_tag=holiday[0] if holiday else "",
                    status=status,
                    team=team,
                    assigned=bool(team) and rng.random() < 0.3,
                    created_by=staff,
                    sequence=1,
                )
            )
            if index < len(needs) and rng.random() < 0.6:
                plans[-1].answers = needs[index]
        for activity, gathering in zip(
            plans, Gathering.objects.bulk_create(gatherings), strict=True
        ):
            activity.gathering = gathering
        activities = Activity.objects.bulk_create(plans)
        for activity in activities:
            need = getattr(activity, "answers", None)
            if need:
                need.activity = activity
        Need.objects.bulk_update([n for n in needs if n.activity_id], ["activity"])
        self._events(activities, staff)
        return self._signups(activities, residents, accounts)

    def _events(self, activities: list[Activity], staff: User) -> None:
        staff_label = f"工作人员 {staff.full_name[:1]}*"
        rows = []
        steps = [
            ("create", "", A.DRAFT, 20),
            ("publish", A.DRAFT, A.PUBLISHED, 15),
            ("claim", A.PUBLISHED, A.CLAIMED, 12),
            ("open_signup", A.CLAIMED, A.SIGNUP, 10),
            ("hold", A.SIGNUP, A.HELD, 0),
            ("complete", A.HELD, A.COMPLETED, 0),
            ("settle", A.COMPLETED, A.SETTLED, -1),
        ]
        reached = {
            A.DRAFT: 1,
            A.PUBLISHED: 2,
            A.CLAIMED: 3,
            A.SIGNUP: 4,
            A.HELD: 5,
            A.COMPLETED: 6,
            A.SETTLED: 7,
            A.CANCELLED: 4,
        }
        for activity in activities:
            for action, source, target, days_before in steps[: reached[activity.status]]:
                if action == "claim" and activity.assigned:
                    action = "assign"
                at = (
                    activity.gathering.ends_at + datetime.timedelta(days=1)
                    if days_before < 0
                    else activity.gathering.ends_at
                    if action == "complete"
                    else activity.gathering.starts_at - datetime.timedelta(days=days_before)
                )
                leader = action in ("claim", "hold", "complete")
                rows.append(
                    ActivityEvent(
                        activity=activity,
                        at=min(at, self.now),
                        actor=None if leader else staff,
                        actor_label=f"队长（{activity.team.name}）" if leader else staff_label,
                        action=action,
                        from_status=source,
                        to_status=target,
                    )
                )
            if activity.status == A.CANCELLED:
                rows.append(
                    ActivityEvent(
                        activity=activity,
                        at=activity.gathering.starts_at - datetime.timedelta(days=1),
                        actor=staff,
                        actor_label=staff_label,
                        action="cancel",
                        from_status=A.SIGNUP,
                        to_status=A.CANCELLED,
                        note=activity.gathering.cancel_reason,
                    )
                )
        ActivityEvent.objects.bulk_create(rows)

    def _signups(self, activities, residents, accounts) -> list[_Event]:
        """Sign-ups, check-ins and hours; each settled activity becomes a points event."""
        rng = self.rng
        rows, events = [], []
        for activity in activities:
            if activity.status in (A.DRAFT, A.PUBLISHED, A.CLAIMED):
                continue
            past = activity.status in (A.COMPLETED, A.SETTLED)
            share = rng.uniform(0.3, 0.6) if activity.status == A.SIGNUP else rng.uniform(0.7, 1)
            count = min(
                len(residents) - 3, int(activity.gathering.capacity * share) + rng.randint(0, 3)
            )
            people = rng.sample(residents[3:], count)
            for position, resident in enumerate(people):
                confirmed = position < activity.gathering.capacity
                signup = SignUp(
                    gathering=activity.gathering,
                    resident=resident,
                    status=SignUp.Status.CONFIRMED if confirmed else SignUp.Status.WAITLISTED,
                )
                if activity.status == A.CANCELLED:
                    signup.status = SignUp.Status.CANCELLED
                elif past and confirmed and rng.random() < 0.9:
                    arrive = activity.gathering.starts_at + datetime.timedelta(
                        minutes=rng.randint(-20, 15)
                    )
                    leave = activity.gathering.ends_at - datetime.timedelta(
                        minutes=rng.randint(0, 30)
                    )
                    signup.checked_in_at = arrive
                    signup.check_in_step = check_in_step(arrive.timestamp())
                    signup.attendance = SignUp.Attendance.CONFIRMED  # by the team's leader
                    if rng.random() < 0.8:
                        signup.checked_out_at = leave
                    else:
                        leave = (
                            activity.gathering.ends_at
                        )  # counted to the end when attendance closed
                    counted = min(leave, activity.gathering.ends_at) - max(
                        arrive, activity.gathering.starts_at
                    )
                    signup.hours = Decimal(counted.total_seconds() / 3600).quantize(Decimal("0.01"))
                rows.append(signup)
        SignUp.objects.bulk_create(rows)
        created = defaultdict(list)
        for signup in rows:
            created[signup.gathering_id].append(signup)
        for activity in activities:
            attended = [s for s in created.get(activity.gathering_id, []) if s.attended]
            if activity.status in (A.COMPLETED, A.SETTLED):
                self.figures.held += 1
                self.figures.participations += len(attended)
            if activity.status == A.SETTLED and activity.points and attended:
                events.append(
                    self._event(
                        activity.gathering.ends_at + datetime.timedelta(days=1),
                        "settle",
                        (activity, attended),
                    )
                )
        return events

    def _event(self, at, kind, payload) -> _Event:
        self._order += 1
        return _Event(at, self._order, kind, payload)

    def _redemption_intents(self, code, residents, stores, events) -> list[_Event]:
        """About one in five of those who earned points spend some within three weeks."""
        rng = self.rng
        intents = []
        for event in events:
            _, attended = event.payload
            for signup in attended:
                if rng.random() < 0.2:
                    at = event.at + datetime.timedelta(days=rng.randint(1, 20), hours=2)
                    if at < self.now:
                        intents.append(
                            self._event(at, "redeem", (signup.resident, rng.choice(stores)))
                        )
        return intents

    def _deeds(self, ledger, staff, residents) -> list[_Event]:
        rng = self.rng
        rules = EarningRule.objects.bulk_create(
            EarningRule(ledger=ledger, name=name, kind=kind, points=points)
            for name, kind, points in RULES
        )
        claims = DeedClaim.objects.bulk_create(
            DeedClaim(
                rule=rng.choice(rules[:3]),
                resident=rng.choice(residents),
                description=rng.choice(
                    ["主动清理楼道垃圾", "发现并上报消防隐患", "照顾生病的邻居老人"]
                ),
                status=DeedClaim.Status.APPROVED,
                proposed_by=staff,
                decided_by=self.approver,
            )
            for _ in range(6)
        )
        days = (self.now - self.year_start).days
        events = []
        for claim in claims:
            at = self.year_start + datetime.timedelta(days=rng.randrange(max(1, days)), hours=10)
            events.append(self._event(at, "deed", claim))
        DeedClaim.objects.filter(pk__in=[c.pk for c in claims]).update(decided_at=self.now)
        return events

    # --- the ledger, in time order ---------------------------------------------------------

    def _post(self, ledger, accounts: dict, events: list[_Event], stores: list[Store]) -> None:
        """The year of one community, replayed in time order and posted in one batch: the
        balances and stock are followed here so no redemption exceeds either."""
        rng = self.rng
        issuance = accounts["issuance"]
        balance: dict[int, int] = defaultdict(int)
        stock = {good.pk: good.stock for store in stores for good in store.goods_list}
        entries: list[Entry] = []
        orders: list[tuple[Redemption, RedemptionLine, Entry]] = []
        restocks = []

        def earn(key, memo, account, points, at, kind=JournalEntry.Kind.EARN):
            entries.append(Entry(key, kind, memo, [(account, points), (issuance, -points)], at=at))

        for event in sorted(events):
            if event.kind == "settle":
                activity, attended = event.payload
                for s in attended:
                    account = accounts[("resident", s.resident_id)]
                    earn(
                        f"checkin:{s.pk}",
                        f"参加活动：{activity.gathering.title}",
                        account,
                        activity.points,
                        event.at,
                    )
                    balance[s.resident_id] += activity.points
                earn(
                    f"activity:{activity.pk}:team",
                    f"承办活动：{activity.gathering.title}",
                    accounts[("team", activity.team_id)],
                    activity.points,
                    event.at,
                )
            elif event.kind == "deed":
                claim = event.payload
                earn(
                    f"deed:{claim.pk}",
                    f"{claim.rule.name}：{claim.description}",
                    accounts[("resident", claim.resident_id)],
                    claim.rule.points,
                    event.at,
                )
                balance[claim.resident_id] += claim.rule.points
            elif event.kind == "adjust":
                resident = event.payload
                earn(
                    f"adjust:{ledger.pk}:demo",
                    "补录漏签到（队长确认出勤）",
                    accounts[("resident", resident.pk)],
                    5,
                    event.at,
                    JournalEntry.Kind.ADJUST,
                )
                balance[resident.pk] += 5
            else:
                resident, store = event.payload
                affordable = [
                    g
                    for g in store.goods_list
                    if g.price <= balance[resident.pk] and stock[g.pk] > 0
                ]
                if not affordable:
                    continue
                good = rng.choice(affordable)
                quantity = 2 if good.price * 2 <= balance[resident.pk] and stock[good.pk] > 1 else 1
                total = good.price * quantity
                entry = Entry(
                    "",
                    JournalEntry.Kind.REDEEM,
                    f"{store.name}兑换",
                    [
                        (accounts[("resident", resident.pk)], -total),
                        (accounts[("store", store.pk)], total),
                    ],
                    at=event.at,
                )
                entries.append(entry)
                clerk = self.clerks.get(ledger.region_code) or self.staff[ledger.region_code]
                order = Redemption(
                    store=store,
                    resident=resident,
                    clerk=clerk,
                    total=total,
                    status=Redemption.Status.CONFIRMED,
                    confirmed_at=event.at,
                )
                line = RedemptionLine(good=good, quantity=quantity, price=good.price)
                orders.append((order, line, entry))
                balance[resident.pk] -= total
                stock[good.pk] -= quantity
                if stock[good.pk] < 5:
                    stock[good.pk] += 50
                    restocks.append((good, 50, event.at))
        Redemption.objects.bulk_create(order for order, _, _ in orders)
        for order, line, entry in orders:
            line.redemption = order
            entry.key = f"redeem:{order.pk}"
        RedemptionLine.objects.bulk_create(line for _, line, _ in orders)
        posted = post_many(ledger=ledger, entries=entries, actor=self.staff[ledger.region_code])
        by_key = {e.key: e for e in posted}
        for order, _, entry in orders:
            order.entry = by_key[entry.key]
            order.created_at = order.confirmed_at
            order.receipt_no = f"{timezone.localtime(order.confirmed_at):%Y%m%d}{order.pk:08d}"
        Redemption.objects.bulk_update(
            [order for order, _, _ in orders], ["entry", "created_at", "receipt_no"]
        )
        self.figures.redemptions += len(orders)
        Good.objects.bulk_update([Good(pk=pk, stock=n) for pk, n in stock.items()], ["stock"])
        made = Restock.objects.bulk_create(
            Restock(good=good, quantity=n, actor=self.staff[ledger.region_code])
            for good, n, _ in restocks
        )
        for restock, (_, _, at) in zip(made, restocks, strict=True):
            restock.at = at
        Restock.objects.bulk_update(made, ["at"])
