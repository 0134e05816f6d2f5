"""Issue 16, faults 2 and 3: a worker that dies mid-job leaves a job that is found and re-run within a minute or
two (heartbeat keys + the reconcile sweep), a person can retry a stuck job, and timed transitions have a queue of
their own that workers serve first."""
from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from rq import Queue
from rq.job import Job, JobStatus as RQStatus

from portal.db import db, utcnow
from portal.jobs.models import JobRecord, JobStatus
from portal.jobs.queue import rq_id
from tests.accounts.helpers import text
from tests.jobs.test_jobs import start_export


def reconcile(**kw):
    from portal.jobs.reconcile import reconcile as _reconcile

    return _reconcile(**kw)


def die_mid_job(app, rec: JobRecord, seconds_ago: int = 60) -> None:
    """What `kill -9` of the worker leaves behind: the RQ job taken off its queue and marked started, in the
    the record "running 10 %"; no heartbeat, since the process that wrote it is gone."""
    conn = app.extensions["portal_redis"]
    q = Queue(rec.queue, connection=conn)
    job = Job.fetch(rq_id(rec.rq_job_id), connection=conn)
    q.remove(job)
    job.set_status(RQStatus.STARTED)
    job.started_at = utcnow() - timedelta(seconds=seconds_ago)
    job.save()
    db.session.execute(sa.update(JobRecord).where(JobRecord.id == rec.id).values(
        status=JobStatus.running, progress=10, started_at=utcnow() - timedelta(seconds=seconds_ago),
        created_at=utcnow() - timedelta(seconds=seconds_ago + 1)))
    db.session.commit()


def test_job_of_a_dead_worker_is_found_and_run_again(world, login, app, run_jobs):
    rec = start_export(login(world.buyer_admin))
    die_mid_job(app, rec)
    assert reconcile()["records"] == 1
    db.session.expire_all()
    again = db.session.get(JobRecord, rec.id)
    assert again.status == JobStatus.queued and "worker stopped" in again.error
    assert reconcile()["records"] == 0  # now waiting in Redis: not enqueued twice
    run_jobs()
    db.session.expire_all()
    done = db.session.get(JobRecord, rec.id)
    assert done.status == JobStatus.succeeded and done.result_file_id is not None


def test_job_with_a_live_heartbeat_is_left_alone(world, login, app):
    from portal.jobs.queue import ALIVE_PREFIX

    rec = start_export(login(world.buyer_admin))
    die_mid_job(app, rec)
    app.extensions["portal_redis"].set(ALIVE_PREFIX + rq_id(rec.rq_job_id), "1", ex=30)  # its worker is alive
    assert reconcile()["records"] == 0
    db.session.expire_all()
    assert db.session.get(JobRecord, rec.id).status == JobStatus.running


def test_running_job_keeps_a_heartbeat_that_ends_with_it(world, login, app, run_jobs, monkeypatch):
    import portal.accounts.jobs as account_jobs
    from portal.jobs.queue import ALIVE_PREFIX

    conn = app.extensions["portal_redis"]
    rec = start_export(login(world.buyer_admin))
    seen = []
    real = account_jobs.members_csv

    def watching(*a, **kw):
        seen.append((conn.exists(ALIVE_PREFIX + rq_id(rec.rq_job_id)), conn.ttl(ALIVE_PREFIX + rq_id(rec.rq_job_id))))
        return real(*a, **kw)

    monkeypatch.setattr(account_jobs, "members_csv", watching)
    run_jobs()
    assert seen and seen[0][0] == 1 and 0 < seen[0][1] <= 30
    assert not conn.exists(ALIVE_PREFIX + rq_id(rec.rq_job_id))


def test_a_person_can_retry_a_stuck_job(world, login, app, run_jobs):
    admin = login(world.buyer_admin)
    rec = start_export(admin)
    die_mid_job(app, rec)
    page = text(admin.get(f"/jobs/{rec.id}"))
    assert "This job is stuck" in page and "Retry the job" in page
    resp = admin.post(f"/jobs/{rec.id}/retry", follow_redirects=True)
    assert "The job is queued again." in text(resp)
    run_jobs()
    db.session.expire_all()
    assert db.session.get(JobRecord, rec.id).status == JobStatus.succeeded


def test_a_job_lost_by_redis_can_be_retried(world, login, app, run_jobs):
    admin = login(world.buyer_admin)
    rec = start_export(admin)
    app.extensions["portal_redis"].flushdb()  # Redis restarted without its data
    db.session.execute(sa.update(JobRecord).where(JobRecord.id == rec.id).values(
        created_at=utcnow() - timedelta(minutes=1)))
    db.session.commit()
    resp = admin.post(f"/jobs/{rec.id}/retry", follow_redirects=True)
    assert "The job is queued again." in text(resp)
    run_jobs()
    db.session.expire_all()
    assert db.session.get(JobRecord, rec.id).status == JobStatus.succeeded


# ------------------------------------------------------------------------------------------- fault 3

def test_timed_transitions_have_their_own_queue_served_first(app, monkeypatch):
    import rq.cron

    from portal.jobs.cli import jobs_cli
    from portal.jobs.queue import QUEUES

    registered = {}

    class FakeCron:
        def __init__(self, *a, **kw):
            pass

        def register(self, func, queue_name, **kw):
            registered["queue"] = queue_name

        def register_death(self):
            pass

        def start(self):
            pass

    monkeypatch.setattr(rq.cron, "CronScheduler", FakeCron)
    result = app.test_cli_runner().invoke(jobs_cli, ["scheduler"])
    assert result.exit_code == 0, result.output
    assert registered["queue"] == "timed" and QUEUES[0] == "timed"


def test_a_worker_takes_the_tick_before_a_backlog_of_documents(app, run_jobs):
    from portal.jobs.periodic import TIMED_QUEUE

    conn = app.extensions["portal_redis"]
    docs = Queue("documents", connection=conn)
    for i in range(5):
        docs.enqueue("portal.jobs.periodic.tick", job_id=f"backlog-{i}")
    Queue(TIMED_QUEUE, connection=conn).enqueue("portal.jobs.periodic.tick", job_id="the-tick")
    run_jobs(max_jobs=1)  # the worker's default queue order
    assert Job.fetch("the-tick", connection=conn).get_status() == RQStatus.FINISHED
    assert len(docs) == 5
