"""Prometheus metrics at /metrics (only with PORTAL_METRICS_TOKEN, to ``Authorization: Bearer <token>``).

* Per web process, aggregated over every gunicorn worker with the client library's multiprocess mode
  (PROMETHEUS_MULTIPROC_DIR, set by gunicorn.conf.py): request counts and latency histograms per route.
* Cluster-wide, kept in Redis by whichever process did the work, so every web host reports the same figures
  (aggregate them with ``max``, not ``sum``): job counts, durations and outcomes per queue, PDFs rendered.
* Read at scrape time: queue depth, oldest queued job's age and failed jobs per queue (RQ), orders on credit
  hold, credit holds given and invoices issued (the database: right after restarts and on every host).
"""
from __future__ import annotations

import hmac
import logging
import os
import time

from flask import Flask, Response, abort, current_app, request

log = logging.getLogger(__name__)

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
JOB_BUCKETS = (0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)
JOBS_KEY = "portal:metrics:jobs"          # hash "queue|outcome" -> count
JOB_SUM_KEY = "portal:metrics:job_seconds_sum"      # hash queue -> seconds
JOB_BUCKET_KEY = "portal:metrics:job_seconds_bucket"  # hash "queue|le" -> cumulative count
COUNTERS_KEY = "portal:metrics:counters"  # hash name -> count (pdfs_rendered)

_instruments = None


def _make():
    from prometheus_client import Counter, Histogram

    return {
        "requests": Counter("portal_http_requests", "HTTP requests answered", ["method", "route", "status"]),
        "latency": Histogram("portal_http_request_duration_seconds", "Time to answer a request",
                             ["method", "route"], buckets=LATENCY_BUCKETS),
    }


def instruments():
    global _instruments
    if _instruments is None:
        _instruments = _make()
    return _instruments


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or os.environ.get("prometheus_multiproc_dir") or None


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    m = instruments()
    m["requests"].labels(method, route, str(status)).inc()
    m["latency"].labels(method, route).observe(seconds)


# ------------------------------------------------------------------------------------------ cluster-wide (Redis)

def _redis():
    try:
        from rq import get_current_job

        job = get_current_job()
        if job is not None:
            return job.connection
    except Exception:  # noqa: BLE001
        pass
    try:
        return current_app.extensions.get("portal_redis")
    except RuntimeError:
        return None


def record_job(queue: str, outcome: str, seconds: float, conn=None) -> None:
    conn = conn or _redis()
    if conn is None:
        return
    try:
        pipe = conn.pipeline(transaction=False)
        pipe.hincrby(JOBS_KEY, f"{queue}|{outcome}", 1)
        pipe.hincrbyfloat(JOB_SUM_KEY, queue, seconds)
        for le in JOB_BUCKETS:
            if seconds <= le:
                pipe.hincrby(JOB_BUCKET_KEY, f"{queue}|{le}", 1)
        pipe.hincrby(JOB_BUCKET_KEY, f"{queue}|+Inf", 1)
        pipe.execute()
    except Exception as exc:  # noqa: BLE001 - metrics never break a job
        log.debug("job metrics not recorded: %s", exc)


def count(name: str, conn=None) -> None:
    conn = conn or _redis()
    if conn is None:
        return
    try:
        conn.hincrby(COUNTERS_KEY, name, 1)
    except Exception as exc:  # noqa: BLE001
        log.debug("counter %s not recorded: %s", name, exc)


def pdf_rendered() -> None:
    count("pdfs_rendered")


def webhook_delivery(outcome: str) -> None:
    """For the webhook sender: call once per delivery attempt with ``delivered``, ``failed`` or ``gave_up``."""
    count(f"webhook_deliveries|{outcome}")


