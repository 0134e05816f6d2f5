"""The payables API: approve, tolerances, match, disputes, payment runs and their SEPA file, remittances —
problem+json sentences for bad input, 404 for other companies' documents."""
from __future__ import annotations

from datetime import timedelta

import pytest
from lxml import etree

from portal.db import db, utcnow
from portal.payables import sepa


@pytest.fixture
def tokens(pw, token_for):
    return {"buyer": token_for(pw.buyer_accounts), "buyer2": token_for(pw.accounts2),
            "supplier": token_for(pw.accounts_a), "supplier_b": token_for(pw.accounts_b),
            "procurement": token_for(pw.procurement)}


@pytest.fixture
def token_for():
    from portal.api.auth import create_token

    def _make(user, name="test"):
        _, raw = create_token(user, name)
        return {"Authorization": f"Bearer {raw}"}

    return _make


def test_api_journey(client, pw, make_invoice, tokens, run_jobs):
    h = tokens
    r = client.put("/api/v1/payables/tolerances", headers=h["buyer"], json={
        "price_tolerance_percent": "2", "price_tolerance_amount": "50", "quantity_tolerance_percent": "0",
        "total_tolerance_percent": "2", "total_tolerance_amount": "100", "auto_approve": True})
    assert r.status_code == 200 and r.json["auto_approve"] is True
    r = client.put("/api/v1/payables/tolerances", headers=h["buyer"], json={
        "price_tolerance_percent": "-1", "price_tolerance_amount": "50", "quantity_tolerance_percent": "0",
        "total_tolerance_percent": "2", "total_tolerance_amount": "100", "auto_approve": True})
    assert r.status_code == 422 and r.mimetype == "application/problem+json" and "negative" in r.json["detail"]
    r = client.post("/api/v1/payables/cash-discounts", headers=h["buyer"],
                    json={"supplier_company_id": pw.supplier_a.id, "discount_percent": "2", "discount_days": 10})
    assert r.status_code == 200 and r.json[0]["discount_percent"] == "2"

    good = make_invoice(approve=False)
    bad = make_invoice(approve=False, prices={2: "12.50"})
    run_jobs(["default"])
    r = client.get(f"/api/v1/invoices/{good.id}/match", headers=h["buyer"])
    assert r.json["status"] == "matched" and r.json["auto_approved"] and r.json["approved_for_payment_at"]
    r = client.get(f"/api/v1/invoices/{bad.id}/match", headers=h["buyer"])
    assert r.json["status"] == "exceptions" and r.json["exceptions"][0]["kind"] == "price"
    assert client.get(f"/api/v1/invoices/{bad.id}/match", headers=h["supplier_b"]).status_code == 404

    r = client.post(f"/api/v1/invoices/{bad.id}/approve", headers=h["buyer"], json={})
    assert r.status_code == 422 and "does not match" in r.json["detail"]
    r = client.post(f"/api/v1/invoices/{bad.id}/disputes", headers=h["buyer"],
                    json={"reason": "Price 12.50 instead of 12.00"})
    assert r.status_code == 201 and r.json["status"] == "open"
    d_id = r.json["id"]
    r = client.post(f"/api/v1/invoices/{bad.id}/disputes", headers=h["buyer"], json={"reason": "again"})
    assert r.status_code == 409
    assert client.get(f"/api/v1/disputes/{d_id}", headers=h["supplier_b"]).status_code == 404
    r = client.post(f"/api/v1/disputes/{d_id}/answer", headers=h["supplier"], json={"text": "Credit note follows"})
    assert r.status_code == 200 and r.json["status"] == "answered"
    r = client.post("/api/v1/credit-notes", headers=h["supplier"], json={
        "invoice_id": bad.id, "reason_kind": "invoicing_error", "reason": "Price line 2",
        "amount": {"amount": "30.00", "currency": "EUR"}})
    assert r.status_code == 201
    cn_id = r.json["id"]
    r = client.post(f"/api/v1/disputes/{d_id}/resolve", headers=h["supplier"], json={"credit_note_id": cn_id})
    assert r.status_code == 200 and r.json["status"] == "resolved"
    assert [e["kind"] for e in r.json["events"]] == ["opened", "answered", "resolved"]
    r = client.get(f"/api/v1/invoices/{bad.id}/match", headers=h["buyer"])
    assert r.json["status"] == "covered" and r.json["approved_for_payment_at"]

    r = client.post("/api/v1/payment-runs", headers=h["buyer"],
                    json={"due_by": (utcnow().date() + timedelta(days=40)).isoformat()})
    assert r.status_code == 201, r.json
    run = r.json
    assert {i["invoice_id"] for i in run["items"]} == {good.id, bad.id}
    assert run["total_discount"]["amount"] != "0.00"
    r = client.post("/api/v1/payment-runs", headers=h["buyer"], json={"invoice_ids": [good.id]})
    assert r.status_code == 409 and "already in payment run" in r.json["detail"]
    r = client.post(f"/api/v1/payment-runs/{run['id']}/approve", headers=h["buyer"], json={})
    assert r.status_code == 422 and "someone else" in r.json["detail"]
    assert client.get(f"/api/v1/payment-runs/{run['id']}/sepa", headers=h["buyer"]).status_code == 409
    r = client.post(f"/api/v1/payment-runs/{run['id']}/approve", headers=h["buyer2"], json={})
    assert r.status_code == 200 and r.json["status"] == "approved"
    r = client.post(f"/api/v1/payment-runs/{run['id']}/export", headers=h["buyer2"], json={})
    assert r.status_code == 200 and r.json["links"]["sepa"]
    r = client.post(f"/api/v1/payment-runs/{run['id']}/export", headers=h["buyer2"], json={})
    assert r.status_code == 409 and "exported once" in r.json["detail"]
    r = client.get(f"/api/v1/payment-runs/{run['id']}/sepa", headers=h["buyer"])
    assert r.status_code == 200 and r.mimetype == "application/xml"
    etree.XMLSchema(etree.parse(str(sepa.xsd_path()))).assertValid(etree.fromstring(r.data))
    assert client.get(f"/api/v1/payment-runs/{run['id']}", headers=h["supplier"]).status_code == 404
    r = client.post(f"/api/v1/payment-runs/{run['id']}/execution", headers=h["buyer"],
                    json={"executed_on": utcnow().date().isoformat()})
    assert r.status_code == 200 and r.json["status"] == "executed"

    r = client.get("/api/v1/remittances", headers=h["supplier"])
    assert r.json["total"] == 1
    adv = r.json["items"][0]
    assert all(ln["ok"] for ln in adv["lines"])
    assert client.get("/api/v1/remittances", headers=h["supplier_b"]).json["total"] == 0
    assert client.get(f"/api/v1/remittances/{adv['id']}", headers=h["supplier_b"]).status_code == 404
    r = client.post(f"/api/v1/remittances/{adv['id']}/reconcile", headers=h["supplier"], json={})
    assert r.status_code == 200 and r.json["status"] == "reconciled"
    inv = client.get(f"/api/v1/invoices/{good.id}", headers=h["supplier"]).json
    assert inv["status"] == "paid" and inv["open_amount"]["amount"] == "0.00"
    run_jobs(["documents"])
    r = client.get(f"/api/v1/remittances/{adv['id']}/pdf", headers=h["buyer"])
    assert r.status_code == 200 and r.data.startswith(b"%PDF")


def test_api_bad_input_gets_sentences(client, pw, make_invoice, tokens):
    h = tokens
    inv = make_invoice()
    r = client.post("/api/v1/payment-runs", headers=h["buyer"], json={})
    assert r.status_code == 422 and "either a due-by date" in r.json["detail"]
    r = client.post("/api/v1/payment-runs", headers=h["buyer"], json={"invoice_ids": [inv.id], "due_by": "x"})
    assert r.status_code == 422
    r = client.post("/api/v1/payment-runs", headers=h["procurement"], json={"invoice_ids": [inv.id]})
    assert r.status_code == 403
    pw.buyer.iban = None
    db.session.commit()
    r = client.post("/api/v1/payment-runs", headers=h["buyer"], json={"invoice_ids": [inv.id]})
    assert r.status_code == 422 and "no IBAN" in r.json["detail"]
    r = client.post(f"/api/v1/invoices/{inv.id}/disputes", headers=h["supplier"], json={"reason": "x"})
    assert r.status_code == 404
    r = client.post(f"/api/v1/invoices/{inv.id}/disputes", headers=h["buyer"], json={"reason": ""})
    assert r.status_code == 422
    assert client.get("/api/v1/payment-runs/999999", headers=h["buyer"]).status_code == 404
