"""Pages, downloads, PDFs, exports, statements and tenancy."""
from __future__ import annotations

import hashlib
import io
import subprocess
import zipfile
from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from portal.db import db, utcnow
from portal.invoices import jobs, services
from portal.invoices.models import Invoice
from portal.invoices.states import InvoiceStatus
from portal.jobs.models import JobRecord, JobStatus
from portal.money import format_money
from tests import factories
from tests.invoices.conftest import draft_for, issued_for, receive, ship


def _render(inv):
    jobs.invoice_pdf_job(inv.id, inv.pdf_job_id)
    db.session.expire_all()  # the job ran with its own session
    return db.session.get(Invoice, inv.id)


def _pdf_text(data: bytes) -> str:
    return subprocess.run(["pdftotext", "-layout", "-", "-"], input=data, capture_output=True, check=True).stdout.decode()


def test_pdf_totals_match_database_and_snapshot_and_downloads_serve_stored_bytes(shipped, iw, login):
    from portal.documents.models import StoredFile

    order, sh = shipped
    inv = _render(issued_for(iw, shipment=sh))
    f = db.session.get(StoredFile, inv.pdf_file_id)
    assert f.owner_company_id == iw.supplier_a.id and f.party_company_id == iw.buyer.id
    for user in (iw.accounts_a, iw.buyer_accounts):
        resp = login(user).get(f"/invoices/{inv.id}/pdf")
        assert resp.status_code == 200 and resp.mimetype == "application/pdf"
        assert hashlib.sha256(resp.data).hexdigest() == f.sha256
    text = _pdf_text(resp.data)
    for field in ("total_net", "total_tax", "total_gross"):
        shown = format_money(getattr(inv, field), "EUR")
        assert shown == format_money(Decimal(inv.snapshot[field]), "EUR")
        assert shown in text, (field, shown)
    for must in (inv.number, order.po_number, sh.number, "DE89370400440532013000", "DE129273398", "Page 1 of 1",
                 iw.supplier_a.legal_name, iw.buyer.legal_name, "Due date", "Date of supply"):
        assert must in text, must


def test_pdf_job_failure_keeps_invoice_issued_and_retry_works(shipped, iw, login, run_jobs, monkeypatch):
    from portal.invoices import pdf

    order, sh = shipped
    inv = issued_for(iw, shipment=sh)
    number = inv.number
    real = pdf.render_invoice
    monkeypatch.setattr(pdf, "render_invoice", lambda snap: (_ for _ in ()).throw(RuntimeError("fonts missing")))
    with pytest.raises(RuntimeError):
        jobs.invoice_pdf_job(inv.id, inv.pdf_job_id)
    rec = db.session.get(JobRecord, inv.pdf_job_id)
    db.session.refresh(rec)
    assert rec.status == JobStatus.failed and "fonts missing" in rec.error
    inv = db.session.get(Invoice, inv.id)
    assert inv.status == InvoiceStatus.issued and inv.pdf_file_id is None
    monkeypatch.setattr(pdf, "render_invoice", real)
    c = login(iw.accounts_a)
    assert c.post(f"/jobs/{rec.id}/retry").status_code == 302
    run_jobs(["documents"])
    db.session.expire_all()
    inv = db.session.get(Invoice, inv.id)
    assert inv.pdf_file_id and inv.number == number
    assert db.session.get(JobRecord, rec.id).status == JobStatus.succeeded
    nxt = issued_for(iw, order=ship(factories.order(iw.buyer, iw.supplier_a, iw.procurement,
                                                    status="acknowledged"), {1: "1"}).order)
    assert nxt.sequence == inv.sequence + 1


def test_pdf_multi_page_repeats_header_and_keeps_totals(iw):
    o = factories.order(iw.buyer, iw.supplier_a, iw.procurement, status="acknowledged",
                        lines=[("5", f"{i + 1}.25") for i in range(80)])
    ship(o, {i + 1: "5" for i in range(80)})
    inv = _render(issued_for(iw, order=o))
    from portal.documents.models import StoredFile
    from portal.documents.store import read_bytes

    text = _pdf_text(read_bytes(db.session.get(StoredFile, inv.pdf_file_id)))
    pages = text.split("\f")
    pages = [p for p in pages if p.strip()]
    assert len(pages) >= 2 and f"Page 1 of {len(pages)}" in text
    assert all("Unit price" in p for p in pages)  # table header repeated
    last = pages[-1]
    assert format_money(inv.total_gross, "EUR") in last and "80" in last  # the last line sits with the totals


