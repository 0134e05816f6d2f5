"""Importing suppliers' e-invoices: a hand-written UBL invoice (as another system makes it) is previewed, imported,
matched to its order, approved and paid; Factur-X and CII import too; bad input gets a sentence naming the rule or
field and saves nothing."""
from __future__ import annotations

import io
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from portal.db import db
from portal.documents.models import StoredFile
from portal.einvoice import importing
from portal.errors import ValidationFailed
from portal.invoices import services as invoice_services
from portal.invoices.models import Invoice
from portal.invoices.states import InvoiceStatus
from tests import factories
from tests.einvoice.conftest import assert_valid
from tests.invoices.conftest import receive

FIXTURE = Path(__file__).parent / "fixtures" / "erp_invoice_ubl.xml"


def erp_ubl(iw, order, **kw) -> bytes:
    values = {"number": "ERP-2026-4711", "po": order.po_number, "seller_vat": iw.supplier_a.vat_number,
              "buyer_vat": iw.buyer.vat_number, "tax": "184.30", "gross": "1154.30", "qty1": "100",
              "sku2": "SKU-002"}
    values.update(kw)
    text = FIXTURE.read_text(encoding="utf-8")
    for k, v in values.items():
        text = text.replace("{" + k + "}", v)
    return text.encode("utf-8")


def _counts():
    return (db.session.scalar(sa.select(sa.func.count(Invoice.id))),
            db.session.scalar(sa.select(sa.func.count(StoredFile.id))))


def test_the_handwritten_fixture_is_itself_valid_en16931(shipped, iw, en16931):
    order, _ = shipped
    assert_valid(en16931, erp_ubl(iw, order), "fixture")


def test_handwritten_ubl_is_previewed_imported_matched_approved_and_paid(shipped, iw, login):
    order, sh = shipped
    data = erp_ubl(iw, order)
    before = _counts()
    p = importing.preview(iw.accounts_a, data, "erp.xml")
    assert p.ok, p.problems
    assert p.order.id == order.id and [m.order_line.position for m in p.lines] == [1, 2]
    assert all(m.shipment_line_id for m in p.lines)  # matched to the shipment lines by quantity
    assert p.totals == {"net": Decimal("970.00"), "tax": Decimal("184.30"), "gross": Decimal("1154.30")}
    assert _counts() == before  # the preview saved nothing
    inv = importing.import_file(iw.accounts_a, data, "erp.xml")
    assert (inv.number, inv.series, inv.status, inv.year, inv.sequence) == ("ERP-2026-4711", "EXT",
                                                                           InvoiceStatus.issued, None, None)
    assert inv.total_gross == Decimal("1154.30") and inv.order_id == order.id
    assert [ln.order_line_id for ln in inv.lines] == [ol.id for ol in order.lines]
    assert str(inv.due_date) == "2026-12-30" and inv.snapshot["imported"]["format"] == "ubl"
    src = db.session.get(StoredFile, inv.source_file_id)
    assert src.owner_company_id == iw.supplier_a.id and src.party_company_id == iw.buyer.id
    for user in (iw.accounts_a, iw.buyer_accounts):  # the original, byte for byte, for both sides
        resp = login(user).get(f"/invoices/{inv.id}/einvoice/original")
        assert resp.status_code == 200 and resp.data == data and resp.headers["X-Content-SHA256"] == src.sha256
    # nothing left to invoice on the order: the portal's own rule sees the imported invoice
    with pytest.raises(ValidationFailed, match="already invoiced"):
        invoice_services.create_draft(iw.accounts_a, shipment_id=sh.id)
    # then the same life as a portal invoice: the buyer's match, approval, payment
    receive(sh, {1: "100", 2: "60"})
    inv = db.session.get(Invoice, inv.id)
    assert [r["problems"] for r in invoice_services.match(inv)] == [[], []]  # ordered = received = invoiced
    invoice_services.approve_for_payment(inv, iw.buyer_accounts, inv.lock_version)
    inv = db.session.get(Invoice, inv.id)
    invoice_services.record_payment(inv, iw.accounts_a, inv.lock_version, amount="1154.30",
                                    paid_on=str(inv.issue_date))
    assert db.session.get(Invoice, inv.id).status == InvoiceStatus.paid


def test_buyer_imports_an_invoice_received_outside_the_portal(shipped, iw):
    order, _ = shipped
    inv = importing.import_file(iw.buyer_accounts, erp_ubl(iw, order, number="OUT-1"), "mail.xml")
    assert inv.supplier_company_id == iw.supplier_a.id and inv.buyer_company_id == iw.buyer.id


