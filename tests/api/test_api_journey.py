"""The whole sourcing-to-cash journey through the API alone: one buyer token, two supplier tokens."""
import subprocess
from datetime import timedelta

from portal.db import utcnow
from tests import factories


def pdf_text(data: bytes) -> str:
    return subprocess.run(["pdftotext", "-layout", "-", "-"], input=data, capture_output=True,
                          check=True).stdout.decode()


def ok(r, status=200):
    assert r.status_code == status, (r.status_code, r.get_data(as_text=True)[:2000])
    return r.get_json()


def test_rfq_to_paid_invoice_through_the_api(client, banked_world, token_for, run_jobs):
    world = banked_world
    buyer = token_for(world.procurement)
    sales_a, sales_b = token_for(world.sales_a), token_for(world.sales_b)
    accounts_a = token_for(world.accounts_a)
    deadline = (utcnow() + timedelta(days=5)).isoformat()
    valid_until = (utcnow() + timedelta(days=30)).date().isoformat()

    # RFQ with two lines and two invited suppliers
    rfq = ok(client.post("/api/v1/rfqs", headers=buyer, json={
        "title": "Bolts and washers", "currency": "EUR", "deadline": deadline, "sealed": True,
        "incoterm": "DAP", "payment_terms": "30 days net",
        "lines": [{"description": "Hex bolt M8", "quantity": "1000", "unit": "pcs", "part_number": "B-8"},
                  {"description": "Washer M8", "quantity": "2000", "unit": "pcs"}],
        "supplier_company_ids": [world.supplier_a.id, world.supplier_b.id]}), 201)
    assert rfq["status"] == "draft" and rfq["reference"].startswith("RFQ-")
    assert [ln["quantity"] for ln in rfq["lines"]] == ["1000", "2000"] and all(ln["id"] for ln in rfq["lines"])
    assert sorted(rfq["supplier_company_ids"]) == sorted([world.supplier_a.id, world.supplier_b.id])
    bolt, washer = (ln["id"] for ln in rfq["lines"])
    rid = rfq["id"]

    # a supplier does not see a draft
    assert client.get(f"/api/v1/rfqs/{rid}", headers=sales_a).status_code == 404
    assert ok(client.post(f"/api/v1/rfqs/{rid}/publish", headers=buyer, json={}))["status"] == "open"
    seen = ok(client.get(f"/api/v1/rfqs/{rid}", headers=sales_a))
    assert "supplier_company_ids" not in seen and seen["status"] == "open"

    # two quotes; A revises its quote
    qa = ok(client.post(f"/api/v1/rfqs/{rid}/quotes", headers=sales_a, json={
        "valid_until": valid_until, "shipping_cost": {"amount": "25.00", "currency": "EUR"},
        "lines": [{"rfq_line_id": bolt, "unit_price": {"amount": "0.50", "currency": "EUR"}, "lead_time_days": 10,
                   "price_breaks": [{"min_quantity": "500", "unit_price": {"amount": "0.45", "currency": "EUR"}}]},
                  {"rfq_line_id": washer, "unit_price": {"amount": "0.20", "currency": "EUR"}, "lead_time_days": 10}]}), 201)
    assert qa["status"] == "submitted" and qa["version"] == 1
    qa2 = ok(client.post(f"/api/v1/rfqs/{rid}/quotes", headers=sales_a, json={
        "lines": [{"rfq_line_id": bolt, "unit_price": {"amount": "0.40", "currency": "EUR"}, "lead_time_days": 7},
                  {"rfq_line_id": washer, "unit_price": {"amount": "0.20", "currency": "EUR"}, "lead_time_days": 10}]}), 201)
    assert qa2["id"] == qa["id"] and qa2["version"] == 2 and qa2["status"] == "submitted"
    qb = ok(client.post(f"/api/v1/rfqs/{rid}/quotes", headers=sales_b, json={
        "valid_until": valid_until,
        "lines": [{"rfq_line_id": bolt, "unit_price": {"amount": "0.60", "currency": "EUR"}, "lead_time_days": 5},
                  {"rfq_line_id": washer, "unit_price": {"amount": "0.10", "currency": "EUR"}, "lead_time_days": 5}]}), 201)

    # sealed while open: the buyer sees the quotes but no prices; no comparison
    quotes = ok(client.get(f"/api/v1/rfqs/{rid}/quotes", headers=buyer))["items"]
    assert {q["id"] for q in quotes} == {qa["id"], qb["id"]}
    assert all(q["lines"] == [] and q["shipping_cost"] is None and not q["prices_visible"] for q in quotes)
    sealed = ok(client.get(f"/api/v1/rfqs/{rid}/comparison", headers=buyer))
    assert sealed["sealed"] is True and sealed["received"] == 2 and sealed["lines"] == []
    # each supplier sees only its own quote
    assert [q["id"] for q in ok(client.get(f"/api/v1/rfqs/{rid}/quotes", headers=sales_b))["items"]] == [qb["id"]]
    assert client.get(f"/api/v1/quotes/{qa['id']}", headers=sales_b).status_code == 404

    closed = ok(client.post(f"/api/v1/rfqs/{rid}/close", headers=buyer, json={}))
    assert closed["status"] == "closed"
    cmp = ok(client.get(f"/api/v1/rfqs/{rid}/comparison", headers=buyer))
    assert cmp["sealed"] is False and len(cmp["quotes"]) == 2
    best = {row["id"]: row["best_quote_id"] for row in cmp["lines"]}
    assert best == {bolt: qa["id"], washer: qb["id"]}
    assert ok(client.get(f"/api/v1/quotes/{qa['id']}", headers=buyer))["lines"][0]["unit_price"] == \
        {"amount": "0.40", "currency": "EUR"}

    # split award -> two draft orders
    res = ok(client.post(f"/api/v1/rfqs/{rid}/award", headers=buyer, json={
        "lines": [{"rfq_line_id": bolt, "quote_id": qa["id"]}, {"rfq_line_id": washer, "quote_id": qb["id"]}]}),
        201)
    assert res["orders_error"] is None and res["award"]["mode"] == "split" and len(res["orders"]) == 2
    orders = {o["supplier_company_id"]: o for o in res["orders"]}
    order_a = orders[world.supplier_a.id]
    assert order_a["status"] == "draft" and order_a["po_number"].startswith("PO-")
    # 1000 x 0.40 in goods plus the 25.00 shipping supplier A quoted: the order costs what the award showed
    assert order_a["lines"][0]["quantity"] == "1000" and order_a["total_net"] == {"amount": "425.00",
                                                                                     "currency": "EUR"}
    assert order_a["shipping_amount"] == {"amount": "25.00", "currency": "EUR"}
    assert ok(client.get(f"/api/v1/rfqs/{rid}", headers=buyer))["status"] == "awarded"

    # submit -> the credit check job; supplier A's accounts team sets a limit first
    oid = order_a["id"]
    assert client.get(f"/api/v1/orders/{oid}", headers=sales_a).status_code == 404  # draft: buyer's business
    assert ok(client.post(f"/api/v1/orders/{oid}/submit", headers=buyer, json={}))["status"] == "submitted"
    acc = ok(client.put(f"/api/v1/credit-accounts/{world.buyer.id}", headers=accounts_a, json={
        "limit": {"amount": "50000.00", "currency": "EUR"}, "payment_terms_days": 30}))
    assert acc["limit"] == {"amount": "50000.00", "currency": "EUR"} and acc["own_account"] is True
    run_jobs()
    placed = ok(client.get(f"/api/v1/orders/{oid}", headers=buyer))
    assert placed["status"] == "placed", placed

    acked = ok(client.post(f"/api/v1/orders/{oid}/acknowledge", headers=sales_a, json={}))
    assert acked["status"] == "acknowledged" and acked["supplier_order_number"]

    ship = ok(client.post(f"/api/v1/orders/{oid}/shipments", headers=sales_a, json={
        "carrier": "DHL", "tracking": "JD0001",
        "lines": [{"order_line_id": acked["lines"][0]["id"], "quantity": "1000"}]}), 201)
    assert ship["number"] and ship["lines"][0]["quantity"] == "1000"
    assert ok(client.get(f"/api/v1/orders/{oid}", headers=buyer))["status"] == "shipped"

    rec = ok(client.post(f"/api/v1/shipments/{ship['id']}/receipt", headers=buyer, json={
        "lines": [{"shipment_line_id": ship["lines"][0]["id"], "accepted": "1000"}]}))
    assert rec["received_at"] and rec["lines"][0]["accepted_quantity"] == "1000"
    assert ok(client.get(f"/api/v1/orders/{oid}", headers=buyer))["status"] == "received"

    inv = ok(client.post("/api/v1/invoices", headers=accounts_a, json={"shipment_id": ship["id"]}), 201)
    assert inv["status"] == "issued" and inv["number"] and inv["total_net"]["amount"] == "425.00"
    assert [(ln["charge"], ln["net_amount"]["amount"]) for ln in inv["lines"]] == [(None, "400.00"),
                                                                                  ("shipping", "25.00")]
    assert inv["open_amount"] == inv["total_gross"] and inv["overdue"] is False and inv["due_date"]
    gross = inv["total_gross"]["amount"]

    pending = client.get(f"/api/v1/invoices/{inv['id']}/pdf", headers=accounts_a)
    assert pending.status_code == 202
    job = pending.get_json()
    assert job["status"] in ("queued", "started") and job["links"]["self"] == f"/api/v1/jobs/{job['id']}"
    assert ok(client.get(job["links"]["self"], headers=accounts_a))["id"] == job["id"]
    run_jobs()
    assert ok(client.get(job["links"]["self"], headers=accounts_a))["status"] == "succeeded"
    pdf = client.get(f"/api/v1/invoices/{inv['id']}/pdf", headers=accounts_a)
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF-")
    text = pdf_text(pdf.data)
    assert inv["number"] in text
    assert gross.split(".")[0] in text.replace(",", "") and gross.split(".")[1] in text

    paid = ok(client.post(f"/api/v1/invoices/{inv['id']}/payments", headers=accounts_a, json={
        "amount": {"amount": gross, "currency": "EUR"}, "date": utcnow().date().isoformat(), "reference": "BANK-1"}),
        201)
    assert paid["status"] == "paid" and paid["open_amount"]["amount"] == "0.00"

    # the buyer's accounts people see the paid invoice; the buyer got notifications along the way
    buyer_accounts = token_for(world.buyer_accounts)
    assert ok(client.get(f"/api/v1/invoices/{inv['id']}", headers=buyer_accounts))["status"] == "paid"
    notes = ok(client.get("/api/v1/notifications?unread=true", headers=buyer))
    assert notes["total"] >= 1
    first = notes["items"][0]["id"]
    assert ok(client.post(f"/api/v1/notifications/{first}/read", headers=buyer))["read_at"]
    assert ok(client.get("/api/v1/notifications?unread=true", headers=buyer))["total"] == notes["total"] - 1