def test_reverse_charge_note_printed(iw):
    iw.buyer.country, iw.buyer.vat_number = "AT", "ATU12345675"
    db.session.commit()
    o = factories.order(iw.buyer, iw.supplier_a, iw.procurement, status="acknowledged")
    ship(o, {1: "100"})
    inv = _render(issued_for(iw, order=o))
    from portal.documents.models import StoredFile
    from portal.documents.store import read_bytes

    text = " ".join(_pdf_text(read_bytes(db.session.get(StoredFile, inv.pdf_file_id))).split())
    assert "Reverse charge: VAT to be accounted for by the recipient (Art. 196 Directive 2006/112/EC)" in text


@pytest.mark.parametrize("path", ["/invoices/{id}", "/invoices/{id}/pdf", "/invoices/{id}/credit"])
def test_other_companies_invoice_is_404(shipped, iw, login, path):
    order, sh = shipped
    inv = _render(issued_for(iw, shipment=sh))
    other = factories.company("buyer", name="Other Buyer AG")
    stranger = factories.user(other, "accounts")
    assert login(stranger).get(path.format(id=inv.id)).status_code == 404
    assert login(factories.user(iw.supplier_b, "accounts")).get(path.format(id=inv.id)).status_code == 404


def test_buyer_does_not_see_drafts_and_cannot_act_as_supplier(shipped, iw, login):
    order, sh = shipped
    inv = draft_for(iw, shipment=sh)
    c = login(iw.buyer_accounts)
    assert c.get(f"/invoices/{inv.id}").status_code == 404
    services.issue(inv, iw.accounts_a, inv.lock_version)
    assert c.get(f"/invoices/{inv.id}").status_code == 200
    assert c.post(f"/invoices/{inv.id}/payments", data={"amount": "1", "paid_on": utcnow().date().isoformat(),
                                                        "lock_version": inv.lock_version}).status_code == 404
    assert login(iw.sales_a).get("/invoices/").status_code == 403


def test_issued_invoice_has_no_edit_or_delete_buttons_and_routes_refuse(shipped, iw, login):
    order, sh = shipped
    inv = issued_for(iw, shipment=sh)
    c = login(iw.accounts_a)
    page = c.get(f"/invoices/{inv.id}").get_data(as_text=True)
    assert "Delete draft" not in page and "Save draft" not in page and "Issue invoice" not in page
    resp = c.post(f"/invoices/{inv.id}/delete", data={"lock_version": inv.lock_version}, follow_redirects=True)
    assert "never deleted" in resp.get_data(as_text=True)
    assert db.session.get(Invoice, inv.id) is not None


def test_new_draft_page_and_too_much_quantity(shipped, iw, login):
    order, sh = shipped
    c = login(iw.accounts_a)
    page = c.get(f"/invoices/new?shipment_id={sh.id}")
    assert page.status_code == 200 and 'value="100"' in page.get_data(as_text=True)
    bad = c.post("/invoices/new", data={"shipment_id": sh.id, f"qty-{order.lines[1].id}": "61"})
    assert bad.status_code == 422
    assert "You can invoice at most 60 pcs of line 2 (60 shipped, 0 already invoiced)." in bad.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(Invoice.id))) == 0
    ok = c.post("/invoices/new", data={"shipment_id": sh.id, f"qty-{order.lines[1].id}": "20"})
    assert ok.status_code == 302
    inv = db.session.scalar(sa.select(Invoice))
    r = c.post(f"/invoices/{inv.id}/issue", data={"lock_version": inv.lock_version}, follow_redirects=True)
    assert "Issued as INV-" in r.get_data(as_text=True)
    assert c.get(f"/invoices/new?shipment_id={sh.id}").status_code == 200
    assert login(iw.buyer_accounts).get(f"/invoices/new?shipment_id={sh.id}").status_code in (403, 404)


def test_payment_form_messages(shipped, iw, login):
    order, sh = shipped
    inv = issued_for(iw, shipment=sh)
    c = login(iw.accounts_a)
    r = c.post(f"/invoices/{inv.id}/payments", data={"amount": "2000", "paid_on": utcnow().date().isoformat(),
                                                     "lock_version": inv.lock_version})
    assert r.status_code == 422
    assert "The open amount is €1,154.30; a payment of €2,000.00 would overpay it." in r.get_data(as_text=True)
    r = c.post(f"/invoices/{inv.id}/payments", data={"amount": "100", "paid_on": utcnow().date().isoformat(),
                                                     "lock_version": inv.lock_version - 1})
    assert r.status_code == 422 and "changed since you opened" in r.get_data(as_text=True)
    r = c.post(f"/invoices/{inv.id}/payments", data={"amount": "100", "paid_on": utcnow().date().isoformat(),
                                                     "lock_version": inv.lock_version})
    assert r.status_code == 302
    db.session.expire_all()  # the request ran in its own session, as in production
    assert db.session.get(Invoice, inv.id).status == InvoiceStatus.partially_paid