def test_factur_x_and_cii_import(shipped, iw, en16931):
    from portal.einvoice import cii, facturx
    from portal.einvoice.document import from_snapshot
    from tests.einvoice.conftest import make_snapshot

    order, _ = shipped
    snap = make_snapshot([("40", "2.50", "0", "19"), ("20", "12.00", "0", "19")], number="FX-100")
    snap["seller"].update(vat_number=iw.supplier_a.vat_number)
    snap["buyer"].update(vat_number=iw.buyer.vat_number)
    snap["order"]["po_number"] = snap["buyer_reference"] = order.po_number
    for ln, sku in zip(snap["lines"], ("SKU-001", "SKU-002")):
        ln["sku"] = sku
    pdf = facturx.build(snap)
    inv = importing.import_file(iw.accounts_a, pdf, "fx.pdf")
    assert inv.number == "FX-100" and inv.pdf_file_id == inv.source_file_id  # the supplier's PDF is the document
    assert inv.total_gross == Decimal(snap["total_gross"])
    snap.update(number="CII-100")
    for ln in snap["lines"]:
        ln["quantity"] = "10.0000"
        ln["net_amount"] = str(Decimal(ln["unit_price"]) * 10)
    snap["tax_breakdown"] = [{"rate": "19.00", "net": "145.00", "tax": "27.55", "category": "S"}]
    snap.update(total_net="145.00", total_tax="27.55", total_gross="172.55")
    xml = cii.to_xml(from_snapshot(snap))
    assert_valid(en16931, xml, "cii import")
    inv2 = importing.import_file(iw.accounts_a, xml, "inv.xml")
    assert inv2.number == "CII-100" and inv2.pdf_job_id is not None  # XML: the portal renders a PDF of it


def _refused(actor, data, *needles, name="f.xml"):
    before = _counts()
    p = importing.preview(actor, data, name)
    assert not p.ok
    text = " ".join(pr["message"] for pr in p.problems)
    for n in needles:
        assert n in text, (n, text)
    with pytest.raises(ValidationFailed) as exc:
        importing.import_file(actor, data, name)
    for n in needles:
        assert n in exc.value.message
    assert _counts() == before
    return p


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
<!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
<!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
<!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
<!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
<!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">]>
<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"><ID>&lol9;</ID></Invoice>"""


