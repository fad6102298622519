"""Kernel records: the audit trail, the editable holiday table, throttle counters, the
outbox of messages to send and the worker's schedule."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from jiceng.core import actors
from jiceng.core.fields import RegionCodeField
from jiceng.core.history import AppendOnly, StepEvent


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
    actor_kind = models.CharField("操作人类型", max_length=8, choices=actors.KINDS, blank=True)
    actor_username = models.CharField(
        "操作人账号",
        max_length=150,
        blank=True,
        help_text="账号；居民为 resident:编号；系统为任务名",
    )
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


class KeyCheck(models.Model):
    """密钥校验值: each master key that has sealed personal data here, by its id and check
    value (core.keys), and which one the blind indexes are under. A process started with
    keys the database does not know refuses to run, instead of writing data no one can
    read or finding nobody."""

    key_id = models.CharField("密钥标识", max_length=16, unique=True)
    check_value = models.CharField("校验值", max_length=64)
    holds_indexes = models.BooleanField("盲索引密钥", default=False)
    added_at = models.DateTimeField("启用时间", default=timezone.now)

    class Meta:
        verbose_name = verbose_name_plural = "密钥校验值"
        constraints = [
            models.UniqueConstraint(
                fields=["holds_indexes"],
                condition=models.Q(holds_indexes=True),
                name="keycheck_one_index_key",
            )
        ]

    def __str__(self) -> str:
        return self.key_id


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


class OutboxMessage(models.Model):
    """外发消息: one message to send once the action that causes it has committed — an SMS
    to a phone, or the outbound copy of a staff member's in-app notice. Written in the
    action's transaction; the table is the queue that `jiceng worker` sends from (see
    core.outbox), so a failed gateway or a killed worker loses nothing."""

    class Channel(models.TextChoices):
        SMS = "sms", "短信"
        NOTICE = "notice", "工作通知"

    class Status(models.TextChoices):
        PENDING = "pending", "待发送"
        SENT = "sent", "已发送"
        EXPIRED = "expired", "已过期"
        FAILED = "failed", "发送失败"

    channel = models.CharField("渠道", max_length=16, choices=Channel.choices)
    key = models.CharField("幂等键", max_length=200, unique=True, help_text="也交给网关去重")
    template = models.CharField("模板", max_length=64)
    # The address and the template's parameters (phones, codes, passwords), sealed by
    # core.outbox and emptied once the message is sent, expired or given up.
    payload = models.TextField("内容", blank=True)
    recipient = models.CharField("接收方摘要", max_length=64, help_text="按接收方限量用")
    status = models.CharField("状态", max_length=8, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField("已尝试", default=0)
    next_attempt_at = models.DateTimeField("下次尝试", default=timezone.now)
    claimed_until = models.DateTimeField("占用至", null=True, blank=True)
    expires_at = models.DateTimeField("过期时间", null=True, blank=True)
    created_at = models.DateTimeField("创建时间", default=timezone.now)
    sent_at = models.DateTimeField("发送时间", null=True, blank=True)
    last_error = models.CharField("最近错误", max_length=200, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "外发消息"
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(status="pending"),
                name="outbox_due_idx",
            ),
            models.Index(fields=["recipient", "channel", "sent_at"], name="outbox_recipient_idx"),
            models.Index(fields=["created_at"], name="outbox_created_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} {self.template} {self.get_status_display()}"


class ScheduledJob(models.Model):
    """定时任务: a job `jiceng worker` runs every so often (deadline notices, points
    expiry …). The app that owns a job registers it in code (core.schedule); its row holds
    when it runs next and the lease of the worker running it, so that one run happens at
    a time across workers and a run lost with a killed worker is taken up again."""

    name = models.CharField("名称", max_length=64, unique=True)
    every_seconds = models.PositiveIntegerField("间隔（秒）")
    is_enabled = models.BooleanField("启用", default=True)
    next_run_at = models.DateTimeField("下次运行", default=timezone.now)
    claimed_until = models.DateTimeField("占用至", null=True, blank=True)
    last_started_at = models.DateTimeField("最近开始", null=True, blank=True)
    last_finished_at = models.DateTimeField("最近结束", null=True, blank=True)
    last_result = models.CharField("最近结果", max_length=200, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "定时任务"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Deadline(models.Model):
    """时限: the current due time of one tracked item of a process (a request's step, and
    later a handover or a resolution's action), kept by the process runner as the item
    moves: one row per item, closed when the item leaves the clock. The supervision queue
    and the dashboards page and count over these rows, whatever the process. `warn_at` is
    when the item turns yellow (黄牌); it is red once `due_at` has passed."""

    region_code = RegionCodeField()
    kind = models.CharField("类别", max_length=32, help_text="如 cases.case")
    object_id = models.PositiveBigIntegerField("对象")
    due_at = models.DateTimeField("到期")
    warn_at = models.DateTimeField("预警")
    closed_at = models.DateTimeField("结束", null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "时限"
        constraints = [
            models.UniqueConstraint(fields=["kind", "object_id"], name="deadline_one_per_item")
        ]
        indexes = [
            models.Index(fields=["region_code", "closed_at", "due_at"], name="deadline_queue_idx"),
            models.Index(fields=["closed_at", "due_at"], name="deadline_open_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind}:{self.object_id} {self.due_at:%Y-%m-%d %H:%M}"


class Approval(models.Model):
    """审批: one action that needs a second person, asked by one staff member and decided
    by another who holds the kind's permission at `region_code` (a large points
    adjustment, reveals past the hour's quota, voiding a batch of suspect requests), or
    one taken at once in an emergency and reviewed afterwards. Its steps run on the
    process runner (core.approvals), so the four-eyes rule, the audit trail and the
    event history are the same as every other process's."""

    class Status(models.TextChoices):
        PENDING = "pending", "待审批"
        APPROVED = "approved", "已批准"
        REFUSED = "refused", "未批准"
        CANCELLED = "cancelled", "已撤回"
        REVIEW = "review", "待复核"
        REVIEWED = "reviewed", "复核无误"
        FLAGGED = "flagged", "复核有疑"

    kind = models.CharField("类别", max_length=48)
    region_code = RegionCodeField()
    status = models.CharField("状态", max_length=16, choices=Status.choices)
    summary = models.CharField("事项", max_length=200)
    reason = models.CharField("理由", max_length=300, blank=True)
    payload = models.JSONField("内容", default=dict, blank=True)
    object_type = models.CharField("对象类型", max_length=64, blank=True)
    object_id = models.CharField("对象", max_length=64, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="提出人",
        on_delete=models.PROTECT,
        related_name="+",
    )
    requested_at = models.DateTimeField("提出时间", default=timezone.now)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="审批人",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    decided_at = models.DateTimeField("审批时间", null=True, blank=True)
    decision_note = models.CharField("审批意见", max_length=300, blank=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        verbose_name = verbose_name_plural = "审批"
        ordering = ["-requested_at", "-id"]
        indexes = [
            models.Index(fields=["status", "kind", "region_code"], name="approval_queue_idx"),
            models.Index(fields=["object_type", "object_id"], name="approval_object_idx"),
        ]

    def __str__(self) -> str:
        return self.summary


class ApprovalEvent(StepEvent):
    """审批流转记录: appended at each step, never changed."""

    approval = models.ForeignKey(Approval, on_delete=models.CASCADE, related_name="events")

    class Meta:
        verbose_name = verbose_name_plural = "审批流转记录"
        ordering = ["approval", "at", "id"]

    def __str__(self) -> str:
        return f"{self.approval_id} {self.action}"