def test_credit_note_form_refuses_more_than_open(shipped, iw, login):
    order, sh = shipped
    inv = issued_for(iw, shipment=sh)
    c = login(iw.accounts_a)
    r = c.post(f"/invoices/{inv.id}/credit", data={"mode": "amount", "amount": "2000", "reason": "oops",
                                                   "reason_kind": "other", "lock_version": inv.lock_version})
    assert r.status_code == 422 and "would exceed it" in r.get_data(as_text=True)
    r = c.post(f"/invoices/{inv.id}/credit", data={"mode": "lines", f"qty-{inv.lines[0].id}": "10",
                                                   "reason": "returned", "reason_kind": "returned",
                                                   "lock_version": inv.lock_version})
    assert r.status_code == 302


def test_buyer_match_and_approval(shipped, iw, login):
    order, sh = shipped
    inv = issued_for(iw, shipment=sh)  # invoiced on shipping, before the goods arrived
    receive(sh, {1: "100", 2: "50"})  # 10 of line 2 rejected
    c = login(iw.buyer_accounts)
    page = c.get(f"/invoices/{inv.id}").get_data(as_text=True)
    assert "Mismatch" in page and "invoiced 60 pcs but received 50" in page
    r = c.post(f"/invoices/{inv.id}/approve", data={"lock_version": inv.lock_version})
    assert r.status_code == 422 and "does not match" in r.get_data(as_text=True)
    assert db.session.get(Invoice, inv.id).approved_for_payment_at is None
    r = c.post(f"/invoices/{inv.id}/approve", data={"lock_version": inv.lock_version, "despite": "y"})
    assert r.status_code == 422 and "Say why" in r.get_data(as_text=True)
    r = c.post(f"/invoices/{inv.id}/approve", data={"lock_version": inv.lock_version, "despite": "y",
                                                    "comment": "credit note promised"})
    assert r.status_code == 302
    db.session.expire_all()
    assert db.session.get(Invoice, inv.id).approved_for_payment_by_id == iw.buyer_accounts.id


def test_approval_without_mismatch(shipped, iw):
    order, sh = shipped
    receive(sh, {1: "100", 2: "60"})
    inv = issued_for(iw, shipment=sh)
    services.approve_for_payment(inv, iw.buyer_accounts, inv.lock_version)
    assert inv.approved_for_payment_at is not None


def _bulk(iw, n):
    from tests.invoices.test_numbering_pg import _bulk_drafts

    ids = _bulk_drafts(iw, n)
    today = utcnow().date()
    db.session.execute(sa.update(Invoice).where(Invoice.id.in_(ids)).values(
        status="issued", number=sa.func.concat("INV-T-", Invoice.id) if db.engine.dialect.name == "postgresql"
        else ("INV-T-" + sa.cast(Invoice.id, sa.String)), year=today.year, sequence=Invoice.id,
        issue_date=today, due_date=today + timedelta(days=30)))
    db.session.commit()
    return ids


def test_list_query_count_is_constant(iw, login, count_queries):
    c = login(iw.accounts_a)
    _bulk(iw, 5)
    db.session.expire_all()
    with count_queries() as q5:
        r = c.get("/invoices/?page=2&totals=1")
    assert r.status_code == 200
    _bulk(iw, 55)
    db.session.expire_all()
    with count_queries() as q60:
        r = c.get("/invoices/?page=2&totals=1")
    assert r.status_code == 200 and "Page 2 of 3" in r.get_data(as_text=True)
    assert q60.count == q5.count, "\n---\n".join(s[:120] for s in q5.statements + ["====="] + q60.statements)
    assert "60 documents in EUR" in r.get_data(as_text=True)


def test_list_totals_only_on_request(iw, login, count_queries):
    """The first page reads one page of rows (a keyset page): no count and no totals over every document, so it
    costs the same at 100,000 documents; the totals are one click away and then agree with the documents."""
    c = login(iw.accounts_a)
    _bulk(iw, 30)
    db.session.expire_all()
    with count_queries() as plain:
        body = c.get("/invoices/").get_data(as_text=True)
    assert 'data-testid="totals"' not in body and 'data-testid="show-totals"' in body
    aggregates = [s for s in plain.statements
                  if "from invoices" in s.lower() and ("count(invoices" in s.lower() or "sum(" in s.lower())]
    assert aggregates == [], aggregates
    with count_queries() as asked:
        body = c.get("/invoices/?totals=1").get_data(as_text=True)
    assert 'data-testid="totals"' in body and "30 documents in EUR" in body
    assert asked.count == plain.count + 1
    # the filters apply to the totals too
    assert "30 documents in EUR" not in c.get("/invoices/?totals=1&status=paid").get_data(as_text=True)


