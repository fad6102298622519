"""Give 嘉祥县 an approximate extent, so that request locations outside the county can be
refused. It is a rectangle around the county, not the surveyed boundary: replace it with
the boundary from the county's own GIS when one is loaded."""

from django.db import migrations

JIAXIANG = {
    "type": "Polygon",
    "coordinates": [
        [[116.13, 35.26], [116.53, 35.26], [116.53, 35.61], [116.13, 35.61], [116.13, 35.26]]
    ],
}


def load(apps, schema_editor):
    apps.get_model("places", "Region").objects.filter(code="370829", boundary__isnull=True).update(
        boundary=JIAXIANG
    )


class Migration(migrations.Migration):
    dependencies = [("places", "0002_jining_regions_and_special_groups")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
