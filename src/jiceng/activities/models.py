"""Service activities (服务进小区): residents' needs, the monthly plan, venues, volunteer
teams that claim or are assigned activities, sign-up with a waitlist, check-in by a rotating
code, and the service hours each attendance records. Points are the points app's."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from jiceng.core.fields import RegionCodeField
from jiceng.core.history import StepEvent


class ServiceType(models.Model):
    """服务类型: the "1+3+5+N" list (tutoring, publicity, help for the elderly and disabled,
    culture and sport, errands, and more), configurable."""

    code = models.SlugField("代码", max_length=32, unique=True)
    name = models.CharField("名称", max_length=32)
    sort_order = models.PositiveSmallIntegerField("排序", default=0)
    is_active = models.BooleanField("启用", default=True)

    class Meta:
        verbose_name = verbose_name_plural = "服务类型"
        ordering = ["sort_order", "code"]

    def __str__(self) -> str:
        return self.name


class Venue(models.Model):
    """阵地: 红帆驿站, 红色议事厅, a square, a building's ground floor … with capacity and hours."""

    class Kind(models.TextChoices):
        STATION = "station", "红帆驿站"
        HALL = "hall", "红色议事厅"
        SQUARE = "square", "小区广场"
        UNDERCROFT = "undercroft", "楼栋架空层"
        CENTRE = "centre", "党群服务中心"
        OTHER = "other", "其他"

    region_code = RegionCodeField(db_index=True, help_text="所属社区")
    name = models.CharField("名称", max_length=64)
    kind = models.CharField("类型", max_length=16, choices=Kind.choices)
    capacity = models.PositiveIntegerField("容纳人数")
    address = models.CharField("地址", max_length=200, blank=True)
    opens_at = models.TimeField("开放时间")
    closes_at = models.TimeField("关闭时间")
    is_active = models.BooleanField("启用", default=True)

    class Meta:
        verbose_name = verbose_name_plural = "阵地"
        ordering = ["region_code", "name"]
        constraints = [
            models.CheckConstraint(condition=Q(closes_at__gt=F("opens_at")), name="venue_hours"),
            models.CheckConstraint(condition=Q(capacity__gte=1), name="venue_capacity"),
        ]

    def __str__(self) -> str:
        return self.name


class VolunteerTeam(models.Model):
    """志愿服务队: a team with its leader and members, based in a community."""

    region_code = RegionCodeField(db_index=True, help_text="所属社区")
    name = models.CharField("名称", max_length=64)
    leader = models.ForeignKey(
        "residents.Resident",
        verbose_name="队长",
        on_delete=models.PROTECT,
        related_name="led_teams",
    )
    service_types = models.ManyToManyField(ServiceType, verbose_name="服务类型", blank=True)
    description = models.CharField("简介", max_length=300, blank=True)
    is_active = models.BooleanField("启用", default=True)
    created_at = models.DateTimeField("成立时间", auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = "志愿服务队"
        ordering = ["region_code", "name"]
        constraints = [
            models.UniqueConstraint(fields=["region_code", "name"], name="team_name_in_community")
        ]

    def __str__(self) -> str:
        return self.name


class TeamMember(models.Model):
    """队员: residents, party members reporting to their home community (双报到), students,
    retirees."""

    class Kind(models.TextChoices):
        RESIDENT = "resident", "居民"
        PARTY_MEMBER = "party_member", "双报到党员"
        STUDENT = "student", "学生"
        RETIREE = "retiree", "退休人员"
        OTHER = "other", "其他"

    team = models.ForeignKey(VolunteerTeam, on_delete=models.CASCADE, related_name="members")
    resident = models.ForeignKey(
        "residents.Resident", on_delete=models.CASCADE, related_name="teams"
    )
    kind = models.CharField("身份", max_length=16, choices=Kind.choices, default=Kind.RESIDENT)
    joined_at = models.DateTimeField("加入时间", auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = "队员"
        constraints = [
            models.UniqueConstraint(fields=["team", "resident"], name="team_member_once")
        ]

    def __str__(self) -> str:
        return f"{self.team} {self.resident}"


class Need(models.Model):
    """居民需求: recorded by a grid worker; the community plans activities from them."""

    region_code = RegionCodeField(db_index=True, help_text="网格")
    text = models.CharField("需求", max_length=300)
    service_type = models.ForeignKey(ServiceType, null=True, blank=True, on_delete=models.PROTECT)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField("登记时间", auto_now_add=True)
    activity = models.ForeignKey(
        "Activity", verbose_name="已安排活动", null=True, blank=True, on_delete=models.SET_NULL,
        related_name="needs",
    )  # fmt: skip

    class Meta:
        verbose_name = verbose_name_plural = "居民需求"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.text[:20]


class Activity(models.Model):
    """服务活动: draft → published for claiming → claimed by a team (抢单) or assigned by the
    community (派单) → open for sign-up → held → completed → settled (points issued), or
    cancelled. Declared in activities.workflow; every change is an ActivityEvent."""

    class Status(models.TextChoices):
        DRAFT = "draft", "草稿"
        PUBLISHED = "published", "待认领"
        CLAIMED = "claimed", "已认领"
        SIGNUP = "signup", "报名中"
        HELD = "held", "已举行"
        COMPLETED = "completed", "已完成"
        SETTLED = "settled", "已结算"
        CANCELLED = "cancelled", "已取消"

    region_code = RegionCodeField(help_text="所属社区")
    title = models.CharField("活动名称", max_length=80)
    description = models.TextField("活动内容", max_length=2000, blank=True)
    service_type = models.ForeignKey(ServiceType, verbose_name="服务类型", on_delete=models.PROTECT)
    venue = models.ForeignKey(
        Venue, verbose_name="阵地", null=True, blank=True, on_delete=models.PROTECT,
        related_name="activities",
    )  # fmt: skip
    place = models.CharField("地点说明", max_length=200, blank=True)
    starts_at = models.DateTimeField("开始时间")
    ends_at = models.DateTimeField("结束时间")
    capacity = models.PositiveIntegerField("名额")
    points = models.PositiveIntegerField("每人积分", default=0)
    holiday_tag = models.CharField(
        "节日专题", max_length=16, blank=True, help_text="如：春节、端午、中秋"
    )
    status = models.CharField("状态", max_length=16, choices=Status.choices, default=Status.DRAFT)
    team = models.ForeignKey(
        VolunteerTeam, verbose_name="承办队伍", null=True, blank=True, on_delete=models.PROTECT,
        related_name="activities",
    )  # fmt: skip
    assigned = models.BooleanField("社区派单", default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)
    sequence = models.PositiveIntegerField("版本", default=0, help_text="iCalendar SEQUENCE")
    cancel_reason = models.CharField("取消原因", max_length=200, blank=True)
    check_in_secret = models.CharField("签到密钥", max_length=32)

    class Meta:
        verbose_name = verbose_name_plural = "服务活动"
        ordering = ["starts_at"]
        indexes = [
            models.Index(
                fields=["region_code", "starts_at"],
                name="activity_calendar_idx",
                opclasses=["varchar_pattern_ops", ""],
            )
        ]
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="activity_times"),
            models.CheckConstraint(condition=Q(capacity__gte=1), name="activity_capacity"),
        ]

    def __str__(self) -> str:
        return self.title


