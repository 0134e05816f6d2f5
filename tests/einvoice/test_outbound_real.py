"""E-invoices of invoices issued through the services: both sides download CII, UBL and Factur-X (the official
rules pass on each), the snapshot carries the EN 16931 fields, another company gets 404, preferences apply."""
from __future__ import annotations

import hashlib
from decimal import Decimal

from portal.db import db
from portal.einvoice import services
from portal.einvoice.models import EInvoiceSettings, preferred_format
from portal.invoices import services as invoice_services
from portal.invoices.models import Invoice
from tests import factories
from tests.einvoice.conftest import assert_valid
from tests.invoices.conftest import issued_for, ship


def _facturx(client, inv, run_jobs):
    resp = client.get(f"/invoices/{inv.id}/einvoice?format=facturx")
    assert resp.status_code == 302 and "/jobs/" in resp.headers["Location"]  # being prepared
    run_jobs()
    db.session.expire_all()
    resp = client.get(f"/invoices/{inv.id}/einvoice?format=facturx")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    return resp.data


def test_issued_invoice_downloads_in_three_formats_that_pass_the_rules(shipped, iw, login, run_jobs, en16931):
    import facturx
    from pypdf import PdfReader
    import io

    order, sh = shipped
    inv = issued_for(iw, shipment=sh, edits={order.lines[0].id: {"discount_percent": "3"}})
    snap = inv.snapshot
    assert snap["lines"][0]["unit_code"] == "H87" and snap["lines"][0]["vat_category"] == "S"
    assert snap["seller"]["city"] == "Berlin" and snap["tax_breakdown"][0]["category"] == "S"
    for user in (iw.accounts_a, iw.buyer_accounts):
        c = login(user)
        for fmt in ("cii", "ubl"):
            resp = c.get(f"/invoices/{inv.id}/einvoice?format={fmt}")
            assert resp.status_code == 200 and resp.mimetype == "application/xml", resp.data[:300]
            assert_valid(en16931, resp.data, fmt)
            assert inv.number.encode() in resp.data and order.po_number.encode() in resp.data
            assert hashlib.sha256(resp.data).hexdigest() == resp.headers["X-Content-SHA256"]
    pdf = _facturx(login(iw.buyer_accounts), inv, run_jobs)
    xml_name, xml = facturx.get_xml_from_pdf(pdf, check_xsd=True)
    assert xml_name == "factur-x.xml"
    assert_valid(en16931, xml, "factur-x")
    assert facturx.get_level(__import__("lxml.etree").etree.fromstring(xml)) == "en16931"
    reader = PdfReader(io.BytesIO(pdf))
    xmp = reader.xmp_metadata
    assert xmp is not None and b"pdfaid" in reader.trailer["/Root"]["/Metadata"].get_object().get_data()
    assert "/AF" in reader.trailer["/Root"]
    # stored once: a second download serves the same bytes, no new job
    again = login(iw.accounts_a).get(f"/invoices/{inv.id}/einvoice?format=facturx")
    assert again.status_code == 200 and again.data == pdf


def test_reverse_charge_and_credit_note_pass_the_rules(iw, login, en16931):
    iw.supplier_b.bic = "BNPAFRPPXXX"
    db.session.commit()
    sales_b = iw.sales_b
    accounts_b = factories.user(iw.supplier_b, "accounts", email="accounts@beta.test")
    o = factories.order(iw.buyer, iw.supplier_b, iw.procurement, status="acknowledged",
                        lines=[("7", "13.37"), ("3", "0.99")])
    sh = ship(o, {1: "7", 2: "3"}, creator=sales_b)
    draft = invoice_services.create_draft(accounts_b, shipment_id=sh.id)
    inv = invoice_services.issue(draft, accounts_b, draft.lock_version)
    assert inv.reverse_charge and inv.snapshot["lines"][0]["vat_category"] == "K"
    cn = invoice_services.create_credit_note(inv, accounts_b, inv.lock_version, quantities={inv.lines[0].id: "2"},
                                             reason="Two broken", reason_kind="returned")
    c = login(iw.buyer_accounts)
    for doc in (inv, cn):
        for fmt in ("cii", "ubl"):
            resp = c.get(f"/invoices/{doc.id}/einvoice?format={fmt}")
            assert resp.status_code == 200
            assert_valid(en16931, resp.data, f"{doc.number} {fmt}")
    ubl = c.get(f"/invoices/{cn.id}/einvoice?format=ubl").data.decode()
    assert "<CreditNote" in ubl and inv.number in ubl and "VATEX-EU-IC" in ubl


