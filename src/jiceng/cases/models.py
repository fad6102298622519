"""Resident requests (诉求, 工单): the catalogue of request types, the requests, their
events, photos, and the notifications they cause. The process itself is declared in
cases.workflow; every change goes through cases.services."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from jiceng.core.calendar import DAY, UNITS
from jiceng.core.fields import RegionCodeField
from jiceng.core.history import AppendOnly
from jiceng.core.personal import BlindIndexField, PersonalField


class Category(models.Model):
    """诉求类别: a request type, with its time limits and default handler. Top-level
    categories group sub-categories; requests are filed under sub-categories. Each is an
    Open311 service (its `code` is the service_code)."""

    region_code = RegionCodeField(db_index=True, help_text="所属县（市、区）")
    code = models.SlugField("代码", max_length=48)
    name = models.CharField("名称", max_length=64)
    parent = models.ForeignKey(
        "self",
        verbose_name="上级类别",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    description = models.CharField("说明", max_length=300, blank=True)
    keywords = models.CharField("关键词", max_length=200, blank=True)
    is_active = models.BooleanField("启用", default=True)
    sort_order = models.PositiveSmallIntegerField("排序", default=0)
    default_department = models.ForeignKey(
        "accounts.Department",
        verbose_name="默认承办部门",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        help_text="空白表示由所在网格的网格员承办",
    )
    accept_limit = models.PositiveSmallIntegerField("受理时限", default=4)
    accept_unit = models.CharField("受理时限单位", max_length=8, choices=UNITS, default="hour")
    handle_limit = models.PositiveSmallIntegerField("办理时限", default=5)
    handle_unit = models.CharField("办理时限单位", max_length=8, choices=UNITS, default=DAY)
    check_limit = models.PositiveSmallIntegerField("核查时限", default=1)
    check_unit = models.CharField("核查时限单位", max_length=8, choices=UNITS, default=DAY)
    return_limit_days = models.PositiveSmallIntegerField(
        "退单时限（工作日）", default=2, help_text="派单后多少个工作日内可退单"
    )
    max_extension_days = models.PositiveSmallIntegerField(
        "最多延期（工作日）", default=5, help_text="办理时限加延期合计不超过10个工作日"
    )

    class Meta:
        verbose_name = verbose_name_plural = "诉求类别"
        ordering = ["region_code", "sort_order", "code"]
        constraints = [
            models.UniqueConstraint(fields=["region_code", "code"], name="category_code"),
            models.CheckConstraint(
                condition=Q(handle_limit__gte=1) & Q(accept_limit__gte=1),
                name="category_limits_positive",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.parent.name}·{self.name}" if self.parent_id else self.name

    @property
    def is_group(self) -> bool:
        return self.parent_id is None


class Question(models.Model):
    """附加问题: an extra question a category asks (an Open311 service attribute)."""

    class Datatype(models.TextChoices):
        STRING = "string", "单行文字"
        NUMBER = "number", "数字"
        DATETIME = "datetime", "日期时间"
        TEXT = "text", "多行文字"
        SINGLE = "singlevaluelist", "单选"
        MULTI = "multivaluelist", "多选"

    category = models.ForeignKey(
        Category, verbose_name="类别", on_delete=models.CASCADE, related_name="questions"
    )
    code = models.SlugField("代码", max_length=48)
    label = models.CharField("问题", max_length=120)
    datatype = models.CharField("类型", max_length=16, choices=Datatype.choices)
    required = models.BooleanField("必答", default=False)
    order = models.PositiveSmallIntegerField("顺序", default=0)
    values = models.JSONField(
        "选项", default=list, blank=True, help_text='单选、多选的选项：[{"key": "1", "name": "是"}]'
    )

    class Meta:
        verbose_name = verbose_name_plural = "附加问题"
        ordering = ["category", "order", "id"]
        constraints = [models.UniqueConstraint(fields=["category", "code"], name="question_code")]

    def __str__(self) -> str:
        return self.label


class Case(models.Model):
    """诉求（工单）: one resident request, from intake to rating. Its status changes only
    through the transitions declared in cases.workflow; each change appends an Event."""

    class Status(models.TextChoices):
        RECEIVED = "received", "待受理"
        ACCEPTED = "accepted", "待派单"
        DISPATCHED = "dispatched", "待接单"
        IN_PROGRESS = "in_progress", "办理中"
        HANDLED = "handled", "待核查"
        CLOSED = "closed", "已办结"
        VOIDED = "voided", "已作废"
        MERGED = "merged", "已合并"

    class Channel(models.TextChoices):
        QR = "qr", "扫码上报"
        STAFF = "staff", "代为登记"
        PATROL = "patrol", "巡查发现"
        OPEN311 = "open311", "Open311"
        API = "api", "接口"

    class ReportedAs(models.TextChoices):
        CAPTAIN = "captain", "楼栋长（单元长、胡同长）"
        RIDER = "rider", "红骑手"
        PROPERTY = "property", "物业兼职网格员"

    class Rating(models.IntegerChoices):
        VERY_SATISFIED = 5, "非常满意"
        SATISFIED = 4, "满意"
        FAIRLY_SATISFIED = 3, "基本满意"
        DISSATISFIED = 2, "不满意"
        VERY_DISSATISFIED = 1, "非常不满意"

    OPEN = (
        Status.RECEIVED,
        Status.ACCEPTED,
        Status.DISPATCHED,
        Status.IN_PROGRESS,
        Status.HANDLED,
    )

    region_code = RegionCodeField(
        help_text="所在网格；经接口进来、尚未定位到网格的，为乡镇或县的编码"
    )
    tracking_code = models.CharField("查询码", max_length=12)
    access_token = models.CharField("查看凭据", max_length=32)
    category = models.ForeignKey(
        Category,
        verbose_name="类别",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        db_index=False,
    )
    description = models.TextField("诉求内容", max_length=4000)
    answers = models.JSONField("附加问题回答", default=dict, blank=True)
    channel = models.CharField("来源", max_length=16, choices=Channel.choices)
    # Who reported it, where the reporter serves (党建引领): a captain for their building,
    # a rider (红骑手) on their round, a property company's part-time grid worker.
    reported_as = models.CharField(
        "上报身份",
        max_length=16,
        choices=ReportedAs.choices,
        blank=True,
        default="",
        db_default="",  # rows written by COPY (the demo's history) leave it out
    )
    status = models.CharField(
        "状态", max_length=16, choices=Status.choices, default=Status.RECEIVED
    )
    # Where
    building = models.ForeignKey(
        "places.Building",
        verbose_name="楼栋",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        db_index=False,
    )
    unit_number = models.PositiveSmallIntegerField("单元", null=True, blank=True)
    address = models.CharField("地点", max_length=200, blank=True)
    media_url = models.URLField("外部图片链接", max_length=500, blank=True)
    latitude = models.DecimalField("纬度", max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField("经度", max_digits=9, decimal_places=6, null=True, blank=True)
    # Who asked (personal data: masked; hidden from the handler if the resident wishes)
    reporter_name = models.CharField("反映人", max_length=64, blank=True)
    reporter_phone = PersonalField("联系电话", kind="phone", blank=True)
    # Database defaults on the columns added later: bulk writers (the demo, benchmarks)
    # that name only the columns they fill still write valid rows.
    # Found by these, never read in clear: a signed-in resident's requests (the whole
    # number), and the lookup by 查询码 with the last four digits.
    reporter_phone_index = BlindIndexField(
        "联系电话索引", source="reporter_phone", db_index=True, db_default=""
    )
    reporter_phone_tail = BlindIndexField(
        "联系电话尾号索引", source="reporter_phone", tail=4, db_default=""
    )

    class ReporterShownTo(models.TextChoices):
        COMMUNITY = "community", "社区及以上工作人员"
        GRID = "grid", "社区及以上工作人员和本网格网格员"
        # Requests made before the default became "community": the resident had asked to
        # stay anonymous to the handler (对承办人匿名), which still holds.
        NOT_HANDLER = "not_handler", "社区及以上工作人员，承办人除外"

    reporter_shown_to = models.CharField(
        "反映人联系方式可见范围",
        max_length=16,
        choices=ReporterShownTo.choices,
        default=ReporterShownTo.COMMUNITY,
        db_default=ReporterShownTo.COMMUNITY,
        help_text="默认只有社区及以上工作人员能看到；居民同意时网格员也能看到",
    )
    reporter_account = models.CharField("反映人账号", max_length=100, blank=True)
    device_id = models.CharField("设备标识", max_length=100, blank=True)
    client_fingerprint = models.CharField("来源指纹", max_length=64, blank=True)
    is_suspect = models.BooleanField(
        "可疑提交",
        default=False,
        db_default=False,
        help_text="网格一小时内收到的匿名提交超过上限后的提交：留待甄别，不计时限，不发短信",
    )
    # A suspect listed in a bulk void awaiting a second person's approval: held (neither
    # confirmed nor proposed again) until the approval is decided; the approval that
    # voided it stays named.
    void_proposal = models.ForeignKey(
        "core.Approval",
        verbose_name="批量作废审批",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="登记人",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    open311_client = models.ForeignKey(
        "cases.Open311Client",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    patrol = models.ForeignKey(
        "patrols.Patrol",
        verbose_name="发现于巡查",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="findings",
    )
    idempotency_key = models.CharField("幂等键", max_length=80, blank=True)
    # About staff (反映工作人员): the request goes to the town, and those it names neither
    # see it nor triage, handle or void it.
    about_staff = models.BooleanField(
        "反映工作人员", default=False, db_default=False, help_text="反映的是工作人员的问题"
    )
    named_grid_code = RegionCodeField(
        "所反映的网格",
        blank=True,
        db_default="",
        help_text="反映工作人员时，居民扫码所在的网格：其工作人员回避",
    )
    named_staff = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="所反映的工作人员",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    named_post = models.CharField(
        "所反映的岗位", max_length=60, blank=True, db_default="", help_text="居民所写"
    )
    void_pending = models.BooleanField(
        "作废待社区确认",
        default=False,
        db_default=False,
        help_text="网格员提出作废，待社区审批（core.approvals 的 cases.void）",
    )
    # Who handles it
    handler = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="承办人",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="handled_cases",
        db_index=False,
    )
    handler_department = models.ForeignKey(
        "accounts.Department",
        verbose_name="承办部门",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="cases",
    )
    result = models.TextField(
        "办理结果", max_length=4000, blank=True, help_text="内部记录，可含人名，不对外公开"
    )
    public_reply = models.TextField(
        "答复",
        max_length=1000,
        blank=True,
        default="",
        db_default="",
        help_text="写给居民和公众的答复，对外公开",
    )
    # Time: the current step's deadline is stored; lateness is worked out when read.
    received_at = models.DateTimeField("受理时间")
    due_at = models.DateTimeField("当前环节时限", null=True, blank=True)
    dispatched_at = models.DateTimeField("派单时间", null=True, blank=True)
    handle_due_at = models.DateTimeField("办理时限", null=True, blank=True)
    handled_at = models.DateTimeField("办结反馈时间", null=True, blank=True)
    closed_at = models.DateTimeField("结案时间", null=True, blank=True)
    closed_on_time = models.BooleanField("按期结案", null=True, blank=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)
    # Counters the indicators need (返工率, 延期率, 督办)
    extension_days = models.PositiveSmallIntegerField("已延期（工作日）", default=0)
    extension_requested_days = models.PositiveSmallIntegerField("待批延期（工作日）", default=0)
    rework_count = models.PositiveSmallIntegerField("返工次数", default=0)
    dissatisfied_count = models.PositiveSmallIntegerField("不满意次数", default=0)
    supervised_region_code = RegionCodeField(
        "督办单位", blank=True, help_text="被上级督办时为督办层级的区划编码"
    )
    rating = models.PositiveSmallIntegerField("评价", choices=Rating.choices, null=True, blank=True)
    rating_comment = models.CharField("评价意见", max_length=500, blank=True)
    rated_at = models.DateTimeField("评价时间", null=True, blank=True)
    merged_into = models.ForeignKey(
        "self",
        verbose_name="合并到",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="duplicates",
        db_index=False,
    )

    class Meta:
        verbose_name = verbose_name_plural = "诉求"
        ordering = ["-received_at"]
        indexes = [
            # Work and supervision queues read open requests only: a small partial index.
            models.Index(
                fields=["region_code", "due_at"],
                name="case_open_idx",
                opclasses=["varchar_pattern_ops", ""],
                condition=Q(
                    status__in=["received", "accepted", "dispatched", "in_progress", "handled"]
                ),
            ),
            models.Index(fields=["handler", "status", "due_at"], name="case_handler_idx"),
            models.Index(fields=["client_fingerprint", "received_at"], name="case_device_idx"),
            models.Index(fields=["closed_at"], name="case_closed_idx"),
            # The figures read only these columns: on PostgreSQL they come from the index
            # alone, so a county's year costs its own rows, not the city's table.
            models.Index(
                fields=["region_code", "received_at"],
                name="case_period_idx",
                opclasses=["varchar_pattern_ops", ""],
                include=[
                    "id",
                    "category",
                    "status",
                    "handle_due_at",
                    "closed_at",
                    "closed_on_time",
                    "rework_count",
                    "extension_days",
                    "rating",
                ],
            ),
        ]
        constraints = [
            # Constraints rather than unique=True: no LIKE indexes on codes matched whole.
            models.UniqueConstraint(fields=["tracking_code"], name="case_tracking_code"),
            models.UniqueConstraint(fields=["access_token"], name="case_access_token"),
            models.UniqueConstraint(
                fields=["idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="case_idempotency_key",
            ),
            models.CheckConstraint(
                condition=Q(rating__isnull=True) | Q(rating__gte=1, rating__lte=5),
                name="case_rating_scale",
            ),
        ]

    def __str__(self) -> str:
        return self.tracking_code

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN


class Event(AppendOnly):
    """诉求流转记录: one step of one request. Appended, never changed."""

    case = models.ForeignKey(
        Case, verbose_name="诉求", on_delete=models.CASCADE, related_name="events"
    )
    at = models.DateTimeField("时间")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="操作人",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    actor_label = models.CharField("操作方", max_length=64, help_text="如：居民、网格员张*")
    action = models.CharField("动作", max_length=32)
    from_status = models.CharField("原状态", max_length=16, blank=True)
    to_status = models.CharField("新状态", max_length=16)
    note = models.TextField("说明", max_length=4000, blank=True)
    is_public = models.BooleanField("居民可见", default=True)
    data = models.JSONField("数据", default=dict, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "诉求流转记录"
        ordering = ["case", "at", "id"]

    def __str__(self) -> str:
        return f"{self.case_id} {self.action}"


class Photo(models.Model):
    """A photo with a request (by the resident) or with its result (by the handler),
    re-encoded on upload with its metadata removed."""

    class Kind(models.TextChoices):
        REPORT = "report", "上报照片"
        RESULT = "result", "办理照片"

    case = models.ForeignKey(
        Case, verbose_name="诉求", on_delete=models.CASCADE, related_name="photos"
    )
    kind = models.CharField("类型", max_length=8, choices=Kind.choices)
    image = models.ImageField(
        "图片", upload_to="cases/%Y/%m/", width_field="width", height_field="height"
    )
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    uploaded_at = models.DateTimeField("上传时间", auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = "诉求照片"
        ordering = ["case", "id"]

    def __str__(self) -> str:
        return self.image.name


class Notification(models.Model):
    """站内消息: to a staff member, about a request. `key` makes each one happen once."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="接收人",
        on_delete=models.CASCADE,
        related_name="notifications",
    )
    case = models.ForeignKey(
        Case, verbose_name="诉求", null=True, blank=True, on_delete=models.CASCADE
    )
    kind = models.CharField("类型", max_length=32)
    text = models.CharField("内容", max_length=300)
    key = models.CharField("去重键", max_length=120, unique=True)
    created_at = models.DateTimeField("时间", auto_now_add=True)
    read_at = models.DateTimeField("已读时间", null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "站内消息"
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["user", "read_at"], name="notification_inbox_idx")]

    def __str__(self) -> str:
        return self.text


class Open311Client(models.Model):
    """An application allowed to post requests through Open311 (its api_key)."""

    region_code = RegionCodeField(db_index=True, help_text="县（市、区）：jurisdiction_id")
    name = models.CharField("应用名称", max_length=100)
    key_digest = models.CharField("密钥摘要", max_length=64, unique=True)
    is_active = models.BooleanField("启用", default=True)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = verbose_name_plural = "Open311 应用"

    def __str__(self) -> str:
        return self.name
