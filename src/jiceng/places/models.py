"""The region tree, grids, and 一标三实: standard addresses, real people, real
households and real organizations. Every place-bound row stores its `region_code`."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from jiceng.core import region_codes
from jiceng.core.fields import RegionCodeField
from jiceng.core.personal import BlindIndexField, PersonalField, YearOfField, sealed_storage
from jiceng.places.constants import (
    ETHNICITIES,
    POLITICAL_STATUSES,
    RELATION_LABELS,
    RELATIONS_TO_HEAD,
)


class Region(models.Model):
    """区划: a node of the tree province → city → county → town → community → grid.

    `code` is the node's path of digits: 37 / 3708 / 370829 / 370829001 / 370829001001 /
    370829001001001. For statutory nodes the first 12 digits are the statistical division
    code with its trailing zeros cut off; a grid adds a 3-digit serial (the 15-digit
    数字城管 grid code). Non-statutory nodes (functional zones such as 太白湖新区) carry a
    locally assigned code of the same shape and `is_statutory=False`.
    """

    class Level(models.TextChoices):
        PROVINCE = "province", "省"
        CITY = "city", "市"
        COUNTY = "county", "县（市、区）"
        TOWN = "town", "乡镇（街道）"
        COMMUNITY = "community", "社区（村）"
        GRID = "grid", "网格"

    class GridKind(models.TextChoices):
        COMPREHENSIVE = "comprehensive", "综合网格"
        DEDICATED = "dedicated", "专属网格"

    CODE_LENGTHS = region_codes.CODE_LENGTHS  # keyed by the same names as Level
    CHILD_LEVEL = {
        Level.PROVINCE: Level.CITY,
        Level.CITY: Level.COUNTY,
        Level.COUNTY: Level.TOWN,
        Level.TOWN: Level.COMMUNITY,
        Level.COMMUNITY: Level.GRID,
    }

    code = RegionCodeField(primary_key=True)
    name = models.CharField("名称", max_length=64)
    level = models.CharField("层级", max_length=16, choices=Level.choices)
    parent = models.ForeignKey(
        "self",
        verbose_name="上级",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    is_statutory = models.BooleanField("法定区划", default=True)
    is_rural = models.BooleanField("农村", default=False, help_text="村（而非社区）及其网格")
    grid_kind = models.CharField("网格类型", max_length=16, choices=GridKind.choices, blank=True)
    leader = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="网格长",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="led_grids",
    )
    boundary = models.JSONField("边界（GeoJSON）", null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "区划与网格"
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(level="grid", grid_kind__in=["comprehensive", "dedicated"])
                | (~Q(level="grid") & Q(grid_kind="")),
                name="region_grid_kind_only_on_grids",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def region_code(self) -> str:
        """A node's own code, so that scope checks read the same on every record."""
        return self.code

    @property
    def is_grid(self) -> bool:
        return self.level == self.Level.GRID

    @property
    def statistical_code(self) -> str:
        """The 12-digit statistical code of a province-to-community node."""
        return region_codes.statistical_code(self.code)

    def ancestor_codes(self) -> list[str]:
        """Codes of this node's ancestors, top first (read from the code, no queries)."""
        return region_codes.ancestors_of(self.code)


