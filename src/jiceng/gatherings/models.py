"""Gatherings (ARCHITECTURE idea 9): a time, a place, who may come, sign-up with a
waitlist, check-in by a rotating code, attendance and hours — one mechanism for every
kind of meeting. The app that owns a kind (a service activity, a branch's meeting, a
deliberation) keeps its own fields in its own model, pointing at its gathering, and
declares the kind in gatherings.kinds; nothing here knows any kind."""

from django.core.exceptions import ObjectDoesNotExist
from django.db import models
from django.db.models import F, Q

from jiceng.core.fields import RegionCodeField
from jiceng.core.masking import mask_name
from jiceng.core.personal import sealed_storage


class Venue(models.Model):
    """阵地: 红帆驿站, 红色议事厅, a square, a building's ground floor, a town's or the
    county's 党群服务中心 … with capacity and hours, at any region node; gatherings within
    that node book it."""

    class Kind(models.TextChoices):
        STATION = "station", "红帆驿站"
        HALL = "hall", "红色议事厅"
        SQUARE = "square", "小区广场"
        UNDERCROFT = "undercroft", "楼栋架空层"
        CENTRE = "centre", "党群服务中心"
        COLLEGE = "college", "老年大学"
        OTHER = "other", "其他"

    region_code = RegionCodeField(db_index=True, help_text="所属区划（社区、街道或县）")
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
            models.CheckConstraint(
                condition=Q(closes_at__gt=F("opens_at")), name="gathering_venue_hours"
            ),
            models.CheckConstraint(condition=Q(capacity__gte=1), name="gathering_venue_capacity"),
        ]

    def __str__(self) -> str:
        return self.name


