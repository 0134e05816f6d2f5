"""A new supplier's complete order-to-cash through the API alone — profile with IBAN/BIC, credit terms for a buyer
it never dealt with, quote, order, acknowledgement, shipment, invoice, payment — while its webhook endpoint (a real
receiver verifying every signature with standardwebhooks) and its change feed tell the same story."""
from __future__ import annotations

import io
from datetime import timedelta

import pytest

from portal.db import utcnow
from tests import factories

pytestmark = pytest.mark.usefixtures("allow_private")


def ok(r, status=200):
    assert r.status_code == status, (r.status_code, r.get_data(as_text=True)[:2000])
    return r.get_json()


def _in_order(expected, seen) -> bool:
    it = iter(seen)
    return all(any(t == s for s in it) for t in expected)


def test_a_new_supplier_goes_from_profile_to_paid_invoice_through_the_api(client, world, token_for, receiver,
                                                                          run_jobs):
    new = factories.company("supplier", name="Gamma Fasteners GmbH", categories="fasteners")
    admin = token_for(factories.user(new, "admin", email="admin@gamma.test"))
    accounts = token_for(factories.user(new, "accounts", email="accounts@gamma.test"))
    sales = token_for(factories.user(new, "sales", email="sales@gamma.test"))
    buyer = token_for(world.procurement)

    # master data: a wrong IBAN is a sentence and saves nothing; the right one (and BIC, VAT id) is kept
    me = ok(client.get("/api/v1/company", headers=accounts))
    assert me["iban"] is None and me["invoice_settings"]["mode"] == "per_shipment"
    bad = client.patch("/api/v1/company", headers=accounts, json={"iban": "DE00 1234", "city": "Köln"})
    assert bad.status_code == 422 and bad.mimetype == "application/problem+json" and "iban" in str(bad.get_json())
    assert ok(client.get("/api/v1/company", headers=accounts))["city"] != "Köln"
    assert client.patch("/api/v1/company", headers=accounts, json={"bic": "1234DEFF"}).status_code == 422
    me = ok(client.patch("/api/v1/company", headers=accounts, json={
        "iban": "DE89 3704 0044 0532 0130 00", "bic": "cobadeffxxx", "bank_name": "Commerzbank",
        "vat_number": "DE136695976", "address_line1": "Hafenstraße 1", "postcode": "50667", "city": "Köln",
        "invoice_settings": {"default_tax_rate": "19.00", "reminder_days": [7, 21],
                             "footer_note": "Thank you for your order."}}))
    assert (me["iban"], me["bic"]) == ("DE89370400440532013000", "COBADEFFXXX")
    assert me["invoice_settings"]["reminder_days"] == [7, 21]
    assert client.patch("/api/v1/company", headers=sales, json={"city": "Bonn"}).status_code == 403
    from PIL import Image

    png = io.BytesIO()
    Image.new("RGB", (300, 100), (20, 60, 120)).save(png, "PNG")
    logo = client.put("/api/v1/company/logo", headers=accounts,
                      data={"logo": (io.BytesIO(png.getvalue()), "logo.png")}, content_type="multipart/form-data")
    assert ok(logo)["invoice_settings"]["has_logo"] is True

    # credit terms for a buyer it has never dealt with, and a default for new customers
    acc = ok(client.put(f"/api/v1/credit-accounts/{world.buyer.id}", headers=accounts, json={
        "limit": {"amount": "20000.00", "currency": "EUR"}, "payment_terms_days": 14}))
    assert acc["own_account"] is True and acc["payment_terms_days"] == 14
    default = ok(client.put("/api/v1/credit-accounts/default", headers=accounts, json={
        "limit": {"amount": "5000.00", "currency": "EUR"}, "payment_terms_days": 30}))
    assert default["buyer_company_id"] is None and default["limit"]["amount"] == "5000.00"
    assert ok(client.get("/api/v1/company", headers=accounts))["default_payment_terms_days"] == 30

    # the supplier listens to everything
    ep = ok(client.post("/api/v1/webhook-endpoints", headers=admin,
                        json={"url": receiver.url, "event_types": ["*"]}), 201)
    receiver.use_secret(ep["secret"])

    # sourcing
    rfq = ok(client.post("/api/v1/rfqs", headers=buyer, json={
        "title": "Bolts", "currency": "EUR", "deadline": (utcnow() + timedelta(days=5)).isoformat(),
        "lines": [{"description": "Hex bolt M8", "quantity": "1000", "unit": "pcs"}],
        "supplier_ids": [new.id]}), 201)
    ok(client.post(f"/api/v1/rfqs/{rfq['id']}/publish", headers=buyer, json={}))
    quote = ok(client.post(f"/api/v1/rfqs/{rfq['id']}/quotes", headers=sales, json={
        "valid_until": (utcnow() + timedelta(days=30)).date().isoformat(),
        "lines": [{"rfq_line_id": rfq["lines"][0]["id"], "unit_price": {"amount": "0.45", "currency": "EUR"},
                   "lead_time_days": 7}]}), 201)
    ok(client.post(f"/api/v1/rfqs/{rfq['id']}/close", headers=buyer, json={}))
    award = ok(client.post(f"/api/v1/rfqs/{rfq['id']}/award", headers=buyer, json={"quote_id": quote["id"]}), 201)
    (order,) = award["orders"]
    oid = order["id"]
    assert order["total_net"] == {"amount": "450.00", "currency": "EUR"}

    # ordering: the terms set before the first order apply
    ok(client.post(f"/api/v1/orders/{oid}/submit", headers=buyer, json={}))
    run_jobs()
    placed = ok(client.get(f"/api/v1/orders/{oid}", headers=buyer))
    assert placed["status"] == "placed" and placed["payment_terms_days"] == 14
    acked = ok(client.post(f"/api/v1/orders/{oid}/acknowledge", headers=sales, json={}))
    ship = ok(client.post(f"/api/v1/orders/{oid}/shipments", headers=sales, json={
        "carrier": "DHL", "lines": [{"order_line_id": acked["lines"][0]["id"], "quantity": "1000"}]}), 201)

    # invoicing and cash
    inv = ok(client.post("/api/v1/invoices", headers=accounts, json={"shipment_id": ship["id"]}), 201)
    assert inv["status"] == "issued" and inv["total_gross"] == {"amount": "535.50", "currency": "EUR"}
    due = (utcnow().date() + timedelta(days=14)).isoformat()
    assert inv["due_date"] == due
    paid = ok(client.post(f"/api/v1/invoices/{inv['id']}/payments", headers=accounts, json={
        "amount": {"amount": "535.50", "currency": "EUR"}, "date": utcnow().date().isoformat(),
        "reference": "BANK-7"}), 201)
    assert paid["status"] == "paid" and paid["open_amount"]["amount"] == "0.00"
    run_jobs()

    # what the receiver heard, verified, in order — and the feed says the same
    heard = [r for r in receiver.requests()]
    assert heard and all(r["verified"] for r in heard)
    types = [r["json"]["type"] for r in heard]
    expected = ["rfq.published", "quote.submitted", "award.made", "order.submitted", "order.placed",
                "order.changed", "shipment.created", "invoice.issued", "invoice.paid"]
    assert _in_order(expected, types), types
    assert types.count("order.changed") == 2  # acknowledged, then shipped
    feed = ok(client.get("/api/v1/events?limit=100", headers=admin))["items"]
    assert [e["type"] for e in feed] == types
    assert {r["headers"]["webhook-id"] for r in heard} == {e["webhook_id"] for e in feed}
    paid_event = next(r["json"] for r in heard if r["json"]["type"] == "invoice.paid")
    assert paid_event["data"]["open_amount"] == {"amount": "0.00", "currency": "EUR"}
