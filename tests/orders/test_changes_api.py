"""The API of issue 12: draft edits, change orders (preview, propose with an Idempotency-Key, decide per line,
409 when no longer current), revisions with their PDFs, short-close; problem+json and tenancy."""
from __future__ import annotations

from decimal import Decimal

import pytest

from portal.credit.models import CreditAccount, CreditReservation
from portal.db import db
from portal.orders.states import OrderStatus as S
from tests import factories
from tests.accounts.helpers import fresh
from tests.api.conftest import token_for  # noqa: F401 - fixture


def _acked(world):
    db.session.add(CreditAccount(supplier_company_id=world.supplier_a.id, buyer_company_id=world.buyer.id,
                                 limit_amount=Decimal("100000"), currency="EUR"))
    o = factories.order(world.buyer, world.supplier_a, world.procurement, status="acknowledged")
    db.session.add(CreditReservation(order_id=o.id, supplier_company_id=o.supplier_company_id,
                                     buyer_company_id=o.buyer_company_id, amount=o.total_net, currency="EUR"))
    db.session.commit()
    return o


@pytest.fixture
def api(client, token_for):  # noqa: F811
    tokens = {}  # one token per person: an Idempotency-Key belongs to the token it was sent with

    def _call(user, method, url, json=None, headers=None):
        if user.id not in tokens:
            tokens[user.id] = token_for(user)
        h = {**tokens[user.id], **(headers or {})}
        return client.open(f"/api/v1{url}", method=method, json=json, headers=h)

    return _call


