"""The e-invoice API: downloads in three formats (202 with the job until the Factur-X PDF exists), import with
preview, problem+json with rule ids, 404 for another company's invoice, and the OpenAPI media types."""
from __future__ import annotations

import sqlalchemy as sa

from portal.db import db
from portal.invoices.models import Invoice
from tests import factories
from tests.api.conftest import token_for  # noqa: F401  (fixture)
from tests.einvoice.conftest import assert_valid
from tests.einvoice.test_import import erp_ubl
from tests.invoices.conftest import issued_for


def test_api_downloads_all_formats(shipped, iw, client, token_for, run_jobs, en16931):  # noqa: F811
    order, sh = shipped
    inv = issued_for(iw, shipment=sh)
    h = token_for(iw.buyer_accounts)
    for fmt in ("cii", "ubl"):
        resp = client.get(f"/api/v1/invoices/{inv.id}/einvoice?format={fmt}", headers=h)
        assert resp.status_code == 200 and resp.mimetype == "application/xml"
        assert_valid(en16931, resp.data, fmt)
    resp = client.get(f"/api/v1/invoices/{inv.id}/einvoice?format=facturx", headers=h)
    assert resp.status_code == 202 and resp.json["kind"] == "einvoice-facturx" and resp.headers["Retry-After"]
    again = client.get(f"/api/v1/invoices/{inv.id}/einvoice?format=facturx", headers=h)
    assert again.status_code == 202 and again.json["id"] == resp.json["id"]  # one job, not two
    run_jobs()
    db.session.expire_all()
    resp = client.get(f"/api/v1/invoices/{inv.id}/einvoice?format=facturx", headers=h)
    assert resp.status_code == 200 and resp.mimetype == "application/pdf" and resp.data.startswith(b"%PDF")
    bad = client.get(f"/api/v1/invoices/{inv.id}/einvoice?format=docx", headers=h)
    assert bad.status_code == 422
    stranger = factories.company("buyer", name="Stranger AG")
    st = factories.user(stranger, "accounts", email="st@stranger.test")
    assert client.get(f"/api/v1/invoices/{inv.id}/einvoice?format=ubl",
                      headers=token_for(st)).status_code == 404
    sales = client.get(f"/api/v1/invoices/{inv.id}/einvoice?format=ubl", headers=token_for(iw.sales_a))
    assert sales.status_code == 403


def test_api_import_preview_then_import_and_problems(shipped, iw, client, token_for):  # noqa: F811
    order, _ = shipped
    h = {**token_for(iw.accounts_a), "Content-Type": "application/xml"}
    data = erp_ubl(iw, order)
    resp = client.post("/api/v1/invoices/import?preview=true", data=data, headers=h)
    assert resp.status_code == 200 and resp.json["ok"] and resp.json["order_id"] == order.id
    assert db.session.scalar(sa.select(sa.func.count(Invoice.id))) == 0
    resp = client.post("/api/v1/invoices/import", data=data, headers={**h, "Idempotency-Key": "imp-1"})
    assert resp.status_code == 201, resp.json
    inv = db.session.get(Invoice, resp.json["invoice_id"])
    assert inv.number == "ERP-2026-4711" and inv.series == "EXT"
    replay = client.post("/api/v1/invoices/import", data=data, headers={**h, "Idempotency-Key": "imp-1"})
    assert replay.status_code == 201 and replay.headers.get("Idempotent-Replayed") == "true"
    dup = client.post("/api/v1/invoices/import", data=data, headers=h)
    assert dup.status_code == 422 and dup.mimetype == "application/problem+json"
    assert "imported once" in dup.json["detail"]
    bad = client.post("/api/v1/invoices/import", data=erp_ubl(iw, order, number="X-2", gross="1.00"), headers=h)
    assert bad.status_code == 422 and "BR-CO-15" in bad.json["detail"]
    junk = client.post("/api/v1/invoices/import", data=b"%PDF-1.4 garbage", headers=h)
    assert junk.status_code == 422 and "PDF" in junk.json["detail"]
    assert db.session.scalar(sa.select(sa.func.count(Invoice.id))) == 1


def test_openapi_documents_the_media_types(client):
    spec = client.get("/api/v1/openapi.json").json
    get = spec["paths"]["/api/v1/invoices/{inv_id}/einvoice"]["get"]
    assert set(get["responses"]["200"]["content"]) == {"application/pdf", "application/xml"}
    post = spec["paths"]["/api/v1/invoices/import"]["post"]
    # one binary body (openapi-python-client generates a File parameter for it); the portal reads the bytes, so
    # application/xml and application/pdf labels are accepted too, and anything else is 415
    assert set(post["requestBody"]["content"]) == {"application/octet-stream"}
    assert "415" in post["responses"]


def test_import_refuses_a_body_that_is_not_a_file(client, iw, token_for):  # noqa: F811
    """A JSON or form body is not an e-invoice: 415 with a sentence, nothing saved."""
    before = db.session.query(Invoice).count()
    r = client.post("/api/v1/invoices/import", data=b'{"invoice": 1}',
                    headers={**token_for(iw.accounts_a), "Content-Type": "application/json"})
    assert r.status_code == 415 and r.mimetype == "application/problem+json"
    assert "Content-Type application/xml" in r.get_json()["detail"]
    assert db.session.query(Invoice).count() == before
