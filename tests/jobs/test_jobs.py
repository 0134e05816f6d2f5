"""Background jobs on RQ: the visible JobRecord, retries with back-off, manual retry, enqueue-after-commit."""
from __future__ import annotations

import csv
import io
import time

import pytest
from rq import Queue
from rq.registry import ScheduledJobRegistry
from rq.scheduler import RQScheduler

from portal.accounts.models import User
from portal.db import db
from portal.jobs import queue as jobs_queue
from portal.jobs.models import JobRecord, JobStatus
from portal.jobs.queue import PermanentJobError, enqueue_after_commit, rq_id, start_tracked
from portal.notifications.models import OutboxMail
from portal.notifications.services import queue_mail
from tests import factories
from tests.accounts.helpers import count, fresh, location_path, text

EXPORT_JOB = "portal.accounts.jobs.export_members_job"


def rq_queue(app, name="default") -> Queue:
    return Queue(name, connection=app.extensions["portal_redis"])


def start_export(client) -> JobRecord:
    resp = client.post("/company/members/export")
    assert resp.status_code == 302, text(resp)[:300]
    job_id = int(location_path(resp).rsplit("/", 1)[1])
    assert location_path(resp) == f"/jobs/{job_id}"
    return db.session.get(JobRecord, job_id)


class Breakable:
    """Stands in for members_csv inside the export job; raises while ``broken``."""

    def __init__(self, real):
        self.real, self.broken, self.calls = real, True, 0

    def __call__(self, *args, **kwargs):
        self.calls += 1
        if self.broken:
            raise RuntimeError("the disk is on fire")
        return self.real(*args, **kwargs)


@pytest.fixture
def breakable_export(monkeypatch):
    # The job module imported members_csv by name, so it is replaced where the job looks it up.
    import portal.accounts.jobs as account_jobs

    fake = Breakable(account_jobs.members_csv)
    monkeypatch.setattr(account_jobs, "members_csv", fake)
    return fake


# ------------------------------------------------------------------------------------------- success

def test_member_export_runs_and_offers_the_csv(world, login, run_jobs, app, monkeypatch):
    sneaky = factories.user(world.buyer, "procurement", name='=HYPERLINK("x")', email="sneaky@acme.test")
    for i in range(15):  # more than 20 members: the job reports progress on the way
        factories.user(world.buyer, "accounts", email=f"clerk{i}@acme.test", name=f"Clerk {i:02d}")
    import portal.accounts.jobs as account_jobs

    seen = []
    real_progress = account_jobs.set_progress
    monkeypatch.setattr(account_jobs, "set_progress",
                        lambda rec_id, p: (seen.append((rec_id, p)), real_progress(rec_id, p)))

    admin = login(world.buyer_admin)
    rec = start_export(admin)
    assert rec.status == JobStatus.queued
    assert rec.company_id == world.buyer.id and rec.user_id == world.buyer_admin.id
    assert len(rq_queue(app)) == 1
    assert admin.get(f"/jobs/{rec.id}.json").get_json()["status"] == "queued"

    run_jobs()

    rec = fresh(rec)
    assert rec.status == JobStatus.succeeded
    assert rec.progress == 100
    assert rec.attempts == 1
    assert rec.error is None
    assert rec.finished_at is not None and rec.started_at is not None
    assert seen and all(r == rec.id and 0 < p < 100 for r, p in seen)

    status = admin.get(f"/jobs/{rec.id}.json").get_json()
    assert status["status"] == "succeeded"
    assert status["progress"] == 100
    assert status["result_url"] == f"/files/{rec.result_file_id}"
    assert "Download result" in text(admin.get(f"/jobs/{rec.id}"))

    download = admin.get(status["result_url"])
    assert download.status_code == 200
    assert download.mimetype == "text/csv"
    assert "attachment" in download.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(download.data.decode("utf-8-sig"))))
    emails = {r["email"] for r in rows}
    assert {world.buyer_admin.email, world.procurement.email, sneaky.email, "clerk14@acme.test"} <= emails
    assert world.sales_a.email not in emails  # only this company's members
    assert len(rows) == len(User.query.filter_by(company_id=world.buyer.id).all())
    sneaky_row = next(r for r in rows if r["email"] == sneaky.email)
    assert sneaky_row["name"] == "'=HYPERLINK(\"x\")"  # neutralised: a spreadsheet shows text, runs nothing
    assert sneaky_row["roles"] == "procurement"


