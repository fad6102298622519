"""`jiceng qr-posters --region CODE --out DIR`: A4 SVG posters for every grid (or building)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from jiceng.cases.posters import grid_posters
from jiceng.core.links import public_base_url
from jiceng.places.models import Region


class Command(BaseCommand):
    help = "生成网格（或楼栋）的民情小微码 A4 海报（SVG）。"

    def add_arguments(self, parser):
        parser.add_argument("--region", required=True, help="网格、社区、乡镇或县的编码")
        parser.add_argument("--out", required=True, type=Path, help="输出目录")
        parser.add_argument(
            "--base-url", default="", help="居民访问的网址（缺省用 JICENG_PUBLIC_URL）"
        )
        parser.add_argument("--buildings", action="store_true", help="每个楼栋一张")

    def handle(self, *args, region: str, out: Path, base_url: str, buildings: bool, **options):
        node = Region.objects.filter(code=region).first()
        if node is None:
            raise CommandError(f"找不到区划 {region}")
        try:
            base = base_url or public_base_url()
        except ValueError:
            raise CommandError(
                "请用 --base-url 或 JICENG_PUBLIC_URL 指定居民访问的网址。"
            ) from None
        out.mkdir(parents=True, exist_ok=True)
        count = 0
        for name, svg in grid_posters(
            region=node, base_url=base, per_building=buildings, limit=100_000
        ):
            (out / name).write_text(svg, encoding="utf-8")
            count += 1
        self.stdout.write(f"已生成 {count} 张海报：{out}")
