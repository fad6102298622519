"""Service activities (服务进小区): residents' needs, the monthly plan, volunteer teams that
claim or are assigned activities. Each activity is a gathering (gatherings app): its
time, venue, sign-up, check-in, attendance and hours are there. Points are the points
app's."""

from django.conf import settings
from django.db import models

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


class VolunteerTeam(models.Model):
    """志愿服务队: a team with its leader and members, based at a region node — a
    community's, or a town's or the county's (a retirees' volunteer corps), whose
    sub-teams name it as their parent. It takes activities in its town, or anywhere
    under its node if it is above a town."""

    region_code = RegionCodeField(db_index=True, help_text="所属区划（社区、街道或县）")
    parent = models.ForeignKey(
        "self", verbose_name="上级队伍", null=True, blank=True, on_delete=models.PROTECT,
        related_name="sub_teams",
    )  # fmt: skip
    name = models.CharField("名称", max_length=64)
    leader = models.ForeignKey(
        "residents.Resident",
        verbose_name="队长",
        on_delete=models.PROTECT,
        related_name="led_teams",
    )
    service_types = models.ManyToManyField(ServiceType, verbose_name="服务类型", blank=True)
    # 党组织领办: the party organization that leads the team (a 小区 branch's service team).
    led_by = models.ForeignKey(
        "party.PartyOrganization",
        verbose_name="领办党组织",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="led_teams",
    )
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
        HELD = "held", "进行中"
        COMPLETED = "completed", "已完成"
        SETTLED = "settled", "已结算"
        CANCELLED = "cancelled", "已取消"

    region_code = RegionCodeField(help_text="所属社区")
    gathering = models.OneToOneField(
        "gatherings.Gathering", verbose_name="时间地点与报名", on_delete=models.PROTECT,
        related_name="+",
    )  # fmt: skip
    service_type = models.ForeignKey(ServiceType, verbose_name="服务类型", on_delete=models.PROTECT)
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
    sequence = models.PositiveIntegerField("版本", default=0, help_text="每一步加一")

    class Meta:
        verbose_name = verbose_name_plural = "服务活动"
        ordering = ["gathering__starts_at"]

    def __str__(self) -> str:
        return self.gathering.title


class ActivityEvent(StepEvent):
    """活动流转记录: appended at each step, never changed."""

    activity = models.ForeignKey(Activity, on_delete=models.CASCADE, related_name="events")

    class Meta:
        verbose_name = verbose_name_plural = "活动流转记录"
        ordering = ["activity", "at", "id"]

    def __str__(self) -> str:
        return f"{self.activity_id} {self.action}"
