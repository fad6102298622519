"""Patrols (巡查) and visits (走访): a grid worker's rounds of the grid, the buildings
walked and the checks made (三必清), the calls on households, and the findings that
become requests (Case.patrol). Every change goes through patrols.services."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from jiceng.core.fields import RegionCodeField


class Patrol(models.Model):
    """巡查: one round of a grid worker's daily patrol (曲阜's "6688" routine), recording
    which buildings were walked and whether facilities, people and hazards were checked
    (三必清). A finding becomes a request in one step (Case.patrol)."""

    region_code = RegionCodeField(db_index=True, help_text="网格")
    worker = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="网格员",
        on_delete=models.PROTECT,
        related_name="patrols",
    )
    started_at = models.DateTimeField("开始时间", db_index=True)
    ended_at = models.DateTimeField("结束时间")
    buildings = models.ManyToManyField("places.Building", verbose_name="走过的楼栋", blank=True)
    checked_facilities = models.BooleanField("区域设施已查清", default=False)
    checked_people = models.BooleanField("人员情况已查清", default=False)
    checked_hazards = models.BooleanField("矛盾隐患已查清", default=False)
    notes = models.TextField("巡查记录", max_length=2000, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "巡查"
        db_table = "cases_patrol"  # made in cases; the table kept its name when the app moved
        ordering = ["-started_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ended_at__gte=models.F("started_at")), name="patrol_ends_after_start"
            )
        ]

    def __str__(self) -> str:
        return f"{self.region_code} {self.started_at:%Y-%m-%d}"


class Visit(models.Model):
    """走访: a call on a household, often a special-group one. The notes are sensitive
    personal data: masked unless revealed, and each reveal is audited."""

    region_code = RegionCodeField(db_index=True)
    household = models.ForeignKey(
        "places.Household", verbose_name="户", on_delete=models.PROTECT, related_name="visits"
    )
    worker = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="走访人",
        on_delete=models.PROTECT,
        related_name="visits",
    )
    patrol = models.ForeignKey(
        Patrol,
        verbose_name="所属巡查",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="visits",
    )
    at = models.DateTimeField("走访时间", db_index=True)
    notes = models.TextField("走访情况", max_length=2000)

    class Meta:
        verbose_name = verbose_name_plural = "走访"
        db_table = "cases_visit"
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.household} {self.at:%Y-%m-%d}"