def test_change_order_over_the_api(world, api, run_jobs):
    o = _acked(world)
    l1, l2 = [ln.id for ln in fresh(o).lines]
    body = {"lock_version": fresh(o).lock_version, "reason": "Project cut",
            "lines": [{"order_line_id": l1, "quantity": "60", "reason": "fewer"},
                      {"order_line_id": l2, "date": "2031-04-01"}]}
    r = api(world.procurement, "POST", f"/orders/{o.id}/changes/preview", body)
    assert r.status_code == 200, r.json
    assert r.json["old_total"]["amount"] == "730.00" and r.json["new_total"]["amount"] == "630.00"
    key = {"Idempotency-Key": "chg-1"}
    r = api(world.procurement, "POST", f"/orders/{o.id}/changes", body, key)
    assert r.status_code == 201, r.json
    change = r.json
    again = api(world.procurement, "POST", f"/orders/{o.id}/changes", body, key)
    assert again.status_code == 201 and again.json["id"] == change["id"], again.json  # the retry creates nothing new
    assert change["status"] == "proposed" and [ln["kind"] for ln in change["lines"]] == ["update", "update"]
    assert "quantity 100 → 60" in change["lines"][0]["text"]
    # the supplier decides per line
    decision = {"lock_version": change["lock_version"], "lines": [
        {"change_line_id": change["lines"][0]["id"], "decision": "accept"},
        {"change_line_id": change["lines"][1]["id"], "decision": "reject", "reason": "Not possible"}]}
    assert api(world.procurement, "POST", f"/orders/{o.id}/changes/{change['id']}/decision",
               decision).status_code == 403
    r = api(world.sales_a, "POST", f"/orders/{o.id}/changes/{change['id']}/decision", decision)
    assert r.status_code == 200, r.json
    assert r.json["status"] == "decided" and r.json["revision_number"] == 2
    r = api(world.sales_a, "POST", f"/orders/{o.id}/changes/{change['id']}/decision", decision)
    assert r.status_code == 409 and r.headers["Content-Type"].startswith("application/problem+json")
    assert "reload" in r.json["detail"] or "already" in r.json["detail"]
    order = api(world.procurement, "GET", f"/orders/{o.id}").json
    assert order["revision"] == 2 and order["total_net"]["amount"] == "630.00"
    run_jobs()
    revs = api(world.sales_a, "GET", f"/orders/{o.id}/revisions").json
    assert [r_["number"] for r_ in revs] == [1, 2] and revs[1]["pdf"] and revs[1]["accepted_by"]
    pdf = api(world.sales_a, "GET", f"/orders/{o.id}/revisions/2/pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    assert pdf.headers["X-Content-SHA256"] == revs[1]["pdf_sha256"]
    assert api(world.sales_b, "GET", f"/orders/{o.id}/revisions").status_code == 404
    assert api(world.sales_b, "GET", f"/orders/{o.id}/changes/{change['id']}").status_code == 404


@pytest.mark.parametrize("body,status,words", [
    ({"lines": []}, 422, "The change is empty"),
    ({"lines": [{"order_line_id": "LINE1", "quantity": "0"}]}, 422, "more than 0"),
    ({"lines": [{"order_line_id": "LINE1", "quantity": 1.5}]}, 422, None),  # a float is refused by the schema
    ({"lock_version": 999, "lines": [{"order_line_id": "LINE1", "quantity": "50"}]}, 409, "changed since"),
    ({"new_lines": [{"sku": "NOPE", "quantity": "2"}]}, 422, "not in this supplier's catalog"),
])
def test_bad_change_requests_are_problems(world, api, body, status, words):
    o = _acked(world)
    l1 = fresh(o).lines[0].id
    for ln in body.get("lines", []):
        ln["order_line_id"] = l1
    r = api(world.procurement, "POST", f"/orders/{o.id}/changes", body)
    assert r.status_code == status, r.json
    assert r.headers["Content-Type"].startswith("application/problem+json")
    if words:
        assert words in r.json["detail"]


def test_changing_a_cancelled_order_is_409(world, api):
    o = factories.order(world.buyer, world.supplier_a, world.procurement, status="cancelled", sent=True)
    r = api(world.procurement, "POST", f"/orders/{o.id}/changes",
            {"lines": [{"order_line_id": fresh(o).lines[0].id, "quantity": "5"}]})
    assert r.status_code == 409 and "cancelled" in r.json["detail"]


def test_edit_a_draft_over_the_api(world, api):
    factories.catalog_item(world.supplier_a, sku="NUT-1", price="1.00",
                           breaks=[{"min_quantity": "100", "unit_price": "0.50"}])
    from portal.catalog.services import order_from_rows

    o, _ = order_from_rows(world.procurement, world.supplier_a.id, [("NUT-1", "10", 1)])
    line = fresh(o).lines[0].id
    r = api(world.procurement, "POST", f"/orders/{o.id}/draft", {
        "lock_version": fresh(o).lock_version, "internal_notes": "budget 7",
        "lines": [{"order_line_id": line, "quantity": "120", "cost_reference": "CC-9"}]})
    assert r.status_code == 200, r.json
    assert r.json["total_net"]["amount"] == "60.00" and r.json["internal_notes"] == "budget 7"
    assert r.json["lines"][0]["cost_reference"] == "CC-9"
    r = api(world.procurement, "POST", f"/orders/{o.id}/draft",
            {"lines": [{"order_line_id": line, "unit_price": {"amount": "0.10", "currency": "EUR"}}]})
    assert r.status_code == 422 and "cannot be typed" in r.json["detail"]
    assert api(world.sales_b, "POST", f"/orders/{o.id}/draft", {"notes": "x"}).status_code == 404


def test_supplier_price_proposal_and_per_line_decision_over_the_api(world, api):
    o = factories.order(world.buyer, world.supplier_a, world.procurement, status="placed")
    l1, l2 = [ln.id for ln in fresh(o).lines]
    r = api(world.sales_a, "POST", f"/orders/{o.id}/acknowledge", {"lines": [
        {"order_line_id": l1, "decision": "change", "price": {"amount": "2.75", "currency": "EUR"},
         "note": "Steel price"},
        {"order_line_id": l2, "decision": "change", "date": "2031-02-02", "note": "Batch"}]})
    assert r.status_code == 200, r.json
    assert r.json["lines"][0]["proposed_unit_price"]["amount"] == "2.75"
    change = api(world.procurement, "GET", f"/orders/{o.id}/changes").json[0]
    assert change["origin"] == "supplier" and change["new_total"]["amount"] == "755.00"
    r = api(world.procurement, "POST", f"/orders/{o.id}/changes/{change['id']}/decision", {"lines": [
        {"change_line_id": change["lines"][0]["id"], "decision": "reject", "reason": "Agreed price"},
        {"change_line_id": change["lines"][1]["id"], "decision": "accept"}]})
    assert r.status_code == 200, r.json
    o = fresh(o)
    assert o.status == S.acknowledged and o.total_net == Decimal("730.00") and o.revision == 2


def test_short_close_over_the_api(world, api):
    o = _acked(world)
    from tests.invoices.conftest import ship

    ship(o, {1: "80", 2: "40"}, creator=world.sales_a)
    r = api(world.procurement, "POST", f"/orders/{o.id}/short-close", {"reason": ""})
    assert r.status_code == 422
    r = api(world.procurement, "POST", f"/orders/{o.id}/short-close", {"reason": "Enough"})
    assert r.status_code == 200, r.json
    assert r.json["status"] == "shipped" and r.json["lines"][0]["short_closed_quantity"] == "20"
    assert r.json["total_net"]["amount"] == "680.00"
    assert api(world.sales_a, "POST", f"/orders/{o.id}/short-close", {"reason": "x"}).status_code == 403
