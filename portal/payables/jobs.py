"""Payables jobs: the match after an invoice is issued (job id invoice-match-<id>) and the remittance advice PDF
(queue "documents", job id remittance-pdf-<id>). Ids only; idempotent."""
from __future__ import annotations

import sqlalchemy as sa

from portal.db import db
from portal.jobs.models import JobRecord
from portal.jobs.queue import PermanentJobError, set_progress, task


@task()
def match_invoice_job(invoice_id: int) -> str | None:
    from portal.payables.matching import run_match

    m = run_match(invoice_id)
    return m.status.value if m is not None else None


@task(tracked=True)
def remittance_pdf_job(advice_id: int, record_id: int) -> int:
    from portal.documents import render as docrender
    from portal.documents.store import save_bytes
    from portal.payables.models import RemittanceAdvice
    from portal.payables.remittance import snapshot

    a = db.session.get(RemittanceAdvice, advice_id)
    if a is None:
        raise PermanentJobError(f"Remittance advice {advice_id} is gone.")
    rec = db.session.get(JobRecord, record_id) if record_id else None
    if a.pdf_file_id:
        return a.pdf_file_id
    set_progress(record_id, 10)
    data = docrender.render_pdf("remittance.html", snapshot(a))
    f = save_bytes(data, filename=f"{a.reference}.pdf", content_type="application/pdf",
                   owner_company_id=a.buyer_company_id, party_company_id=a.supplier_company_id)
    db.session.execute(sa.update(RemittanceAdvice).where(RemittanceAdvice.id == a.id,
                                                         RemittanceAdvice.pdf_file_id.is_(None))
                       .values(pdf_file_id=f.id).execution_options(synchronize_session=False))
    if rec is not None:
        rec.result_file_id = f.id
    db.session.commit()
    return f.id
