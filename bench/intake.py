"""Requests at scale, on PostgreSQL (part of `make bench`).

- Intake: Open311 POST requests.json and REST POST /api/v1/cases under 16 concurrent
  clients, each as a ratio to a bare Django JSON endpoint served by the same gunicorn,
  through the same middleware, in the same run (target ≥ 0.3).
- With 1,000,000 requests in the database: a grid worker's queue and a town's supervision
  queue (p95 < 100 ms) and the figures page for the county (p95 < 300 ms), as whole
  page requests.

Environment: JICENG_BENCH_DATABASE_URL (server part), JICENG_BENCH_REQUESTS (default
1,000,000), JICENG_BENCH_SECONDS (default 15 per endpoint).
"""

import datetime
import http.client
import json
import os
import random
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

from common import bench_environment, database_url, p95, recreate_database, setup_django, timed

DATABASE_URL = database_url("jiceng_bench_requests")
REQUESTS = int(os.environ.get("JICENG_BENCH_REQUESTS", "1000000"))
SECONDS = float(os.environ.get("JICENG_BENCH_SECONDS", "15"))
CLIENTS = 16
PORT = 8765
HERE = Path(__file__).resolve().parent


def generate_requests(rng: random.Random, count: int = REQUESTS) -> int:
    """`count` requests over the last two years across the demo grids, almost all closed,
    the rest spread over the open states (written by COPY, without timelines)."""
    from django.db import transaction
    from django.utils import timezone

    from jiceng.accounts.models import Membership
    from jiceng.cases.models import Case, Category
    from jiceng.cases.services import TRACKING_ALPHABET
    from jiceng.core.bulk import IdAllocator, RowStream

    S = Case.Status
    categories = list(Category.objects.filter(parent__isnull=False))
    workers = dict(
        Membership.objects.filter(role="grid_worker").values_list("region_code", "user_id")
    )
    grids = sorted(workers)
    now = timezone.now()
    open_states = [S.RECEIVED, S.ACCEPTED, S.DISPATCHED, S.IN_PROGRESS, S.HANDLED]
    fields = [
        "id", "region_code", "tracking_code", "access_token", "category", "description",
        "answers", "channel", "status", "received_at", "due_at", "dispatched_at",
        "handle_due_at", "handled_at", "closed_at", "closed_on_time", "updated_at", "handler",
        "rating", "rework_count", "extension_days", "extension_requested_days",
        "dissatisfied_count", "supervised_region_code", "address", "reporter_name",
        "reporter_phone", "reporter_shown_to", "reporter_account", "device_id",
        "client_fingerprint", "media_url", "result", "rating_comment", "idempotency_key",
    ]  # fmt: skip
    with transaction.atomic():
        ids = IdAllocator(Case)
        with RowStream(Case, fields) as stream:
            for _ in range(count):
                grid = rng.choice(grids)
                category = rng.choice(categories)
                received = now - datetime.timedelta(seconds=rng.random() * 730 * 86400)
                age = (now - received).days
                status = rng.choice(open_states) if age < 20 and rng.random() < 0.6 else S.CLOSED
                status = S.VOIDED if status == S.CLOSED and rng.random() < 0.02 else status
                handled = status in (S.DISPATCHED, S.IN_PROGRESS, S.HANDLED, S.CLOSED)
                dispatched = received + datetime.timedelta(hours=2) if handled else None
                handle_due = received + datetime.timedelta(days=7) if handled else None
                closed = (
                    received + datetime.timedelta(days=rng.uniform(0.5, 9))
                    if status in (S.CLOSED, S.VOIDED)
                    else None
                )
                due = None if closed else received + datetime.timedelta(days=rng.uniform(0.2, 8))
                stream.write((
                    ids.take(Case), grid, "".join(rng.choices(TRACKING_ALPHABET, k=10)),
                    secrets.token_urlsafe(18), category.pk, f"{category.name}，请处理", {},
                    "qr", status, received, due, dispatched, handle_due,
                    closed if status == S.CLOSED else None, closed,
                    (closed <= handle_due) if status == S.CLOSED else None, closed or received,
                    workers[grid] if handled else None,
                    rng.choice([5, 5, 4, 4, 3, 2, None]) if status == S.CLOSED else None,
                    0, 0, 0, 0, "", "", "", "", "community", "", "", "", "", "", "", "",
                ))  # fmt: skip
        ids.close()
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")  # as autovacuum leaves the database in service
    return count


PAGES = [
    ("grid worker: my queue", "grid_worker", "/cases/?queue=mine", 100),
    ("grid worker: open in grid", "grid_worker", "/cases/?queue=open", 100),
    ("town: supervision queue", "town_staff", "/cases/supervision/", 100),
    ("county: figures this year", "county_admin", "/cases/figures/?region=370829", 300),
]


def page_latencies(logins: dict, pages=PAGES) -> list[tuple[str, list[float], float]]:
    from django.test import Client

    from jiceng.accounts.models import User

    results = []
    for label, role, url, target in pages:
        client = Client()
        client.force_login(User.objects.get(username=logins[role]["username"]))
        assert client.get(url).status_code == 200, url
        results.append((label, timed(lambda c=client, u=url: c.get(u), 30), target))
    return results