def test_export_is_for_admins_only(world, login, app):
    c = login(world.procurement)
    assert c.post("/company/members/export").status_code == 403
    assert count(JobRecord) == 0
    assert len(rq_queue(app)) == 0


# ------------------------------------------------------------------------------------------- failure

def test_failing_job_ends_failed_after_retries_and_can_be_retried(world, login, run_jobs, app, monkeypatch,
                                                                  breakable_export):
    monkeypatch.setattr(jobs_queue, "RETRY_INTERVALS", [0, 0, 0])  # retries go straight back on the queue
    admin = login(world.buyer_admin)
    rec = start_export(admin)

    run_jobs()

    rec = fresh(rec)
    assert breakable_export.calls == 4  # the first run and three retries
    assert rec.attempts == 4
    assert rec.status == JobStatus.failed
    assert rec.error == "The job failed: the disk is on fire (RuntimeError). You can retry it."
    assert rec.finished_at is not None
    assert rec.result_file_id is None
    assert len(rq_queue(app)) == 0
    status = admin.get(f"/jobs/{rec.id}.json").get_json()
    assert status["status"] == "failed"
    assert status["error"] == rec.error
    assert status["result_url"] is None
    page = admin.get(f"/jobs/{rec.id}").get_data(as_text=True)
    assert 'data-job-retry class=""' in page  # the retry button is shown

    breakable_export.broken = False
    resp = admin.post(f"/jobs/{rec.id}/retry", follow_redirects=True)
    assert "The job is queued again." in text(resp)
    rec = fresh(rec)
    assert rec.status == JobStatus.queued
    assert rec.error is None and rec.progress == 0 and rec.finished_at is None
    assert rec.rq_job_id == f"members-csv-{rec.id}-retry4"
    assert len(rq_queue(app)) == 1

    run_jobs()

    rec = fresh(rec)
    assert rec.status == JobStatus.succeeded
    assert rec.result_file_id is not None
    assert rec.attempts == 5


def test_first_failure_is_retried_later_with_backoff(world, login, run_jobs, app, breakable_export):
    admin = login(world.buyer_admin)
    rec = start_export(admin)
    before = time.time()

    run_jobs()

    rec = fresh(rec)
    assert breakable_export.calls == 1
    assert rec.status == JobStatus.queued  # not failed yet: a retry is scheduled
    assert rec.error == "Attempt failed (the disk is on fire); retrying shortly."
    assert rec.finished_at is None
    assert len(rq_queue(app)) == 0
    conn = app.extensions["portal_redis"]
    registry = ScheduledJobRegistry("default", connection=conn)
    assert registry.get_job_ids() == [rq_id(rec.rq_job_id)]
    due = conn.zscore(registry.key, rq_id(rec.rq_job_id))
    first_interval = jobs_queue.RETRY_INTERVALS[0]
    assert before + first_interval - 1 <= due <= time.time() + first_interval + 1

    # time passes: the scheduler moves the due job back to its queue, and this time it works
    breakable_export.broken = False
    conn.zadd(registry.key, {rq_id(rec.rq_job_id): 0}, xx=True)
    scheduler = RQScheduler(["default"], connection=conn)
    scheduler.prepare_registries(["default"])
    scheduler.enqueue_scheduled_jobs()
    assert len(rq_queue(app)) == 1

    run_jobs()

    rec = fresh(rec)
    assert rec.status == JobStatus.succeeded
    assert rec.attempts == 2
    assert rec.error is None


def test_permanent_error_is_recorded_as_a_sentence(world, login, run_jobs, monkeypatch, breakable_export):
    monkeypatch.setattr(jobs_queue, "RETRY_INTERVALS", [0, 0, 0])
    monkeypatch.setattr(breakable_export, "real", _raise_permanent)
    breakable_export.broken = False
    rec = start_export(login(world.buyer_admin))
    run_jobs()
    rec = fresh(rec)
    assert rec.status == JobStatus.failed
    assert rec.error == "The member list cannot be built from this data."
    assert rec.finished_at is not None


def _raise_permanent(*args, **kwargs):
    raise PermanentJobError("The member list cannot be built from this data.")