class Building(models.Model):
    """楼栋: a block of flats, a courtyard of bungalows, or a lane (胡同/街巷) in one grid."""

    class Kind(models.TextChoices):
        BLOCK = "block", "楼栋"
        COURTYARD = "courtyard", "平房院落"
        LANE = "lane", "街巷"

    region_code = RegionCodeField(db_index=True)
    name = models.CharField("名称", max_length=64)
    kind = models.CharField("类型", max_length=16, choices=Kind.choices, default=Kind.BLOCK)
    address = models.CharField("地址", max_length=200, blank=True)
    captain = models.ForeignKey(
        "Person",
        verbose_name="楼栋长",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = verbose_name_plural = "楼栋"
        constraints = [
            models.UniqueConstraint(fields=["region_code", "name"], name="building_name_in_grid")
        ]

    def __str__(self) -> str:
        return self.name


class BuildingUnit(models.Model):
    """单元: a stairwell of a block; courtyards and lanes have a single unit 1."""

    region_code = RegionCodeField(db_index=True)
    building = models.ForeignKey(
        Building, verbose_name="楼栋", on_delete=models.CASCADE, related_name="units"
    )
    number = models.PositiveSmallIntegerField("单元号")
    captain = models.ForeignKey(
        "Person",
        verbose_name="单元长",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = verbose_name_plural = "单元"
        ordering = ["building", "number"]
        constraints = [
            models.UniqueConstraint(fields=["building", "number"], name="unit_number_in_building")
        ]

    def __str__(self) -> str:
        return f"{self.building.name}{self.number}单元"


class Dwelling(models.Model):
    """房屋: one flat or house, the standard address (标准地址) a household lives at."""

    region_code = RegionCodeField(db_index=True)
    building = models.ForeignKey(
        Building, verbose_name="楼栋", on_delete=models.CASCADE, related_name="dwellings"
    )
    unit = models.ForeignKey(
        BuildingUnit, verbose_name="单元", on_delete=models.CASCADE, related_name="dwellings"
    )
    room = models.CharField("房号", max_length=16)

    class Meta:
        verbose_name = verbose_name_plural = "房屋"
        ordering = ["building", "unit", "room"]
        constraints = [
            models.UniqueConstraint(fields=["unit", "room"], name="dwelling_room_in_unit")
        ]

    def __str__(self) -> str:
        return f"{self.unit}{self.room}"


class Household(models.Model):
    """户: a household registered at a grid, with its head (户主)."""

    region_code = RegionCodeField(db_index=True)
    number = models.CharField("户号", max_length=32)
    dwelling = models.ForeignKey(
        Dwelling,
        verbose_name="房屋",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="households",
    )
    address = models.CharField("住址", max_length=200, blank=True)
    head = models.ForeignKey(
        "Person",
        verbose_name="户主",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        verbose_name = verbose_name_plural = "户"
        ordering = ["region_code", "number"]
        constraints = [
            models.UniqueConstraint(fields=["region_code", "number"], name="household_number")
        ]

    def __str__(self) -> str:
        return f"户号{self.number}"


class SpecialGroup(models.Model):
    """特殊人群: a tag such as 独居老人 or 残疾人. Membership is sensitive personal data."""

    code = models.SlugField("代码", max_length=32, unique=True)
    name = models.CharField("名称", max_length=32, unique=True)

    class Meta:
        verbose_name = verbose_name_plural = "特殊人群类别"
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class Person(models.Model):
    """实有人口: a person living in a grid. ID number, phone and special groups are
    personal data: shown masked unless the viewer may reveal them (core.masking)."""

    class Gender(models.TextChoices):
        MALE = "M", "男"
        FEMALE = "F", "女"

    class ResidenceType(models.TextChoices):
        PERMANENT = "permanent", "常住"
        TEMPORARY = "temporary", "暂住"
        FLOATING = "floating", "流动"

    class Registration(models.TextChoices):
        CONFIRMED = "confirmed", "已登记"
        # Imported while registered outside the importer's reveal scope: waits for the
        # grid holding that registration to confirm the move (MoveCheck). Shown to the
        # importer like any person, so an import tells nothing of other registrations.
        PENDING = "pending", "待迁入核实"

    region_code = RegionCodeField()  # indexed with name below: one index serves both
    household = models.ForeignKey(
        Household,
        verbose_name="户",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="members",
    )
    name = models.CharField("姓名", max_length=64)
    # Sealed (core.personal): found by the keyed hashes beside them, never by value. The
    # tails' hashes serve the search by the last four characters.
    id_number = PersonalField("身份证号", kind="id_number")
    id_number_index = BlindIndexField("身份证号索引", source="id_number")
    id_tail = BlindIndexField("身份证号后四位索引", source="id_number", tail=4)
    gender = models.CharField("性别", max_length=1, choices=Gender.choices)
    # Sealed too: the masked ID number hides exactly the birth date. The year stays in
    # clear for age filters (never shown: pages show an age band).
    birth_date = PersonalField("出生日期", kind="date")
    birth_year = YearOfField("出生年份", source="birth_date")
    phone = PersonalField("联系电话", kind="phone", blank=True)
    phone_index = BlindIndexField("联系电话索引", source="phone")
    phone_tail = BlindIndexField("电话后四位索引", source="phone", tail=4)
    ethnicity = models.CharField(
        "民族", max_length=16, choices=[(e, e) for e in ETHNICITIES], default="汉族"
    )
    political_status = models.CharField(
        "政治面貌", max_length=16, choices=[(p, p) for p in POLITICAL_STATUSES], default="群众"
    )
    relation_to_head = models.CharField(
        "与户主关系", max_length=8, choices=[(r, r) for r in RELATIONS_TO_HEAD], default="户主"
    )
    residence_type = models.CharField(
        "居住类型",
        max_length=16,
        choices=ResidenceType.choices,
        default=ResidenceType.PERMANENT,
    )
    special_groups = models.ManyToManyField(
        SpecialGroup, verbose_name="特殊人群", blank=True, related_name="persons"
    )
    registration = models.CharField(
        "登记状态",
        max_length=16,
        choices=Registration.choices,
        default=Registration.CONFIRMED,
        db_default=Registration.CONFIRMED,  # rows bulk-written without the column
        editable=False,
    )
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        verbose_name = verbose_name_plural = "实有人口"
        ordering = ["region_code", "household_id", "id"]
        constraints = [
            # One confirmed registration per ID number; pending ones wait beside it.
            models.UniqueConstraint(
                fields=["id_number_index"],
                condition=Q(registration="confirmed"),
                name="person_id_number_index_confirmed",
            )
        ]
        indexes = [
            models.Index(
                fields=["region_code", "name"],
                name="person_name_idx",
                opclasses=["varchar_pattern_ops", "varchar_pattern_ops"],
            ),
            models.Index(fields=["id_tail", "region_code"], name="person_id_tail_idx"),
            models.Index(fields=["phone_tail", "region_code"], name="person_phone_tail_idx"),
            # Pending registrations are few: a small index finds them by ID number.
            models.Index(
                fields=["id_number_index"],
                condition=Q(registration="pending"),
                name="person_id_number_index_pending",
            ),
            models.Index(fields=["phone_index"], name="person_phone_index_idx"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def relation_label(self) -> str:
        """与户主关系 as a page shows it (女儿, not 女 beside 性别 女)."""
        return RELATION_LABELS.get(self.relation_to_head, self.relation_to_head)


class MoveCheck(models.Model):
    """迁入迁出核实: a roster imported a person whose confirmed registration lies outside
    the importer's reveal scope. The grid holding that registration confirms the move or
    disputes it; its town settles a dispute. Until then the incoming registration is
    pending, and the importer sees it as any other person."""

    class Status(models.TextChoices):
        OPEN = "open", "待核实"
        DISPUTED = "disputed", "有异议，待乡镇（街道）裁决"
        MOVED = "moved", "已迁入"
        STAYED = "stayed", "未迁出，已撤销迁入登记"

    OPEN_STATUSES = (Status.OPEN, Status.DISPUTED)

    # The grid of the current registration: who checks, and whose town settles.
    region_code = RegionCodeField(db_index=True)
    person = models.ForeignKey(
        Person, verbose_name="现登记", on_delete=models.CASCADE, related_name="move_checks"
    )
    incoming = models.ForeignKey(
        Person,
        verbose_name="迁入登记",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # Kept when the incoming registration goes (a move settled either way).
    to_region_code = RegionCodeField("迁入网格")
    incoming_name = models.CharField("迁入登记姓名", max_length=64)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="导入人",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField("登记时间", default=timezone.now)
    status = models.CharField("状态", max_length=16, choices=Status.choices, default=Status.OPEN)
    dispute = models.CharField("异议理由", max_length=200, blank=True)
    disputed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="提出异议人",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    decision = models.CharField("裁决理由", max_length=200, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="办理人",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    decided_at = models.DateTimeField("办结时间", null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "迁入迁出核实"
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.incoming_name}迁入核实"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES


class Organization(models.Model):
    """实有单位: an enterprise, shop, institution or social organization in a grid."""

    class Kind(models.TextChoices):
        ENTERPRISE = "enterprise", "企业"
        SOLE_TRADER = "sole_trader", "个体工商户"
        PUBLIC = "public", "机关事业单位"
        SOCIAL = "social", "社会组织"
        PROPERTY = "property", "物业服务企业"
        OTHER = "other", "其他"

    region_code = RegionCodeField(db_index=True)
    name = models.CharField("名称", max_length=100)
    kind = models.CharField("类型", max_length=16, choices=Kind.choices)
    credit_code = models.CharField("统一社会信用代码", max_length=18, blank=True)
    address = models.CharField("地址", max_length=200, blank=True)
    contact_name = models.CharField("联系人", max_length=64, blank=True)
    contact_phone = PersonalField("联系电话", kind="phone", blank=True)
    employee_count = models.PositiveIntegerField("从业人数", default=0)

    class Meta:
        verbose_name = verbose_name_plural = "实有单位"
        ordering = ["region_code", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["credit_code"],
                condition=~Q(credit_code=""),
                name="organization_credit_code",
            )
        ]

    def __str__(self) -> str:
        return self.name


class ImportJob(models.Model):
    """花名册导入任务: one uploaded roster, checked in full, then written at once or not at all;
    or an export of a region's roster, written in the background while its page shows the
    progress (the same job, thread and progress file)."""

    class Kind(models.TextChoices):
        IMPORT = "import", "导入"
        EXPORT = "export", "导出"

    class Status(models.TextChoices):
        QUEUED = "queued", "排队中"
        RUNNING = "running", "处理中"
        DONE = "done", "已完成"
        REJECTED = "rejected", "校验未通过"
        FAILED = "failed", "失败"

    FINISHED = (Status.DONE, Status.REJECTED, Status.FAILED)

    kind = models.CharField("类型", max_length=8, choices=Kind.choices, default=Kind.IMPORT)
    # Which kind of file an import takes (places.imports.IMPORTERS: the roster, a branch's
    # members …) and the one object it imports into, if the kind names one (the branch).
    importer = models.CharField("导入内容", max_length=32, default="roster", db_default="roster")
    target_id = models.PositiveBigIntegerField("导入对象", null=True, blank=True)
    region_code = RegionCodeField(db_index=True, help_text="导入或导出的范围")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="导入人",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        help_text="空白表示由服务器命令行导入",
    )
    created_at = models.DateTimeField("提交时间", auto_now_add=True)
    original_name = models.CharField("文件名", max_length=200)
    # Both hold personal data: sealed on disk (core.personal.SealedFileStorage).
    file = models.FileField("文件", upload_to="imports/%Y/%m/", storage=sealed_storage)
    status = models.CharField("状态", max_length=16, choices=Status.choices, default=Status.QUEUED)
    total_rows = models.PositiveIntegerField("总行数", default=0)
    created_count = models.PositiveIntegerField("新增人数", default=0)
    updated_count = models.PositiveIntegerField("更新人数", default=0)
    unchanged_count = models.PositiveIntegerField("未变人数", default=0)
    error_count = models.PositiveIntegerField("错误数", default=0)
    households_created = models.PositiveIntegerField("新增户数", default=0)
    buildings_created = models.PositiveIntegerField("新增楼栋数", default=0)
    # [row, column, message] of the first errors, for the result page: no cell's value
    # (those are in the sealed error workbook only).
    first_errors = models.JSONField("前几处错误", default=list, blank=True)
    error_file = models.FileField(
        "错误清单", upload_to="imports/errors/%Y/%m/", blank=True, storage=sealed_storage
    )
    message = models.CharField("说明", max_length=500, blank=True)
    finished_at = models.DateTimeField("完成时间", null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "花名册导入导出"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.original_name

    @property
    def is_finished(self) -> bool:
        return self.status in self.FINISHED
