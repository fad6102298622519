"""Demo requests, patrols and visits: about 1,200 requests this year across the demo grids
(嘉祥 collected 1,200+ through its QR codes), in every state, with timelines and deadlines
worked out on the real calendar, as if staff had handled them through the services."""

import datetime
import random
import secrets

from django.utils import timezone

from jiceng.accounts.models import Membership
from jiceng.cases.models import Case, Category, Event, Notification
from jiceng.cases.services import TRACKING_ALPHABET, case_deadlines_backfill
from jiceng.cases.workflow import actor_label
from jiceng.core.bulk import bulk_insert
from jiceng.core.calendar import DAY, WorkCalendar
from jiceng.core.region_codes import community_of, town_of
from jiceng.patrols.models import Patrol, Visit
from jiceng.places.models import Building, Person

TEXTS = {
    "environment.garbage": [
        "{b}门口的垃圾桶满了两三天没人清运，味道很大",
        "小区东门堆了一堆装修垃圾，占了半条路",
        "{b}后面有人乱倒生活垃圾，招苍蝇",
    ],
    "environment.dirty-road": [
        "{b}前面的路上全是泥，下雨天走不了",
        "菜市场门口污水横流，希望清扫一下",
    ],
    "environment.graffiti": ["{b}单元门上贴满了开锁小广告", "楼道墙上被人喷了办证电话"],
    "environment.street-vending": [
        "小区门口早上摆摊卖菜的太多，车出不去",
        "晚上烧烤摊占了人行道，油烟很大",
    ],
    "facilities.street-light": [
        "{b}前面的路灯不亮了，晚上很黑不安全",
        "小区主路两盏路灯坏了一个多星期",
        "{b}门口路灯整夜闪",
    ],
    "facilities.manhole": ["{b}旁边的井盖松动，踩上去会翻", "路口井盖缺了一块，怕孩子掉下去"],
    "facilities.road-damage": ["{b}门前路面塌了个坑，电动车容易摔", "小区里的路坑坑洼洼，积水严重"],
    "facilities.water-leak": [
        "{b}楼下的自来水管漏水，一直往外冒",
        "我们这栋楼今天一直停水也没通知",
        "楼下水表井漏水好几天了",
    ],
    "facilities.gas": ["{b}单元里闻到燃气味，有点担心", "燃气表箱门坏了关不上"],
    "facilities.heating": ["家里暖气不热，室温只有十四度", "{b}整栋楼暖气都不太热"],
    "facilities.cables": ["{b}外墙上的网线乱七八糟挂着，有的垂到地上", "楼道里的光缆被扯断了"],
    "property.elevator": ["{b}电梯经常停在半路，今天又坏了", "电梯按钮失灵，老人上下楼很难"],
    "property.stair-light": ["{b}楼道灯坏了，晚上上楼看不见", "单元门禁坏了，谁都能进"],
    "property.property-service": ["物业很久没打扫楼道了", "小区绿化带没人修剪，杂草比人高"],
    "property.parking": ["有车长期占着消防通道停车", "{b}门口总有外来车辆乱停，堵着出不去"],
    "disputes.noise": [
        "楼上每天晚上十一点以后还在装修，吵得睡不着",
        "小区广场舞音响声太大，老人孩子休息不好",
        "隔壁饭店排风扇噪音很大",
    ],
    "disputes.neighbour": [
        "楼上漏水到我家厨房，沟通了几次没结果",
        "邻居在公共楼道堆放杂物，说了不听",
        "和对门因为门口放鞋柜的事闹矛盾",
    ],
    "disputes.wages": ["在附近工地干活，老板拖欠了三个月工资", "饭店辞退我不给结工资"],
    "safety.fire-lane": ["{b}后面的消防通道被杂物堵死了", "小区消防栓被车挡着"],
    "safety.ebike": ["{b}有人把电动车推进楼道里充电，很危险", "楼道里拉飞线给电动车充电"],
    "safety.building-danger": ["{b}外墙瓷砖掉下来了，差点砸到人", "阳台下面的墙裂了一道缝"],
    "services.elderly": [
        "对门的独居老人好几天没出门，想请网格员去看看",
        "家里老人行动不便，想申请上门服务",
    ],
    "services.disability": ["想咨询残疾人补贴怎么申请", "家里残疾人需要一辆轮椅"],
    "services.policy": ["想问问城乡居民医保怎么续交", "孩子上学需要开居住证明，去哪里办"],
    "services.other": ["想给社区提个建议，能不能多组织些活动", "小区能不能加装几个健身器材"],
}
WEIGHTS = {
    "environment.garbage": 10,
    "facilities.street-light": 9,
    "property.stair-light": 8,
    "disputes.neighbour": 8,
    "disputes.noise": 7,
    "property.parking": 7,
    "facilities.water-leak": 6,
    "safety.ebike": 6,
    "property.property-service": 6,
    "services.policy": 5,
    "services.elderly": 5,
    "facilities.road-damage": 4,
    "environment.graffiti": 4,
    "property.elevator": 3,
}
OPENINGS = [
    "",
    "",
    "你好，",
    "网格员您好，",
    "反映个问题：",
    "麻烦问一下，",
    "我是{b}的住户，".format(b="本小区"),
]
CLOSINGS = ["", "", "，麻烦尽快处理", "，谢谢", "，已经好几天了", "，希望有人管管", "。"]
RESULTS = [
    "已联系相关单位现场处理完毕",
    "已现场查看并协调解决",
    "已督促物业整改到位",
    "已上门调解，双方达成一致",
    "已维修恢复正常",
    "已清理完毕",
]