class ActivityEvent(StepEvent):
    """活动流转记录: appended at each step, never changed."""

    activity = models.ForeignKey(Activity, on_delete=models.CASCADE, related_name="events")

    class Meta:
        verbose_name = verbose_name_plural = "活动流转记录"
        ordering = ["activity", "at", "id"]

    def __str__(self) -> str:
        return f"{self.activity_id} {self.action}"


class SignUp(models.Model):
    """报名: confirmed within capacity, otherwise on the waitlist (promoted in order when a
    place frees). Check-in and check-out give the service hours.

    出勤: a check-in by the rotating code only claims attendance (签到待确认); the team's
    leader (or staff) confirms it or strikes it out, and may confirm someone who has no
    phone. Only confirmed attendance counts: the settlement pays its points, the figures
    count its hours."""

    class Status(models.TextChoices):
        CONFIRMED = "confirmed", "已报名"
        WAITLISTED = "waitlisted", "候补"
        CANCELLED = "cancelled", "已取消"

    class Attendance(models.TextChoices):
        NONE = "", "未签到"
        CLAIMED = "claimed", "已签到，待确认"
        CONFIRMED = "confirmed", "已确认出勤"
        STRUCK = "struck", "未出勤"

    activity = models.ForeignKey(Activity, on_delete=models.CASCADE, related_name="signups")
    resident = models.ForeignKey(
        "residents.Resident", on_delete=models.PROTECT, related_name="signups"
    )
    status = models.CharField("状态", max_length=16, choices=Status.choices)
    created_at = models.DateTimeField("报名时间", auto_now_add=True)
    checked_in_at = models.DateTimeField("签到时间", null=True, blank=True)
    check_in_step = models.PositiveBigIntegerField(
        "签到码时段", null=True, blank=True, help_text="签到所用签到码的时段编号"
    )
    checked_out_at = models.DateTimeField("签退时间", null=True, blank=True)
    attendance = models.CharField(
        "出勤", max_length=16, choices=Attendance.choices, blank=True, default=Attendance.NONE
    )
    hours = models.DecimalField("服务时长（小时）", max_digits=5, decimal_places=2, default=0)

    class Meta:
        verbose_name = verbose_name_plural = "报名"
        ordering = ["activity", "created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["activity", "resident"], name="signup_once"),
            # A claim is a check-in: there is nothing to confirm without one.
            models.CheckConstraint(
                condition=~Q(attendance="claimed") | Q(checked_in_at__isnull=False),
                name="signup_claim_is_a_check_in",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.activity_id} {self.resident_id}"

    @property
    def attended(self) -> bool:
        return self.attendance == self.Attendance.CONFIRMED