def test_bulk_order_from_catalog(client, world, token_for):
    buyer = token_for(world.procurement)
    factories.catalog_item(world.supplier_a, sku="BOLT-8", price="0.50", pack_size="100")
    factories.catalog_item(world.supplier_a, sku="NUT-8", price="0.10")
    page = ok(client.get(f"/api/v1/catalog?supplier_company_id={world.supplier_a.id}", headers=buyer))
    assert {i["sku"] for i in page["items"]} == {"BOLT-8", "NUT-8"}
    assert page["items"][0]["unit_price"]["currency"] == "EUR"
    order = ok(client.post("/api/v1/orders", headers=buyer, json={
        "supplier_company_id": world.supplier_a.id, "lines": [{"sku": "BOLT-8", "quantity": "500"},
                                                      {"sku": "NUT-8", "quantity": "3"}]}), 201)
    assert order["status"] == "draft" and order["source"] == "api" and len(order["lines"]) == 2
    assert order["total_net"] == {"amount": "250.30", "currency": "EUR"}

    from portal.orders.models import PurchaseOrder
    from portal.db import db

    before = db.session.query(PurchaseOrder).count()
    bad = client.post("/api/v1/orders", headers=buyer, json={
        "supplier_id": world.supplier_a.id, "lines": [{"sku": "BOLT-8", "quantity": "150"},
                                                      {"sku": "NOPE", "quantity": "1"}]})
    assert bad.status_code == 422 and bad.mimetype == "application/problem+json"
    assert set(bad.get_json()["errors"]) == {"1", "2"}
    assert db.session.query(PurchaseOrder).count() == before