# COPY bypasses the field that seals the reporter's phone, and those that index it.
SEAL_PHONE = Case._meta.get_field("reporter_phone").seal
INDEX_PHONE = Case._meta.get_field("reporter_phone_index").digest
INDEX_TAIL = Case._meta.get_field("reporter_phone_tail").digest


def _code() -> str:
    return "".join(secrets.choice(TRACKING_ALPHABET) for _ in range(10))


class RequestHistory:
    """Writes the demo's requests with their events, as staff would have produced them."""

    def __init__(self, ids, rng: random.Random, grid_codes: list[str], target: int = 1200):
        self.ids, self.rng, self.grids, self.target = ids, rng, grid_codes, target
        self.calendar = WorkCalendar()
        self.now = timezone.now()
        self.categories = {
            c.code: c for c in Category.objects.filter(region_code="370829", parent__isnull=False)
        }
        roles = Membership.objects.filter(
            role__in=["grid_worker", "community_worker", "specialist_grid_worker"],
            region_code__within="370829",
        ).select_related("user")
        self.workers, self.community, self.specialists = {}, {}, {}
        for m in roles:
            if m.role == "grid_worker":
                self.workers[m.region_code] = m.user
            elif m.role == "community_worker":
                self.community[m.region_code] = m.user
            else:
                self.specialists[(m.region_code, m.user.department_id)] = m.user
        self.buildings: dict[str, list[str]] = {}
        for code, name in Building.objects.filter(region_code__in=grid_codes).values_list(
            "region_code", "name"
        ):
            self.buildings.setdefault(code, []).append(name)
        self.cases, self.events, self.notes = [], [], []
        self.labels: dict = {}
        self.recent_by_grid: dict[str, tuple[int, datetime.datetime]] = {}

    def _event(self, case_id, at, actor, action, before, after, note="", public=True, data=None):
        key = actor.pk if actor else None
        if key not in self.labels:
            self.labels[key] = actor_label(actor)
        self.events.append(
            (
                self.ids.take(Event),
                case_id,
                at,
                key,
                self.labels[key],
                action,
                before,
                after,
                note,
                public,
                data or {},
            )
        )

    def _work_time(self, start: datetime.datetime, hours: float) -> datetime.datetime:
        return self.calendar.deadline(start, max(1, round(hours)), "hour")

    def build(self) -> int:
        rng = self.rng
        start_of_year = self.now.replace(month=1, day=1, hour=8, minute=0, second=0, microsecond=0)
        span = (self.now - start_of_year).total_seconds()
        codes = list(self.categories)
        weights = [WEIGHTS.get(c, 2) for c in codes]
        for _ in range(self.target):
            # One in ten is recent and stopped at any step, so every state shows.
            recent = rng.random() < 0.1
            if recent:
                received = self.now - datetime.timedelta(hours=rng.uniform(1, 240))
                stop = rng.choice(STAGES)
            else:
                received = start_of_year + datetime.timedelta(seconds=rng.random() * span * 0.97)
                received = received.replace(hour=rng.randint(7, 20), minute=rng.randint(0, 59))
                stop = "closed"
            category = self.categories[rng.choices(codes, weights)[0]]
            self._one(rng.choice(self.grids), category, min(received, self.now), stop)
        bulk_insert(Case, CASE_FIELDS, self.cases)
        bulk_insert(Event, EVENT_FIELDS, self.events)
        bulk_insert(
            Notification, ["id", "user", "case", "kind", "text", "key", "created_at"], self.notes
        )
        case_deadlines_backfill()
        return len(self.cases)

    def _one(self, grid: str, category: Category, received: datetime.datetime, stop: str) -> None:
        rng = self.rng
        S = Case.Status
        case_id = self.ids.take(Case)
        worker = self.workers.get(grid)
        community = self.community.get(community_of(grid))
        building = rng.choice(self.buildings.get(grid, ["小区"]))
        text = rng.choice(TEXTS.get(category.code, ["{b}有问题需要处理"])).format(b=building)
        text = rng.choice(OPENINGS) + text + rng.choice(CLOSINGS)
        channel = rng.choices(["qr", "staff", "patrol", "open311"], [60, 20, 15, 5])[0]
        phone = f"13{rng.randint(0, 9)}{rng.randrange(10**8):08d}" if rng.random() < 0.7 else ""
        row = dict(
            status=S.RECEIVED,
            handler=None,
            department=None,
            result="",
            dispatched_at=None,
            due_at=self.calendar.deadline(received, category.accept_limit, category.accept_unit),
            handle_due_at=None,
            handled_at=None,
            closed_at=None,
            closed_on_time=None,
            rework=0,
            rating=None,
            rating_comment="",
            rated_at=None,
            extension=0,
            supervised="",
            merged_into=None,
            dissatisfied=0,
        )
        finish = lambda: self._finish(case_id, grid, category, received, text, channel, phone, row)  # noqa: E731
        submitter = None if channel in ("qr", "open311") else worker
        self._event(
            case_id, received, submitter, "submit", "", S.RECEIVED, data={"channel": channel}
        )
        earlier = self.recent_by_grid.get(grid)
        self.recent_by_grid[grid] = (case_id, received)
        if stop == "received":
            return finish()
        accepted = self._work_time(received, rng.uniform(0.3, 3))
        fate = rng.random()
        if fate < 0.025:  # not a matter for the grid
            row.update(status=S.VOIDED, due_at=None, closed_at=accepted)
            self._event(
                case_id,
                accepted,
                community or worker,  # who voids and merges: the community (a grid proposes)
                "void",
                S.RECEIVED,
                S.VOIDED,
                "非本辖区事项，已告知居民拨打12345",
            )
            return finish()
        if fate < 0.04 and earlier and received - earlier[1] < datetime.timedelta(days=14):
            row.update(status=S.MERGED, due_at=None, merged_into=earlier[0])
            self._event(
                case_id,
                accepted,
                community or worker,
                "merge",
                S.RECEIVED,
                S.MERGED,
                "与同一问题的另一件诉求合并办理",
            )
            return finish()
        self._event(case_id, accepted, worker, "accept", S.RECEIVED, S.ACCEPTED)
        row["status"] = S.ACCEPTED
        if stop == "accepted" or accepted > self.now:
            return finish()
        handler, department = worker, None
        if category.default_department_id:
            handler = self.specialists.get((grid, category.default_department_id))
            department = None if handler else category.default_department_id
        due = self.calendar.deadline(accepted, category.handle_limit, category.handle_unit)
        row.update(
            status=S.DISPATCHED,
            handler=handler,
            department=department,
            dispatched_at=accepted,
            handle_due_at=due,
            due_at=due,
        )
        self._event(case_id, accepted, worker, "dispatch", S.ACCEPTED, S.DISPATCHED)
        handler = handler or worker  # a department's own staff would take it; the worker stands in
        started = self._work_time(accepted, rng.uniform(1, 8))
        if stop == "dispatched" or started > self.now:
            self._notify(handler, case_id, "dispatched", f"新派单：{text[:30]}", accepted)
            return self._overdue(case_id, grid, row, finish)
        row.update(status=S.IN_PROGRESS, handler=handler)
        self._event(case_id, started, handler, "start", S.DISPATCHED, S.IN_PROGRESS)
        if rng.random() < 0.04:  # more time asked for, and given
            asked = self._work_time(started, 2)
            extended = timezone.localtime(row["handle_due_at"])
            day = self.calendar.add_workdays(extended.date(), 2)
            extended = extended.replace(year=day.year, month=day.month, day=day.day)
            row.update(extension=2, handle_due_at=extended, due_at=extended)
            self._event(
                case_id,
                asked,
                handler,
                "request_extension",
                S.IN_PROGRESS,
                S.IN_PROGRESS,
                "需等待配件",
                data={"days": 2},
            )
            self._event(
                case_id,
                self._work_time(asked, 1),
                community,
                "decide_extension",
                S.IN_PROGRESS,
                S.IN_PROGRESS,
                data={"approved": True},
            )
        limit_hours = category.handle_limit * (8 if category.handle_unit == DAY else 1)
        late = rng.random() < 0.08
        handled = self._work_time(started, rng.uniform(0.2, 1.6 if late else 0.9) * limit_hours)
        if stop == "in_progress" or handled > self.now:
            return self._overdue(case_id, grid, row, finish)
        if rng.random() < 0.05:  # the first result did not pass the check: rework
            self._event(case_id, handled, handler, "handle", S.IN_PROGRESS, S.HANDLED, "已处理")
            failed = self._work_time(handled, 2)
            self._event(
                case_id,
                failed,
                community,
                "check",
                S.HANDLED,
                S.DISPATCHED,
                "现场核查仍未解决",
                data={"passed": False},
            )
            row["rework"] = 1
            handled = self._work_time(failed, rng.uniform(4, 16))
            self._event(case_id, handled, handler, "start", S.DISPATCHED, S.IN_PROGRESS)
            if handled > self.now:
                row.update(status=S.IN_PROGRESS)
                return finish()
        result = rng.choice(RESULTS)
        check_due = self.calendar.deadline(handled, category.check_limit, category.check_unit)
        row.update(status=S.HANDLED, handled_at=handled, result=result, due_at=check_due)
        # The demo's results name nobody: each is its own reply to the public (答复).
        self._event(
            case_id, handled, handler, "handle", S.IN_PROGRESS, S.HANDLED, result,
            data={"reply": result},
        )  # fmt: skip
        checked = self._work_time(handled, rng.uniform(1, 7))
        if stop == "handled" or checked > self.now:
            return finish()
        row.update(
            status=S.CLOSED,
            closed_at=checked,
            due_at=None,
            closed_on_time=handled <= row["handle_due_at"],
        )
        self._event(
            case_id,
            checked,
            community,
            "check",
            S.HANDLED,
            S.CLOSED,
            "现场核查属实",
            data={"passed": True},
        )
        rated = checked + datetime.timedelta(hours=rng.randint(2, 72))
        if rng.random() < 0.7 and rated < self.now:
            rating = rng.choices([5, 4, 3, 2, 1], [52, 30, 12, 4, 2])[0]
            comment = "办得很及时，谢谢" if rating >= 4 else ("还行" if rating == 3 else "")
            row.update(rating=rating, rated_at=rated, rating_comment=comment)
            self._event(
                case_id, rated, None, "rate", S.CLOSED, S.CLOSED, comment, data={"rating": rating}
            )
            if rating <= 2:  # a dissatisfied rating is worked again (it closed again since)
                row.update(rework=row["rework"] + 1, dissatisfied=1)
        return finish()

    def _overdue(self, case_id, grid, row, finish):
        """Open and past its deadline: the town presses half of these (督办)."""
        if row["due_at"] and row["due_at"] < self.now and self.rng.random() < 0.5:
            row["supervised"] = town_of(grid)
            self._event(
                case_id,
                row["due_at"],
                None,
                "supervise",
                row["status"],
                row["status"],
                "已超期，请加快办理",
                public=False,
            )
        return finish()

    def _notify(self, user, case_id, kind, text, at) -> None:
        if user is None:
            return
        self.notes.append(
            (
                self.ids.take(Notification),
                user.pk,
                case_id,
                kind,
                text,
                f"demo:{kind}:{case_id}:{user.pk}",
                at,
            )
        )

    def _finish(self, case_id, grid, category, received, text, channel, phone, row) -> None:
        updated = max(
            t
            for t in (
                received,
                row["dispatched_at"],
                row["handled_at"],
                row["closed_at"],
                row["rated_at"],
            )
            if t
        )
        self.cases.append(
            (
                case_id,
                grid,
                _code(),
                secrets.token_urlsafe(24),
                category.pk,
                text,
                {},
                channel,
                row["status"],
                "",
                SEAL_PHONE(phone),
                received,
                row["due_at"],
                row["dispatched_at"],
                row["handle_due_at"],
                row["handled_at"],
                row["closed_at"],
                row["closed_on_time"],
                updated,
                row["extension"],
                0,
                row["rework"],
                row["dissatisfied"],
                row["supervised"],
                row["rating"],
                row["rating_comment"],
                row["rated_at"],
                row["handler"].pk if row["handler"] else None,
                row["department"],
                row["result"],
                "",
                "",
                "",
                "",
                "",
                row["merged_into"],
                "",
                INDEX_PHONE(phone),
                INDEX_TAIL(phone),
                row["result"],
            )
        )


