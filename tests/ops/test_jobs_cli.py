"""Operator commands: `flask jobs stats`, `flask jobs requeue-failed --queue … --since …`."""
from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone

from rq import Queue

from portal.jobs.queue import enqueue_rq


def _cli(app, *args):
    return app.test_cli_runner().invoke(args=["jobs", *args])


def _fail_one(app, run_jobs, job_id="invoice-pdf-999999"):
    conn = app.extensions["portal_redis"]
    # an invoice that does not exist: a permanent failure, no retries
    enqueue_rq(conn, "portal.invoices.jobs.invoice_pdf_job", [999999, 0], queue="documents", job_id=job_id)
    run_jobs(["documents"])
    assert Queue("documents", connection=conn).failed_job_registry.count == 1


def test_stats_counts_waiting_and_failed_per_queue(app, run_jobs):
    _fail_one(app, run_jobs)
    enqueue_rq(app.extensions["portal_redis"], "portal.jobs.periodic.tick", [], queue="timed", job_id="t-1")
    out = _cli(app, "stats", "--json")
    assert out.exit_code == 0, out.output
    rows = {r["queue"]: r for r in json.loads(out.output)["queues"]}
    assert rows["documents"]["failed"] == 1 and rows["documents"]["waiting"] == 0
    assert rows["timed"]["waiting"] == 1 and rows["timed"]["oldest_age_s"] >= 0
    table = _cli(app, "stats").output
    assert "documents" in table and "workers:" in table


def test_requeue_failed_by_queue_and_time(app, run_jobs):
    _fail_one(app, run_jobs)
    conn = app.extensions["portal_redis"]
    later = (datetime.now(timezone.utc) + timedelta(hours=1)).isoformat(timespec="seconds")
    out = _cli(app, "requeue-failed", "--queue", "documents", "--since", later)
    assert out.exit_code == 0 and "0 failed job(s) requeued." in out.output
    out = _cli(app, "requeue-failed", "--queue", "mail", "--since", "1h")
    assert "0 failed job(s) requeued." in out.output
    out = _cli(app, "requeue-failed", "--queue", "documents", "--since", "1h", "--dry-run")
    # RQ ids carry the installation's namespace (portal.jobs.queue): <namespace>__invoice-pdf-999999
    assert re.search(r"would requeue documents: \S+__invoice-pdf-999999 ", out.output), out.output
    assert Queue("documents", connection=conn).count == 0
    out = _cli(app, "requeue-failed", "--queue", "documents", "--since", "1h")
    assert out.exit_code == 0 and "1 failed job(s) requeued." in out.output
    q = Queue("documents", connection=conn)
    assert q.count == 1 and q.failed_job_registry.count == 0


def test_bad_options_are_sentences(app):
    out = _cli(app, "requeue-failed", "--queue", "nope")
    assert out.exit_code != 0 and "Unknown queue nope" in out.output
    out = _cli(app, "requeue-failed", "--since", "yesterday-ish")
    assert out.exit_code != 0 and "use a duration like 30m" in out.output
