"""Demo invoicing: every supplier's invoice settings, and the invoice of today's shipment.

The invoicing history (every past shipment or order invoiced on its day, with its payments: most paid, a few
late, one part-paid, some overdue, the newest open) is written by the orders demo's history
(portal/orders/demo.py) through ``issue_on`` and ``pay`` below, in date order, so numbers stay gapless per
supplier and in issue-date order. This seeder then invoices the shipment of the current demo order (issued today:
the newest number) and renders its PDF right here. Skipped when that shipment is already invoiced (or there is
none).
"""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa

from portal.db import db
from portal.invoices import services
from portal.invoices.models import Invoice, InvoiceSettings, InvoicingMode
from portal.invoices.states import InvoiceStatus

SETTINGS = {  # supplier: mode, default tax rate, reminder days, footer
    "nordstahl": (InvoicingMode.per_shipment, "19.00", "3,14,30",
                  "Managing directors: K. Richter · Amtsgericht Dortmund HRB 30418"),
    "lefevre": (InvoicingMode.per_order, "20.00", "7,21",
                "SAS au capital de 250 000 € · RCS Lyon 185 119 393 · Président : C. Lefèvre"),
    "polmet": (InvoicingMode.per_order, "23.00", "7,30",
               "Sąd Rejonowy Poznań-Nowe Miasto i Wilda, KRS 0000518834 · kapitał zakładowy 500 000 zł"),
    "alpenwerk": (InvoicingMode.per_order, "20.00", "5,20",
                  "Geschäftsführer: S. Gruber · Firmenbuch FN 487211 s, Landesgericht Linz"),
}


def ensure_settings(companies) -> None:
    for key, (mode, tax, reminders, footer) in SETTINGS.items():
        company = companies.get(key)
        if company is None or db.session.get(InvoiceSettings, company.id) is not None:
            continue
        db.session.add(InvoiceSettings(supplier_company_id=company.id, mode=mode, auto_issue=False,
                                       default_tax_rate=Decimal(tax), reminder_days=reminders, footer_note=footer))
    db.session.commit()


def issue_on(actor, when: datetime, *, shipment_id=None, order_id=None) -> Invoice:
    """Invoice a shipment (or everything shipped on an order) and issue it on ``when``'s date: one
    transaction, the next number of the supplier's series for that year (call in issue-date order)."""
    try:
        inv = services.create_draft(actor, shipment_id=shipment_id, order_id=order_id, commit=False)
        services._issue(inv, actor, today=when.date(), issued_at=when)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return inv


def pay(invoice_id: int, actor, share: Decimal, paid_on: date, reference: str):
    """Record a payment of ``share`` of the invoice's gross (1 = whatever is still open)."""
    inv = db.session.get(Invoice, invoice_id)
    amount = inv.open_amount if share >= 1 else services.quantize(inv.total_gross * share, inv.currency)
    return services.record_payment(inv, actor, inv.lock_version, amount=str(amount), paid_on=paid_on,
                                   reference=reference)


def _invoiced(shipment) -> bool:
    return db.session.scalar(sa.select(Invoice.id).where(Invoice.shipment_id == shipment.id,
                                                         Invoice.status != InvoiceStatus.draft).limit(1)) is not None


def seed(companies, users) -> None:
    from portal.orders.demo import SHIPPED_NOTE
    from portal.orders.models import PurchaseOrder, Shipment

    hartmann, nordstahl = companies.get("hartmann"), companies.get("nordstahl")
    tobias = users.get("tobias.wolf@nordstahl.example")
    if hartmann is None or nordstahl is None or tobias is None:
        return
    ensure_settings(companies)
    shipment = db.session.scalar(sa.select(Shipment).join(PurchaseOrder, PurchaseOrder.id == Shipment.order_id)
                                 .where(Shipment.supplier_company_id == nordstahl.id,
                                        Shipment.buyer_company_id == hartmann.id,
                                        PurchaseOrder.notes == SHIPPED_NOTE)
                                 .order_by(Shipment.id))
    if shipment is None or _invoiced(shipment):
        return
    from portal.invoices.jobs import invoice_pdf_job
    from portal.jobs.queue import wait_for_inline_jobs

    made = []
    try:
        inv = services.create_draft(tobias, shipment_id=shipment.id)
        inv = services.issue(inv, tobias, inv.lock_version)
        made.append(inv)
    except Exception as exc:  # noqa: BLE001 - the demo must not fail on a shipment already invoiced
        db.session.rollback()
        print(f"invoices demo: shipment not invoiced ({exc})")
    wait_for_inline_jobs()
    for m in made:  # render the PDFs now so they are ready (idempotent if a job already did)
        m = db.session.get(Invoice, m.id)
        if not m.pdf_file_id:
            try:
                invoice_pdf_job(m.id, m.pdf_job_id)
            except Exception as exc:  # noqa: BLE001
                print(f"invoices demo: PDF of {m.number} failed ({exc})")

