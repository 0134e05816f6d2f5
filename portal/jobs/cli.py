from __future__ import annotations

import os
import time

import click
from flask import current_app
from flask.cli import AppGroup

from portal.jobs.queue import QUEUES, redis_connection

jobs_cli = AppGroup("jobs", help="Background workers and the scheduler.")


@jobs_cli.command("worker")
@click.option("--queue", "-q", "queues", multiple=True, help="Queues to listen on (default: all).")
@click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
@click.option("--max-jobs", type=int, default=lambda: int(os.environ.get("PORTAL_WORKER_MAX_JOBS", "500") or 0),
              show_default="500, PORTAL_WORKER_MAX_JOBS",
              help="Start afresh (same process id, fresh memory) after this many jobs; 0: never.")
@click.option("--max-rss-mb", type=int, default=lambda: int(os.environ.get("PORTAL_WORKER_MAX_RSS_MB", "250") or 0),
              show_default="250, PORTAL_WORKER_MAX_RSS_MB",
              help="Start afresh after a job that left the worker above this memory (large PDFs); 0: never.")
@click.option("--isolate-html-kb", type=int,
              default=lambda: int(os.environ.get("PORTAL_WORKER_ISOLATE_HTML_KB", "1") or 0),
              show_default="1, PORTAL_WORKER_ISOLATE_HTML_KB",
              help="Render documents with at least this much HTML (1: every document) in a forked child process "
                   "that exits afterwards, so WeasyPrint's memory goes with it; 0: in the worker itself.")
def worker(queues, burst, max_jobs, max_rss_mb, isolate_html_kb):
    """Run an RQ worker for the portal's queues (one process; jobs run in the app context).

    Documents render in a forked child (--isolate-html-kb) that takes their memory with it when it exits. The
    worker replaces itself (exec, same process id, so supervisors see no exit) after --max-jobs jobs or after
    a job that left it above --max-rss-mb: memory stays flat however many and however large the documents."""
    from portal.documents.render import isolate_large_documents
    from portal.jobs.queue import recycling_worker_class

    isolate_large_documents(isolate_html_kb * 1024)

    Worker = recycling_worker_class()
    conn = redis_connection()
    if conn is None:
        raise click.ClickException("No Redis reachable at REDIS_URL; jobs run in-process, no worker needed.")
    names = list(queues) or list(QUEUES)
    # SimpleWorker runs jobs in this process: the app, its DB pool and the PDF fonts load once per worker.
    if "documents" in names:  # every stylesheet, and one page rendered so the fonts' caches are warm here and in
        from portal.invoices.pdf import preload  # every forked child (copy-on-write)

        preload(warm=True)
    from redis.exceptions import RedisError

    click.echo(f"Worker listening on {', '.join(names)}")
    while True:  # outlives a Redis outage: RQ's loop quits on some Redis errors; wait and start again
        try:
            w = Worker(names, connection=conn, max_jobs=max_jobs or None, max_rss_mb=max_rss_mb or None)
            w.work(burst=burst, with_scheduler=True, logging_level="INFO")
        except RedisError as exc:
            current_app.logger.warning("Worker: Redis unreachable (%s); starting again in 2 seconds", exc)
            time.sleep(2)
            continue
        if w.recycle:
            _start_afresh(w.recycle)
            return  # only reached when exec is replaced in tests
        # A stop signal ends the loop: RQ sets _stop_requested only when the signal comes during a job; an idle
        # worker's work() returns with _shutdown_requested_date set instead (it was restarted here before).
        if burst or getattr(w, "_stop_requested", True) or getattr(w, "_shutdown_requested_date", None):
            return
        current_app.logger.warning("Worker: the work loop ended unexpectedly; starting again in 2 seconds")
        time.sleep(2)


def _start_afresh(why: str) -> None:
    """Replace this worker process with a fresh copy of itself (same pid and arguments, memory back to start)."""
    import sys

    current_app.logger.info("Worker: %s; starting afresh", why)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, restart_argv())


def restart_argv() -> list[str]:
    """How this process was started: `flask jobs worker …` (a console script) or `python -m flask jobs worker …`."""
    import sys

    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    if spec is not None and spec.name:
        return [sys.executable, "-m", spec.name.removesuffix(".__main__"), *sys.argv[1:]]
    return [sys.executable, *sys.argv]


@jobs_cli.command("scheduler")
def scheduler():
    """Run the clock: enqueues the periodic tick (deadlines, expiry, reminders) every 30 seconds."""
    from rq.cron import CronScheduler

    from portal.jobs.periodic import TICK_SECONDS, tick

    conn = redis_connection()
    if conn is None:
        raise click.ClickException("No Redis reachable at REDIS_URL; the scheduler needs Redis.")
    from redis.exceptions import RedisError

    from portal.jobs.periodic import TIMED_QUEUE

    click.echo(f"Scheduler: tick every {TICK_SECONDS}s on the {TIMED_QUEUE} queue")
    while True:  # outlives a Redis outage: waits and starts again, and the next tick reconciles
        try:
            cron = CronScheduler(connection=conn, logging_level="INFO")
            cron.register(tick, queue_name=TIMED_QUEUE, interval=TICK_SECONDS, job_timeout=300)
            cron.register_death = _quietly(cron.register_death)  # Redis lost its registry: stop anyway
            cron.start()
            return
        except RedisError as exc:
            current_app.logger.warning("Scheduler: Redis unreachable (%s); trying again in 5 seconds", exc)
            time.sleep(5)


