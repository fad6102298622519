"""QR posters (民情小微码) for grids and buildings: A4 SVG, printable anywhere.

The code leads to the grid's request form (/q/<grid code>/, with ?b=<building> for a
building's poster). The poster carries the grid's name and code, its grid worker's name
and the post's published work phone (公开工作电话) in full, as a tap-to-call link (the
worker's own phone only masked, when no work phone is published), and what to do.
Chinese text uses the system's CJK font (Noto Sans CJK on the county's machines).
"""

from html import escape

import segno

from jiceng.accounts.selectors import grid_posts
from jiceng.core.masking import mask_phone
from jiceng.places.models import Building, Region
from jiceng.places.ordering import buildings_in_order

FONT = "'Noto Sans CJK SC', 'Source Han Sans SC', 'PingFang SC', 'Microsoft YaHei', sans-serif"
QR_SIZE = 130  # millimetres


def intake_url(base_url: str, grid: Region, building: Building | None = None) -> str:
    url = f"{base_url.rstrip('/')}/q/{grid.code}/"
    return f"{url}?b={building.pk}" if building else url


def _qr(url: str, x: float, y: float, size: float) -> str:
    inline = segno.make(url, error="m").svg_inline(omitsize=True, border=2)
    return inline.replace("<svg ", f'<svg x="{x}" y="{y}" width="{size}" height="{size}" ', 1)


def _text(x, y, size, content, weight="normal", fill="#1f2328") -> str:
    return (
        f'<text x="{x}" y="{y}" font-size="{size}" font-weight="{weight}" fill="{fill}" '
        f'text-anchor="middle" font-family="{FONT}">{escape(content)}</text>'
    )


def _tel(number: str, content: str) -> str:
    dial = escape(number.replace("-", ""), quote=True)
    return f'<a href="tel:{dial}">{content}</a>'


def poster_svg(
    *, grid: Region, worker, base_url: str, building: Building | None = None, work_phone: str = ""
) -> str:
    """One A4 poster (210 × 297 mm) as an SVG document."""
    url = intake_url(base_url, grid, building)
    place = f"{grid.name}{(' · ' + building.name) if building else ''}"
    name = (worker.full_name or worker.username) if worker else ""
    if work_phone:
        worker_line = _tel(
            work_phone, _text(105, 236, 6.5, f"网格员 {name}  工作电话 {work_phone}".strip())
        )
    elif worker:
        worker_line = _text(105, 236, 6.5, f"网格员 {name}  {mask_phone(worker.phone)}")
    else:
        worker_line = _text(105, 236, 6.5, "网格员 待配备")
    parts = [
        '<svg xmlns="http://www.w3.org/2000/svg" width="210mm" height="297mm" '
        'viewBox="0 0 210 297">',
        '<rect width="210" height="297" fill="#fff"/>',
        '<rect width="210" height="42" fill="#b71c1c"/>',
        _text(105, 22, 15, "民情小微码", "bold", "#fff"),
        _text(105, 34, 7, "居民“码”上提 · 我们马上办", fill="#fff"),
        _text(105, 58, 8.5, place, "bold"),
        _qr(url, (210 - QR_SIZE) / 2, 64, QR_SIZE),
        _text(105, 206, 7, "微信或浏览器扫码，说说遇到的问题"),
        _text(105, 216, 5.5, "可拍照上传 · 可匿名 · 凭查询链接看进度、评价结果", fill="#636c76"),
        worker_line,
        _text(105, 250, 5, f"网格编码 {grid.code}", fill="#636c76"),
        _text(105, 283, 4.5, "紧急情况请拨打 110、119、120；其他事项可拨打 12345", fill="#636c76"),
        "</svg>",
    ]
    return "\n".join(parts)


def grid_posters(*, region: Region, base_url: str, per_building: bool = False, limit: int = 500):
    """(file name, SVG) for every grid under `region`, or every building when asked."""
    grids = list(
        Region.objects.filter(level=Region.Level.GRID, code__within=region.code).order_by("code")[
            :limit
        ]
    )
    posts = grid_posts(region_codes=[g.code for g in grids])
    for grid in grids:
        post = posts.get(grid.code)
        worker, work_phone = (post.user, post.work_phone) if post else (None, "")
        if not per_building:
            yield (
                f"{grid.code}.svg",
                poster_svg(grid=grid, worker=worker, base_url=base_url, work_phone=work_phone),
            )
            continue
        for building in buildings_in_order(Building.objects.filter(region_code=grid.code)):
            svg = poster_svg(
                grid=grid, worker=worker, base_url=base_url, building=building,
                work_phone=work_phone,
            )  # fmt: skip
            yield f"{grid.code}-{building.pk}.svg", svg
