"""Dated API versions: money inputs are Money objects from 2026-12-06 (currency checked against the document's);
tokens created before keep 2026-11-01 and send bare decimal strings; Portal-Version names another version per
request; every answer says which version it used (and a deprecated one its sunset)."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from portal.api import versions
from portal.db import db, utcnow
from tests import factories


def eur(amount):
    return {"amount": amount, "currency": "EUR"}


@pytest.fixture
def legacy_token_for():
    """A token as tokens created before versioning are after the migration: it records 2026-11-01."""
    from portal.api.auth import create_token
    from portal.api.models import ApiToken

    def _make(user, name="old erp"):
        tok, raw = create_token(user, name)
        db.session.execute(sa.update(ApiToken).where(ApiToken.id == tok.id).values(api_version=versions.LEGACY))
        db.session.commit()
        return {"Authorization": f"Bearer {raw}"}

    return _make


def _quote_body(rfq, price, **over):
    lines = [{"rfq_line_id": ln.id, "unit_price": price, "lead_time_days": 5} for ln in rfq.lines]
    return {"valid_until": (utcnow() + timedelta(days=20)).date().isoformat(), "lines": lines, **over}


def _quote_count(rfq_id):
    from portal.quotes.models import Quote

    db.session.expire_all()
    return db.session.scalar(sa.select(sa.func.count()).select_from(Quote).where(Quote.rfq_id == rfq_id))


def test_a_new_token_records_the_current_version_and_answers_name_it(client, world, token_for):
    from portal.api.models import ApiToken

    h = token_for(world.procurement)
    resp = client.get("/api/v1/orders", headers=h)
    assert resp.status_code == 200 and resp.headers["Portal-Version"] == versions.CURRENT == "2026-12-06"
    assert "Sunset" not in resp.headers and "Deprecation" not in resp.headers
    assert db.session.scalar(sa.select(ApiToken.api_version).order_by(ApiToken.id.desc())) == versions.CURRENT
    # errors name it too
    assert client.get("/api/v1/orders/999999", headers=h).headers["Portal-Version"] == versions.CURRENT


def test_the_current_version_takes_money_objects_and_refuses_bare_strings(client, world, token_for):
    rfq = factories.rfq(world.buyer, world.procurement, lines=2, suppliers=[world.supplier_a])
    h = token_for(world.sales_a)
    bare = client.post(f"/api/v1/rfqs/{rfq.id}/quotes", headers=h, json=_quote_body(rfq, "1.50"))
    assert bare.status_code == 422, bare.get_data(as_text=True)
    detail = bare.get_json()["detail"]
    assert '{"amount": "12.50", "currency": "EUR"}' in detail and "2026-11-01" in detail
    assert _quote_count(rfq.id) == 0
    ok = client.post(f"/api/v1/rfqs/{rfq.id}/quotes", headers=h, json=_quote_body(
        rfq, eur("1.50"), shipping_cost=eur("9.90")))
    assert ok.status_code == 201, ok.get_data(as_text=True)
    body = ok.get_json()
    assert body["lines"][0]["unit_price"] == eur("1.50") and body["shipping_cost"] == eur("9.90")


@pytest.mark.parametrize("where", ["unit_price", "shipping_cost", "price_break"])
def test_money_in_another_currency_than_the_documents_is_a_422_sentence_and_nothing_is_saved(
        client, world, token_for, where):
    rfq = factories.rfq(world.buyer, world.procurement, lines=2, suppliers=[world.supplier_a])
    usd = {"amount": "1.50", "currency": "USD"}
    body = _quote_body(rfq, eur("1.50"))
    if where == "unit_price":
        body["lines"][1]["unit_price"] = usd
        field, said = "lines.1.unit_price.currency", "Line 2: the unit price is in USD"
    elif where == "shipping_cost":
        body["shipping_cost"] = usd
        field, said = "shipping_cost.currency", "The shipping cost is in USD"
    else:
        body["lines"][0]["price_breaks"] = [{"min_quantity": "100", "unit_price": usd}]
        field, said = "lines.0.price_breaks.0.unit_price.currency", "Line 1: a price break is in USD"
    resp = client.post(f"/api/v1/rfqs/{rfq.id}/quotes", headers=token_for(world.sales_a), json=body)
    assert resp.status_code == 422 and resp.mimetype == "application/problem+json"
    problem = resp.get_json()
    assert problem["detail"].startswith(said) and "this document is in EUR" in problem["detail"]
    assert problem["errors"] == {field: "Must be EUR."}
    assert _quote_count(rfq.id) == 0


def test_an_old_token_keeps_working_with_bare_decimal_strings(client, world, legacy_token_for):
    """A token from before the Money inputs: bare strings are read in the document's currency, price-break
    prices come back as strings, and the answers say the version is deprecated with its sunset."""
    rfq = factories.rfq(world.buyer, world.procurement, lines=2, suppliers=[world.supplier_a])
    h = legacy_token_for(world.sales_a)
    body = _quote_body(rfq, "1.50", shipping_cost="9.90")
    body["lines"][0]["price_breaks"] = [{"min_quantity": "100", "unit_price": "1.4250"}]
    resp = client.post(f"/api/v1/rfqs/{rfq.id}/quotes", headers=h, json=body)
    assert resp.status_code == 201, resp.get_data(as_text=True)
    out = resp.get_json()
    assert out["lines"][0]["unit_price"] == eur("1.50") and out["shipping_cost"] == eur("9.90")
    assert out["lines"][0]["price_breaks"] == [{"min_quantity": "100", "unit_price": "1.425"}]
    assert resp.headers["Portal-Version"] == "2026-11-01" and resp.headers["Deprecation"] == "true"
    assert resp.headers["Sunset"] == "Wed, 30 Jun 2027 00:00:00 GMT"
    # the same token sending a Money object (migrating field by field) is read too, currency checked
    rfq2 = factories.rfq(world.buyer, world.procurement, lines=1, suppliers=[world.supplier_a])
    assert client.post(f"/api/v1/rfqs/{rfq2.id}/quotes", headers=h,
                       json=_quote_body(rfq2, eur("2.00"))).status_code == 201
    bad = client.post(f"/api/v1/rfqs/{rfq2.id}/quotes", headers=h,
                      json=_quote_body(rfq2, {"amount": "2.00", "currency": "GBP"}))
    assert bad.status_code == 422 and "GBP" in bad.get_json()["detail"]


def test_the_version_header_overrides_the_tokens_for_one_request(client, world, token_for, legacy_token_for):
    rfq = factories.rfq(world.buyer, world.procurement, lines=1, suppliers=[world.supplier_a])
    new = {**token_for(world.sales_a), "Portal-Version": "2026-11-01"}
    resp = client.post(f"/api/v1/rfqs/{rfq.id}/quotes", headers=new, json=_quote_body(rfq, "3.00"))
    assert resp.status_code == 201 and resp.headers["Portal-Version"] == "2026-11-01"
    # an old token tries the current version before switching: bare strings are refused then
    rfq2 = factories.rfq(world.buyer, world.procurement, lines=1, suppliers=[world.supplier_a])
    old = {**legacy_token_for(world.sales_a), "Portal-Version": "2026-12-06"}
    refused = client.post(f"/api/v1/rfqs/{rfq2.id}/quotes", headers=old, json=_quote_body(rfq2, "3.00"))
    assert refused.status_code == 422 and refused.headers["Portal-Version"] == "2026-12-06"
    unknown = client.get("/api/v1/orders", headers={**new, "Portal-Version": "2027-01-01"})
    assert unknown.status_code == 400 and unknown.mimetype == "application/problem+json"
    assert "2026-11-01, 2026-12-06" in unknown.get_json()["detail"]


def test_payments_and_credit_notes_take_money_in_the_invoices_currency(client, banked_world, token_for,
                                                                       legacy_token_for):
    from portal.invoices import services as invoice_services
    from portal.orders import shipping

    w = banked_world
    order = factories.order(w.buyer, w.supplier_a, w.procurement, status="acknowledged")
    shipment = shipping.record_shipment(order, w.sales_a, order.lock_version,
                                        {ln.id: str(ln.quantity) for ln in order.lines}, "DHL", "1")
    inv = invoice_services.create_draft(w.accounts_a, shipment_id=shipment.id)
    inv = invoice_services.issue(inv, w.accounts_a, inv.lock_version)
    h = token_for(w.accounts_a)
    url = f"/api/v1/invoices/{inv.id}/payments"
    day = utcnow().date().isoformat()
    wrong = client.post(url, headers=h, json={"amount": {"amount": "10.00", "currency": "CHF"}, "date": day})
    assert wrong.status_code == 422 and wrong.get_json()["errors"] == {"amount.currency": "Must be EUR."}
    assert client.post(url, headers=h, json={"amount": "10.00", "date": day}).status_code == 422
    paid = client.post(url, headers=h, json={"amount": eur("10.00"), "date": day})
    assert paid.status_code == 201 and paid.get_json()["paid_amount"] == eur("10.00")
    old = client.post(url, headers=legacy_token_for(w.accounts_a), json={"amount": "5.00", "date": day})
    assert old.status_code == 201 and old.get_json()["paid_amount"] == eur("15.00")
    cn = client.post("/api/v1/credit-notes", headers=h, json={
        "invoice_id": inv.id, "reason": "Goodwill", "reason_kind": "other", "amount": eur("1.00"), "tax_rate": "19"})
    assert cn.status_code == 201, cn.get_data(as_text=True)
    assert Decimal(cn.get_json()["total_net"]["amount"]) in (Decimal("1.00"), Decimal("-1.00"))
    usd_cn = client.post("/api/v1/credit-notes", headers=h, json={
        "invoice_id": inv.id, "reason": "Goodwill", "reason_kind": "other",
        "amount": {"amount": "1.00", "currency": "USD"}, "tax_rate": "19"})
    assert usd_cn.status_code == 422 and usd_cn.get_json()["errors"] == {"amount.currency": "Must be EUR."}


def test_rfq_target_prices_are_money_in_the_rfqs_currency(client, world, token_for):
    h = token_for(world.procurement)
    deadline = (utcnow() + timedelta(days=3)).replace(microsecond=0).isoformat()
    body = {"title": "Nuts", "deadline": deadline, "currency": "EUR",
            "lines": [{"description": "Nut M8", "quantity": "10", "unit": "pcs", "target_price": eur("0.12")}]}
    ok = client.post("/api/v1/rfqs", headers=h, json=body)
    assert ok.status_code == 201 and ok.get_json()["lines"][0]["target_price"] == eur("0.12")
    body["lines"][0]["target_price"] = {"amount": "0.12", "currency": "USD"}
    bad = client.post("/api/v1/rfqs", headers=h, json=body)
    assert bad.status_code == 422 and bad.get_json()["errors"] == {"lines.0.target_price.currency": "Must be EUR."}
    # in a USD RFQ a USD target price is right
    body["currency"] = "USD"
    assert client.post("/api/v1/rfqs", headers=h, json=body).status_code == 201


def test_the_document_describes_the_current_version(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    schemas = spec["components"]["schemas"]
    money = {"$ref": "#/components/schemas/Money"}
    nullable = {"anyOf": [money, {"type": "null"}]}

    def prop(schema, name):
        node = dict(schemas[schema]["properties"][name])
        assert "2026-11-01" in node.pop("description", "2026-11-01"), (schema, name)
        return node

    assert prop("QuoteLineIn", "unit_price") == nullable and prop("QuoteIn", "shipping_cost") == nullable
    assert prop("PriceBreakIn", "unit_price") == money and prop("RfqLineIn", "target_price") == nullable
    assert prop("PaymentIn", "amount") == money and prop("CreditNoteIn", "amount") == money
    assert prop("AckLineIn", "price") == nullable and prop("ChangeLineIn", "unit_price") == nullable
    assert prop("PriceBreakOut", "unit_price") == money and prop("ApprovalRuleIn", "threshold") == money
    assert "Portal-Version" in spec["info"]["description"] and "Sunset: 2027-06-30" in spec["info"]["description"]
    ok = spec["paths"]["/api/v1/orders"]["get"]["responses"]["200"]
    assert ok["headers"]["Portal-Version"] == {"$ref": "#/components/headers/PortalVersion"}
    assert spec["components"]["headers"]["PortalVersion"]["schema"]["enum"] == ["2026-11-01", "2026-12-06"]


def test_tokens_of_an_unknown_version_are_not_made(world):
    from portal.api.auth import create_token
    from portal.errors import ValidationFailed

    with pytest.raises(ValidationFailed):
        create_token(world.procurement, "x", api_version="1999-01-01")
    tok, _ = create_token(world.procurement, "pinned", api_version=versions.LEGACY)
    assert tok.api_version == versions.LEGACY


def test_the_cli_pins_a_token_to_a_version(app, world):
    from portal.api.models import ApiToken

    runner = app.test_cli_runner()
    out = runner.invoke(args=["tokens", "create", "--email", world.procurement.email, "--name", "SAP",
                              "--api-version", "2026-11-01"])
    assert out.exit_code == 0 and out.output.startswith("ppt_"), out.output
    assert db.session.scalar(sa.select(ApiToken.api_version).where(ApiToken.name == "SAP")) == "2026-11-01"
    bad = runner.invoke(args=["tokens", "create", "--email", world.procurement.email, "--name", "X",
                              "--api-version", "2020-01-01"])
    assert bad.exit_code != 0 and "no API version" in bad.output
