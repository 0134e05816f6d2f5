"""The browser-only document actions through the API: RFQ and quote attachments, quote versions, statements of
account, a job's file and the invoice CSV export — same limits as the pages, tenancy (404), nothing saved on bad
input."""
from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest

from portal.db import utcnow
from portal.documents.models import StoredFile
from portal.quotes.models import QuoteAttachment
from portal.rfq.models import RfqAttachment
from tests import factories
from tests.api.doc_helpers import count, problem, upload

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


@pytest.fixture
def h(world, token_for):
    return {"buyer": token_for(world.procurement), "sales_a": token_for(world.sales_a),
            "sales_b": token_for(world.sales_b), "accounts_a": token_for(world.accounts_a),
            "buyer_accounts": token_for(world.buyer_accounts)}


# --------------------------------------------------------------------------------------------- RFQ attachments

def test_buyer_uploads_lists_downloads_and_deletes_an_rfq_attachment(client, world, h):
    rfq = factories.rfq(world.buyer, world.procurement, suppliers=[world.supplier_a])
    url = f"/api/v1/rfqs/{rfq.id}/attachments"
    resp = upload(client, url, h["buyer"], PDF, "Zeichnung Größe M.pdf")
    assert resp.status_code == 201, resp.get_data(as_text=True)
    att = resp.get_json()
    assert att["filename"] == "Zeichnung Größe M.pdf" and att["content_type"] == "application/pdf"
    assert att["size"] == len(PDF) and att["removable"] is True and att["rfq_id"] == rfq.id
    assert resp.headers["Location"] == f"{url}/{att['id']}" == att["download_url"]
    # the invited supplier sees and downloads it, but may not remove it
    listed = client.get(url, headers=h["sales_a"]).get_json()["items"]
    assert [a["id"] for a in listed] == [att["id"]] and listed[0]["removable"] is False
    dl = client.get(f"{url}/{att['id']}", headers=h["sales_a"])
    assert dl.status_code == 200 and dl.data == PDF and dl.mimetype == "application/pdf"
    assert "Zeichnung" in dl.headers["Content-Disposition"] and dl.headers["X-Content-SHA256"] == att["sha256"]
    assert int(dl.headers["RateLimit-Limit"]) > 0
    problem(client.delete(f"{url}/{att['id']}", headers=h["sales_a"]), 403)
    assert client.delete(f"{url}/{att['id']}", headers=h["buyer"]).status_code == 204
    assert count(RfqAttachment) == 0
    problem(client.get(f"{url}/{att['id']}", headers=h["buyer"]), 404)


def test_rfq_attachments_are_404_for_suppliers_not_invited_and_other_companies(client, world, h, outsiders,
                                                                               token_for):
    rfq = factories.rfq(world.buyer, world.procurement, suppliers=[world.supplier_a])
    att = upload(client, f"/api/v1/rfqs/{rfq.id}/attachments", h["buyer"], PDF, "spec.pdf").get_json()
    for headers in (h["sales_b"], token_for(outsiders.buyer), token_for(outsiders.supplier)):
        problem(client.get(f"/api/v1/rfqs/{rfq.id}/attachments", headers=headers), 404)
        problem(client.get(f"/api/v1/rfqs/{rfq.id}/attachments/{att['id']}", headers=headers), 404)
        problem(upload(client, f"/api/v1/rfqs/{rfq.id}/attachments", headers, PDF, "x.pdf"), 404)
        problem(client.delete(f"/api/v1/rfqs/{rfq.id}/attachments/{att['id']}", headers=headers), 404)
    # an attachment id of another RFQ is not found under this one
    other = factories.rfq(world.buyer, world.procurement, suppliers=[world.supplier_a])
    problem(client.get(f"/api/v1/rfqs/{other.id}/attachments/{att['id']}", headers=h["buyer"]), 404)
    # a draft RFQ is the buyer's business only, even for an invited supplier
    draft = factories.rfq(world.buyer, world.procurement, status="draft", suppliers=[world.supplier_a])
    problem(client.get(f"/api/v1/rfqs/{draft.id}/attachments", headers=h["sales_a"]), 404)


