"""WSGI entry point for gunicorn or any other WSGI server."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jiceng.settings")
application = get_wsgi_application()

# A WSGI server runs no system checks: a wrong master key fails here, before serving.
from jiceng.core import keys  # noqa: E402

keys.verify()