def test_bad_input_gets_a_sentence_and_saves_nothing(shipped, iw):
    order, _ = shipped
    a = iw.accounts_a
    _refused(a, b"<Invoice><unclosed></Invoice>", "not well-formed XML")
    _refused(a, BILLION_LAUGHS, "DTD")
    xxe = erp_ubl(iw, order).replace(b'<?xml version="1.0" encoding="UTF-8"?>',
                                     b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
                                     ).replace(b"<cbc:Note>Thank", b"<cbc:Note>&e; Thank")
    p = _refused(a, xxe, "DTD")
    assert "root:" not in str(p.problems)
    from pypdf import PdfWriter

    w = PdfWriter()
    w.add_blank_page(200, 200)
    buf = io.BytesIO()
    w.write(buf)
    _refused(a, buf.getvalue(), "no embedded e-invoice", name="plain.pdf")
    _refused(a, b"<html xmlns='http://www.w3.org/1999/xhtml'><body>hi</body></html>", "not an EN 16931 invoice")
    _refused(a, erp_ubl(iw, order, gross="1154.31"), "BR-CO-15")
    _refused(a, erp_ubl(iw, order).replace(b'<cbc:PayableAmount currencyID="EUR">1154.30<',
                                           b'<cbc:PayableAmount currencyID="EUR">1000.00<'), "BR-CO-16")
    _refused(a, erp_ubl(iw, order, tax="184.31", gross="1154.31"), "BR-CO-17")
    _refused(a, erp_ubl(iw, order, qty1="99"), "BR-CO-10")  # 99 × 2.50 is not the stated 250.00
    _refused(a, erp_ubl(iw, order, po="PO-NOPE-1"), "BT-13", "No order PO-NOPE-1")
    _refused(a, erp_ubl(iw, order, seller_vat="DE999999999"), "BT-31", "is not your company's")
    _refused(a, erp_ubl(iw, order, sku2="SKU-999"), "BT-155", "SKU-999")
    _refused(a, b"\x00junk" * (20 * 1024 * 1024 // 5), "MB", name="junk.bin")
    _refused(a, b"", "empty")


def test_duplicate_number_and_over_invoicing_are_refused(shipped, iw):
    order, _ = shipped
    data = erp_ubl(iw, order)
    importing.import_file(iw.accounts_a, data, "a.xml")
    p = _refused(iw.accounts_a, data, "ERP-2026-4711", "imported once")
    assert any(pr["rule"] == "BT-129" for pr in p.problems)  # and everything is invoiced already


def test_only_accounts_may_import_and_other_companies_see_nothing(shipped, iw, login):
    from portal.errors import Forbidden

    order, _ = shipped
    with pytest.raises(Forbidden):
        importing.preview(iw.sales_a, erp_ubl(iw, order), "x.xml")
    stranger = factories.company("supplier", name="Other Supplier GmbH", vat_number="DE811569869")
    st = factories.user(stranger, "accounts", email="acc@other.test")
    _refused(st, erp_ubl(iw, order), "is not your company's")


def test_import_pages_preview_then_confirm(shipped, iw, login):
    order, _ = shipped
    c = login(iw.accounts_a)
    assert c.get("/einvoices/import").status_code == 200
    resp = c.post("/einvoices/import", data={"files": [(io.BytesIO(erp_ubl(iw, order)), "erp.xml"),
                                                       (io.BytesIO(b"<x/>"), "bad.xml")]},
                  content_type="multipart/form-data")
    assert resp.status_code == 200
    page = resp.get_data(as_text=True)
    assert "Ready to import" in page and "not an EN 16931 invoice" in page
    assert db.session.scalar(sa.select(sa.func.count(Invoice.id))) == 0
    import re

    token = re.search(r'name="token" value="([^"]+)"', page).group(1)
    other = login(iw.buyer_accounts).post("/einvoices/import/confirm", data={"token": token})
    assert other.status_code == 302 and db.session.scalar(sa.select(sa.func.count(Invoice.id))) == 0
    resp = c.post("/einvoices/import/confirm", data={"token": token})
    assert resp.status_code == 302
    inv = db.session.scalar(sa.select(Invoice))
    assert inv.number == "ERP-2026-4711" and resp.headers["Location"].endswith(f"/invoices/{inv.id}")
    again = c.post("/einvoices/import/confirm", data={"token": token}, follow_redirects=True)
    assert "expired" in again.get_data(as_text=True)  # the held file is gone once imported
    assert db.session.scalar(sa.select(sa.func.count(Invoice.id))) == 1
    resp = c.post("/einvoices/import", data={"files": [(io.BytesIO(erp_ubl(iw, order)), "erp.xml")]},
                  content_type="multipart/form-data")
    assert "imported once" in resp.get_data(as_text=True) and 'name="token"' not in resp.get_data(as_text=True)
    big = c.post("/einvoices/import", data={"files": [(io.BytesIO(b"x" * (20 * 1024 * 1024)), "junk.xml")]},
                 content_type="multipart/form-data")
    assert big.status_code == 413 and b"too large" in big.data


def test_xsd_errors_are_named(shipped, iw):
    order, _ = shipped
    bad = erp_ubl(iw, order).replace(b"<cbc:DocumentCurrencyCode>EUR</cbc:DocumentCurrencyCode>",
                                      b"<cbc:DocumentCurrencyCode>EUR</cbc:DocumentCurrencyCode><cbc:Bogus>1</cbc:Bogus>")
    p = _refused(iw.accounts_a, bad, "[XSD]", "ubl-2.1-invoice", "Bogus")
    assert any(pr["rule"] == "XSD" for pr in p.problems)


def test_imported_invoice_gets_a_portal_credit_note_and_its_own_einvoices(shipped, iw, en16931):
    from portal.einvoice import services

    order, _ = shipped
    inv = importing.import_file(iw.accounts_a, erp_ubl(iw, order), "erp.xml")
    for fmt in ("cii", "ubl"):
        assert_valid(en16931, services.xml_for(inv, fmt), f"imported {fmt}")
    cn = invoice_services.create_credit_note(inv, iw.accounts_a, inv.lock_version, quantities={inv.lines[0].id: "4"},
                                             reason="4 bolts bent", reason_kind="returned")
    assert cn.series == "CRN" and cn.total_gross == Decimal("11.90")
    ubl_cn = services.xml_for(cn, "ubl")
    assert_valid(en16931, ubl_cn, "credit note of an imported invoice")
    assert b"ERP-2026-4711" in ubl_cn  # the preceding invoice is the supplier's own number
    assert db.session.get(Invoice, inv.id).credited_amount == Decimal("11.90")