@pytest.mark.parametrize("data, name, message", [
    (b"MZ\x90\x00", "setup.exe", "is not an allowed type"),
    (b"not a pdf", "offer.pdf", "does not contain what its name says"),
    (PNG, "photo.jpg", "does not contain what its name says"),
    (b"", "empty.pdf", "The file is empty."),
    (b"%PDF-" + b"x" * (5 * 1024 * 1024), "huge.pdf", "too large"),
    (b"a,b\n\x00\x01,2\n", "prices.csv", "CSV attachment"),
])
def test_bad_rfq_attachments_are_refused_with_a_sentence_and_nothing_saved(client, world, h, data, name, message):
    rfq = factories.rfq(world.buyer, world.procurement, status="draft")
    body = problem(upload(client, f"/api/v1/rfqs/{rfq.id}/attachments", h["buyer"], data, name), 422)
    assert message in body["detail"] and body["errors"]["file"]
    assert count(RfqAttachment) == 0 and count(StoredFile) == 0


def test_uploads_are_multipart_else_415_and_the_file_field_is_required(client, world, h):
    rfq = factories.rfq(world.buyer, world.procurement, status="draft")
    url = f"/api/v1/rfqs/{rfq.id}/attachments"
    body = problem(client.post(url, headers={**h["buyer"], "Content-Type": "application/pdf"}, data=PDF), 415)
    assert "multipart/form-data" in body["detail"]
    problem(client.post(url, headers=h["buyer"], json={"file": "x"}), 415)
    problem(upload(client, url, h["buyer"], PDF, "a.pdf", field="other"), 422)
    assert count(RfqAttachment) == 0


def test_a_closed_rfq_takes_no_attachments(client, world, h):
    rfq = factories.closed_rfq(world.buyer, world.procurement, suppliers=[world.supplier_a])
    problem(upload(client, f"/api/v1/rfqs/{rfq.id}/attachments", h["buyer"], PDF, "late.pdf"), 409)
    assert count(RfqAttachment) == 0


# --------------------------------------------------------------------------------------------- quote attachments

def test_quote_attachments_follow_the_draft_and_the_seal(client, world, h):
    rfq = factories.rfq(world.buyer, world.procurement, lines=2, suppliers=[world.supplier_a])
    q = factories.quote(rfq, world.supplier_a, world.sales_a, prices=["1", "2"], submitted=False)
    url = f"/api/v1/quotes/{q.id}/attachments"
    resp = upload(client, url, h["sales_a"], PNG, "photo.png")
    assert resp.status_code == 201, resp.get_data(as_text=True)
    att = resp.get_json()
    assert att["removable"] is True and att["content_type"] == "image/png" and att["quote_id"] == q.id
    assert resp.headers["Location"] == f"{url}/{att['id']}"
    assert client.get(f"{url}/{att['id']}", headers=h["sales_a"]).data == PNG
    # the buyer cannot see a draft quote at all
    problem(client.get(url, headers=h["buyer"]), 404)
    # submitted (sealed RFQ still open): the buyer sees a sealed, empty list and may not download
    submitted = client.post(f"/api/v1/quotes/{q.id}/submit", headers=h["sales_a"], json={})
    assert submitted.status_code == 200, submitted.get_data(as_text=True)
    listed = client.get(url, headers=h["buyer"]).get_json()
    assert listed == {"items": [], "sealed": True}
    problem(client.get(f"{url}/{att['id']}", headers=h["buyer"]), 403)
    # submitted with the quote: no longer removable
    mine = client.get(url, headers=h["sales_a"]).get_json()["items"]
    assert mine[0]["removable"] is False
    problem(client.delete(f"{url}/{att['id']}", headers=h["sales_a"]), 409)
    assert count(QuoteAttachment) == 1


