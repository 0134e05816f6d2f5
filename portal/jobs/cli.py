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
def worker(queues, burst, max_jobs, max_rss_mb):
    """Run an RQ worker for the portal's queues (one process; jobs run in the app context).

    The worker replaces itself (exec, same process id, so supervisors see no exit) after --max-jobs jobs or after
    a job that left it above --max-rss-mb: memory stays flat however many and however large the documents."""
    from portal.jobs.queue import recycling_worker_class

    Worker = recycling_worker_class()
    conn = redis_connection()
    if conn is None:
        raise click.ClickException("No Redis reachable at REDIS_URL; jobs run in-process, no worker needed.")
    names = list(queues) or list(QUEUES)
    # SimpleWorker runs jobs in this process: the app, its DB pool and the PDF fonts load once per worker.
    if "documents" in names:
        from portal.documents.render import preload

        preload()
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
        if burst or getattr(w, "_stop_requested", True):
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