class Gathering(models.Model):
    """One meeting of people at a time and a place. Its phase is set by the app owning its
    kind, from that app's own process: planned, open for sign-up, under way (check-in),
    closed (attendance final), or cancelled."""

    class Audience(models.TextChoices):
        OPEN = "open", "面向所有居民"
        RESIDENTS = "residents", "本区划登记居民"
        BRANCH = "branch", "支部党员"
        INVITED = "invited", "受邀人员"
        REPRESENTATIVES = "representatives", "代表"

    class Phase(models.TextChoices):
        DRAFT = "draft", "草稿"
        PLANNED = "planned", "筹备中"
        OPEN = "open", "报名中"
        UNDER_WAY = "under_way", "进行中"
        CLOSED = "closed", "已结束"
        CANCELLED = "cancelled", "已取消"

    kind = models.CharField("类型", max_length=32, db_index=True)
    region_code = RegionCodeField(help_text="举办地所属区划")
    title = models.CharField("名称", max_length=80)
    description = models.TextField("内容", max_length=2000, blank=True)
    starts_at = models.DateTimeField("开始时间")
    ends_at = models.DateTimeField("结束时间")
    venue = models.ForeignKey(
        Venue, verbose_name="阵地", null=True, blank=True, on_delete=models.PROTECT,
        related_name="gatherings",
    )  # fmt: skip
    place = models.CharField("地点说明", max_length=200, blank=True)
    capacity = models.PositiveIntegerField("名额")
    audience = models.CharField(
        "参加对象", max_length=16, choices=Audience.choices, default=Audience.OPEN
    )
    phase = models.CharField(
        "阶段", max_length=16, choices=Phase.choices, default=Phase.DRAFT, db_index=True
    )
    public = models.BooleanField("公开预告", default=False)
    series = models.ForeignKey(
        "Series", verbose_name="系列", null=True, blank=True, on_delete=models.SET_NULL,
        related_name="occurrences",
    )  # fmt: skip
    occurrence = models.DateTimeField(
        "原定时间", null=True, blank=True, help_text="系列中这一次原定的开始时间（RECURRENCE-ID）"
    )
    check_in_secret = models.CharField("签到密钥", max_length=32)
    cancel_reason = models.CharField("取消原因", max_length=200, blank=True)
    sequence = models.PositiveIntegerField("版本", default=0, help_text="iCalendar SEQUENCE")
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        verbose_name = verbose_name_plural = "聚会"
        ordering = ["starts_at", "id"]
        indexes = [
            models.Index(
                fields=["region_code", "starts_at"],
                name="gathering_calendar_idx",
                opclasses=["varchar_pattern_ops", ""],
            )
        ]
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="gathering_times"),
            models.CheckConstraint(condition=Q(capacity__gte=1), name="gathering_capacity"),
            models.UniqueConstraint(
                fields=["series", "occurrence"], name="gathering_occurrence_once"
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def where(self) -> str:
        return " ".join(p for p in (self.venue.name if self.venue_id else "", self.place) if p)


class Series(models.Model):
    """A recurring gathering (物业经理接待日 every Tuesday afternoon, 主题党日 on the first
    Friday of the month): an iCalendar RRULE from a first start. Each occurrence is a
    gathering of its own, moved or cancelled one by one (RECURRENCE-ID, EXDATE)."""

    kind = models.CharField("类型", max_length=32)
    region_code = RegionCodeField(help_text="举办地所属区划")
    rule = models.CharField("重复规则", max_length=200, help_text="iCalendar RRULE")
    first_starts_at = models.DateTimeField("首次开始时间")
    duration = models.DurationField("时长")
    until = models.DateField("截止日期", help_text="最后一次不晚于这一天")
    created_at = models.DateTimeField("创建时间", auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = "系列聚会"

    def __str__(self) -> str:
        return self.rule


class SignUp(models.Model):
    """报名: confirmed within capacity, otherwise on the waitlist (promoted in order when a
    place frees); or invited by the organizer. Check-in and check-out give the hours.

    出勤: a check-in by the rotating code only claims attendance (签到待确认); the
    organizer confirms it or strikes it out, marks present someone with no phone (a paper
    sheet), or records leave (请假) with its reason. Only confirmed attendance counts."""

    class Status(models.TextChoices):
        CONFIRMED = "confirmed", "已报名"
        WAITLISTED = "waitlisted", "候补"
        CANCELLED = "cancelled", "已取消"

    class Attendance(models.TextChoices):
        NONE = "", "未签到"
        CLAIMED = "claimed", "已签到，待确认"
        CONFIRMED = "confirmed", "已确认出勤"
        STRUCK = "struck", "未出勤"
        LEAVE = "leave", "请假"

    gathering = models.ForeignKey(Gathering, on_delete=models.CASCADE, related_name="signups")
    # Who: a resident account (a sign-up, a check-in by phone), a person of the register
    # the organizer put on the roster (an elderly member with no phone account), or both
    # once that person's own account checks in.
    resident = models.ForeignKey(
        "residents.Resident", on_delete=models.PROTECT, related_name="signups", null=True
    )
    person = models.ForeignKey(
        "places.Person", on_delete=models.PROTECT, related_name="signups", null=True
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
    reason = models.CharField("事由", max_length=200, blank=True, help_text="请假或未出勤的原因")
    hours = models.DecimalField("时长（小时）", max_digits=5, decimal_places=2, default=0)

    class Meta:
        verbose_name = verbose_name_plural = "报名"
        ordering = ["gathering", "created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["gathering", "resident"], name="gathering_signup_once"),
            models.UniqueConstraint(fields=["gathering", "person"], name="gathering_person_once"),
            models.CheckConstraint(
                condition=Q(resident__isnull=False) | Q(person__isnull=False),
                name="gathering_signup_is_someone",
            ),
            # A claim is a check-in: there is nothing to confirm without one.
            models.CheckConstraint(
                condition=~Q(attendance="claimed") | Q(checked_in_at__isnull=False),
                name="gathering_claim_is_a_check_in",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.gathering_id} {self.resident_id or ''} {self.person_id or ''}"

    @property
    def account(self):
        """The resident account of this row (its own, or its person's), if any."""
        if self.resident_id:
            return self.resident
        try:
            return self.person.resident if self.person else None
        except ObjectDoesNotExist:
            return None

    @property
    def label(self) -> str:
        """How the row's person appears on a roster: 张*明, or a phone's last four digits."""
        return mask_name(self.person.name) if self.person_id else self.resident.label

    @property
    def who(self):
        """The register record shown for this row (its own, or its account's), if any."""
        return self.person or (self.resident.person if self.resident else None)

    @property
    def attended(self) -> bool:
        return self.attendance == self.Attendance.CONFIRMED


class SheetPage(models.Model):
    """纸质签到表: a photo of a page of the paper sheet signed by those without a phone,
    the evidence of the marks made by hand. Pages are added, never replaced, and kept
    sealed with the gathering."""

    gathering = models.ForeignKey(Gathering, on_delete=models.CASCADE, related_name="sheets")
    photo = models.FileField("照片", upload_to="gatherings/sheets/%Y/%m/", storage=sealed_storage)
    added_at = models.DateTimeField("上传时间", auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = "纸质签到表"
        ordering = ["gathering", "added_at", "id"]

    def __str__(self) -> str:
        return f"{self.gathering_id} {self.pk}"
