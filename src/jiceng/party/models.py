"""The party register: organizations laid over the region tree, their committees (persons
appointed to posts for a term), their members, the twinning of branches, and first
secretaries. The organization department and each branch keep it (party.services)."""

import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse

from jiceng.core.fields import RegionCodeField
from jiceng.core.personal import BlindIndexField, PersonalField


class PartyOrganization(models.Model):
    """党组织, each attached to the region node it serves: 县委 → 乡镇党委（街道党工委） →
    社区（村）党委 or 联合党委 → 党总支 → 党支部 (in a grid, a 小区, an enterprise, a
    property company, an institution, an organ, a village) → 党小组 → 党员中心户. Never
    deleted: closed with a date and a reason once its members have moved."""

    class Kind(models.TextChoices):
        COUNTY_COMMITTEE = "county_committee", "县委"
        TOWN_COMMITTEE = "town_committee", "乡镇党委（街道党工委）"
        COMMUNITY_COMMITTEE = "community_committee", "社区（村）党委"
        JOINT_COMMITTEE = "joint_committee", "联合党委"
        GENERAL_BRANCH = "general_branch", "党总支"
        GRID_BRANCH = "grid_branch", "网格党支部"
        ESTATE_BRANCH = "estate_branch", "小区党支部"
        VILLAGE_BRANCH = "village_branch", "村党支部"
        ENTERPRISE_BRANCH = "enterprise_branch", "企业党支部"
        PROPERTY_BRANCH = "property_branch", "物业企业党支部"
        INSTITUTION_BRANCH = "institution_branch", "事业单位党支部"
        ORGAN_BRANCH = "organ_branch", "机关党支部"
        BUILDING_GROUP = "building_group", "党小组"
        MEMBER_HOUSEHOLD = "member_household", "党员中心户"

    COMMITTEES = (
        Kind.COUNTY_COMMITTEE,
        Kind.TOWN_COMMITTEE,
        Kind.COMMUNITY_COMMITTEE,
        Kind.JOINT_COMMITTEE,
    )
    BRANCHES = (
        Kind.GRID_BRANCH,
        Kind.ESTATE_BRANCH,
        Kind.VILLAGE_BRANCH,
        Kind.ENTERPRISE_BRANCH,
        Kind.PROPERTY_BRANCH,
        Kind.INSTITUTION_BRANCH,
        Kind.ORGAN_BRANCH,
    )
    # Where members are kept: a branch, and a general branch or community committee that
    # holds members directly (a small community has no branches below it).
    HOLDS_MEMBERS = (*BRANCHES, Kind.GENERAL_BRANCH, Kind.COMMUNITY_COMMITTEE)
    # Elected for a term (换届); groups and contact households are not.
    ELECTED = (*COMMITTEES, Kind.GENERAL_BRANCH, *BRANCHES)
    PARENT_KINDS = {
        Kind.COUNTY_COMMITTEE: (),
        Kind.TOWN_COMMITTEE: (Kind.COUNTY_COMMITTEE,),
        Kind.COMMUNITY_COMMITTEE: (Kind.TOWN_COMMITTEE,),
        Kind.JOINT_COMMITTEE: (Kind.COUNTY_COMMITTEE, Kind.TOWN_COMMITTEE),
        Kind.GENERAL_BRANCH: COMMITTEES,
        **dict.fromkeys(BRANCHES, (*COMMITTEES, Kind.GENERAL_BRANCH)),
        Kind.BUILDING_GROUP: (*BRANCHES, Kind.GENERAL_BRANCH, Kind.COMMUNITY_COMMITTEE),
        Kind.MEMBER_HOUSEHOLD: (Kind.BUILDING_GROUP, *BRANCHES),
    }
    # The party organizations of organs, institutions and enterprises (机关企事业单位): they
    # report to a community, and their in-service members to where they live (双报到).
    UNITS = (Kind.ORGAN_BRANCH, Kind.INSTITUTION_BRANCH, Kind.ENTERPRISE_BRANCH)
    # The one committee of its region: a county has one 县委, a town one 党委 (党工委).
    ONE_PER_REGION = (Kind.COUNTY_COMMITTEE, Kind.TOWN_COMMITTEE, Kind.COMMUNITY_COMMITTEE)
    # The region level a kind sits at, where it is fixed (a grid branch on a grid).
    LEVELS = {
        Kind.COUNTY_COMMITTEE: "county",
        Kind.TOWN_COMMITTEE: "town",
        Kind.COMMUNITY_COMMITTEE: "community",
        Kind.GRID_BRANCH: "grid",
        Kind.VILLAGE_BRANCH: "community",
    }

    region_code = RegionCodeField(db_index=True)
    name = models.CharField("名称", max_length=100)
    kind = models.CharField("类型", max_length=24, choices=Kind.choices)
    parent = models.ForeignKey(
        "self",
        verbose_name="上级党组织",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    # The unit a branch is built in: the enterprise, property company or institution.
    unit = models.ForeignKey(
        "places.Organization",
        verbose_name="所在单位",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="party_organizations",
    )
    building = models.ForeignKey(
        "places.Building",
        verbose_name="楼栋",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="party_groups",
    )
    household = models.ForeignKey(
        "places.Household",
        verbose_name="中心户",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    founded_on = models.DateField("成立日期", null=True, blank=True)
    # The present committee's term (换届 falls due when it ends).
    term_started_on = models.DateField("本届任期开始", null=True, blank=True)
    term_ends_on = models.DateField("本届任期届满", null=True, blank=True, db_index=True)
    closed_on = models.DateField("撤销日期", null=True, blank=True)
    closed_reason = models.CharField("撤销原因", max_length=200, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "党组织"
        ordering = ["region_code", "kind", "name"]
        indexes = [models.Index(fields=["kind", "region_code"], name="party_org_kind_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(term_ends_on__isnull=True)
                | Q(term_started_on__isnull=True)
                | Q(term_ends_on__gt=models.F("term_started_on")),
                name="party_org_term_order",
            ),
            models.CheckConstraint(
                condition=Q(closed_on__isnull=True) | ~Q(closed_reason=""),
                name="party_org_closed_with_reason",
            ),
            models.UniqueConstraint(
                fields=["region_code", "kind"],
                condition=Q(
                    closed_on__isnull=True,
                    kind__in=["county_committee", "town_committee", "community_committee"],
                ),
                name="party_one_committee_per_region",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("party:organization", args=[self.pk])

    @property
    def is_open(self) -> bool:
        return self.closed_on is None

    @property
    def is_branch(self) -> bool:
        return self.kind in self.BRANCHES

    @property
    def holds_members(self) -> bool:
        return self.kind in self.HOLDS_MEMBERS

    @property
    def is_elected(self) -> bool:
        return self.kind in self.ELECTED


def term_years(kind: str, is_rural: bool) -> int:
    """How long a committee of `kind` serves (STANDARDS: branches 3 years, committees above
    them and village organizations 5), as the county's setting says."""
    years = settings.JICENG_PARTY_TERM_YEARS
    if is_rural and kind != PartyOrganization.Kind.JOINT_COMMITTEE:
        return years["village"]
    if kind in PartyOrganization.COMMITTEES:
        return years["committee"]
    return years["branch"]


class Appointment(models.Model):
    """任职: a person of the register (一标三实) in a post of an organization's committee,
    from a day, for its term. The secretary's and the organization member's post may carry
    a staff account, which then holds the branch by assignment (accounts.Membership) for
    as long as the post. The one record of who leads a party organization: the village
    cadres' sheet reads it too."""

    class Post(models.TextChoices):
        SECRETARY = "secretary", "书记"
        DEPUTY = "deputy", "副书记"
        ORGANIZER = "organizer", "组织委员"
        PROPAGANDA = "propaganda", "宣传委员"
        DISCIPLINE = "discipline", "纪检委员"
        MEMBER = "member", "委员"

    # The posts whose holder keeps the branch (access by assignment): the kind granted.
    ASSIGNED = {Post.SECRETARY: "branch_secretary", Post.ORGANIZER: "branch_organizer"}

    region_code = RegionCodeField(db_index=True)  # the organization's
    organization = models.ForeignKey(
        PartyOrganization,
        verbose_name="党组织",
        on_delete=models.PROTECT,
        related_name="appointments",
    )
    person = models.ForeignKey(
        "places.Person",
        verbose_name="人员",
        on_delete=models.PROTECT,
        related_name="party_appointments",
    )
    post = models.CharField("职务", max_length=16, choices=Post.choices)
    started_on = models.DateField("任职日期")
    term_ends_on = models.DateField("任期届满", null=True, blank=True)
    ended_on = models.DateField("离任日期", null=True, blank=True)
    end_reason = models.CharField("离任原因", max_length=200, blank=True)
    account = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="工作账号",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="party_appointments",
    )
    appointed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="登记人",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField("登记时间", auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = "党组织班子成员"
        ordering = ["organization", "ended_on", "post", "started_on"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization"],
                condition=Q(post="secretary", ended_on__isnull=True),
                name="party_one_secretary",
            ),
            models.UniqueConstraint(
                fields=["organization", "person"],
                condition=Q(ended_on__isnull=True),
                name="party_one_post_each",
            ),
            models.CheckConstraint(
                condition=Q(ended_on__isnull=True) | Q(ended_on__gte=models.F("started_on")),
                name="party_appointment_order",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.organization} {self.get_post_display()}"

    @property
    def is_current(self) -> bool:
        return self.ended_on is None


class Twinning(models.Model):
    """联建共建: a branch paired with another, typically a village's with its sending unit's."""

    region_code = RegionCodeField(db_index=True)  # the first organization's
    first = models.ForeignKey(
        PartyOrganization, verbose_name="党组织", on_delete=models.PROTECT, related_name="+"
    )
    second = models.ForeignKey(
        PartyOrganization, verbose_name="结对党组织", on_delete=models.PROTECT, related_name="+"
    )
    started_on = models.DateField("结对日期")
    ended_on = models.DateField("解除日期", null=True, blank=True)
    note = models.CharField("共建内容", max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = verbose_name_plural = "联建共建"
        ordering = ["-started_on", "pk"]
        constraints = [
            models.CheckConstraint(condition=~Q(first=models.F("second")), name="twinning_two"),
            models.UniqueConstraint(
                fields=["first", "second"],
                condition=Q(ended_on__isnull=True),
                name="twinning_once",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.first} — {self.second}"


class PartyMember(models.Model):
    """党员: one membership held by one organization (a branch). A member living outside
    the county, or not yet in the register, has no person: their name and ID number are
    kept here (sealed) until staff link the record to a person. Leaving the county (a
    transfer out, recorded not tracked), or death, ends the membership; the row stays."""

    class Category(models.TextChoices):
        FULL = "full", "正式党员"
        PROBATIONARY = "probationary", "预备党员"

    class Mobility(models.TextChoices):
        SETTLED = "", "—"
        OUT = "out", "流出"
        IN = "in", "流入"

    region_code = RegionCodeField(db_index=True)  # the organization's
    person = models.OneToOneField(
        "places.Person",
        verbose_name="人员",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="party_member",
    )
    organization = models.ForeignKey(
        PartyOrganization,
        verbose_name="所在党组织",
        on_delete=models.PROTECT,
        related_name="members",
    )
    name = models.CharField("姓名", max_length=64)
    id_number = PersonalField("身份证号", kind="id_number", blank=True)
    id_number_index = BlindIndexField("身份证号索引", source="id_number", db_index=True)
    phone = PersonalField("联系电话", kind="phone", blank=True)
    category = models.CharField(
        "党员类别", max_length=16, choices=Category.choices, default=Category.FULL
    )
    joined_on = models.DateField("入党日期", null=True, blank=True)
    full_on = models.DateField("转正日期", null=True, blank=True)
    work_unit = models.CharField("工作单位", max_length=100, blank=True)
    mobility = models.CharField(
        "流动情况", max_length=8, choices=Mobility.choices, default="", blank=True
    )
    mobility_place = models.CharField("流出（流入）地", max_length=100, blank=True)
    left_on = models.DateField("减少日期", null=True, blank=True)
    left_reason = models.CharField("减少原因", max_length=200, blank=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        verbose_name = verbose_name_plural = "党员"
        ordering = ["organization", "name", "id"]
        indexes = [
            models.Index(fields=["organization", "left_on"], name="party_member_org_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(category="full") | Q(full_on__isnull=True),
                name="party_member_full_on_full",
            ),
            models.CheckConstraint(
                condition=Q(mobility="") | ~Q(mobility_place=""),
                name="party_member_mobility_place",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_current(self) -> bool:
        return self.left_on is None

    @property
    def known_id_number(self):
        """The ID number as sealed: the person's once linked, else as entered."""
        return self.person.id_number if self.person_id else self.id_number

    @property
    def probation_ends_on(self) -> datetime.date | None:
        """A probationary member's year ends (STANDARDS: one year from admission)."""
        if self.category != self.Category.PROBATIONARY or self.joined_on is None:
            return None
        try:
            return self.joined_on.replace(year=self.joined_on.year + 1)
        except ValueError:  # 29 February
            return self.joined_on.replace(year=self.joined_on.year + 1, day=28)


class FirstSecretary(models.Model):
    """第一书记: sent by a province, city or county unit to a village for a term."""

    class Level(models.TextChoices):
        PROVINCE = "province", "省派"
        CITY = "city", "市派"
        COUNTY = "county", "县派"

    region_code = RegionCodeField(db_index=True, help_text="驻村（社区）")
    name = models.CharField("姓名", max_length=64)
    phone = PersonalField("联系电话", kind="phone", blank=True)
    level = models.CharField("选派层级", max_length=16, choices=Level.choices)
    sending_unit = models.CharField("派出单位", max_length=100)
    term_start = models.DateField("任期开始")
    term_end = models.DateField("任期结束", null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "第一书记"
        ordering = ["region_code", "term_start"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(term_end__isnull=True)
                | models.Q(term_end__gte=models.F("term_start")),
                name="first_secretary_term_order",
            )
        ]

    def __str__(self) -> str:
        return self.name


class Transfer(models.Model):
    """组织关系转接: a member's membership moves from one branch to another in the county —
    requested, released by the branch it leaves (转出), accepted by the branch it joins
    (接收) or returned with a reason, within JICENG_PARTY_TRANSFER_DAYS working days. A
    transfer out of the county is recorded (the member leaves the register), not tracked."""

    class Status(models.TextChoices):
        REQUESTED = "requested", "待转出党组织审批"
        RELEASED = "released", "待接收党组织接收"
        ACCEPTED = "accepted", "已接收"
        RETURNED = "returned", "已退回"
        CANCELLED = "cancelled", "已撤回"
        LEFT = "left", "已转出县外"

    OPEN = (Status.REQUESTED, Status.RELEASED)

    region_code = RegionCodeField(db_index=True)  # the branch it leaves
    member = models.ForeignKey(
        PartyMember, verbose_name="党员", on_delete=models.PROTECT, related_name="transfers"
    )
    from_organization = models.ForeignKey(
        PartyOrganization, verbose_name="转出党组织", on_delete=models.PROTECT, related_name="+"
    )
    to_organization = models.ForeignKey(
        PartyOrganization,
        verbose_name="接收党组织",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    to_region_code = RegionCodeField("接收党组织区划", blank=True, db_index=True)
    destination = models.CharField("转往（县外）", max_length=200, blank=True)
    reason = models.CharField("转接原因", max_length=200)
    status = models.CharField(
        "状态", max_length=16, choices=Status.choices, default=Status.REQUESTED, db_index=True
    )
    return_reason = models.CharField("退回原因", max_length=200, blank=True)
    requested_at = models.DateTimeField("申请时间")
    due_at = models.DateTimeField("办结时限", null=True, blank=True)
    closed_at = models.DateTimeField("办结时间", null=True, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = verbose_name_plural = "组织关系转接"
        ordering = ["-requested_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["member"],
                condition=Q(status__in=["requested", "released"]),
                name="party_one_open_transfer",
            ),
            models.CheckConstraint(
                condition=~Q(to_organization=models.F("from_organization")),
                name="party_transfer_elsewhere",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.member}组织关系转接"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN


class TransferEvent(models.Model):
    """One step of a transfer: who, when, from which state to which, and why."""

    transfer = models.ForeignKey(Transfer, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField("时间")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_label = models.CharField("办理人", max_length=100)
    action = models.CharField("步骤", max_length=16)
    from_status = models.CharField("原状态", max_length=16, blank=True)
    to_status = models.CharField("新状态", max_length=16)
    note = models.CharField("说明", max_length=200, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "组织关系转接记录"
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.transfer} {self.action}"


class MonthlyTheme(models.Model):
    """一月一主题: the theme the county's organization department sets for a month, which
    every branch's theme day (主题党日) of that month takes up."""

    region_code = RegionCodeField(db_index=True)  # the county's
    month = models.DateField("月份", help_text="该月第一天")
    title = models.CharField("主题", max_length=80)
    note = models.CharField("说明", max_length=500, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = verbose_name_plural = "主题党日月度主题"
        ordering = ["region_code", "month"]
        constraints = [
            models.UniqueConstraint(fields=["region_code", "month"], name="party_theme_month"),
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y年%-m月}：{self.title}"


class Meeting(models.Model):
    """组织生活: one meeting of a party organization — 支部党员大会, 支部委员会, 党小组会, 党课
    or 主题党日 — held as a gathering of its members (gatherings: the venue, the roster,
    the check-in, attendance and leave, the photographed sign-in sheet). It counts as held
    once its minutes are filed."""

    class Kind(models.TextChoices):
        ASSEMBLY = "assembly", "支部党员大会"
        COMMITTEE = "committee", "支部委员会"
        GROUP = "group", "党小组会"
        LECTURE = "lecture", "党课"
        THEME_DAY = "theme_day", "主题党日"

    region_code = RegionCodeField(db_index=True)  # the organization's
    organization = models.ForeignKey(
        PartyOrganization, verbose_name="党组织", on_delete=models.PROTECT, related_name="meetings"
    )
    gathering = models.OneToOneField(
        "gatherings.Gathering", verbose_name="会议", on_delete=models.PROTECT, related_name="+"
    )
    kind = models.CharField("类型", max_length=16, choices=Kind.choices)
    theme = models.ForeignKey(
        MonthlyTheme,
        verbose_name="月度主题",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="meetings",
    )
    held_on = models.DateField("会议日期")  # the gathering's local day, for the reports
    agenda = models.TextField("议程", max_length=2000, blank=True)
    minutes = models.TextField("会议记录", max_length=10000, blank=True)
    resolutions = models.TextField("决议事项", max_length=2000, blank=True)
    minutes_filed_at = models.DateTimeField("记录归档时间", null=True, blank=True)
    minutes_filed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = verbose_name_plural = "组织生活"
        ordering = ["-held_on", "-id"]
        indexes = [
            models.Index(fields=["organization", "held_on"], name="party_meeting_org_idx"),
            models.Index(fields=["held_on", "region_code"], name="party_meeting_day_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.organization} {self.get_kind_display()} {self.held_on}"

    @property
    def is_held(self) -> bool:
        return self.minutes_filed_at is not None


class DualReport(models.Model):
    """双报到: the party organization of an organ, institution or enterprise reporting to a
    community (单位报到), or one of its in-service members reporting to the community where
    they live (个人报到). Members then join volunteer teams and claim activities like any
    resident; at year end each unit reads its members' participation, and the community
    records its evaluation (DualEvaluation). Ended, never deleted."""

    class Kind(models.TextChoices):
        UNIT = "unit", "单位报到"
        MEMBER = "member", "个人报到"

    kind = models.CharField("类型", max_length=8, choices=Kind.choices)
    region_code = RegionCodeField(db_index=True, help_text="报到的社区")
    organization = models.ForeignKey(
        PartyOrganization,
        verbose_name="报到单位党组织",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="dual_reports",
    )
    member = models.ForeignKey(
        PartyMember,
        verbose_name="报到党员",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="dual_reports",
    )
    reported_on = models.DateField("报到日期")
    commitments = models.CharField("服务承诺", max_length=500, blank=True)
    registered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="登记人",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="党员本人报到的为空",
    )
    ended_on = models.DateField("结束日期", null=True, blank=True)
    end_reason = models.CharField("结束原因", max_length=200, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "双报到"
        ordering = ["region_code", "kind", "-reported_on", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="unit", organization__isnull=False, member__isnull=True)
                | Q(kind="member", member__isnull=False, organization__isnull=True),
                name="party_dual_report_names_one",
            ),
            models.UniqueConstraint(
                fields=["organization"],
                condition=Q(ended_on__isnull=True, kind="unit"),
                name="party_dual_unit_once",
            ),
            models.UniqueConstraint(
                fields=["member"],
                condition=Q(ended_on__isnull=True, kind="member"),
                name="party_dual_member_once",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.region_code}"

    @property
    def unit(self) -> PartyOrganization:
        """The unit's party organization: the one reporting, or the member's branch."""
        return self.organization or self.member.organization


class DualEvaluation(models.Model):
    """The community's evaluation of a unit or a member reported to it, once a year (a
    second one that year replaces the first, audited)."""

    class Grade(models.TextChoices):
        EXCELLENT = "excellent", "优秀"
        GOOD = "good", "良好"
        FAIR = "fair", "一般"
        POOR = "poor", "较差"

    report = models.ForeignKey(
        DualReport, verbose_name="报到", on_delete=models.PROTECT, related_name="evaluations"
    )
    year = models.PositiveSmallIntegerField("年度")
    grade = models.CharField("评价", max_length=16, choices=Grade.choices)
    comment = models.CharField("评语", max_length=500, blank=True)
    evaluated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="评价人", on_delete=models.PROTECT, related_name="+"
    )
    evaluated_at = models.DateTimeField("评价时间")

    class Meta:
        verbose_name = verbose_name_plural = "双报到评价"
        ordering = ["-year", "report"]
        constraints = [
            models.UniqueConstraint(fields=["report", "year"], name="party_dual_evaluation_once")
        ]

    def __str__(self) -> str:
        return f"{self.report_id} {self.year} {self.get_grade_display()}"


class Tally(models.Model):
    """组织部总览's counted figures for one party organization: its members by category
    (with those without a person, on the move, and whose probation is due) and, for a
    branch, whether its organization life is behind this quarter. Counting them over
    every member and meeting of a county at each view is too slow (400,000 members), so
    the worker counts them every few minutes (`party.tally`) and the overview sums these
    rows and says when they were counted (数据截至)."""

    organization = models.OneToOneField(
        PartyOrganization, primary_key=True, on_delete=models.CASCADE, related_name="+"
    )
    region_code = RegionCodeField(db_index=True)  # the organization's
    full = models.PositiveIntegerField(default=0)
    probationary = models.PositiveIntegerField(default=0)
    without_person = models.PositiveIntegerField(default=0)
    probation_due = models.PositiveIntegerField(default=0)
    mobile = models.PositiveIntegerField(default=0)
    quarter = models.CharField(max_length=7)
    behind = models.BooleanField(default=False)
    counted_at = models.DateTimeField()

    class Meta:
        verbose_name = verbose_name_plural = "党组织统计"

    def __str__(self) -> str:
        return f"{self.organization_id} @ {self.counted_at:%Y-%m-%d %H:%M}"
