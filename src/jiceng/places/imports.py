"""Import jobs — the one import pipeline — and roster exports: an import (upload, run in
the background, report progress and errors) of any kind of file an app declares
(`register_importer`: the roster here, a branch's members in party), or an export of the
roster (written in the background, reporting progress, then downloaded).

Progress goes to a small file beside the uploads rather than to the database: the import
holds its transaction (and, on PostgreSQL, a COPY) open on the connection the whole time,
and a page polling the job must see progress before that transaction commits.

An uploaded roster is deleted as soon as its import ends, however it ends: its people are
in the database or were never written, and a copy on disk is personal data kept for no
duty. Its error workbook (which repeats the offending cells) is kept for
JICENG_ERROR_WORKBOOK_DAYS for the importer to correct the file, then deleted by the
worker's daily `places.import_files_purge`.
"""

import datetime
import io
import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from jiceng.core import audit, tasks
from jiceng.core.access import scope_filter
from jiceng.core.actors import Actor
from jiceng.core.errors import DomainError, NotFound
from jiceng.places.models import ImportJob, Region
from jiceng.places.roster import (
    FIRST_ERRORS,
    ImportResult,
    require_exporter,
    require_importer,
    roster_export,
    roster_import,
    upload_limit_bytes,
    write_error_workbook,
)

logger = logging.getLogger(__name__)
STALLED_AFTER = datetime.timedelta(minutes=10)
ALLOWED_SUFFIXES = (".xlsx", ".xls", ".csv")


@dataclass(frozen=True)
class Importer:
    """One kind of file the pipeline takes. `check(actor, region_code, target_id)` refuses
    an upload the actor may not make; `run(actor=, region_code=, target_id=, path=,
    original_name=, progress=)` checks the whole file and writes it in one transaction or
    not at all, returning its ImportResult; `visible(user, jobs)` keeps the jobs of this
    kind whose target the user still holds the right for; `back(job)` is (address, label)
    of the page the result leads back to."""

    code: str
    label: str
    check: Callable
    run: Callable[..., ImportResult]
    visible: Callable
    back: Callable


IMPORTERS: dict[str, Importer] = {}


def register_importer(importer: Importer) -> None:
    """Declared once per kind, at start-up (an AppConfig.ready)."""
    if importer.code in IMPORTERS and IMPORTERS[importer.code] is not importer:
        raise ValueError(f"importer {importer.code!r} declared twice")
    IMPORTERS[importer.code] = importer


def _roster_run(*, actor, region_code, target_id, path, original_name, progress):
    return roster_import(
        actor=actor,
        region_code=region_code,
        path=path,
        original_name=original_name,
        progress=progress,
    )


def _roster_back(job) -> tuple[str, str]:
    from django.urls import reverse

    return reverse("places:region", args=[job.region_code]), "查看导入范围"


register_importer(
    Importer(
        code="roster",
        label="花名册",
        check=lambda actor, region_code, target_id: require_importer(actor, region_code),
        run=_roster_run,
        visible=lambda user, jobs: scope_filter(jobs, user, "people.import"),
        back=_roster_back,
    )
)


