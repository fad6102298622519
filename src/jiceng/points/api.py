"""REST API for points: the rankings (张榜公示), the same selector, scope and masking as
the public board."""

from ninja import Field, Router, Schema

from jiceng.core.access import require
from jiceng.points.selectors import Period, ranking

# One tag with the activities' operations, as the API document has always grouped them.
router = Router(tags=["服务活动与积分"])


class RankOut(Schema):
    place: int
    name: str = Field(description="已脱敏")
    earned: int


@router.get("/points/rankings", response=list[RankOut], summary="积分排行（张榜公示）")
def rankings(request, region: str, period: str | None = None, kind: str = "resident"):
    """`period` is 2026-11 (a month) or 2026 (a year); `kind` resident, household or team."""
    require(request.user, "points.view", region)
    if kind not in ("resident", "household", "team"):
        kind = "resident"
    return ranking(region_code=region, kind=kind, period=Period.parse(period))
