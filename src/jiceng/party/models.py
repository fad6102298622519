"""Party organizations laid over the region tree, their members, and first secretaries."""

from django.db import models

from jiceng.core.fields import RegionCodeField
from jiceng.core.personal import PersonalField


class PartyOrganization(models.Model):
    """党组织: 联合党委/社区党委 → 网格党支部 → 楼栋党小组 → 党员中心户, each attached to the
    region node it serves (a community, a grid, a building's grid)."""

    class Kind(models.TextChoices):
        JOINT_COMMITTEE = "joint_committee", "联合党委"
        COMMUNITY_COMMITTEE = "community_committee", "社区（村）党委"
        GRID_BRANCH = "grid_branch", "网格党支部"
        BUILDING_GROUP = "building_group", "楼栋党小组"
        MEMBER_HOUSEHOLD = "member_household", "党员中心户"

    PARENT_KINDS = {
        Kind.JOINT_COMMITTEE: (),
        Kind.COMMUNITY_COMMITTEE: (Kind.JOINT_COMMITTEE,),
        Kind.GRID_BRANCH: (Kind.COMMUNITY_COMMITTEE,),
        Kind.BUILDING_GROUP: (Kind.GRID_BRANCH,),
        Kind.MEMBER_HOUSEHOLD: (Kind.BUILDING_GROUP, Kind.GRID_BRANCH),
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
    secretary = models.ForeignKey(
        "places.Person",
        verbose_name="书记（组长、中心户户主）",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
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
    committee_size = models.PositiveSmallIntegerField("班子成员数", default=0)
    founded_on = models.DateField("成立日期", null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "党组织"
        ordering = ["region_code", "kind", "name"]

    def __str__(self) -> str:
        return self.name


class PartyMember(models.Model):
    """党员: a person's membership of one party organization."""

    class Status(models.TextChoices):
        FULL = "full", "正式党员"
        PROBATIONARY = "probationary", "预备党员"

    region_code = RegionCodeField(db_index=True)
    person = models.OneToOneField(
        "places.Person", verbose_name="人员", on_delete=models.CASCADE, related_name="party_member"
    )
    organization = models.ForeignKey(
        PartyOrganization,
        verbose_name="所在党组织",
        on_delete=models.PROTECT,
        related_name="members",
    )
    status = models.CharField(
        "党员类别", max_length=16, choices=Status.choices, default=Status.FULL
    )
    joined_on = models.DateField("入党日期", null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "党员"
        ordering = ["region_code", "id"]

    def __str__(self) -> str:
        return str(self.person)


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
