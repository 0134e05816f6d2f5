"""Reconciliation: the database is the source of truth for background work, Redis is only the delivery.

Work waiting for a job is recorded in the same transaction as the business change that needs it:
- a ``JobRecord`` (queued/running) for every tracked job (documents, exports, invoice PDFs);
- the business state itself for the untracked ones: a *submitted* purchase order waits for its credit check,
  a *queued* outbox mail waits for its send job, a placed order without its PDF waits for the PO PDF job, a
  recent shipment of a supplier who invoices automatically waits for its automatic invoice.

``reconcile()`` compares that with Redis and (re-)enqueues, under the deterministic RQ job id, every piece of work
whose job is missing from Redis (Redis was down at commit time, or restarted empty) or was abandoned by a dead
worker (its heartbeat key expired; see ``queue._Heartbeat``). Jobs are idempotent, so a re-run is harmless. It runs
in the scheduler's tick (every 30 seconds) and as ``flask jobs reconcile``.
"""
from __future__ import annotations

import logging
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from portal.db import db, utcnow
from portal.jobs.models import JobRecord, JobStatus
from portal.jobs.queue import ALIVE_PREFIX, enqueue_rq, heartbeat_ttl, redis_connection, rq_id

log = logging.getLogger(__name__)

GRACE_SECONDS = 10  # work younger than this is still being dispatched by the request that committed it
LOCK_KEY = "portal:reconcile-lock"

# What reconcile can say about an RQ job id
WAITING, RUNNING, ABSENT, ABANDONED, FINISHED, FAILED = (
    "waiting", "running", "absent", "abandoned", "finished", "failed")


def job_state(conn, job_id: str) -> str:
    """What Redis says of the portal job ``job_id`` (namespaced here, see ``queue.rq_id``)."""
    from rq.exceptions import NoSuchJobError
    from rq.job import Job, JobStatus as RQ

    job_id = rq_id(job_id)
    try:
        job = Job.fetch(job_id, connection=conn)
    except NoSuchJobError:
        return ABSENT
    status = job.get_status(refresh=False)
    if status in (RQ.QUEUED, RQ.SCHEDULED, RQ.DEFERRED):
        return WAITING
    if status == RQ.STARTED:
        if conn.exists(ALIVE_PREFIX + job_id):
            return RUNNING
        started = job.started_at
        if started is not None:
            from datetime import timezone

            if started.tzinfo is None:
                started = started.replace(tzinfo=timezone.utc)
            if utcnow() - started < timedelta(seconds=5):
                return RUNNING  # the job's first heartbeat is about to be written
        return ABANDONED
    if status == RQ.FINISHED:
        return FINISHED
    return FAILED  # failed, stopped, canceled


def _requeue(conn, job_id: str, func: str, args, queue: str) -> bool:
    from rq.job import Job

    try:
        Job(rq_id(job_id), connection=conn).delete()  # the dead or finished copy (and its registry entries)
    except Exception:  # noqa: BLE001
        pass
    return enqueue_rq(conn, func, args, queue=queue, job_id=job_id)


def reconcile(conn=None, grace: int | None = None) -> dict:
    """Enqueue everything the database says is waiting but Redis does not have (or a dead worker held).

    Returns counts. Raises redis errors when Redis is still down (the caller reports it)."""
    conn = conn if conn is not None else redis_connection(current_app)
    if conn is None:
        return {"skipped": "no Redis (in-process mode): nothing to reconcile"}
    lock = conn.lock(LOCK_KEY, timeout=120, blocking_timeout=0)
    if not lock.acquire(blocking=False):
        return {"skipped": "another reconcile is running"}
    try:
        cutoff = utcnow() - timedelta(seconds=GRACE_SECONDS if grace is None else grace)
        done = {"records": _records(conn, cutoff), "credit_checks": _credit_checks(conn, cutoff),
                "mails": _mails(conn, cutoff), "po_pdfs": _po_pdfs(conn, cutoff),
                "auto_invoices": _auto_invoices(conn, cutoff)}
    finally:
        try:
            lock.release()
        except Exception:  # noqa: BLE001
            pass
    if any(done.values()):
        log.warning("reconcile re-enqueued stranded work: %s", done)
    return done


def _records(conn, cutoff) -> int:
    n = 0
    recs = db.session.scalars(sa.select(JobRecord).where(
        JobRecord.status.in_([JobStatus.queued, JobStatus.running]), JobRecord.created_at < cutoff,
        JobRecord.rq_job_id.is_not(None)).order_by(JobRecord.id)).all()
    for rec in recs:
        state = job_state(conn, rec.rq_job_id)
        if state in (WAITING, RUNNING, FINISHED):
            continue
        # absent (Redis lost it or never got it), abandoned (worker died), failed in RQ while the record says it
        # is not done (RQ's own clean-up of a dead worker's job): run it again.
        if state in (ABANDONED, FAILED):
            db.session.execute(sa.update(JobRecord).where(
                JobRecord.id == rec.id, JobRecord.status.in_([JobStatus.queued, JobStatus.running])).values(
                status=JobStatus.queued, progress=0,
                error="The worker stopped during this job; it runs again."))
            db.session.commit()
        if _requeue(conn, rec.rq_job_id, rec.func, [*rec.args, rec.id], rec.queue):
            n += 1
    return n


