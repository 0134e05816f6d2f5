"""Demo receivables: Nordstahl charges late-payment interest and has sent Hartmann one dunning letter.

The invoicing history (portal/orders/demo.py) leaves Nordstahl with open invoices in several aging buckets (not
due, 1–30 and 31–60 days past due). This seeder gives Nordstahl dunning terms with interest (the ECB main
refinancing rate of 2.15 % in force on 1 July 2025, a demo value: a real supplier enters the rate in force) and
sends the dunning level Hartmann's oldest overdue invoice has reached, with its letter rendered right here. The
other overdue invoices are dunned by the periodic sweep once a worker runs. Idempotent.
"""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import sqlalchemy as sa

from portal.credit.ledger import overdue_clause
from portal.db import db, utcnow
from portal.invoices.models import Invoice
from portal.receivables import dunning
from portal.receivables.models import DunningNotice, DunningSettings

REFERENCE_RATE = Decimal("2.15")
REFERENCE_RATE_DATE = date(2025, 7, 1)


def seed(companies, users) -> None:
    nordstahl, hartmann = companies.get("nordstahl"), companies.get("hartmann")
    if nordstahl is None or hartmann is None:
        return
    if db.session.get(DunningSettings, nordstahl.id) is None:
        db.session.add(DunningSettings(supplier_company_id=nordstahl.id, charge_interest=True,
                                       reference_rate=REFERENCE_RATE, reference_rate_date=REFERENCE_RATE_DATE))
        db.session.commit()
    today = utcnow().date()
    inv = db.session.scalar(sa.select(Invoice).where(overdue_clause(today), Invoice.disputed_at.is_(None),
                                                     Invoice.supplier_company_id == nordstahl.id,
                                                     Invoice.buyer_company_id == hartmann.id)
                            .order_by(Invoice.due_date, Invoice.id).limit(1))
    if inv is None or db.session.scalar(sa.select(DunningNotice.id).where(DunningNotice.invoice_id == inv.id)):
        return
    level = dunning.level_for(dunning.settings_of(nordstahl.id)["days"], (today - inv.due_date).days)
    if not level:
        return
    notice = dunning.dun(inv.id, level, today)
    if notice is None:
        return
    from portal.jobs.queue import wait_for_inline_jobs
    from portal.receivables.jobs import dunning_letter_pdf_job

    wait_for_inline_jobs()
    notice = db.session.get(DunningNotice, notice.id)
    db.session.refresh(notice)
    if not notice.pdf_file_id:  # render now so the letter is there (idempotent if the job already did)
        try:
            dunning_letter_pdf_job(notice.id, notice.pdf_job_id)
        except Exception as exc:  # noqa: BLE001 - the demo must not fail on a PDF
            print(f"receivables demo: letter PDF failed ({exc})")
