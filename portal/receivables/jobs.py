"""Receivables jobs (queue "documents"): the dunning letter PDF (job id dunning-letter-<notice id>) and the
aging PDF. Ids and plain values in; idempotent (a letter already stored is not rendered again)."""
from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from portal.db import db
from portal.documents import render as docrender
from portal.documents.store import save_bytes
from portal.invoices import pdf
from portal.jobs.models import JobRecord
from portal.jobs.queue import PermanentJobError, set_progress, task
from portal.receivables.models import DunningNotice
from portal.documents.language import recipient_settings


def render_letter(snapshot: dict) -> bytes:
    return pdf.html_to_pdf(docrender.render_html("dunning_letter.html", snapshot))


def render_aging(data: dict) -> bytes:
    return pdf.html_to_pdf(docrender.render_html("aging.html", data))


@task(tracked=True)
def dunning_letter_pdf_job(notice_id: int, record_id: int) -> int:
    notice = db.session.get(DunningNotice, notice_id)
    if notice is None:
        raise PermanentJobError(f"Dunning letter {notice_id} is gone.")
    rec = db.session.get(JobRecord, record_id) if record_id else None
    if notice.pdf_file_id:
        if rec is not None and not rec.result_file_id:
            rec.result_file_id = notice.pdf_file_id
            db.session.commit()
        return notice.pdf_file_id
    if not notice.snapshot:
        raise PermanentJobError("This dunning notice predates letters (it was a reminder without a letter).")
    set_progress(record_id, 10)
    data = render_letter(notice.snapshot)
    set_progress(record_id, 80)
    number = (notice.snapshot.get("invoice") or {}).get("number") or notice.invoice_id
    f = save_bytes(data, filename=f"dunning-{number}-level{notice.level}.pdf", content_type="application/pdf",
                   owner_company_id=notice.supplier_company_id, party_company_id=notice.buyer_company_id)
    db.session.execute(sa.update(DunningNotice).where(DunningNotice.id == notice.id,
                                                      DunningNotice.pdf_file_id.is_(None))
                       .values(pdf_file_id=f.id).execution_options(synchronize_session=False))
    if rec is not None:
        rec.result_file_id = f.id
    db.session.commit()
    return f.id


@task(tracked=True)
def aging_pdf_job(company_id: int, as_of: str, record_id: int) -> int:
    from portal.accounts.models import Company
    from portal.receivables.aging import aging, plain

    data = plain(aging(company_id, date.fromisoformat(as_of)))
    company = db.session.get(Company, company_id)
    data.update(company={"legal_name": company.legal_name, "display_name": company.display_name},
                timezone="Europe/Berlin", document="aging", **recipient_settings(company))  # the company's own
    set_progress(record_id, 40)
    blob = render_aging(data)
    f = save_bytes(blob, filename=f"aging-{as_of}.pdf", content_type="application/pdf", owner_company_id=company_id)
    rec = db.session.get(JobRecord, record_id)
    rec.result_file_id = f.id
    db.session.commit()
    return f.id
