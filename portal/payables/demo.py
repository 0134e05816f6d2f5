"""Demo payables for Hartmann (the demo buyer): matching tolerances with automatic approval, Nordstahl's cash
discount (2 % within 20 days), every open received invoice matched (those within tolerance approved
automatically), one invoice disputed, and one payment run with a cash discount — built by Lukas Fischer,
approved by Anna Keller, exported as a SEPA file and confirmed as executed, so Nordstahl has a remittance advice
to reconcile. Idempotent: skipped when Hartmann already has a payment run."""
from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from portal.db import db, utcnow
from portal.invoices.models import DocumentKind, Invoice
from portal.invoices.states import InvoiceStatus
from portal.payables.models import PaymentRun


def seed(companies, users) -> None:
    from portal.payables import disputes, matching, runs

    hartmann, nordstahl = companies.get("hartmann"), companies.get("nordstahl")
    lukas = users.get("lukas.fischer@hartmann.example")
    anna = users.get("anna.keller@hartmann.example")
    if None in (hartmann, nordstahl, lukas, anna):
        return
    if db.session.scalar(sa.select(PaymentRun.id).where(PaymentRun.buyer_company_id == hartmann.id).limit(1)):
        return
    try:
        matching.save_settings(lukas, price_tolerance_percent="2", price_tolerance_amount="50",
                               quantity_tolerance_percent="2", total_tolerance_percent="1",
                               total_tolerance_amount="100", auto_approve=True)
        matching.set_discount_terms(lukas, nordstahl.id, percent="2", days="20")
        open_ids = list(db.session.scalars(sa.select(Invoice.id).where(
            Invoice.buyer_company_id == hartmann.id, Invoice.kind == DocumentKind.invoice,
            Invoice.status.in_([InvoiceStatus.issued, InvoiceStatus.partially_paid])).order_by(Invoice.id)))
        for inv_id in open_ids:
            matching.run_match(inv_id)
        today = utcnow().date()
        candidates = list(db.session.scalars(sa.select(Invoice).where(Invoice.id.in_(open_ids))
                                             .order_by(Invoice.issue_date.desc(), Invoice.id.desc())))
        in_discount = [i for i in candidates if i.supplier_company_id == nordstahl.id
                       and i.approved_for_payment_at is not None and i.issue_date >= today - timedelta(days=19)]
        to_dispute = next((i for i in candidates if i not in in_discount and i.disputed_at is None
                           and i.supplier_company_id != nordstahl.id), None) or \
            next((i for i in candidates if i not in in_discount), None)
        if to_dispute is not None:
            m = matching.match_for(to_dispute)
            reason = (m.exceptions[0]["sentence"] + " Please correct the invoice or confirm the delivery."
                      if m is not None and m.exceptions else
                      "Two cartons arrived crushed; please credit them or send a replacement before we pay.")
            disputes.open_dispute(to_dispute, lukas, reason=reason)
        if in_discount:
            run = runs.build_run(lukas, invoice_ids=[i.id for i in in_discount[:3]])
            run, _ = runs.approve_run(run, anna)
            run, _ = runs.export_run(run, anna)
            runs.confirm_execution(run, lukas, executed_on=today)
            _render_advices(run.id)
    except Exception as exc:  # noqa: BLE001 - the demo must not fail on data it did not expect
        db.session.rollback()
        print(f"payables demo: incomplete ({exc})")


def _render_advices(run_id: int) -> None:
    """Render the remittance PDFs now so they are ready (idempotent if a job already did)."""
    from portal.jobs.queue import wait_for_inline_jobs
    from portal.payables.jobs import remittance_pdf_job
    from portal.payables.models import RemittanceAdvice

    wait_for_inline_jobs()
    for a in db.session.scalars(sa.select(RemittanceAdvice).where(RemittanceAdvice.run_id == run_id)).all():
        if not a.pdf_file_id:
            try:
                remittance_pdf_job(a.id, a.pdf_job_id)
            except Exception as exc:  # noqa: BLE001
                print(f"payables demo: PDF of {a.reference} failed ({exc})")
