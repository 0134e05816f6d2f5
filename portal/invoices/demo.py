"""Demo invoices: Nordstahl invoices Hartmann's shipment (PDF rendered right here) and has three older
invoices of Hartmann — one paid, one partially paid, one 20 days overdue. Skipped when the orders demo made no
shipment, and when Nordstahl already has invoices."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import sqlalchemy as sa

from portal.db import db, utcnow
from portal.invoices import services
from portal.invoices.models import DocumentKind, Invoice, InvoiceLine, InvoiceSettings, InvoicingMode, Payment

OLD = [  # (days ago issued, description, quantity, unit price, paid fraction)
    (70, "Hexagon bolts M12×60, 8.8, zinc plated", "2500", "0.1840", "1"),
    (50, "Threaded rod M16×1000, 8.8", "400", "3.2700", "0"),
    (45, "Wedge anchors M10×95, A4 stainless", "1200", "0.9650", "0.4"),
]


def _old_invoice(nordstahl, hartmann, tobias, days_ago, desc, qty, price, paid):
    day = utcnow().date() - timedelta(days=days_ago)
    inv = Invoice(kind=DocumentKind.invoice, supplier_company_id=nordstahl.id, buyer_company_id=hartmann.id,
                  series="INV", currency="EUR", payment_terms_days=30, buyer_reference=f"PO-{day.year}-0{days_ago}",
                  created_by_id=tobias.id, notes="")
    inv.lines.append(InvoiceLine(position=1, sku=f"NS-{days_ago:03d}", description=desc, quantity=Decimal(qty),
                                 unit="pcs", unit_price=Decimal(price), discount_percent=Decimal(0),
                                 tax_rate=Decimal("19"), net_amount=Decimal(0)))
    inv.lines.append(InvoiceLine(position=2, description="Freight and packaging", quantity=Decimal(1), unit="lot",
                                 unit_price=Decimal("45.00"), discount_percent=Decimal(0), tax_rate=Decimal("19"),
                                 net_amount=Decimal(0)))
    services.compute_totals(inv)
    db.session.add(inv)
    db.session.flush()
    inv.supply_date = day - timedelta(days=1)
    services._issue(inv, tobias, today=day, issued_at=utcnow() - timedelta(days=days_ago))
    amount = services.quantize(inv.total_gross * Decimal(paid), "EUR")
    if amount > 0:
        db.session.add(Payment(invoice_id=inv.id, amount=amount, currency="EUR", paid_on=day + timedelta(days=25),
                               reference=f"SEPA {inv.number}", recorded_by_id=tobias.id))
        inv.paid_amount = amount
        services._settle_status(inv)
    db.session.commit()
    return inv


def seed(companies, users) -> None:
    from portal.orders.models import Shipment

    hartmann, nordstahl = companies.get("hartmann"), companies.get("nordstahl")
    tobias = users.get("tobias.wolf@nordstahl.example")
    if hartmann is None or nordstahl is None or tobias is None:
        return
    shipment = db.session.scalar(sa.select(Shipment).where(Shipment.supplier_company_id == nordstahl.id,
                                                           Shipment.buyer_company_id == hartmann.id)
                                 .order_by(Shipment.id))
    if shipment is None:
        return
    if db.session.scalar(sa.select(Invoice.id).where(Invoice.supplier_company_id == nordstahl.id).limit(1)):
        return
    if db.session.get(InvoiceSettings, nordstahl.id) is None:
        db.session.add(InvoiceSettings(supplier_company_id=nordstahl.id, mode=InvoicingMode.per_shipment,
                                       auto_issue=False, default_tax_rate=Decimal("19.00"), reminder_days="3,14,30",
                                       footer_note="Managing directors: K. Richter · Amtsgericht Dortmund HRB 30418"))
        db.session.commit()
    from portal.invoices.jobs import invoice_pdf_job
    from portal.jobs.queue import wait_for_inline_jobs

    made = [_old_invoice(nordstahl, hartmann, tobias, *spec) for spec in OLD]
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
