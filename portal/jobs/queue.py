from __future__ import annotations

import contextvars
import functools
import importlib
import logging
import threading
import time

import sqlalchemy as sa
from flask import Flask, current_app, has_app_context
from flask_babel import lazy_gettext as _l
from sqlalchemy import event
from sqlalchemy.orm import Session

from portal.db import db, utcnow
from portal.jobs.models import JobRecord, JobStatus

log = logging.getLogger(__name__)

# Workers serve queues in this order: timed transitions (deadlines, expiry, reminders, the reconcile sweep) first,
# so they never wait behind hundreds of PDFs or mails.
QUEUES = ("timed", "documents", "credit", "mail", "webhooks", "default")
RETRY_INTERVALS = [5, 30, 120]  # seconds; three retries with growing back-off
PENDING_KEY = "portal_pending_jobs"
ALIVE_PREFIX = "portal:job-alive:"  # + RQ job id: refreshed by the running job, expires when its worker dies
QUEUE_DOWN_MESSAGE = _l("Saved. The background work will run as soon as the job queue is back.")

_worker_app: Flask | None = None
inline_threads: list[threading.Thread] = []


class PermanentJobError(Exception):
    """Raised by a job for a failure that retrying cannot fix (bad data, missing object)."""


# ---------------------------------------------------------------------------------------------------
# Redis / RQ plumbing
# ---------------------------------------------------------------------------------------------------

def redis_connection(app: Flask | None = None):
    app = app or current_app
    conn = app.extensions.get("portal_redis")
    return conn


def connect(url: str, **kwargs):
    """The portal's Redis client (connect timeout of a second). Built from the URL, so without redis-py's default
    client-level retries (`Redis(host=...)` retries three times with up to 10 s of jittered back-off each): with Redis
    down an enqueue fails at once and the outbox (the JobRecord or the waiting state, then `flask jobs reconcile`)
    takes over, instead of a web request sleeping for seconds."""
    from redis import Redis

    kwargs.setdefault("socket_connect_timeout", 1)
    return Redis.from_url(url, **kwargs)


def detect_mode(app: Flask) -> str:
    """Decide once at start whether jobs go to RQ or run in-process; warn once when in-process."""
    mode = app.config.get("JOBS_MODE", "auto")
    url = app.config.get("REDIS_URL")
    conn = None
    if mode in ("auto", "rq") and url:
        conn = connect(url)
        try:
            conn.ping()
        except Exception as exc:  # noqa: BLE001
            if mode == "rq":
                raise RuntimeError(f"PORTAL_JOBS_MODE=rq but Redis at {url} does not answer: {exc}")
            conn = None
    if conn is not None:
        app.extensions["portal_redis"] = conn
        return "rq"
    app.extensions["portal_redis"] = None
    # One warning at start, however in-process mode was reached: work is never silently moved off a worker.
    app.logger.warning(
        "No Redis reachable (REDIS_URL=%r) or PORTAL_JOBS_MODE=inline: background jobs run in-process after "
        "each commit. Set REDIS_URL and start `flask jobs worker` for real background work.", url or "")
    return "inline"


NAMESPACE_SEPARATOR = "__"


def namespace(app: Flask | None = None) -> str:
    """This installation's prefix for RQ job ids: ``PORTAL_JOBS_NAMESPACE`` when set (an empty value turns it
    off), else derived from the database the portal writes to (backend, host, port, database name or file):
    two portals sharing one Redis then never take each other's deterministic job ids (``invoice-pdf-42``) for
    their own and skip the work. The web processes, workers and scheduler of one portal share the database
    setting, so they agree on it without configuration."""
    app = app or (current_app._get_current_object() if has_app_context() else _app())
    cached = app.extensions.get("portal_jobs_namespace")
    if cached is not None:
        return cached
    ns = app.config.get("JOBS_NAMESPACE")
    if ns is not None:
        import re

        ns = re.sub(r"[^A-Za-z0-9-]+", "-", ns).strip("-")  # RQ job ids allow letters, digits, - and _ only
    else:
        import hashlib

        url = sa.engine.make_url(app.config["SQLALCHEMY_DATABASE_URI"])
        where = f"{url.get_backend_name()}|{url.host or ''}|{url.port or ''}|{url.database or ''}"
        ns = "portal-" + hashlib.sha256(where.encode()).hexdigest()[:10]
    app.extensions["portal_jobs_namespace"] = ns
    return ns


