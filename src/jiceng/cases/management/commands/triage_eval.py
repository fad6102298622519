"""`jiceng triage-eval --county CODE`: how good are the category suggestions?"""

from django.core.management.base import BaseCommand

from jiceng.cases.triage import evaluate


class Command(BaseCommand):
    help = "用已办结诉求检验分类建议的准确率（留出一部分做检验）。"

    def add_arguments(self, parser):
        parser.add_argument("--county", default="370829")
        parser.add_argument("--share", type=float, default=0.2)

    def handle(self, *args, county: str, share: float, **options):
        for cold, label in ((False, "从已办结诉求学习"), (True, "仅用类别名称和关键词")):
            result = evaluate(county, share, cold=cold)
            self.stdout.write(
                f"{label}：检验 {result['tested']} 件，首选正确 {result['top1']:.1%}，"
                f"前三项含正确类别 {result['top3']:.1%}"
            )
