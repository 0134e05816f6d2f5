from __future__ import annotations

from portal.db import db
from portal.errors import InvalidTransition
from portal.i18n import _l
from portal.jobs.models import JobRecord, JobStatus
from portal.jobs.queue import enqueue_after_commit


def may_see(rec: JobRecord, user) -> bool:
    """A job (and its result) is shown to the person who started it, to everyone of the company for system
    jobs, and to the company's admins."""
    from portal.accounts.models import Role

    return rec.user_id is None or rec.user_id == user.id or user.has_role(Role.admin)


def retry(record: JobRecord, actor) -> JobRecord:
    """Put a failed or stuck job back on its queue (the person who sees it can retry it).

    Stuck: queued or running, but its queue entry is gone (Redis lost it) or its worker died mid-job."""
    from portal.jobs.reconcile import is_stuck

    if record.status != JobStatus.failed:
        try:
            stuck = is_stuck(record)
        except Exception as exc:  # noqa: BLE001 - Redis unreachable
            raise InvalidTransition(_l("The job queue is not reachable right now; the job runs as soon as it is "
                                       "back.")) from exc
        if not stuck:
            raise InvalidTransition(_l("Only a failed or stuck job can be retried; this one is still %(value)s."),
                                    value=record.status.value)
    record.status = JobStatus.queued
    record.progress = 0
    record.error = None
    record.finished_at = None
    record.rq_job_id = f"{record.kind}-{record.id}-retry{record.attempts}"
    enqueue_after_commit(record.func, *record.args, record.id, queue=record.queue,
                         job_id=record.rq_job_id, record=record)
    db.session.commit()
    return record


def as_dict(record: JobRecord, result_url: str | None) -> dict:
    return {
        "id": record.id,
        "kind": record.kind,
        "title": record.title,
        "status": record.status.value,
        "progress": record.progress,
        "error": record.error,
        "result_url": result_url,
        "created_at": record.created_at.isoformat(),
        "finished_at": record.finished_at.isoformat() if record.finished_at else None,
    }