def _quietly(fn):
    def call(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001
            current_app.logger.warning("Scheduler: %s failed (%s); ignored", fn.__name__, exc)

    return call


@jobs_cli.command("tick")
def tick_once():
    """Run the periodic sweeps once, now (what the scheduler does every 30 seconds)."""
    from portal.jobs.periodic import tick

    click.echo(tick())


@jobs_cli.command("reconcile")
@click.option("--grace", type=int, default=None,
              help="Leave work younger than this many seconds alone (default 10: its request is dispatching it).")
def reconcile_cmd(grace):
    """Enqueue work the database waits for but Redis does not have (after a Redis outage or a dead worker)."""
    from redis.exceptions import RedisError

    from portal.jobs.reconcile import reconcile

    try:
        done = reconcile(grace=grace)
    except RedisError as exc:
        raise click.ClickException(f"Redis is still unreachable ({exc}); nothing was lost, run this again "
                                   "when it is back.")
    click.echo(done)


@jobs_cli.command("info")
def info():
    """Queue lengths."""
    from rq import Queue

    conn = redis_connection()
    if conn is None:
        click.echo(f"in-process mode ({current_app.config.get('REDIS_URL') or 'no REDIS_URL'})")
        return
    for name in QUEUES:
        click.echo(f"{name}: {len(Queue(name, connection=conn))}")


def _queues_or_fail(queues):
    conn = redis_connection()
    if conn is None:
        raise click.ClickException("No Redis reachable at REDIS_URL; there are no queues to inspect.")
    unknown = [q for q in queues if q not in QUEUES]
    if unknown:
        raise click.ClickException(f"Unknown queue {', '.join(unknown)}; the queues are {', '.join(QUEUES)}.")
    return conn, list(queues) or list(QUEUES)


@jobs_cli.command("stats")
@click.option("--queue", "-q", "queues", multiple=True, help="Only these queues (default: all).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object instead of a table.")
def stats(queues, as_json):
    """Per queue: jobs waiting, age of the oldest waiting job, running, scheduled retries, failed; and workers."""
    import json

    from rq import Queue, Worker

    from portal.ops.metrics import oldest_age

    conn, names = _queues_or_fail(queues)
    rows = []
    for name in names:
        q = Queue(name, connection=conn)
        rows.append({"queue": name, "waiting": q.count, "oldest_age_s": round(oldest_age(q), 1),
                     "running": q.started_job_registry.count, "scheduled": q.scheduled_job_registry.count,
                     "failed": q.failed_job_registry.count})
    workers = Worker.all(connection=conn)
    if as_json:
        click.echo(json.dumps({"queues": rows, "workers": len(workers)}))
        return
    click.echo(f"{'queue':<10} {'waiting':>8} {'oldest':>9} {'running':>8} {'retrying':>9} {'failed':>7}")
    for r in rows:
        click.echo(f"{r['queue']:<10} {r['waiting']:>8} {r['oldest_age_s']:>8.0f}s {r['running']:>8} "
                   f"{r['scheduled']:>9} {r['failed']:>7}")
    click.echo(f"workers: {len(workers)}")


def _parse_since(value: str | None):
    """'30m', '2h', '3d' ago, or an ISO date/time (UTC); None: no limit."""
    import re
    from datetime import datetime, timedelta, timezone

    if not value:
        return None
    m = re.fullmatch(r"(\d+)\s*([smhd])", value.strip())
    now = datetime.now(timezone.utc)
    if m:
        n, unit = int(m.group(1)), m.group(2)
        return now - timedelta(**{{"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}[unit]: n})
    try:
        dt = datetime.fromisoformat(value.strip())
    except ValueError:
        raise click.BadParameter("use a duration like 30m, 2h, 3d or a date/time like 2026-12-06T08:00")
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)


@jobs_cli.command("requeue-failed")
@click.option("--queue", "-q", "queues", multiple=True, help="Only these queues (default: all).")
@click.option("--since", default=None, help="Only jobs that failed since then: 30m, 2h, 3d or an ISO date/time.")
@click.option("--dry-run", is_flag=True, help="List what would be requeued.")
def requeue_failed(queues, since, dry_run):
    """Put failed jobs back on their queues (jobs are idempotent; their job pages show them queued again)."""
    from datetime import timezone

    import sqlalchemy as sa
    from rq import Queue
    from rq.job import Job

    from portal.db import db
    from portal.jobs.models import JobRecord, JobStatus

    cutoff = _parse_since(since)
    conn, names = _queues_or_fail(queues)
    total = 0
    for name in names:
        registry = Queue(name, connection=conn).failed_job_registry
        for job_id in registry.get_job_ids():
            job = Job.fetch(job_id, connection=conn) if Job.exists(job_id, connection=conn) else None
            if job is None:
                registry.remove(job_id)
                continue
            ended = job.ended_at
            if cutoff is not None and ended is not None:
                ended = ended if ended.tzinfo else ended.replace(tzinfo=timezone.utc)
                if ended < cutoff:
                    continue
            click.echo(f"{'would requeue' if dry_run else 'requeued'} {name}: {job_id} ({job.func_name})")
            total += 1
            if dry_run:
                continue
            registry.requeue(job_id)
            db.session.execute(sa.update(JobRecord).where(JobRecord.rq_job_id == job_id,
                                                          JobRecord.status == JobStatus.failed)
                               .values(status=JobStatus.queued, error=None, finished_at=None))
    if not dry_run:
        db.session.commit()
    click.echo(f"{total} failed job(s) {'would be ' if dry_run else ''}requeued.")