def rq_id(job_id: str, app: Flask | None = None) -> str:
    """The RQ job id of a portal job id (``invoice-pdf-42`` -> ``<namespace>__invoice-pdf-42``). The database
    (``JobRecord.rq_job_id``) keeps the portal's own id; only Redis sees the namespaced one."""
    ns = namespace(app)
    if not ns or job_id.startswith(ns + NAMESPACE_SEPARATOR):
        return job_id
    return f"{ns}{NAMESPACE_SEPARATOR}{job_id}"


def get_queue(name: str, app: Flask | None = None):
    from rq import Queue

    return Queue(name, connection=redis_connection(app))


# ---------------------------------------------------------------------------------------------------
# After-commit dispatch
# ---------------------------------------------------------------------------------------------------

def enqueue_after_commit(func_path: str, *args, queue: str = "default", job_id: str | None = None,
                         record: JobRecord | None = None, timeout: int = 600) -> None:
    """Schedule ``func_path(*args)`` to be enqueued once the current transaction commits.

    ``args`` must be plain values (ids), never ORM objects. ``job_id`` makes a double enqueue harmless.
    """
    if queue not in QUEUES:
        raise ValueError(f"unknown queue {queue}")
    for a in args:
        if not isinstance(a, (int, str, float, bool, type(None), list, tuple, dict)):
            raise TypeError("jobs take ids and plain values only")
    pending = db.session.info.setdefault(PENDING_KEY, [])
    from portal.ops.context import current_request_id

    pending.append({"func": func_path, "args": list(args), "queue": queue, "job_id": job_id,
                    "record": record, "timeout": timeout, "request_id": current_request_id(),
                    # the savepoint (if any) it was added in: rolled back with it
                    "txn": db.session().get_nested_transaction()})


def start_tracked(func_path: str, *args, kind: str, title: str, company_id: int, user_id: int | None,
                  queue: str = "default", job_id: str | None = None) -> JobRecord:
    """Create a visible JobRecord and enqueue the job after commit; the job receives the record id last."""
    rec = JobRecord(kind=kind, title=title, func=func_path, args=list(args), queue=queue,
                    company_id=company_id, user_id=user_id, status=JobStatus.queued)
    db.session.add(rec)
    db.session.flush()
    rec.rq_job_id = job_id or f"{kind}-{rec.id}"
    enqueue_after_commit(func_path, *args, rec.id, queue=queue, job_id=rec.rq_job_id, record=rec)
    return rec


@event.listens_for(Session, "after_commit")
def _dispatch_after_commit(session):
    pending = session.info.pop(PENDING_KEY, None)
    if not pending:
        return
    app = current_app._get_current_object()
    for n, item in enumerate(pending):
        if not _dispatch(app, item):
            if len(pending) > n + 1:  # Redis is down: don't wait for it once per job (an RFQ to 50 suppliers)
                log.warning("%d more jobs of this change stay queued in the database for reconcile",
                            len(pending) - n - 1)
            return


@event.listens_for(Session, "after_soft_rollback")
def _forget_on_rollback(session, previous_transaction):
    if previous_transaction.parent is None:  # outermost rollback: nothing happened
        session.info.pop(PENDING_KEY, None)
        return
    pending = session.info.get(PENDING_KEY)
    if not pending:
        return

    def inside(txn) -> bool:  # was the job added in the rolled-back savepoint or one nested in it?
        while txn is not None:
            if txn is previous_transaction:
                return True
            txn = txn.parent
        return False

    session.info[PENDING_KEY] = [item for item in pending if not inside(item.get("txn"))]