def load(path: str, body_for, headers: dict, method: str = "POST") -> tuple[int, int]:
    """CLIENTS threads, each with its own keep-alive connection, for SECONDS."""
    done = [0] * CLIENTS
    failed = [0] * CLIENTS
    stop = time.monotonic() + SECONDS

    def worker(index: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
        serial = 0
        while time.monotonic() < stop:
            serial += 1
            body, extra = body_for(index, serial)
            try:
                connection.request(method, path, body=body, headers={**headers, **extra})
                response = connection.getresponse()
                response.read()
                if response.status < 300:
                    done[index] += 1
                else:
                    failed[index] += 1
            except (OSError, http.client.HTTPException):
                failed[index] += 1
                connection = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(done), sum(failed)


def throughput(
    var_dir: str, logins: dict, api_key: str, url: str = DATABASE_URL
) -> list[tuple[str, float, int]]:
    from jiceng.accounts.models import User
    from jiceng.accounts.services import api_token_issue
    from jiceng.core.actors import Actor

    worker = User.objects.get(username=logins["grid_worker"]["username"])
    token, _ = api_token_issue(actor=Actor.staff(worker))
    grid = logins["grid_worker"]["region_code"]
    env = {
        **os.environ,
        **bench_environment(var_dir, url),
        "JICENG_INTAKE_PER_HOUR_DEVICE": "100000000",
        "JICENG_INTAKE_PER_HOUR_GRID": "100000000",
        "JICENG_LOG_LEVEL": "ERROR",
        "PYTHONPATH": str(HERE),
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "bench_wsgi:application",
         "--workers", os.environ.get("JICENG_BENCH_WORKERS", "4"),
         "--bind", f"127.0.0.1:{PORT}", "--log-level", "warning"],
        cwd=HERE, env=env,
    )  # fmt: skip
    try:
        for _ in range(100):
            try:
                http.client.HTTPConnection("127.0.0.1", PORT, timeout=2).request("GET", "/healthz")
                break
            except OSError:
                time.sleep(0.2)
        form = {"Content-Type": "application/x-www-form-urlencoded"}
        as_json = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}

        def open311(index, serial):
            fields = {
                "api_key": api_key,
                "jurisdiction_id": "370829",
                "service_code": "environment.garbage",
                "address_id": grid,
                "description": f"垃圾桶满了 {index}-{serial}-{time.time()}",
                "device_id": f"bench-{index}",
            }
            return urllib.parse.urlencode(fields), {}

        def rest(index, serial):
            body = {"region_code": grid, "category": "environment.garbage",
                    "description": f"垃圾桶满了 {index}-{serial}"}  # fmt: skip
            return json.dumps(body), {"Idempotency-Key": f"bench-{index}-{serial}-{time.time()}"}

        results = []
        for label, path, body_for, headers, method in (
            ("bare Django JSON endpoint", "/bench/bare", lambda i, s: (None, {}), {}, "GET"),
            ("Open311 POST requests.json", "/open311/v2/requests.json", open311, form, "POST"),
            ("REST POST /api/v1/cases", "/api/v1/cases", rest, as_json, "POST"),
        ):
            ok, failed = load(path, body_for, headers, method)
            results.append((label, ok / SECONDS, failed))
        return results
    finally:
        server.terminate()
        server.wait(10)


def main() -> int:
    print(
        f"Jiceng requests benchmark: {REQUESTS:,} requests, {CLIENTS} clients, "
        f"{os.cpu_count()} cpus"
    )
    print(f"date: {datetime.datetime.now():%Y-%m-%d %H:%M}")
    recreate_database(DATABASE_URL)
    with tempfile.TemporaryDirectory() as var_dir:
        setup_django(var_dir, DATABASE_URL)
        from jiceng.accounts.models import User
        from jiceng.cases.services import open311_client_create
        from jiceng.core.actors import Actor
        from jiceng.demo.generator import build_demo

        started = time.perf_counter()
        _, totals = build_demo(
            actor=Actor.system("bench"), scale="urban", seed=7, progress=lambda message: None
        )
        logins = {login["role"]: login for login in totals.logins}
        generate_requests(random.Random(7))
        print(
            f"built the demo county and {REQUESTS:,} requests "
            f"in {time.perf_counter() - started:.0f} s (not measured)"
        )

        ok = True
        print("pages (whole requests through Django, 30 runs each):")
        for label, samples, target in page_latencies(logins):
            ok &= p95(samples) < target
            print(
                f"  {label:<28} p50 {statistics.median(samples):6.1f} ms"
                f"  p95 {p95(samples):6.1f} ms  (target < {target} ms)"
            )

        _, api_key = open311_client_create(
            actor=Actor.staff(User.objects.get(username="admin")),
            name="bench",
            county_code="370829",
        )
        print(
            f"intake under {CLIENTS} concurrent clients, {SECONDS:.0f} s each "
            "(gunicorn, 4 workers):"
        )
        results = throughput(var_dir, logins, api_key)
        bare = results[0][1]
        for label, rate, failed in results:
            print(f"  {label:<28} {rate:8.1f} req/s  ratio {rate / bare:4.2f}  failed {failed}")
            if label != "bare Django JSON endpoint":
                ok &= rate / bare >= 0.3
    print("PASS" if ok else "BELOW TARGET")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
