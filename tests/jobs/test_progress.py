"""Inside a job, progress is written at most once per ``PROGRESS_EVERY`` (a quick job writes none; its end writes
100); outside a job every call writes."""
from __future__ import annotations

import sqlalchemy as sa
from rq import Queue

import portal.jobs.queue as jq
from portal.db import db
from portal.jobs import task
from portal.jobs.models import JobRecord, JobStatus

clock = {"now": 1000.0}
seen: list[int] = []


def _stored(rec_id: int) -> int:
    with db.engine.connect() as conn:  # what the progress bar's poll would read
        return conn.scalar(sa.select(JobRecord.progress).where(JobRecord.id == rec_id))


@task(tracked=True)
def progress_job(rec_id: int) -> None:
    jq.set_progress(rec_id, 10)  # right after the start: skipped
    seen.append(_stored(rec_id))
    clock["now"] += jq.PROGRESS_EVERY + 0.5
    jq.set_progress(rec_id, 50)  # over a second later: written
    seen.append(_stored(rec_id))
    jq.set_progress(rec_id, 60)  # right after that write: skipped
    seen.append(_stored(rec_id))
    clock["now"] += jq.PROGRESS_EVERY
    jq.set_progress(rec_id, 70)
    seen.append(_stored(rec_id))


def test_a_job_writes_its_progress_at_most_once_a_second(app, world, run_jobs, monkeypatch):
    monkeypatch.setattr(jq, "_clock", lambda: clock["now"])
    seen.clear()
    rec = JobRecord(kind="progress", title="Progress", func=f"{__name__}.progress_job", args=[], queue="default",
                    company_id=world.buyer.id, status=JobStatus.queued)
    db.session.add(rec)
    db.session.commit()
    Queue("default", connection=app.extensions["portal_redis"]).enqueue(f"{__name__}.progress_job", rec.id)
    run_jobs(["default"])
    assert seen == [0, 50, 50, 70]
    db.session.expire_all()
    rec = db.session.get(JobRecord, rec.id)
    assert rec.status == JobStatus.succeeded and rec.progress == 100 and rec.started_at is not None


def test_outside_a_job_every_progress_call_writes(app, world):
    rec = JobRecord(kind="progress", title="Progress", func="x.y", args=[], queue="default",
                    company_id=world.buyer.id, status=JobStatus.running)
    db.session.add(rec)
    db.session.commit()
    for p in (10, 20, 30):
        jq.set_progress(rec.id, p)
        assert _stored(rec.id) == p
