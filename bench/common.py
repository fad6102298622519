"""What the benchmarks share: a fresh PostgreSQL database, Django set up on it, timing."""

import os
from urllib.parse import urlparse

import psycopg

BASE_URL = os.environ.get("JICENG_BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/")
SECRET = "bench-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"
MASTER_KEY = "b3" * 32  # benchmarks only


def database_url(name: str) -> str:
    return urlparse(BASE_URL)._replace(path=f"/{name}").geturl()


def recreate_database(url: str) -> None:
    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    admin = parsed._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
        connection.execute(f'CREATE DATABASE "{name}"')


def bench_environment(var_dir: str, url: str) -> dict:
    return {
        "JICENG_DATABASE_URL": url,
        "JICENG_SECRET_KEY": SECRET,
        "JICENG_MASTER_KEY": MASTER_KEY,
        "JICENG_HTTPS": "0",
        "JICENG_VAR_DIR": var_dir,
        "JICENG_TASKS_EAGER": "1",
        "JICENG_ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
        "DJANGO_SETTINGS_MODULE": "jiceng.settings",
    }


def setup_django(var_dir: str, url: str) -> None:
    os.environ.update(bench_environment(var_dir, url))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)  # as in production


def timed(function, repeat: int) -> list[float]:
    import time

    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def p95(samples: list[float]) -> float:
    return sorted(samples)[max(0, int(len(samples) * 0.95) - 1)]
