"""Kernel records: the audit trail and the editable holiday table."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from jiceng.core.fields import RegionCodeField
from jiceng.core.history import AppendOnly


class AuditEvent(AppendOnly):
    """审计日志: one row per thing done or refused. Appended, never changed; kept at least
    six months (等保 2.0), after which the operator may archive and purge it."""

    deletable_after_days = 183

    SUCCESS = "success"
    FAILURE = "failure"
    OUTCOMES = [(SUCCESS, "成功"), (FAILURE, "失败")]

    at = models.DateTimeField("时间", default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="操作人",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    actor_username = models.CharField("操作人账号", max_length=150, blank=True)
    action = models.CharField("事件类型", max_length=64, db_index=True)
    object_type = models.CharField("对象类型", max_length=64, blank=True)
    object_id = models.CharField("对象", max_length=64, blank=True)
    region_code = RegionCodeField(blank=True, db_index=True)
    outcome = models.CharField("结果", max_length=8, choices=OUTCOMES, default=SUCCESS)
    detail = models.JSONField("详情", default=dict, blank=True)
    ip_address = models.GenericIPAddressField("来源地址", null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "审计日志"
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["object_type", "object_id"], name="audit_object_idx")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor_username} {self.action}"


class Holiday(models.Model):
    """节假日调整: a day whose working status the published calendar gets wrong or lacks.

    Staff enter each year's State Council holiday notice here once it is published; a row
    overrides the bundled calendar for its date.
    """

    date = models.DateField("日期", unique=True)
    is_workday = models.BooleanField("是否工作日", help_text="调休上班日勾选；放假日不勾选。")
    name = models.CharField("名称", max_length=50, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "节假日调整"
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date} {'上班' if self.is_workday else '放假'} {self.name}"


class ThrottleHit(models.Model):
    """One counted try (a sign-in, a code checked) under a limit. The key is a keyed digest
    of what is limited (an account and an address, a phone), never the value itself."""

    scope = models.CharField("限制项", max_length=32)
    key = models.CharField("摘要", max_length=64)
    at = models.DateTimeField("时间", default=timezone.now)

    class Meta:
        verbose_name = verbose_name_plural = "频次记录"
        indexes = [models.Index(fields=["scope", "key", "at"], name="throttle_key_at_idx")]

    def __str__(self) -> str:
        return f"{self.scope} {self.at:%Y-%m-%d %H:%M:%S}"
