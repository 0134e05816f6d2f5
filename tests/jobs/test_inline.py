"""The in-process fallback: without Redis, jobs run in a thread after the commit; one warning at start."""
from __future__ import annotations

import logging
import threading

import pytest
from rq import Queue

from portal.accounts import services as account_services
from portal.accounts.models import User
from portal.db import db
from portal.jobs import queue as jobs_queue
from portal.jobs.models import JobRecord, JobStatus
from portal.notifications.models import MailStatus, OutboxMail
from portal.notifications.services import queue_mail

WARNING = "background jobs run in-process after each commit"


@pytest.fixture
def make_app(app, database_url, redis_url):
    """create_app(...) on the same database; every app made here is disposed afterwards."""
    from portal import create_app

    made = []

    def _make(**overrides):
        cfg = {
            "TESTING": True, "SECRET_KEY": app.config["SECRET_KEY"],
            "SQLALCHEMY_DATABASE_URI": database_url, "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
            # the limiter is a singleton: keep it on the suite's storage
            "RATELIMIT_STORAGE_URI": redis_url,
            "WTF_CSRF_ENABLED": False, "UPLOAD_FOLDER": app.config["UPLOAD_FOLDER"], "MAIL_SERVER": "",
            "SERVER_NAME": "portal.test",
        }
        cfg.update(overrides)
        new = create_app(cfg)
        made.append(new)
        return new

    yield _make
    jobs_queue.wait_for_inline_jobs()
    for a in made:
        with a.app_context():
            db.engine.dispose()


def warnings_from(caplog):
    return [r for r in caplog.records if r.levelno == logging.WARNING and WARNING in r.getMessage()]


def test_unreachable_redis_falls_back_with_exactly_one_warning(make_app, caplog):
    caplog.set_level(logging.WARNING)
    inline_app = make_app(JOBS_MODE="auto", REDIS_URL="redis://127.0.0.1:1/0")
    assert inline_app.extensions["portal_jobs_mode"] == "inline"
    assert inline_app.extensions["portal_redis"] is None
    found = warnings_from(caplog)
    assert len(found) == 1
    assert "redis://127.0.0.1:1/0" in found[0].getMessage()


def test_no_redis_url_falls_back_with_exactly_one_warning(make_app, caplog):
    caplog.set_level(logging.WARNING)
    inline_app = make_app(JOBS_MODE="auto", REDIS_URL="")
    assert inline_app.extensions["portal_jobs_mode"] == "inline"
    assert len(warnings_from(caplog)) == 1


def test_explicit_inline_mode_logs_exactly_one_warning(make_app, caplog):
    caplog.set_level(logging.WARNING)
    make_app(JOBS_MODE="inline", REDIS_URL="")
    assert len(warnings_from(caplog)) == 1


def test_rq_mode_refuses_to_start_without_redis(make_app):
    with pytest.raises(RuntimeError, match="PORTAL_JOBS_MODE=rq but Redis"):
        make_app(JOBS_MODE="rq", REDIS_URL="redis://127.0.0.1:1/0")


def test_inline_job_runs_in_a_thread_after_commit(world, make_app, app, monkeypatch, caplog):
    inline_app = make_app(JOBS_MODE="inline", REDIS_URL="")
    caplog.clear()  # the one start-up warning is tested separately
    import portal.accounts.jobs as account_jobs

    threads = []
    real = account_jobs.members_csv
    monkeypatch.setattr(account_jobs, "members_csv",
                        lambda *a, **kw: (threads.append(threading.current_thread()), real(*a, **kw))[1])
    caplog.set_level(logging.WARNING)

    with inline_app.app_context():
        admin = db.session.get(User, world.buyer_admin.id)
        rec = account_services.start_member_export(admin)
        rec_id = rec.id
        jobs_queue.wait_for_inline_jobs()
        db.session.expire_all()
        rec = db.session.get(JobRecord, rec_id)
        assert rec.status == JobStatus.succeeded
        assert rec.progress == 100
        assert rec.result_file_id is not None

    assert len(threads) == 1
    assert threads[0] is not threading.main_thread()
    assert threads[0].name == f"inline-job-members-csv-{rec_id}"
    assert jobs_queue.inline_threads == []
    assert warnings_from(caplog) == []  # the warning is given once at start, not per job
    # nothing went through Redis
    assert all(len(Queue(q, connection=app.extensions["portal_redis"])) == 0 for q in jobs_queue.QUEUES)


def test_inline_job_is_not_started_when_the_transaction_rolls_back(world, make_app):
    inline_app = make_app(JOBS_MODE="inline", REDIS_URL="")
    with inline_app.app_context():
        queue_mail("someone@example.com", "Hello", "Body", company_id=world.buyer.id)
        db.session.rollback()
        assert jobs_queue.inline_threads == []


def test_inline_mail_is_kept_and_a_failed_inline_job_can_be_retried(world, make_app, monkeypatch):
    inline_app = make_app(JOBS_MODE="inline", REDIS_URL="")
    import portal.accounts.jobs as account_jobs
    from portal.jobs import services as job_services

    with inline_app.app_context():
        mail = queue_mail("someone@example.com", "Hello", "Body", company_id=world.buyer.id)
        db.session.commit()
        jobs_queue.wait_for_inline_jobs()
        db.session.expire_all()
        assert db.session.get(OutboxMail, mail.id).status == MailStatus.kept

        real, state = account_jobs.members_csv, {"broken": True}

        def breakable(*a, **kw):
            if state["broken"]:
                raise OSError("no space left")
            return real(*a, **kw)

        monkeypatch.setattr(account_jobs, "members_csv", breakable)
        admin = db.session.get(User, world.buyer_admin.id)
        rec_id = account_services.start_member_export(admin).id
        jobs_queue.wait_for_inline_jobs()
        db.session.expire_all()
        rec = db.session.get(JobRecord, rec_id)
        # no RQ retries in-process: the first failure is final and says so
        assert rec.status == JobStatus.failed
        assert rec.error == "The job failed: no space left (OSError). You can retry it."

        state["broken"] = False
        job_services.retry(rec, admin)
        jobs_queue.wait_for_inline_jobs()
        db.session.expire_all()
        assert db.session.get(JobRecord, rec_id).status == JobStatus.succeeded