def test_quote_attachments_are_404_for_other_suppliers_and_bad_files_saved_nothing(client, world, h, outsiders,
                                                                                  token_for):
    rfq = factories.rfq(world.buyer, world.procurement, lines=1, suppliers=[world.supplier_a, world.supplier_b])
    q = factories.quote(rfq, world.supplier_a, world.sales_a, prices=["1"], submitted=False)
    url = f"/api/v1/quotes/{q.id}/attachments"
    for headers in (h["sales_b"], token_for(outsiders.supplier)):
        problem(client.get(url, headers=headers), 404)
        problem(upload(client, url, headers, PDF, "x.pdf"), 404)
    body = problem(upload(client, url, h["sales_a"], b"<html>", "page.html"), 422)
    assert "Attach PDF, image" in body["detail"]
    problem(upload(client, url, h["buyer"], PDF, "x.pdf"), 404)
    assert count(QuoteAttachment) == 0 and count(StoredFile) == 0
    # a draft attachment can be removed
    att = upload(client, url, h["sales_a"], PDF, "offer.pdf").get_json()
    assert client.delete(f"{url}/{att['id']}", headers=h["sales_a"]).status_code == 204
    assert count(QuoteAttachment) == 0


# --------------------------------------------------------------------------------------------- quote versions

def _submit_quote(client, headers, rfq, prices, shipping="10.00"):
    lines = [{"rfq_line_id": ln.id, "unit_price": {"amount": p, "currency": rfq.currency}, "lead_time_days": 5}
             for ln, p in zip(sorted(rfq.lines, key=lambda x: x.position), prices)]
    resp = client.post(f"/api/v1/rfqs/{rfq.id}/quotes", headers=headers, json={
        "valid_until": (utcnow() + timedelta(days=30)).date().isoformat(),
        "shipping_cost": {"amount": shipping, "currency": rfq.currency},
        "lines": lines})
    assert resp.status_code in (200, 201), resp.get_data(as_text=True)
    return resp.get_json()


def test_quote_versions_show_what_the_supplier_revised(client, world, h):
    rfq = factories.rfq(world.buyer, world.procurement, lines=2, sealed=False, suppliers=[world.supplier_a])
    quote = _submit_quote(client, h["sales_a"], rfq, ["1.00", "2.00"])
    _submit_quote(client, h["sales_a"], rfq, ["1.00", "1.50"], shipping="12.00")
    url = f"/api/v1/quotes/{quote['id']}/versions"
    items = client.get(url, headers=h["buyer"]).get_json()["items"]
    assert [(v["number"], v["status"], v["current"]) for v in items] == [(2, "submitted", True),
                                                                         (1, "submitted", False)]
    # requested quantities 100 and 200: 100 x 1.00 + 200 x 1.50 + 12.00 shipping
    assert items[0]["total"] == {"amount": "412.00", "currency": "EUR"}
    v2 = client.get(f"{url}/2", headers=h["buyer"]).get_json()
    assert v2["changed_fields"] == ["shipping_cost"]
    assert [ln["changed"] for ln in v2["lines"]] == [False, True]
    line = v2["lines"][1]
    assert line["unit_price"] == {"amount": "1.50", "currency": "EUR"} and line["requested_quantity"] == "200"
    assert line["line_total"] == {"amount": "300.00", "currency": "EUR"} and line["state"] == "quoted"
    assert v2["goods"]["amount"] == "400.00" and v2["shipping"]["amount"] == "12.00"
    v1 = client.get(f"{url}/1", headers=h["buyer"]).get_json()
    assert v1["changed_fields"] == [] and not any(ln["changed"] for ln in v1["lines"])
    problem(client.get(f"{url}/3", headers=h["buyer"]), 404)