def test_another_company_gets_404_and_drafts_have_no_einvoice(shipped, iw, login):
    from tests.invoices.conftest import draft_for

    order, sh = shipped
    inv = issued_for(iw, shipment=sh, edits={order.lines[1].id: {"quantity": "10"}})
    stranger = factories.company("buyer", name="Stranger GmbH")
    st = factories.user(stranger, "accounts", email="acc@stranger.test")
    for fmt in ("cii", "ubl", "facturx"):
        assert login(st).get(f"/invoices/{inv.id}/einvoice?format={fmt}").status_code == 404
    assert login(st).get(f"/invoices/{inv.id}/einvoice/original").status_code == 404
    draft = draft_for(iw, shipment=sh)
    resp = login(iw.accounts_a).get(f"/invoices/{draft.id}/einvoice?format=cii", follow_redirects=True)
    assert b"A draft has no e-invoice" in resp.data
    assert login(iw.buyer_accounts).get(f"/invoices/{draft.id}/einvoice?format=cii").status_code == 404
    resp = login(iw.accounts_a).get(f"/invoices/{inv.id}/einvoice?format=pdf-x", follow_redirects=True)
    assert b"Choose the e-invoice format" in resp.data


def test_buyer_preference_wins_and_settings_page_validates(shipped, iw, login):
    assert preferred_format(iw.buyer.id, iw.supplier_a.id) == "facturx"
    db.session.add(EInvoiceSettings(company_id=iw.supplier_a.id, default_format="cii", routing_id=""))
    db.session.commit()
    assert preferred_format(iw.buyer.id, iw.supplier_a.id) == "cii"
    c = login(iw.buyer_accounts)
    resp = c.post("/einvoices/settings", data={"default_format": "ubl", "routing_id": "04011000-12345-34"})
    assert resp.status_code == 302
    assert preferred_format(iw.buyer.id, iw.supplier_a.id) == "ubl"
    assert c.post("/einvoices/settings", data={"default_format": "docx"}).status_code == 422
    assert db.session.get(EInvoiceSettings, iw.buyer.id).default_format == "ubl"
    order, sh = shipped
    inv = issued_for(iw, shipment=sh)
    assert inv.snapshot["buyer_routing_id"] == "04011000-12345-34"
    resp = c.get(f"/invoices/{inv.id}/einvoice")  # no format: the buyer's preference
    assert resp.status_code == 200 and b"<Invoice" in resp.data and b"04011000-12345-34" in resp.data
    page = c.get(f"/invoices/{inv.id}")
    assert b"einvoice-downloads" in page.data


def test_old_snapshot_without_einvoice_fields_still_exports(shipped, iw, en16931):
    order, sh = shipped
    inv = issued_for(iw, shipment=sh)
    snap = dict(inv.snapshot)
    snap["lines"] = [{k: v for k, v in ln.items() if k not in ("unit_code", "vat_category", "charge")}
                     for ln in snap["lines"]]
    for p in ("seller", "buyer"):
        snap[p] = {k: v for k, v in snap[p].items() if k not in ("street", "street2", "postcode", "city")}
    from portal.einvoice import cii
    from portal.einvoice.document import from_snapshot

    doc = from_snapshot(snap)
    assert doc.seller.city == "Berlin" and doc.seller.postcode == "10115" and doc.lines[0].unit_code == "H87"
    assert_valid(en16931, cii.to_xml(doc), "old snapshot")
    assert Decimal(snap["total_gross"]) == db.session.get(Invoice, inv.id).total_gross
    assert services.filename(inv, "ubl").endswith("-ubl.xml")


def test_zip_export_carries_the_einvoices(shipped, iw, login, en16931):
    import io
    import zipfile

    import sqlalchemy as sa

    from portal.jobs.models import JobRecord
    from portal.jobs.queue import resolve

    order, sh = shipped
    inv = issued_for(iw, shipment=sh)
    c = login(iw.buyer_accounts)
    assert c.post("/invoices/export.zip", data={"status": "issued"}).status_code == 302
    rec = db.session.scalar(sa.select(JobRecord).where(JobRecord.kind == "invoice-zip"))
    resolve(rec.func)(*rec.args, rec.id)
    db.session.expire_all()
    rec = db.session.get(JobRecord, rec.id)
    zf = zipfile.ZipFile(io.BytesIO(c.get(f"/files/{rec.result_file_id}").data))
    for fmt in ("cii", "ubl"):
        assert_valid(en16931, zf.read(f"e-invoices/{inv.number}-{fmt}.xml"), fmt)