class ScrapeCollector:
    """Figures read when Prometheus scrapes: from Redis (jobs, queues) and the database (business counts)."""

    def __init__(self, app: Flask):
        self.app = app

    def collect(self):
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

        conn = self.app.extensions.get("portal_redis")
        up = GaugeMetricFamily("portal_metrics_redis_up", "Whether Redis answered this scrape")
        if conn is not None:
            try:
                yield from self._from_redis(conn, CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily)
                up.add_metric([], 1)
            except Exception as exc:  # noqa: BLE001
                log.warning("metrics: Redis unreachable (%s)", exc)
                up.add_metric([], 0)
        else:
            up.add_metric([], 0)
        yield up
        yield from self._from_db(CounterMetricFamily, GaugeMetricFamily)

    def _from_redis(self, conn, Counter, Gauge, Histogram):
        from rq import Queue

        from portal.jobs.queue import QUEUES

        depth = Gauge("portal_queue_depth", "Jobs waiting in the queue", labels=["queue"])
        age = Gauge("portal_queue_oldest_job_age_seconds", "Age of the oldest waiting job (0 when empty)",
                    labels=["queue"])
        failed = Gauge("portal_queue_failed_jobs", "Jobs in the queue's failed registry", labels=["queue"])
        now = time.time()
        for name in QUEUES:
            q = Queue(name, connection=conn)
            depth.add_metric([name], q.count)
            failed.add_metric([name], q.failed_job_registry.count)
            age.add_metric([name], oldest_age(q, now))
        yield depth
        yield age
        yield failed
        jobs = Counter("portal_jobs", "Jobs finished, per queue and outcome (succeeded, retried, failed)",
                       labels=["queue", "outcome"])
        for field, value in sorted(conn.hgetall(JOBS_KEY).items()):
            queue, _, outcome = field.decode().partition("|")
            jobs.add_metric([queue, outcome], int(value))
        yield jobs
        sums = {k.decode(): float(v) for k, v in conn.hgetall(JOB_SUM_KEY).items()}
        buckets: dict[str, dict[str, int]] = {}
        for field, value in conn.hgetall(JOB_BUCKET_KEY).items():
            queue, _, le = field.decode().partition("|")
            buckets.setdefault(queue, {})[le] = int(value)
        hist = Histogram("portal_job_duration_seconds", "Time a job ran", labels=["queue"])
        for queue, by_le in sorted(buckets.items()):
            series = [(str(float(le)) if le != "+Inf" else "+Inf", by_le.get(str(le), 0)) for le in JOB_BUCKETS]
            series.append(("+Inf", by_le.get("+Inf", 0)))
            hist.add_metric([queue], series, sum_value=sums.get(queue, 0.0))
        yield hist
        counters = {k.decode(): int(v) for k, v in conn.hgetall(COUNTERS_KEY).items()}
        pdfs = Counter("portal_pdfs_rendered", "PDF documents rendered by the workers")
        pdfs.add_metric([], counters.get("pdfs_rendered", 0))
        yield pdfs
        hooks = Counter("portal_webhook_deliveries", "Webhook delivery attempts, per outcome", labels=["outcome"])
        for name, value in sorted(counters.items()):
            if name.startswith("webhook_deliveries|"):
                hooks.add_metric([name.partition("|")[2]], value)
        yield hooks

    def _from_db(self, Counter, Gauge):
        import sqlalchemy as sa

        from portal.credit.models import CreditCheck
        from portal.db import db
        from portal.invoices.models import Invoice
        from portal.orders.models import PurchaseOrder
        from portal.orders.states import OrderStatus

        try:
            with self.app.app_context():
                on_hold = db.session.scalar(sa.select(sa.func.count(PurchaseOrder.id))
                                            .where(PurchaseOrder.status == OrderStatus.credit_hold)) or 0
                holds = db.session.scalar(sa.select(sa.func.count(CreditCheck.id))
                                          .where(CreditCheck.outcome == "hold")) or 0
                issued = db.session.scalar(sa.select(sa.func.count(Invoice.id))
                                           .where(Invoice.number.is_not(None))) or 0
                db.session.remove()
        except Exception as exc:  # noqa: BLE001
            log.warning("metrics: database unreachable (%s)", exc)
            return
        g = Gauge("portal_orders_on_credit_hold", "Purchase orders on credit hold now")
        g.add_metric([], on_hold)
        yield g
        c = Counter("portal_credit_holds", "Credit checks that put an order on hold")
        c.add_metric([], holds)
        yield c
        c = Counter("portal_invoices_issued", "Invoices and credit notes issued (numbered)")
        c.add_metric([], issued)
        yield c


def oldest_age(queue, now: float | None = None) -> float:
    """Seconds since the oldest waiting job of the RQ queue was enqueued (0 when empty)."""
    from rq.job import Job

    ids = queue.get_job_ids(0, 0)
    if not ids:
        return 0.0
    job = Job.fetch(ids[0], connection=queue.connection) if ids else None
    if job is None or job.enqueued_at is None:
        return 0.0
    enq = job.enqueued_at
    ts = enq.timestamp() if enq.tzinfo else enq.replace(tzinfo=__import__("datetime").timezone.utc).timestamp()
    return max(0.0, (now or time.time()) - ts)


def exposition(app: Flask) -> bytes:
    from prometheus_client import CollectorRegistry, generate_latest
    from prometheus_client import REGISTRY

    instruments()
    path = multiprocess_dir()
    if path:
        from prometheus_client import multiprocess

        base = CollectorRegistry()
        multiprocess.MultiProcessCollector(base, path=path)
    else:
        base = REGISTRY
    extra = CollectorRegistry(auto_describe=False)
    extra.register(ScrapeCollector(app))
    return generate_latest(base) + generate_latest(extra)


def init_app(app: Flask) -> None:
    instruments()

    @app.get("/metrics")
    def metrics_endpoint():
        token = app.config.get("METRICS_TOKEN") or ""
        if not token:
            abort(404)
        given = request.headers.get("Authorization", "")
        if not (given.startswith("Bearer ") and hmac.compare_digest(given[7:].encode(), token.encode())):
            return Response("A metrics token is required (Authorization: Bearer …).\n", status=401,
                            mimetype="text/plain", headers={"WWW-Authenticate": 'Bearer realm="metrics"'})
        from prometheus_client import CONTENT_TYPE_LATEST

        return Response(exposition(app), mimetype=None, content_type=CONTENT_TYPE_LATEST,
                        headers={"Cache-Control": "no-store"})