def test_permanent_error_is_not_retried(world, login, run_jobs, app, monkeypatch, breakable_export):
    monkeypatch.setattr(jobs_queue, "RETRY_INTERVALS", [0, 0, 0])
    monkeypatch.setattr(breakable_export, "real", _raise_permanent)
    breakable_export.broken = False
    rec = start_export(login(world.buyer_admin))
    run_jobs()
    rec = fresh(rec)
    assert rec.status == JobStatus.failed
    assert breakable_export.calls == 1
    assert rec.attempts == 1
    job = rq_queue(app).fetch_job(rq_id(rec.rq_job_id))
    assert job.get_status() == "failed"


def test_retrying_a_succeeded_job_is_refused(world, login, run_jobs, app):
    admin = login(world.buyer_admin)
    rec = start_export(admin)
    run_jobs()
    assert fresh(rec).status == JobStatus.succeeded

    resp = admin.post(f"/jobs/{rec.id}/retry", follow_redirects=True)
    assert "Only a failed or stuck job can be retried" in text(resp)
    rec = fresh(rec)
    assert rec.status == JobStatus.succeeded
    assert rec.result_file_id is not None
    assert len(rq_queue(app)) == 0


def test_retrying_a_queued_job_is_refused(world, login, app):
    admin = login(world.buyer_admin)
    rec = start_export(admin)
    resp = admin.post(f"/jobs/{rec.id}/retry", follow_redirects=True)
    assert "Only a failed or stuck job can be retried" in text(resp)
    assert len(rq_queue(app)) == 1  # still just the original


def test_job_index_lists_own_jobs(world, login, run_jobs):
    admin = login(world.buyer_admin)
    rec = start_export(admin)
    body = text(admin.get("/jobs/"))
    assert f"/jobs/{rec.id}" in body
    other = text(login(world.admin_a).get("/jobs/"))
    assert f"/jobs/{rec.id}\"" not in other


# ------------------------------------------------------------------------------------------- after commit

def test_enqueue_happens_only_after_commit(world, app):
    rec = start_tracked(EXPORT_JOB, world.buyer.id, kind="members-csv", title="Member list (CSV)",
                        company_id=world.buyer.id, user_id=world.buyer_admin.id)
    mail = queue_mail("someone@example.com", "Hello", "Body", company_id=world.buyer.id)
    assert rec.id and mail.id  # flushed, so they have ids ...
    assert len(rq_queue(app)) == 0  # ... but nothing reached Redis yet
    assert len(rq_queue(app, "mail")) == 0

    db.session.rollback()

    assert len(rq_queue(app)) == 0
    assert len(rq_queue(app, "mail")) == 0
    assert count(JobRecord) == 0 and count(OutboxMail) == 0
    # the next commit does not resurrect what was rolled back
    factories.company("buyer")
    assert len(rq_queue(app)) == 0
    assert len(rq_queue(app, "mail")) == 0

    rec = start_tracked(EXPORT_JOB, world.buyer.id, kind="members-csv", title="Member list (CSV)",
                        company_id=world.buyer.id, user_id=world.buyer_admin.id)
    db.session.commit()
    q = rq_queue(app)
    assert q.job_ids == [rq_id(f"members-csv-{rec.id}")]
    job = q.fetch_job(rq_id(f"members-csv-{rec.id}"))
    assert job.func_name == EXPORT_JOB
    assert job.args == (world.buyer.id, rec.id)  # ids only, the record id last


def test_job_enqueued_in_rolled_back_savepoint_is_dropped(world, app):
    with db.session.begin_nested() as savepoint:
        queue_mail("someone@example.com", "Hello", "Body", company_id=world.buyer.id)
        savepoint.rollback()
    db.session.commit()
    assert count(OutboxMail) == 0
    assert len(rq_queue(app, "mail")) == 0


def test_double_enqueue_with_the_same_job_id_is_harmless(world, app):
    for _ in range(2):
        enqueue_after_commit("portal.notifications.jobs.send_mail_job", 1, queue="mail", job_id="mail-1")
        db.session.commit()
    assert rq_queue(app, "mail").job_ids == [rq_id("mail-1")]


def test_jobs_take_plain_values_only(world):
    with pytest.raises(TypeError, match="ids and plain values"):
        enqueue_after_commit("portal.notifications.jobs.send_mail_job", world.buyer, queue="mail")
    with pytest.raises(ValueError, match="unknown queue"):
        enqueue_after_commit("portal.notifications.jobs.send_mail_job", 1, queue="nowhere")
