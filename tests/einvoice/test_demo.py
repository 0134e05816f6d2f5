"""The demo's invoices and credit notes download as Factur-X, CII and UBL, and all of them pass the official
EN 16931 rules with 0 fatal (the issue's "done when")."""
from __future__ import annotations

import sqlalchemy as sa

from portal.db import db
from portal.einvoice import services
from portal.einvoice.models import EInvoiceSettings
from portal.invoices.models import DocumentKind, Invoice
from portal.invoices.states import InvoiceStatus
from tests.einvoice.conftest import assert_valid


def test_every_demo_invoice_and_credit_note_passes_in_every_format(app, en16931, run_jobs, demo_db):
    import facturx

    assert demo_db.seed_result.exit_code == 0  # `flask demo seed` (portal.demo.seed), copied from the run's template
    docs = db.session.scalars(sa.select(Invoice).where(Invoice.status != InvoiceStatus.draft)
                              .order_by(Invoice.id)).all()
    kinds = {d.kind for d in docs}
    assert len(docs) > 10 and DocumentKind.invoice in kinds
    for inv in docs:
        for fmt in ("cii", "ubl"):
            assert_valid(en16931, services.xml_for(inv, fmt), f"{inv.number} {fmt}")
    prepared = [d for d in docs if d.facturx_file_id]
    assert prepared, "the demo renders today's Factur-X"
    samples = prepared + [d for d in docs if d.kind == DocumentKind.credit_note][:1] + [docs[0]]
    for inv in samples:
        d = services.download(inv, "facturx", None)
        if d.data is None:
            run_jobs()
            db.session.expire_all()
            d = services.download(db.session.get(Invoice, inv.id), "facturx", None)
        _name, xml = facturx.get_xml_from_pdf(d.data, check_xsd=True)
        assert_valid(en16931, xml, f"{inv.number} factur-x")
    prefs = {s.default_format for s in db.session.scalars(sa.select(EInvoiceSettings))}
    assert prefs == {"facturx", "ubl", "cii"}
