"""A mark that this database holds the generated demo county (and nothing else)."""

from django.db import models


class DemoRun(models.Model):
    """演示数据: written once by `jiceng demo`. A database without it that holds people or
    staff accounts is real, and the demo refuses to touch it."""

    created_at = models.DateTimeField("生成时间", auto_now_add=True)
    scale = models.CharField("规模", max_length=16)
    seed = models.IntegerField("随机种子")
    persons = models.PositiveIntegerField("人数", default=0)
    seconds = models.FloatField("用时（秒）", default=0)

    class Meta:
        verbose_name = verbose_name_plural = "演示数据"

    def __str__(self) -> str:
        return f"{self.scale} {self.created_at:%Y-%m-%d}"
