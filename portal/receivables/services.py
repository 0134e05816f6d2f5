"""Receivables operations that start work: the aging PDF (a tracked job on the documents queue)."""
from __future__ import annotations

from portal.accounts.models import User
from portal.db import db, utcnow


def start_aging_pdf(actor: User):
    """The aging as of today as a PDF, by a tracked job. Commits."""
    from portal.jobs import start_tracked

    today = utcnow().date()
    rec = start_tracked("portal.receivables.jobs.aging_pdf_job", actor.company_id, today.isoformat(),
                        kind="aging-pdf", title=f"Receivables aging {today.isoformat()}",
                        company_id=actor.company_id, user_id=actor.id, queue="documents")
    db.session.commit()
    return rec