def _dispatch(app: Flask, item: dict) -> bool:
    """Enqueue one job after commit. Never raises into the request: the change is committed, and its job record
    (or the business state waiting for the job) is the outbox that ``reconcile`` re-enqueues when Redis is back."""
    if app.extensions.get("portal_jobs_mode") == "rq":
        try:
            enqueue_rq(redis_connection(app), item["func"], item["args"], queue=item["queue"],
                       job_id=item["job_id"], timeout=item["timeout"], request_id=item.get("request_id"))
        except Exception as exc:  # noqa: BLE001 - Redis down or refusing: log, leave the work to reconcile
            log.warning("Could not enqueue %s (%s): %s. It stays queued in the database; `flask jobs reconcile` "
                        "or the scheduler's sweep enqueues it when Redis is back.",
                        item["job_id"] or item["func"], item["queue"], exc)
            _tell_person_queue_is_down()
            return False
        return True
    # In-process fallback: a thread with its own app context and session, after this commit.
    t = threading.Thread(target=_run_inline, args=(app, item), daemon=True,
                         name=f"inline-job-{item['job_id'] or item['func']}")
    inline_threads.append(t)
    t.start()
    return True


def enqueue_rq(conn, func: str, args, *, queue: str, job_id: str | None, timeout: int = 600,
               request_id: str | None = None) -> bool:
    """Put one job on its RQ queue; False when a job with that id already exists (harmless double enqueue).
    ``request_id`` (the web request that caused it) travels in the job's meta into the job's log lines."""
    from rq import Queue, Retry
    from rq.exceptions import DuplicateJobError

    q = Queue(queue, connection=conn)
    if job_id:
        job_id = rq_id(job_id)
    try:
        q.enqueue_call(func, args=tuple(args), job_id=job_id, unique=bool(job_id), timeout=timeout,
                       retry=Retry(max=len(RETRY_INTERVALS), interval=RETRY_INTERVALS),
                       result_ttl=24 * 3600, failure_ttl=7 * 24 * 3600,
                       meta={"request_id": request_id} if request_id else None)
    except DuplicateJobError:
        log.info("job %s is already queued or done; not enqueued twice", job_id)
        return False
    return True


def _tell_person_queue_is_down() -> None:
    from flask import flash, g, has_request_context, request

    if not has_request_context() or g.get("portal_queue_down_told"):
        return
    g.portal_queue_down_told = True
    if (request.blueprint or "").startswith("api") or request.path.startswith("/api/"):
        return  # the API answers what it saved; the job record shows "queued"
    flash(str(QUEUE_DOWN_MESSAGE), "warning")


def _run_inline(app: Flask, item: dict) -> None:
    from portal.ops.context import request_id_var

    fn = resolve(item["func"])
    request_id_var.set(item.get("request_id"))  # this thread's own context: the job's lines join the request's
    with app.app_context():
        try:
            fn(*item["args"])
        except Exception:  # noqa: BLE001 - @task recorded it on the JobRecord; it can be retried there
            log.exception("inline job %s failed", item["func"])


def wait_for_inline_jobs(timeout: float = 30) -> None:
    while inline_threads:
        inline_threads.pop().join(timeout)


def resolve(func_path: str):
    module, _, name = func_path.rpartition(".")
    return getattr(importlib.import_module(module), name)


# ---------------------------------------------------------------------------------------------------
# The job wrapper
# ---------------------------------------------------------------------------------------------------

def _app() -> Flask:
    global _worker_app
    if has_app_context():
        return current_app._get_current_object()
    if _worker_app is None:
        from portal import create_app

        _worker_app = create_app()
    return _worker_app


def _retries_left() -> int:
    try:
        from rq import get_current_job

        job = get_current_job()
    except Exception:  # noqa: BLE001
        return 0
    if job is None:
        return 0
    return job.retries_left or 0


