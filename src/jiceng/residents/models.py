"""Residents who sign in (by phone and a one-time code) to take part in activities and
use their points. A resident is linked to their person record once staff confirm it."""

from django.conf import settings
from django.db import models

from jiceng.core.fields import RegionCodeField
from jiceng.core.masking import mask_name
from jiceng.core.personal import BlindIndexField, PersonalField


class Resident(models.Model):
    """居民账号: a phone number that has proved itself by a one-time code."""

    # The sign-in key: sealed, and found by its blind index (`filter(phone=…)` uses it).
    phone = PersonalField("手机号", kind="phone")
    phone_index = BlindIndexField("手机号索引", source="phone", unique=True)
    # Staff find a resident by the last four digits (the points ledger's search).
    phone_tail = BlindIndexField("手机号后四位索引", source="phone", tail=4, db_index=True)
    display_name = models.CharField("称呼", max_length=32, blank=True)
    region_code = RegionCodeField(blank=True, db_index=True, help_text="所在社区或网格")
    person = models.OneToOneField(
        "places.Person",
        verbose_name="对应实有人口",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="resident",
    )
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="核实人",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    confirmed_at = models.DateTimeField("核实时间", null=True, blank=True)
    created_at = models.DateTimeField("注册时间", auto_now_add=True)
    last_login_at = models.DateTimeField("最近登录", null=True, blank=True)
    is_active = models.BooleanField("有效", default=True)

    class Meta:
        verbose_name = verbose_name_plural = "居民账号"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.display_name or self.phone[-4:]

    @property
    def label(self) -> str:
        """How a resident appears to others: 张*明, or their phone's last four digits."""
        if self.person_id:
            return mask_name(self.person.name)
        if self.display_name:
            return mask_name(self.display_name)
        return f"尾号{self.phone[-4:]}"


class OneTimeCode(models.Model):
    """A sign-in code sent by SMS. Only its digest is kept; it expires and allows a few
    attempts (counted before each comparison, see residents.services.otp_verify)."""

    phone = PersonalField("手机号", kind="phone")
    phone_index = BlindIndexField("手机号索引", source="phone", db_index=True)
    digest = models.CharField("摘要", max_length=64)
    created_at = models.DateTimeField("发送时间", auto_now_add=True)
    expires_at = models.DateTimeField("过期时间")
    attempts = models.PositiveSmallIntegerField("已尝试", default=0)
    used_at = models.DateTimeField("使用时间", null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "登录验证码"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return str(self.phone)


class ClaimedCase(models.Model):
    """认领的诉求: a request a resident proved their own (by its 查询码 and the last four
    digits of the phone it was made with), listed under 我的诉求 whatever the phone."""

    resident = models.ForeignKey(
        Resident, verbose_name="居民", on_delete=models.CASCADE, related_name="claimed_cases"
    )
    case = models.ForeignKey(
        "cases.Case", verbose_name="诉求", on_delete=models.CASCADE, related_name="+"
    )
    claimed_at = models.DateTimeField("认领时间", auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = "认领的诉求"
        ordering = ["-claimed_at"]
        constraints = [
            models.UniqueConstraint(fields=["resident", "case"], name="claimed_case_once")
        ]

    def __str__(self) -> str:
        return f"{self.resident_id}:{self.case_id}"


class Rider(models.Model):
    """红骑手: a courier or driver of the new employment groups (新就业群体) who serves as a
    volunteer grid worker: a resident with this registration, paired with the worker of
    the grid they ride in. What they report is tagged as a rider's (cases.Case.reported_as).
    A registration ends (a date and a reason); it is never deleted."""

    resident = models.ForeignKey(
        Resident, verbose_name="居民账号", on_delete=models.PROTECT, related_name="riders"
    )
    region_code = RegionCodeField(db_index=True, help_text="结对网格")
    platform = models.CharField("所属平台或单位", max_length=32)
    paired_with = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="结对网格员",
        on_delete=models.PROTECT,
        related_name="paired_riders",
    )
    registered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="登记人", on_delete=models.PROTECT, related_name="+"
    )
    registered_on = models.DateField("登记日期")
    ended_on = models.DateField("退出日期", null=True, blank=True)
    ended_reason = models.CharField("退出原因", max_length=100, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "红骑手"
        ordering = ["region_code", "-registered_on", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["resident"],
                condition=models.Q(ended_on__isnull=True),
                name="rider_registered_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.platform} {self.resident.label}"