@dataclass(frozen=True)
class Progress:
    stage: str  # "validating" or "writing" (an import), "exporting" (an export)
    done: int
    total: int
    at: float  # when it was written (time.time())

    @property
    def percent(self) -> int:
        return min(99, self.done * 100 // self.total) if self.total else 0


def _progress_path(job_id: int) -> Path:
    return Path(settings.MEDIA_ROOT) / "imports" / "progress" / f"{job_id}.json"


def _write_progress(job_id: int, stage: str, done: int, total: int) -> None:
    path = _progress_path(job_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".tmp")
    partial.write_text(json.dumps({"stage": stage, "done": done, "total": max(total, done)}))
    os.replace(partial, path)  # readers never see half a file


def import_job_progress(job: ImportJob) -> Progress | None:
    """How far a running job has got, or None if it has not reported yet."""
    path = _progress_path(job.pk)
    try:
        data = json.loads(path.read_text())
        return Progress(data["stage"], data["done"], data["total"], path.stat().st_mtime)
    except (OSError, ValueError, KeyError):
        return None


def is_stalled(job: ImportJob) -> bool:
    """A job whose worker died (the server restarted) stops reporting progress."""
    if job.is_finished:
        return False
    progress = import_job_progress(job)
    last = (
        datetime.datetime.fromtimestamp(progress.at, tz=datetime.timezone.utc)
        if progress
        else job.created_at
    )
    return timezone.now() - last > STALLED_AFTER


def import_job_create(
    *, actor: Actor, region_code: str, upload, importer: str = "roster", target_id=None
) -> ImportJob:
    """Store an uploaded file of a declared kind and queue it. The file is checked in full
    by the job."""
    spec = IMPORTERS[importer]
    spec.check(actor, region_code, target_id)
    name = Path(upload.name or "").name
    if Path(name).suffix.lower() not in ALLOWED_SUFFIXES:
        raise DomainError("只支持 .xlsx、.xls 和 .csv 文件。", code="file_type", field="file")
    if upload.size > upload_limit_bytes():
        raise DomainError(
            f"文件超过 {upload_limit_bytes() // 1024 // 1024} MB，请拆分后导入。",
            code="file_too_large",
            field="file",
        )
    if upload.size == 0:
        raise DomainError("文件是空的。", code="empty_file", field="file")
    with transaction.atomic():
        job = ImportJob(
            region_code=region_code,
            importer=importer,
            target_id=target_id,
            created_by=actor.user,
            original_name=name[:200],
        )
        job.file.save(f"{importer}{Path(name).suffix.lower()}", upload, save=False)
        job.save()
        audit.record(
            actor=actor,
            action="roster.upload",
            obj=job,
            detail={"file": name, "importer": importer},
        )
        tasks.enqueue(import_job_run, job.pk)
    return job


def _claim(job_id: int, kind: str) -> ImportJob | None:
    """The queued job of `kind`, claimed with a conditional update so that it runs once
    (None when another worker took it, or it is not queued)."""
    claimed = ImportJob.objects.filter(pk=job_id, kind=kind, status=ImportJob.Status.QUEUED).update(
        status=ImportJob.Status.RUNNING
    )
    if not claimed:
        return None
    return ImportJob.objects.select_related("created_by").get(pk=job_id)


def import_job_run(job_id: int) -> None:
    """Run one queued import, once."""
    job = _claim(job_id, ImportJob.Kind.IMPORT)
    if job is None:
        return
    started = time.monotonic()
    try:
        with job.file.open("rb") as upload:  # opened in memory: sealed on disk
            content = upload.read()
        result = IMPORTERS[job.importer].run(
            actor=Actor.staff(job.created_by),
            region_code=job.region_code,
            target_id=job.target_id,
            path=io.BytesIO(content),
            original_name=job.original_name,
            progress=lambda stage, done, total: _write_progress(job_id, stage, done, total),
        )
    except DomainError as error:
        _finish_import(job, status=ImportJob.Status.REJECTED, message=error.message)
        return
    except Exception:
        logger.exception("Roster import %s failed", job_id)
        _finish_import(
            job,
            status=ImportJob.Status.FAILED,
            message="导入过程中出现系统错误，未写入任何数据。请联系管理员。",
        )
        return
    if result.errors:
        workbook = io.BytesIO()
        write_error_workbook(result.errors, workbook)
        relative = job.file.storage.save(
            f"imports/errors/{job_id}-errors.xlsx", ContentFile(workbook.getvalue())
        )
        _finish_import(
            job,
            status=ImportJob.Status.REJECTED,
            total_rows=result.total,
            error_count=len(result.errors),
            error_file=relative,
            first_errors=[[e.row, e.column, e.message] for e in result.errors[:FIRST_ERRORS]],
            message=_limited(
                f"发现 {len(result.errors)} 处错误，未写入任何数据。"
                "请下载错误清单，修改后重新导入。" + "".join(result.warnings)
            ),
        )
        return
    ignored = "、".join(result.ignored_headers)
    _finish_import(
        job,
        status=ImportJob.Status.DONE,
        total_rows=result.total,
        created_count=result.created,
        updated_count=result.updated,
        unchanged_count=result.unchanged,
        households_created=result.households_created,
        buildings_created=result.buildings_created,
        message=_limited(
            "".join(result.warnings)
            + (f"已忽略无法识别的列：{ignored}。" if ignored else "")
            + f"用时 {time.monotonic() - started:.0f} 秒。"
        ),
    )


def _limited(message: str) -> str:
    limit = ImportJob._meta.get_field("message").max_length
    return message if len(message) <= limit else message[: limit - 1] + "…"


def export_job_create(*, actor: Actor, region_code: str) -> ImportJob:
    """Queue an export of the roster under `region_code`: a community's takes seconds,
    which its page spends showing the progress rather than waiting in silence."""
    require_exporter(actor, region_code)
    region = Region.objects.get(code=region_code)
    with transaction.atomic():
        job = ImportJob.objects.create(
            kind=ImportJob.Kind.EXPORT,
            region_code=region_code,
            created_by=actor.user,
            original_name=f"{region.name}花名册-{timezone.localdate():%Y%m%d}.xlsx",
        )
        tasks.enqueue(export_job_run, job.pk)
    return job


def export_job_run(job_id: int) -> None:
    """Write one queued export to sealed storage, once."""
    job = _claim(job_id, ImportJob.Kind.EXPORT)
    if job is None:
        return
    try:
        workbook = io.BytesIO()
        count = roster_export(
            actor=Actor.staff(job.created_by),
            region_code=job.region_code,
            target=workbook,
            progress=lambda done, total: _write_progress(job_id, "exporting", done, total),
        )
        relative = job.file.storage.save(
            f"imports/exports/{job_id}-roster.xlsx", ContentFile(workbook.getvalue())
        )
    except DomainError as error:  # the right was withdrawn meanwhile
        _finish(job_id, status=ImportJob.Status.FAILED, message=error.message)
        return
    except Exception:
        logger.exception("Roster export %s failed", job_id)
        _finish(job_id, status=ImportJob.Status.FAILED, message="导出时出现系统错误，请重试。")
        return
    _finish(job_id, status=ImportJob.Status.DONE, total_rows=count, file=relative)


def _finish(job_id: int, **fields) -> None:
    ImportJob.objects.filter(pk=job_id).update(finished_at=timezone.now(), **fields)
    _progress_path(job_id).unlink(missing_ok=True)


def _finish_import(job: ImportJob, **fields) -> None:
    """Finish an import and delete its upload, the file first: a worker killed in between
    leaves a job that reads as stalled (its page says to upload again), never a file on
    disk that no row names."""
    if job.file.name:
        job.file.storage.delete(job.file.name)
    _finish(job.pk, file="", **fields)


def error_workbook_expires_at(job: ImportJob) -> datetime.datetime | None:
    if not job.error_count or job.finished_at is None:
        return None
    return job.finished_at + datetime.timedelta(days=settings.JICENG_ERROR_WORKBOOK_DAYS)


def error_workbook_has_expired(job: ImportJob) -> bool:
    """Past its keeping time (deleted, or about to be by the next purge)."""
    expires_at = error_workbook_expires_at(job)
    return expires_at is not None and (not job.error_file or timezone.now() >= expires_at)


def import_files_purge(*, actor: Actor) -> int:
    """Delete the error workbooks kept longer than JICENG_ERROR_WORKBOOK_DAYS, and the
    uploads of imports that ended without deleting theirs (finished before this rule, or
    stalled: their worker died); return how many files went. Each field is cleared with a
    conditional update before its file is deleted, so two runs at once delete each file
    once."""
    now = timezone.now()
    before = now - datetime.timedelta(days=settings.JICENG_ERROR_WORKBOOK_DAYS)
    imports = ImportJob.objects.filter(kind=ImportJob.Kind.IMPORT)
    workbooks = imports.filter(finished_at__lt=before).exclude(error_file="")
    uploads = imports.filter(
        Q(status__in=ImportJob.FINISHED) | Q(created_at__lt=now - STALLED_AFTER)
    ).exclude(file="")
    deleted = {"error_file": 0, "file": 0}
    for field, jobs in (("error_file", workbooks), ("file", uploads)):
        storage = ImportJob._meta.get_field(field).storage
        for job in jobs.only("pk", "status", "created_at", field).iterator():
            if field == "file" and not (job.is_finished or is_stalled(job)):
                continue
            name = getattr(job, field).name
            if ImportJob.objects.filter(pk=job.pk, **{field: name}).update(**{field: ""}):
                storage.delete(name)
                deleted[field] += 1
    if any(deleted.values()):
        audit.record(
            actor=actor,
            action="roster.files_purged",
            object_type="places.importjob",
            detail={"error_workbooks": deleted["error_file"], "uploads": deleted["file"]},
        )
    return sum(deleted.values())


def import_job_list(*, user):
    """The user's own jobs, each where they still hold the right it took."""
    jobs = ImportJob.objects.filter(created_by=user)
    found = scope_filter(jobs.filter(kind=ImportJob.Kind.EXPORT), user, "people.export")
    for code, spec in IMPORTERS.items():
        found |= spec.visible(user, jobs.filter(kind=ImportJob.Kind.IMPORT, importer=code))
    return found


def import_job_get(*, user, pk: int) -> ImportJob:
    job = import_job_list(user=user).filter(pk=pk).first()
    if job is None:
        raise NotFound()
    return job