STAGES = ["received", "accepted", "dispatched", "in_progress", "handled", "closed"]
CASE_FIELDS = [
    "id",
    "region_code",
    "tracking_code",
    "access_token",
    "category",
    "description",
    "answers",
    "channel",
    "status",
    "address",
    "reporter_phone",
    "received_at",
    "due_at",
    "dispatched_at",
    "handle_due_at",
    "handled_at",
    "closed_at",
    "closed_on_time",
    "updated_at",
    "extension_days",
    "extension_requested_days",
    "rework_count",
    "dissatisfied_count",
    "supervised_region_code",
    "rating",
    "rating_comment",
    "rated_at",
    "handler",
    "handler_department",
    "result",
    "reporter_name",
    "reporter_account",
    "device_id",
    "client_fingerprint",
    "media_url",
    "merged_into",
    "idempotency_key",
    "reporter_phone_index",
    "reporter_phone_tail",
    "public_reply",
]
EVENT_FIELDS = [
    "id",
    "case",
    "at",
    "actor",
    "actor_label",
    "action",
    "from_status",
    "to_status",
    "note",
    "is_public",
    "data",
]


def build_patrols(ids, rng: random.Random, grid_codes: list[str], days: int = 30) -> int:
    """Recent patrols (most working days, for most grids) and some visits to special-group
    households, so that coverage figures have something to show."""
    calendar = WorkCalendar()
    workers = {
        m.region_code: m.user_id
        for m in Membership.objects.filter(role="grid_worker", region_code__in=grid_codes)
    }
    buildings: dict[str, list[int]] = {}
    for code, pk in Building.objects.filter(region_code__in=grid_codes).values_list(
        "region_code", "id"
    ):
        buildings.setdefault(code, []).append(pk)
    special: dict[str, list[int]] = {}
    for code, household in (
        Person.objects.filter(region_code__in=grid_codes, special_groups__isnull=False)
        .values_list("region_code", "household_id")
        .distinct()
    ):
        special.setdefault(code, []).append(household)
    today = timezone.localdate()
    patrols, walked, visits = [], [], []
    through = Patrol.buildings.through
    for code in grid_codes:
        worker = workers.get(code)
        if worker is None:
            continue
        diligence = rng.uniform(0.5, 1.0)
        for back in range(1, days + 1):
            day = today - datetime.timedelta(days=back)
            if not calendar.is_workday(day) or rng.random() > diligence:
                continue
            start = timezone.make_aware(
                datetime.datetime.combine(day, datetime.time(rng.randint(8, 15), 0))
            )
            patrol_id = ids.take(Patrol)
            patrols.append(
                (
                    patrol_id,
                    code,
                    worker,
                    start,
                    start + datetime.timedelta(minutes=rng.randint(40, 120)),
                    True,
                    rng.random() < 0.9,
                    rng.random() < 0.8,
                    "巡查正常",
                )
            )
            for building in rng.sample(
                buildings.get(code, []), min(4, len(buildings.get(code, [])))
            ):
                walked.append((patrol_id, building))
            if special.get(code) and rng.random() < 0.3:
                visits.append(
                    (
                        ids.take(Visit),
                        code,
                        rng.choice(special[code]),
                        worker,
                        patrol_id,
                        start,
                        "上门看望，身体状况良好，已告知社区联系电话",
                    )
                )
    bulk_insert(
        Patrol,
        [
            "id",
            "region_code",
            "worker",
            "started_at",
            "ended_at",
            "checked_facilities",
            "checked_people",
            "checked_hazards",
            "notes",
        ],
        patrols,
    )
    bulk_insert(through, ["patrol", "building"], walked)
    bulk_insert(
        Visit, ["id", "region_code", "household", "worker", "patrol", "at", "notes"], visits
    )
    return len(patrols)