def test_list_filters_and_csv_is_formula_safe(shipped, iw, login):
    order, sh = shipped
    inv = issued_for(iw, shipment=sh)
    iw.buyer.legal_name = "=HYPERLINK(\"http://evil\")"
    db.session.commit()
    c = login(iw.accounts_a)
    assert inv.number in c.get("/invoices/?status=issued").get_data(as_text=True)
    assert inv.number not in c.get("/invoices/?status=paid").get_data(as_text=True)
    assert inv.number not in c.get("/invoices/?status=overdue").get_data(as_text=True)
    assert inv.number in c.get(f"/invoices/?company_id={iw.buyer.id}").get_data(as_text=True)
    csv_text = c.get("/invoices/export.csv?status=issued").get_data(as_text=True)
    assert inv.number in csv_text and "'=HYPERLINK" in csv_text


def test_zip_job_with_missing_note(shipped, iw, login, run_jobs):
    order, sh = shipped
    a = _render(issued_for(iw, shipment=sh, edits={order.lines[0].id: {"quantity": "10"}}))
    b = issued_for(iw, order=order)  # PDF not rendered
    c = login(iw.accounts_a)
    r = c.post("/invoices/export.zip", data={"status": "issued"})
    assert r.status_code == 302
    rec = db.session.scalar(sa.select(JobRecord).where(JobRecord.kind == "invoice-zip"))
    # run just the zip job (the PDF job of b stays queued so its PDF is missing)
    from portal.jobs.queue import resolve

    resolve(rec.func)(*rec.args, rec.id)
    db.session.expire_all()
    rec = db.session.get(JobRecord, rec.id)
    assert rec.status == JobStatus.succeeded and rec.progress == 100
    data = c.get(f"/files/{rec.result_file_id}").data
    zf = zipfile.ZipFile(io.BytesIO(data))
    assert f"{a.number}.pdf" in zf.namelist()
    assert b.number in zf.read("MISSING.txt").decode()


def test_statement_running_balance(shipped, iw, login, run_jobs):
    order, sh = shipped
    inv = issued_for(iw, shipment=sh)
    services.record_payment(inv, iw.accounts_a, inv.lock_version, amount="154.30", paid_on=utcnow().date())
    services.create_credit_note(inv, iw.accounts_a, inv.lock_version, amount="100", reason="discount", reason_kind="other")
    today = utcnow().date()
    for user in (iw.accounts_a, iw.buyer_accounts):
        c = login(user)
        cid = iw.buyer.id if user is iw.accounts_a else iw.supplier_a.id
        page = c.get(f"/invoices/statement?company_id={cid}&from={today - timedelta(days=5)}&to={today}")
        text = page.get_data(as_text=True)
        assert page.status_code == 200 and "Opening balance" in text
        assert "€881.00" in text  # 1154.30 − 154.30 − 119.00
    r = login(iw.accounts_a).post("/invoices/statement/pdf", data={"company_id": iw.buyer.id,
                                                                   "from": str(today), "to": str(today)})
    assert r.status_code == 302
    run_jobs(["documents"])
    rec = db.session.scalar(sa.select(JobRecord).where(JobRecord.kind == "statement-pdf"))
    assert rec.status == JobStatus.succeeded and rec.result_file_id
    other = factories.company("buyer")
    assert login(iw.accounts_a).get(f"/invoices/statement?company_id={other.id}").status_code == 404


def test_settings_logo_upload(iw, login):
    from PIL import Image

    c = login(iw.accounts_a)
    buf = io.BytesIO()
    Image.new("RGB", (1200, 400), (31, 58, 95)).save(buf, "PNG")
    r = c.post("/invoices/settings", data={"mode": "per_order", "default_tax_rate": "19", "reminder_days": "3,14,30",
                                           "footer_note": "", "logo": (io.BytesIO(buf.getvalue()), "logo.png")},
               content_type="multipart/form-data")
    assert r.status_code == 302
    from portal.invoices.models import InvoiceSettings

    s = db.session.get(InvoiceSettings, iw.supplier_a.id)
    assert s.logo_file_id and s.mode.value == "per_order"
    r = c.post("/invoices/settings", data={"mode": "per_order", "default_tax_rate": "19", "reminder_days": "3",
                                           "logo": (io.BytesIO(b"GIF89a not a png"), "logo.gif")},
               content_type="multipart/form-data")
    assert r.status_code == 422 and "PNG or JPEG" in r.get_data(as_text=True)
    r = c.post("/invoices/settings", data={"mode": "per_order", "default_tax_rate": "19", "reminder_days": "x"})
    assert r.status_code == 422 and "whole numbers" in r.get_data(as_text=True)


def test_dashboard_panels(shipped, iw, login):
    order, sh = shipped
    assert "Shipments to invoice" in login(iw.accounts_a).get("/dashboard").get_data(as_text=True)
    issued_for(iw, shipment=sh)
    assert "Invoices to check and approve" in login(iw.buyer_accounts).get("/dashboard").get_data(as_text=True)