def _requeue_missing(conn, ids, job_prefix: str, func: str, queue: str) -> int:
    """Enqueue ``func(id)`` under ``<job_prefix>-<id>`` for every id whose job Redis does not have (or a dead
    worker held). Returns how many were enqueued."""
    n = 0
    for entity_id in ids:
        job_id = f"{job_prefix}-{entity_id}"
        if job_state(conn, job_id) in (ABSENT, ABANDONED) and _requeue(conn, job_id, func, [entity_id], queue):
            n += 1
    return n


def _credit_checks(conn, cutoff) -> int:
    from portal.orders.core import CREDIT_JOB
    from portal.orders.models import PurchaseOrder
    from portal.orders.states import OrderStatus

    ids = db.session.scalars(sa.select(PurchaseOrder.id).where(
        PurchaseOrder.status == OrderStatus.submitted, PurchaseOrder.updated_at < cutoff)).all()
    return _requeue_missing(conn, ids, "credit-check", CREDIT_JOB, "credit")


def _po_pdfs(conn, cutoff) -> int:
    from portal.orders.models import PurchaseOrder
    from portal.orders.services import PO_PDF_JOB

    ids = db.session.scalars(sa.select(PurchaseOrder.id).where(
        PurchaseOrder.supplier_order_number.is_not(None), PurchaseOrder.po_pdf_file_id.is_(None),
        PurchaseOrder.placed_at < cutoff)).all()
    return _requeue_missing(conn, ids, "po-pdf", PO_PDF_JOB, "documents")


AUTO_INVOICE_WINDOW = timedelta(days=2)  # how far back a lost "invoice this shipment automatically" is looked for
AUTO_INVOICE_JOB = "portal.invoices.jobs.on_shipment_recorded"


def _auto_invoices(conn, cutoff) -> int:
    """Recent shipments of suppliers that invoice automatically, still with something to invoice and no draft
    waiting on their order (a draft means the automatic issue ran and was refused, e.g. no IBAN): their
    ``invoice-auto-<shipment>`` job was lost. The job is idempotent."""
    from portal.invoices.models import Invoice, InvoiceSettings
    from portal.invoices.quantities import uninvoiced_shipment_ids
    from portal.invoices.states import InvoiceStatus
    from portal.orders.models import PurchaseOrder, Shipment

    rows = db.session.execute(sa.select(Shipment.id, Shipment.order_id).join(
        InvoiceSettings, InvoiceSettings.supplier_company_id == Shipment.supplier_company_id).where(
        InvoiceSettings.auto_issue.is_(True), Shipment.shipped_at < cutoff,
        Shipment.shipped_at > utcnow() - AUTO_INVOICE_WINDOW,
        ~sa.exists().where(Invoice.order_id == Shipment.order_id, Invoice.status == InvoiceStatus.draft))
        .order_by(Shipment.id)).all()
    open_by_order: dict[int, set[int]] = {}
    for order_id in {order_id for _, order_id in rows}:
        open_by_order[order_id] = uninvoiced_shipment_ids(db.session.get(PurchaseOrder, order_id))
    ids = [shipment_id for shipment_id, order_id in rows if shipment_id in open_by_order[order_id]]
    return _requeue_missing(conn, ids, "invoice-auto", AUTO_INVOICE_JOB, "default")


def _mails(conn, cutoff) -> int:
    from portal.notifications.models import MailStatus, OutboxMail

    ids = db.session.scalars(sa.select(OutboxMail.id).where(
        OutboxMail.status == MailStatus.queued, OutboxMail.created_at < cutoff)).all()
    return _requeue_missing(conn, ids, "mail", "portal.notifications.jobs.send_mail_job", "mail")


def is_stuck(rec: JobRecord, grace: int | None = None) -> bool:
    """A queued or running record whose RQ job is gone or held by a dead worker (a person may retry it)."""
    if rec.status not in (JobStatus.queued, JobStatus.running) or not rec.rq_job_id:
        return False
    conn = redis_connection(current_app)
    if conn is None:
        return False
    cutoff = utcnow() - timedelta(seconds=GRACE_SECONDS if grace is None else grace)
    if rec.created_at and rec.created_at > cutoff:
        return False
    return job_state(conn, rec.rq_job_id) in (ABSENT, ABANDONED, FAILED)


__all__ = ["reconcile", "is_stuck", "job_state", "heartbeat_ttl"]
