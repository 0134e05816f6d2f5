"""E-invoicing jobs: the Factur-X PDF (queue "documents", job id einvoice-facturx-<invoice id>). Idempotent: an
invoice whose Factur-X PDF is stored returns it."""
from __future__ import annotations

from portal.db import db
from portal.errors import DomainError
from portal.invoices.models import Invoice
from portal.invoices.states import InvoiceStatus
from portal.jobs.models import JobRecord
from portal.jobs.queue import PermanentJobError, set_progress, task


@task(tracked=True)
def facturx_job(invoice_id: int, record_id: int) -> int:
    from portal.einvoice.services import store_facturx

    inv = db.session.get(Invoice, invoice_id)
    if inv is None or inv.status == InvoiceStatus.draft or not inv.snapshot:
        raise PermanentJobError("Only an issued invoice has a Factur-X PDF.")
    set_progress(record_id, 10)
    try:
        file_id = store_facturx(invoice_id)
    except DomainError as exc:  # e.g. the seller has no VAT id: retrying cannot help
        raise PermanentJobError(exc.message)
    rec = db.session.get(JobRecord, record_id) if record_id else None
    if rec is not None:
        rec.result_file_id = file_id
        db.session.commit()
    return file_id
