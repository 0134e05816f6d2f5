"""Demo e-invoicing: the companies' preferred formats (Van Dijk takes Peppol UBL, Hartmann Factur-X, Nordstahl
sends CII to buyers without a preference) and the Factur-X PDF of today's demo invoice, rendered now so it
downloads at once. Every demo invoice and credit note downloads as Factur-X, CII and UBL
(tests/einvoice/test_demo.py validates them all)."""
from __future__ import annotations

import sqlalchemy as sa

from portal.db import db
from portal.einvoice.models import EInvoiceSettings
from portal.invoices.models import Invoice
from portal.invoices.states import InvoiceStatus

PREFERENCES = {"hartmann": ("facturx", ""), "vandijk": ("ubl", ""), "nordstahl": ("cii", "")}


def seed(companies, users) -> None:
    for key, (fmt, routing) in PREFERENCES.items():
        c = companies.get(key)
        if c is not None and db.session.get(EInvoiceSettings, c.id) is None:
            db.session.add(EInvoiceSettings(company_id=c.id, default_format=fmt, routing_id=routing))
    db.session.commit()
    nordstahl = companies.get("nordstahl")
    if nordstahl is None:
        return
    newest = db.session.scalar(sa.select(Invoice).where(Invoice.supplier_company_id == nordstahl.id,
                                                        Invoice.status != InvoiceStatus.draft)
                               .order_by(Invoice.id.desc()).limit(1))
    if newest is not None and not newest.facturx_file_id:
        from portal.einvoice.services import store_facturx

        try:
            store_facturx(newest.id)
        except Exception as exc:  # noqa: BLE001 - the demo must not fail on one rendering
            db.session.rollback()
            print(f"e-invoice demo: Factur-X of {newest.number} not rendered ({exc})")
