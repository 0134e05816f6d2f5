"""Invoicing jobs: the invoice PDF (queue "documents", job id invoice-pdf-<id>), auto-invoicing when a shipment
is recorded, the statement PDF and the ZIP of many PDFs. Job functions take ids and plain values only and are
idempotent (a second run finds the work done and returns)."""
from __future__ import annotations

import zipfile
from datetime import date

import sqlalchemy as sa

from portal.db import db
from portal.documents import store
from portal.documents.store import save_bytes
from portal.invoices import pdf
from portal.invoices.models import Invoice
from portal.invoices.states import InvoiceStatus
from portal.jobs.models import JobRecord
from portal.jobs.queue import PermanentJobError, set_progress, task


@task(tracked=True)
def invoice_pdf_job(invoice_id: int, record_id: int) -> int:
    """Render the issued invoice's snapshot to PDF and store it once (with its SHA-256)."""
    inv = db.session.get(Invoice, invoice_id)
    if inv is None:
        raise PermanentJobError(f"Invoice {invoice_id} is gone.")
    rec = db.session.get(JobRecord, record_id) if record_id else None
    if inv.pdf_file_id:
        if rec is not None and not rec.result_file_id:
            rec.result_file_id = inv.pdf_file_id
            db.session.commit()
        return inv.pdf_file_id
    if inv.status == InvoiceStatus.draft or not inv.snapshot:
        raise PermanentJobError("A draft has no PDF; issue it first.")
    set_progress(record_id, 10)
    data = pdf.render_invoice(inv.snapshot)
    set_progress(record_id, 80)
    f = save_bytes(data, filename=f"{inv.number}.pdf", content_type="application/pdf",
                   owner_company_id=inv.supplier_company_id, party_company_id=inv.buyer_company_id)
    # A plain UPDATE: storing the PDF is no business change, so open forms stay valid (no version bump).
    db.session.execute(sa.update(Invoice).where(Invoice.id == inv.id, Invoice.pdf_file_id.is_(None))
                       .values(pdf_file_id=f.id).execution_options(synchronize_session=False))
    if rec is not None:
        rec.result_file_id = f.id
    db.session.commit()
    return f.id


@task()
def on_shipment_recorded(shipment_id: int) -> int | None:
    """Enqueue after a shipment is recorded (queue "documents" or "default", job id invoice-auto-<shipment id>).
    Invoices it when the supplier's InvoiceSettings.auto_issue says so; idempotent."""
    from portal.invoices.services import auto_invoice_shipment

    inv = auto_invoice_shipment(shipment_id)
    return inv.id if inv is not None else None


@task(tracked=True)
def statement_pdf_job(company_id: int, counterparty_id: int, date_from: str, date_to: str, record_id: int) -> int:
    from portal.invoices.statements import statement

    data = statement(company_id, counterparty_id, date.fromisoformat(date_from), date.fromisoformat(date_to))
    set_progress(record_id, 40)
    blob = pdf.render_statement(data)
    f = save_bytes(blob, filename=f"statement-{data['counterparty']['display_name']}-{date_to}.pdf".replace(" ", "_"),
                   content_type="application/pdf", owner_company_id=company_id)
    rec = db.session.get(JobRecord, record_id)
    rec.result_file_id = f.id
    db.session.commit()
    return f.id


ZIP_PROGRESS_EVERY = 50


@task(tracked=True)
def invoice_zip_job(company_id: int, filters: dict, record_id: int) -> int:
    """A ZIP of the PDFs of every invoice matching ``filters``; invoices without a PDF yet (drafts, PDF still
    rendering or failed) are listed in MISSING.txt inside the ZIP."""
    from portal.invoices.services import iter_filtered, list_filter

    total = db.session.scalar(sa.select(sa.func.count(Invoice.id)).where(*list_filter(company_id, **filters))) or 0
    missing = []
    done = 0
    # Streamed: each PDF is copied in chunks into a ZIP spooled to a temporary file, then uploaded from it.
    out = store.writer(filename=f"invoices-{date.today().isoformat()}.zip", content_type="application/zip",
                       owner_company_id=company_id)
    with out as w, zipfile.ZipFile(w, "w", compression=zipfile.ZIP_STORED) as zf:  # PDFs are compressed already
        for inv in iter_filtered(company_id, filters):
            name = inv.number or f"draft-{inv.id}"
            if inv.pdf_file_id:
                from portal.documents.models import StoredFile

                with zf.open(f"{name}.pdf", "w", force_zip64=True) as member:
                    store.copy_to(db.session.get(StoredFile, inv.pdf_file_id), member)
            else:
                missing.append(f"{name}\t{'draft' if inv.status == InvoiceStatus.draft else 'PDF not ready'}")
            if inv.status != InvoiceStatus.draft:  # the EN 16931 e-invoices beside the PDF (portal.einvoice)
                from portal.einvoice.services import xml_for
                from portal.errors import DomainError

                for fmt in ("cii", "ubl"):
                    try:
                        zf.writestr(f"e-invoices/{name}-{fmt}.xml", xml_for(inv, fmt))
                    except DomainError as exc:
                        missing.append(f"{name}-{fmt}.xml\t{exc.message}")
            done += 1
            if done % ZIP_PROGRESS_EVERY == 0 and total:
                set_progress(record_id, int(95 * done / total))
                db.session.expire_all()
        if missing:
            zf.writestr("MISSING.txt", "These documents have no PDF yet and are not in this ZIP:\n"
                        + "\n".join(missing) + "\n")
    f = w.stored
    rec = db.session.get(JobRecord, record_id)
    rec.result_file_id = f.id
    db.session.commit()
    return f.id