def test_sealed_versions_hide_prices_and_drafts_stay_the_suppliers(client, world, h, outsiders, token_for):
    rfq = factories.rfq(world.buyer, world.procurement, lines=1, sealed=True, suppliers=[world.supplier_a])
    q = factories.quote(rfq, world.supplier_a, world.sales_a, prices=["3.00"])
    url = f"/api/v1/quotes/{q.id}/versions"
    seen = client.get(f"{url}/1", headers=h["buyer"]).get_json()
    assert seen["prices_visible"] is False and seen["total"] is None and seen["lines"] == []
    mine = client.get(f"{url}/1", headers=h["sales_a"]).get_json()
    assert mine["prices_visible"] is True and mine["lines"][0]["unit_price"]["amount"] == "3.00"
    for headers in (h["sales_b"], token_for(outsiders.buyer)):
        problem(client.get(url, headers=headers), 404)
        problem(client.get(f"{url}/1", headers=headers), 404)


# --------------------------------------------------------------------------------------------- statements, jobs

@pytest.fixture
def invoiced(docs):
    return docs


def test_statement_of_account_as_json_for_both_sides(client, invoiced, token_for):
    w, inv = invoiced.world, invoiced.invoice
    supplier = client.get(f"/api/v1/statements?counterparty_id={w.buyer.id}", headers=token_for(w.accounts_a))
    assert supplier.status_code == 200, supplier.get_data(as_text=True)
    body = supplier.get_json()
    assert body["counterparty_id"] == w.buyer.id and body["company_is_supplier"] is True
    [section] = body["sections"]
    row = section["rows"][0]
    assert row["kind"] == "invoice" and row["id"] == inv.id
    assert row["amount"] == {"amount": f"{inv.total_gross:.2f}", "currency": "EUR"} == section["closing"]
    buyer = client.get(f"/api/v1/statements?counterparty_id={w.supplier_a.id}",
                       headers=token_for(w.buyer_accounts)).get_json()
    assert buyer["sections"][0]["closing"] == section["closing"]


def test_statement_refusals(client, invoiced, token_for, outsiders):
    w = invoiced.world
    acc = token_for(w.accounts_a)
    problem(client.get(f"/api/v1/statements?counterparty_id={w.buyer.id}", headers=token_for(w.sales_a)), 403)
    problem(client.get(f"/api/v1/statements?counterparty_id={outsiders.buyer.company_id}", headers=acc), 404)
    problem(client.get(f"/api/v1/statements?counterparty_id={w.buyer.id}&from=2026-05-02&to=2026-05-01",
                       headers=acc), 422)
    problem(client.get("/api/v1/statements?counterparty_id=abc", headers=acc), 422)
    problem(client.get(f"/api/v1/statements?counterparty_id={w.buyer.id}&since=1", headers=acc), 400)


def test_statement_pdf_by_a_job_then_its_file(client, invoiced, token_for, run_jobs):
    w = invoiced.world
    acc = token_for(w.accounts_a)
    resp = client.post("/api/v1/statements/pdf", headers=acc, json={"counterparty_id": w.buyer.id})
    assert resp.status_code == 202 and resp.headers["Retry-After"]
    job = resp.get_json()
    assert job["kind"] == "statement-pdf" and job["links"]["self"] == f"/api/v1/jobs/{job['id']}"
    pending = client.get(f"/api/v1/jobs/{job['id']}/file", headers=acc)
    assert pending.status_code == 202 and pending.get_json()["id"] == job["id"]
    run_jobs()
    done = client.get(f"/api/v1/jobs/{job['id']}/file", headers=acc)
    assert done.status_code == 200 and done.mimetype == "application/pdf" and done.data.startswith(b"%PDF-")
    # another company's job is not found
    problem(client.get(f"/api/v1/jobs/{job['id']}/file", headers=token_for(w.buyer_accounts)), 404)


# --------------------------------------------------------------------------------------------- exports

def _rows(resp) -> list[list[str]]:
    return list(csv.reader(io.StringIO(resp.get_data(as_text=True))))