def task(tracked: bool = False):
    """Decorate a job function. With ``tracked=True`` the last positional argument is a JobRecord id."""

    def decorator(fn):
        @functools.wraps(fn)
        def wrapper(*args):
            from portal.ops import jobs as job_log

            beat = _Heartbeat.start()
            run = job_log.started(f"{fn.__module__}.{fn.__name__}")
            outcome = "failed"
            try:
                result = _run(args)
                outcome = "succeeded"
                return result
            except PermanentJobError:
                raise
            except Exception:
                outcome = "retried" if _retries_left() > 0 else "failed"
                raise
            finally:
                beat.stop()
                job_log.finished(run, outcome)

        def _run(args):
            app = _app()
            with app.app_context():
                rec_id = args[-1] if tracked else None
                if rec_id is not None:
                    _mark(rec_id, durable=False, status=JobStatus.running, started_at=utcnow(),
                          attempts=JobRecord.attempts + 1, error=None)
                token = _progress_written.set({rec_id: _clock()} if rec_id is not None else {})
                try:
                    result = fn(*args)
                except PermanentJobError as exc:
                    db.session.rollback()
                    if rec_id is not None:
                        _mark(rec_id, status=JobStatus.failed, error=str(exc), finished_at=utcnow())
                    _no_more_retries()
                    raise
                except Exception as exc:
                    db.session.rollback()
                    if rec_id is not None:
                        final = _retries_left() == 0
                        _mark(rec_id, status=JobStatus.failed if final else JobStatus.queued,
                              error=_sentence(exc, final), finished_at=utcnow() if final else None)
                    raise
                finally:
                    _progress_written.reset(token)
                    db.session.remove()
                if rec_id is not None:
                    _mark(rec_id, status=JobStatus.succeeded, progress=100, finished_at=utcnow())
                return result

        wrapper.is_task = True
        return wrapper

    return decorator


class _Heartbeat:
    """While an RQ job runs, a key ``portal:job-alive:<job id>`` is refreshed every few seconds with a short TTL.
    When the worker process dies (kill -9, OOM, power), the key expires within ``JOB_HEARTBEAT_TTL`` seconds and
    the reconcile sweep re-runs the job (jobs are idempotent)."""

    def __init__(self, conn=None, key: str | None = None, ttl: int = 30):
        self.conn, self.key, self.ttl = conn, key, ttl
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @classmethod
    def start(cls) -> "_Heartbeat":
        try:
            from rq import get_current_job

            job = get_current_job()
        except Exception:  # noqa: BLE001
            job = None
        if job is None:
            return cls()
        beat = cls(job.connection, ALIVE_PREFIX + job.id, heartbeat_ttl())
        beat._beat()
        beat._thread = threading.Thread(target=beat._loop, daemon=True, name=f"heartbeat-{job.id}")
        beat._thread.start()
        return beat

    def _beat(self) -> None:
        try:
            self.conn.set(self.key, "1", ex=self.ttl)
        except Exception:  # noqa: BLE001 - Redis away for a moment: the next beat tries again
            pass

    def _loop(self) -> None:
        while not self._stop.wait(max(1.0, self.ttl / 3)):
            self._beat()

    def stop(self) -> None:
        if self.key is None:
            return
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2)
        try:
            self.conn.delete(self.key)
        except Exception:  # noqa: BLE001
            pass


def heartbeat_ttl() -> int:
    import os

    return int(os.environ.get("PORTAL_JOB_HEARTBEAT_TTL", "30") or 30)


def _no_more_retries() -> None:
    """A permanent failure: tell RQ not to retry this job."""
    try:
        from rq import get_current_job

        job = get_current_job()
    except Exception:  # noqa: BLE001
        return
    if job is not None:
        job.retries_left = 0


def _sentence(exc: Exception, final: bool) -> str:
    kind = type(exc).__name__
    msg = str(exc) or kind
    if final:
        return f"The job failed: {msg} ({kind}). You can retry it."
    return f"Attempt failed ({msg}); retrying shortly."


