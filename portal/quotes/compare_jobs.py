"""Background work of the comparison: the comparison PDF (documents queue, tracked by a JobRecord)."""

from __future__ import annotations

from portal.db import db
from portal.documents.render import render_pdf, store_pdf
from portal.jobs import task
from portal.jobs.models import JobRecord
from portal.jobs.queue import PermanentJobError, set_progress
from portal.quotes import comparison
from portal.rfq.models import Rfq


@task(tracked=True)
def comparison_pdf_job(rfq_id: int, record_id: int) -> int | None:
    """Render the comparison of ``rfq_id`` from a frozen snapshot, store it, link it to the job record.

    Idempotent: a record that already has its file is left alone (a retry after success does nothing).
    """
    rec = db.session.get(JobRecord, record_id)
    if rec is None:
        raise PermanentJobError("The job record no longer exists.")
    if rec.result_file_id:
        return rec.result_file_id
    rfq = db.session.get(Rfq, rfq_id)
    if rfq is None or rfq.buyer_company_id != rec.company_id:
        raise PermanentJobError("The RFQ no longer exists.")
    if not rfq.prices_visible_to_buyer:
        raise PermanentJobError(comparison.sealed_sentence(rfq.deadline.strftime("%Y-%m-%d %H:%M UTC")))
    set_progress(record_id, 10)
    user = rec.user
    cmp = comparison.build(rfq)
    snap = comparison.snapshot(
        cmp,
        rfq,
        generated_by=user.name if user else "",
        locale=(user.locale if user else None) or "en_GB",
        timezone=(user.timezone if user else None) or "UTC",
    )
    company_id = rec.company_id
    db.session.rollback()  # nothing to write yet: end the read transaction before the slow render
    set_progress(record_id, 30)
    pdf = render_pdf("comparison.html", snap)
    set_progress(record_id, 90)
    stored = store_pdf(
        pdf,
        filename=f"{snap['rfq']['reference']}-comparison.pdf",
        owner_company_id=company_id,
        record_id=record_id,
    )
    db.session.commit()
    return stored.id