def test_invoice_export_streams_csv_with_the_list_filters(client, invoiced, token_for):
    from portal.invoices.csvexport import CSV_HEADER

    w, inv = invoiced.world, invoiced.invoice
    acc = token_for(w.accounts_a)
    resp = client.get("/api/v1/exports/invoices", headers=acc)
    assert resp.status_code == 200 and resp.mimetype == "text/csv" and resp.is_streamed
    rows = _rows(resp)
    assert rows[0] == CSV_HEADER and [r[0] for r in rows[1:]] == [inv.number]
    assert _rows(client.get(f"/api/v1/exports/invoices?reference={inv.number[:4]}", headers=acc))[1][0] == inv.number
    assert len(_rows(client.get("/api/v1/exports/invoices?status=paid", headers=acc))) == 1
    assert len(_rows(client.get(f"/api/v1/exports/invoices?counterparty_id={w.supplier_b.id}", headers=acc))) == 1
    assert len(_rows(client.get("/api/v1/exports/invoices?kind=credit_note", headers=acc))) == 1
    # the buyer's accounts team sees the same invoice; other roles and bad filters are refused
    assert _rows(client.get("/api/v1/exports/invoices", headers=token_for(w.buyer_accounts)))[1][0] == inv.number
    problem(client.get("/api/v1/exports/invoices", headers=token_for(w.sales_a)), 403)
    problem(client.get("/api/v1/exports/invoices?status=lost", headers=acc), 422)
    problem(client.get("/api/v1/exports/invoices?page=2", headers=acc), 400)


def test_invoice_zip_export_by_a_job(client, invoiced, token_for, run_jobs):
    acc = token_for(invoiced.world.accounts_a)
    resp = client.post("/api/v1/exports/invoices/zip", headers=acc, json={"status": "issued"})
    assert resp.status_code == 202
    run_jobs()
    done = client.get(f"/api/v1/jobs/{resp.get_json()['id']}/file", headers=acc)
    assert done.status_code == 200 and done.mimetype == "application/zip" and done.data[:2] == b"PK"


def test_an_upload_retried_with_its_idempotency_key_is_stored_once(client, world, h):
    rfq = factories.rfq(world.buyer, world.procurement, status="draft")
    url = f"/api/v1/rfqs/{rfq.id}/attachments"
    headers = {**h["buyer"], "Idempotency-Key": "upload-1"}
    first = upload(client, url, headers, PDF, "spec.pdf")
    again = upload(client, url, headers, PDF, "spec.pdf")
    assert first.status_code == again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json() and again.headers["Location"] == first.headers["Location"]
    assert count(RfqAttachment) == 1
    other = upload(client, url, headers, PDF + b"%", "spec.pdf")
    assert problem(other, 422)["errors"] == {"Idempotency-Key": "Reused with a different body."}


def test_rfq_and_quote_lines_as_csv(client, world, h, outsiders, token_for):
    from portal.quotes.services import CSV_COLUMNS as QUOTE_COLUMNS
    from portal.rfq.csvlines import COLUMNS as RFQ_COLUMNS

    rfq = factories.rfq(world.buyer, world.procurement, lines=2, sealed=True, suppliers=[world.supplier_a])
    q = factories.quote(rfq, world.supplier_a, world.sales_a, prices=["3.10", "4.20"])
    resp = client.get(f"/api/v1/exports/rfqs/{rfq.id}/lines", headers=h["sales_a"])
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(resp.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0] == RFQ_COLUMNS and len(rows) == 3
    mine = client.get(f"/api/v1/exports/quotes/{q.id}/lines", headers=h["sales_a"])
    rows = list(csv.reader(io.StringIO(mine.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0] == QUOTE_COLUMNS and [r[6] for r in rows[1:]] == ["3.1", "4.2"]
    problem(client.get(f"/api/v1/exports/quotes/{q.id}/lines", headers=h["buyer"]), 403)  # sealed
    for headers in (h["sales_b"], token_for(outsiders.buyer)):
        problem(client.get(f"/api/v1/exports/rfqs/{rfq.id}/lines", headers=headers), 404)
        problem(client.get(f"/api/v1/exports/quotes/{q.id}/lines", headers=headers), 404)
