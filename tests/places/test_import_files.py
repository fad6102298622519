"""An uploaded roster is deleted when its import ends, however it ends; its error workbook
is kept JICENG_ERROR_WORKBOOK_DAYS, then the worker's daily purge deletes it and the job's
page says it has expired."""

import datetime
from pathlib import Path

import pytest
import time_machine
from django.core.files.base import ContentFile
from django.utils import timezone

from jiceng.core import schedule
from jiceng.core.actors import Actor
from jiceng.core.models import AuditEvent
from jiceng.places import imports
from jiceng.places.models import ImportJob
from tests.places.test_roster_import import GRID, HEADERS, family, write_xlsx

pytestmark = pytest.mark.django_db


def files_under(settings, folder: str) -> list[Path]:
    root = Path(settings.MEDIA_ROOT) / folder
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def uploads(settings) -> list[Path]:
    """Uploaded rosters on disk (not error workbooks, exports or progress files)."""
    return [
        p
        for p in files_under(settings, "imports")
        if p.relative_to(Path(settings.MEDIA_ROOT) / "imports").parts[0]
        not in ("errors", "exports", "progress")
    ]


def post(client, path, django_capture_on_commit_callbacks) -> ImportJob:
    with open(path, "rb") as handle, django_capture_on_commit_callbacks(execute=True):
        response = client.post("/imports/", {"region": GRID, "file": handle})
    assert response.status_code == 302
    return ImportJob.objects.latest("pk")


def clean(tmp_path):
    return write_xlsx(tmp_path / "clean.xlsx", family("0001", 2))


def with_an_error(tmp_path):
    rows = family("0001", 2)
    rows[1][HEADERS.index("姓名")] = ""
    return write_xlsx(tmp_path / "errors.xlsx", rows)


def unreadable(tmp_path):
    path = tmp_path / "broken.xlsx"
    path.write_bytes(b"not a zip at all")
    return path


def crashing(tmp_path, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(imports, "roster_import", broken)
    return clean(tmp_path)


@pytest.mark.parametrize(
    ("make", "status"),
    [
        (clean, ImportJob.Status.DONE),
        (with_an_error, ImportJob.Status.REJECTED),
        (unreadable, ImportJob.Status.REJECTED),
        (crashing, ImportJob.Status.FAILED),
    ],
    ids=["done", "row-errors", "unreadable", "crashed"],
)
def test_the_upload_is_deleted_when_the_import_ends(
    world, login, tmp_path, settings, monkeypatch, django_capture_on_commit_callbacks, make, status
):
    client = login(world.a("grid_worker"))
    source = make(tmp_path, monkeypatch) if make is crashing else make(tmp_path)
    job = post(client, source, django_capture_on_commit_callbacks)
    assert job.status == status
    assert job.file.name == ""
    assert uploads(settings) == []
    # Only a workbook of row errors is kept, and the page says when it goes.
    assert bool(job.error_file) == (make is with_an_error)
    assert [p.name for p in files_under(settings, "imports/errors")] == (
        [Path(job.error_file.name).name] if job.error_file else []
    )
    page = client.get(f"/imports/{job.pk}/").content.decode()
    assert "上传的文件已在导入结束后删除" in page
    if job.error_file:
        assert (
            f"保留至 {(timezone.localtime(job.finished_at) + datetime.timedelta(30)):%Y-%m-%d}"
            in page
        )


def test_the_error_workbook_expires_after_its_days_and_the_page_says_so(
    world, login, tmp_path, settings, django_capture_on_commit_callbacks
):
    settings.JICENG_ERROR_WORKBOOK_DAYS = 30
    owner = world.a("grid_worker")
    job = post(login(owner), with_an_error(tmp_path), django_capture_on_commit_callbacks)
    workbook = Path(settings.MEDIA_ROOT) / job.error_file.name
    assert workbook.is_file()
    system = Actor.system("worker")

    with time_machine.travel(job.finished_at + datetime.timedelta(days=29), tick=False):
        assert schedule.run_now(actor=system, name="places.import_files_purge") == "完成：0"
        client = login(owner)
        assert "下载错误清单" in client.get(f"/imports/{job.pk}/").content.decode()
        assert client.get(f"/imports/{job.pk}/errors.xlsx").status_code == 200

    with time_machine.travel(job.finished_at + datetime.timedelta(days=30, minutes=1), tick=False):
        client = login(owner)
        # Past its time, it is not offered even before the purge has run.
        assert client.get(f"/imports/{job.pk}/errors.xlsx").status_code == 410
        schedule.run_due(actor=system)
        job.refresh_from_db()
        assert job.error_file.name == ""
        assert not workbook.exists()
        assert files_under(settings, "imports/errors") == []
        page = client.get(f"/imports/{job.pk}/")
        assert page.status_code == 200
        text = page.content.decode()
        assert "错误清单已超过保留期限" in text and f"/imports/{job.pk}/errors.xlsx" not in text
        assert job.first_errors  # the page's summary stays: it holds no cell's value
        gone = client.get(f"/imports/{job.pk}/errors.xlsx")
        assert gone.status_code == 410
        assert "已超过保留期限（30 天）" in gone.content.decode()
    event = AuditEvent.objects.get(action="roster.files_purged")
    assert (event.actor_kind, event.detail) == ("system", {"error_workbooks": 1, "uploads": 0})


def test_the_purge_deletes_uploads_left_by_ended_or_dead_imports_only(world, settings):
    """Imports finished before uploads were deleted, and imports whose worker died, still
    hold a file; a running import keeps its own."""
    owner = world.a("grid_worker")
    storage = ImportJob._meta.get_field("file").storage

    def job(status, **fields):
        made = ImportJob.objects.create(
            region_code=GRID, created_by=owner, original_name="名册.csv", status=status, **fields
        )
        made.file.save("roster.csv", ContentFile("姓名\n王建国\n".encode()), save=True)
        return made

    finished = job(ImportJob.Status.DONE, finished_at=timezone.now())
    running = job(ImportJob.Status.RUNNING)
    stalled = job(ImportJob.Status.RUNNING)
    ImportJob.objects.filter(pk=stalled.pk).update(
        created_at=timezone.now() - datetime.timedelta(hours=1)
    )
    names = {j.pk: j.file.name for j in (finished, running, stalled)}

    assert imports.import_files_purge(actor=Actor.system("worker")) == 2
    kept = {j.pk: j.file.name for j in ImportJob.objects.all()}
    assert kept == {finished.pk: "", running.pk: names[running.pk], stalled.pk: ""}
    assert not storage.exists(names[finished.pk]) and not storage.exists(names[stalled.pk])
    assert storage.exists(names[running.pk])
    assert imports.import_files_purge(actor=Actor.system("worker")) == 0  # once
    assert AuditEvent.objects.filter(action="roster.files_purged").count() == 1