def _mark(rec_id: int, durable: bool = True, **values) -> None:
    """Write a job's status. ``durable=False`` (the "running" mark): on PostgreSQL the commit does not wait for
    its WAL flush (``synchronous_commit`` off for this one transaction). It is still atomic and visible at once;
    only a database crash in the next few hundred milliseconds could lose it, and the job's own commit, which
    waits for the flush as always, writes it to disk with its own changes."""
    if not durable:
        _not_durable(db.session)
    db.session.execute(sa.update(JobRecord).where(JobRecord.id == rec_id).values(**values))
    db.session.commit()


def _not_durable(conn) -> None:
    dialect = conn.dialect if isinstance(conn, sa.engine.Connection) else conn.get_bind().dialect
    if dialect.name == "postgresql":
        conn.execute(sa.text("SET LOCAL synchronous_commit TO OFF"))


# A progress bar polls every few seconds: a running job writes its progress at most this often (a 20-line invoice
# PDF is done in a quarter of a second; two progress transactions were a fifth of its time beyond the render).
PROGRESS_EVERY = 1.0  # seconds
_clock = time.monotonic
_progress_written: contextvars.ContextVar[dict] = contextvars.ContextVar("portal_progress_written", default={})


def set_progress(rec_id: int | None, percent: int) -> None:
    """Jobs call this as they go; the page's progress bar polls it. Inside a job, a write less than
    ``PROGRESS_EVERY`` after the job's start or its previous progress write is skipped (the job's end writes 100)."""
    if rec_id is None:
        return
    percent = max(0, min(100, int(percent)))
    written = _progress_written.get()
    now = _clock()
    if rec_id in written and now - written[rec_id] < PROGRESS_EVERY:
        return
    with db.engine.begin() as conn:  # own short transaction: visible at once, independent of the job's work
        _not_durable(conn)  # a progress figure: no need to wait for the disk
        conn.execute(sa.update(JobRecord).where(JobRecord.id == rec_id).values(progress=percent))
    if rec_id in written:
        written[rec_id] = now


# ---------------------------------------------------------------------------------------------------
# Worker recycling
# ---------------------------------------------------------------------------------------------------

def current_rss_mb() -> float:
    """This process's resident memory now (Linux /proc; elsewhere the peak, which is an upper bound)."""
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
        import os

        return pages * os.sysconf("SC_PAGE_SIZE") / (1024 * 1024)
    except (OSError, ValueError, IndexError):
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def recycling_worker_class():
    """An RQ SimpleWorker that stops after ``max_jobs`` jobs or once its memory passed ``max_rss_mb`` after a job
    (a 1,000-line invoice leaves WeasyPrint's process at ~350 MB; Python rarely gives that back). ``recycle`` is
    then True and `flask jobs worker` starts itself again (exec), with fresh memory, before taking the next job."""
    from rq import SimpleWorker

    class RecyclingWorker(SimpleWorker):
        def __init__(self, *args, max_jobs: int | None = None, max_rss_mb: float | None = None, **kwargs):
            super().__init__(*args, **kwargs)
            self.max_jobs, self.max_rss_mb = max_jobs, max_rss_mb
            self.jobs_done = 0
            self.recycle: str | None = None  # why, once the worker should be replaced

        def execute_job(self, job, queue):
            try:
                return super().execute_job(job, queue)
            finally:
                self.jobs_done += 1
                if self.max_jobs and self.jobs_done >= self.max_jobs:
                    self.recycle = f"{self.jobs_done} jobs done"
                elif self.max_rss_mb and (rss := current_rss_mb()) > self.max_rss_mb:
                    self.recycle = f"memory at {rss:.0f} MB after job {job.id} (limit {self.max_rss_mb:.0f} MB)"
                if self.recycle:
                    self._stop_requested = True  # the work loop ends before it takes the next job

    return RecyclingWorker
