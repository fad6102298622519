"""gunicorn entry point for the benchmarks: the product with bench_urls as its URLconf."""

import os

import django
from django.conf import settings

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jiceng.settings")
django.setup()
settings.ROOT_URLCONF = "bench_urls"

from django.core.wsgi import get_wsgi_application  # noqa: E402

application = get_wsgi_application()
