"""Roster import jobs: upload, run in the background, report progress and errors."""

import datetime
import logging
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from jiceng.core import audit, tasks
from jiceng.core.access import require, scope_filter
from jiceng.core.errors import DomainError, NotFound
from jiceng.places.models import ImportJob
from jiceng.places.roster import roster_import, upload_limit_bytes, write_error_workbook

logger = logging.getLogger(__name__)
STALLED_AFTER = datetime.timedelta(minutes=10)
ALLOWED_SUFFIXES = (".xlsx", ".csv")


def import_job_create(*, actor, region_code: str, upload) -> ImportJob:
    """Store an uploaded roster and queue it. The file is checked in full by the job."""
    require(actor, "people.import", region_code)
    name = Path(upload.name or "").name
    if Path(name).suffix.lower() not in ALLOWED_SUFFIXES:
        raise DomainError("只支持 .xlsx 和 .csv 文件。", code="file_type", field="file")
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
            created_by=actor,
            original_name=name[:200],
            heartbeat_at=timezone.now(),
        )
        job.file.save(f"roster{Path(name).suffix.lower()}", upload, save=False)
        job.save()
        audit.record(actor=actor, action="roster.upload", obj=job, detail={"file": name})
        tasks.enqueue(import_job_run, job.pk)
    return job


def import_job_run(job_id: int) -> None:
    """Run one queued job. Claimed with a conditional update, so it runs once."""
    claimed = ImportJob.objects.filter(pk=job_id, status=ImportJob.Status.QUEUED).update(
        status=ImportJob.Status.VALIDATING, heartbeat_at=timezone.now()
    )
    if not claimed:
        return
    job = ImportJob.objects.select_related("created_by").get(pk=job_id)

    def progress(stage: str, done: int, total: int) -> None:
        ImportJob.objects.filter(pk=job_id).update(
            status=stage,
            processed_rows=done,
            total_rows=max(total, done),
            heartbeat_at=timezone.now(),
        )

    finish = {"finished_at": timezone.now, "heartbeat_at": timezone.now}
    try:
        result = roster_import(
            actor=job.created_by,
            region_code=job.region_code,
            path=Path(job.file.path),
            original_name=job.original_name,
            progress=progress,
        )
    except DomainError as error:
        _finish(job_id, finish, status=ImportJob.Status.REJECTED, message=error.message)
        return
    except Exception:
        logger.exception("Roster import %s failed", job_id)
        _finish(
            job_id,
            finish,
            status=ImportJob.Status.FAILED,
            message="导入过程中出现系统错误，未写入任何数据。请联系管理员。",
        )
        return
    if result.errors:
        relative = f"imports/errors/{job_id}-errors.xlsx"
        write_error_workbook(result.errors, Path(job.file.storage.path(relative)))
        _finish(
            job_id,
            finish,
            status=ImportJob.Status.REJECTED,
            total_rows=result.total,
            processed_rows=result.total,
            error_count=len(result.errors),
            error_file=relative,
            message=f"发现 {len(result.errors)} 处错误，未写入任何数据。"
            "请下载错误清单，修改后重新导入。",
        )
        return
    note = (
        f"已忽略无法识别的列：{'、'.join(result.ignored_headers)}。"
        if result.ignored_headers
        else ""
    )
    _finish(
        job_id,
        finish,
        status=ImportJob.Status.DONE,
        total_rows=result.total,
        processed_rows=result.total,
        created_count=result.created,
        updated_count=result.updated,
        unchanged_count=result.unchanged,
        message=note,
    )


def _finish(job_id: int, stamps: dict, **fields) -> None:
    ImportJob.objects.filter(pk=job_id).update(**{k: f() for k, f in stamps.items()}, **fields)


def import_job_list(*, user):
    return scope_filter(ImportJob.objects.all(), user, "people.import").filter(created_by=user)


def import_job_get(*, user, pk: int) -> ImportJob:
    job = import_job_list(user=user).filter(pk=pk).first()
    if job is None:
        raise NotFound()
    return job


def is_stalled(job: ImportJob) -> bool:
    """A job whose worker died (server restarted) stops reporting progress."""
    return (
        not job.is_finished
        and job.heartbeat_at is not None
        and timezone.now() - job.heartbeat_at > STALLED_AFTER
    )
