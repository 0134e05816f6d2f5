"""Per job: one structured log line (job id, queue, function, duration, outcome, the request id that enqueued
it) and the cluster-wide job metrics. Called by ``portal.jobs.queue.task``."""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from portal.ops.context import request_id_var

log = logging.getLogger("portal.job")


@dataclass
class JobRun:
    job_id: str | None
    queue: str
    func: str
    t0: float
    token: object = None
    conn: object = None


def started(func_name: str, inline_request_id: str | None = None) -> JobRun:
    job = None
    try:
        from rq import get_current_job

        job = get_current_job()
    except Exception:  # noqa: BLE001
        job = None
    if job is not None:
        rid = (job.meta or {}).get("request_id")
        run = JobRun(job.id, job.origin or "?", func_name, time.perf_counter(), conn=job.connection)
    else:
        rid = inline_request_id or request_id_var.get()
        run = JobRun(None, "inline", func_name, time.perf_counter())
    run.token = request_id_var.set(rid)
    return run


def finished(run: JobRun, outcome: str) -> None:
    from portal.ops import metrics

    seconds = time.perf_counter() - run.t0
    try:
        level = logging.WARNING if outcome == "failed" else logging.INFO
        log.log(level, "job %s %s on %s: %s in %.1fms", run.job_id or "-", run.func, run.queue, outcome,
                seconds * 1000,
                extra={"fields": {"event": "job", "job_id": run.job_id, "queue": run.queue, "func": run.func,
                                  "duration_ms": round(seconds * 1000, 2), "outcome": outcome,
                                  "request_id": request_id_var.get()}})
        if run.job_id is not None:
            metrics.record_job(run.queue, outcome, seconds, conn=run.conn)
    finally:
        try:
            request_id_var.reset(run.token)
        except ValueError:
            pass
