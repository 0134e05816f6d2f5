"""What may be invoiced: shipped − rejected at receipt − already invoiced. A credit note for returned or rejected
goods closes them for good; only a credit note for an invoicing mistake opens its quantity again. The same rule
drives the "shipments to invoice" list, the prefill of a new invoice, the checks at draft and issue time, the
pages and the API."""
from __future__ import annotations

import html
import re
from decimal import Decimal

import pytest
import sqlalchemy as sa

from portal.db import db
from portal.errors import ValidationFailed
from portal.invoices import services
from portal.invoices.models import CreditReason, DocumentKind, Invoice
from tests import factories
from tests.invoices.conftest import draft_for, issued_for, ship


@pytest.fixture
def hundred(iw):
    """An order of 100 pcs at 2.50, shipped in full (one shipment)."""
    o = factories.order(iw.buyer, iw.supplier_a, iw.procurement, status="acknowledged", lines=[("100", "2.50")])
    sh = ship(o, {1: "100"}, creator=iw.sales_a)
    return o, sh


def fresh(obj):
    db.session.expire_all()
    return db.session.get(type(obj), obj.id)


def receive_rejecting(iw, order, sh, rejected: str, reason="Dented"):
    """The buyer's goods receipt through the shipping service: ``rejected`` of line 1 refused."""
    from portal.orders.shipping import receive

    order = fresh(order)
    sl = sh.lines[0]
    return receive(order, sh.id, iw.procurement, order.lock_version,
                   {sl.id: {"rejected": rejected, "reason": reason}})


def open_on(order, sh=None) -> list[tuple]:
    """(shipped, rejected, invoiced, open) per line the invoice form proposes."""
    return [(r["shipped"], r["rejected"], r["invoiced"], r["open"])
            for r in services.proposal(fresh(order), fresh(sh) if sh else None)]


def listed(iw) -> set[int]:
    return {s.id for s in services.uninvoiced_shipments(iw.supplier_a.id)}


def credit(iw, inv, qty: str, kind: str):
    inv = fresh(inv)
    return services.create_credit_note(inv, iw.accounts_a, inv.lock_version, reason_kind=kind,
                                       quantities={inv.lines[0].id: qty}, reason=f"{kind} {qty}")


D = Decimal


def test_the_scenario_of_the_issue(iw, hundred):
    order, sh = hundred
    receive_rejecting(iw, order, sh, "10")
    # the receipt leaves 90 to invoice, and the list says so
    assert open_on(order, sh) == [(D(100), D(10), D(0), D(90))]
    assert listed(iw) == {sh.id} and services.uninvoiced_shipments_count(iw.supplier_a.id) == 1
    inv = issued_for(iw, shipment=fresh(sh))
    assert [ln.quantity for ln in inv.lines] == [D(90)]  # the prefill was 90, not 100
    # invoice 90 -> nothing open
    assert open_on(order, sh) == [] and open_on(order) == []
    assert listed(iw) == set() and services.uninvoiced_shipments_count(iw.supplier_a.id) == 0
    assert services.uninvoiced_shipment_ids(fresh(order)) == set()
    with pytest.raises(ValidationFailed, match="nothing to invoice"):
        draft_for(iw, shipment=fresh(sh))
    # credit 10 "returned" -> still nothing open
    cn = credit(iw, inv, "10", "returned")
    assert cn.credit_reason == CreditReason.returned
    assert open_on(order, sh) == [] and listed(iw) == set()
    with pytest.raises(ValidationFailed, match="nothing to invoice"):
        draft_for(iw, order=fresh(order))
    # a credit note for an invoicing mistake of 5 -> 5 open again
    credit(iw, inv, "5", "invoicing_error")
    assert open_on(order, sh) == [(D(100), D(10), D(85), D(5))]
    assert listed(iw) == {sh.id} and services.uninvoiced_shipment_ids(fresh(order)) == {sh.id}
    with pytest.raises(ValidationFailed) as exc:
        draft_for(iw, shipment=fresh(sh), edits={order.lines[0].id: {"quantity": "6"}})
    assert exc.value.message == ("You can invoice at most 5 pcs of line 1 (100 shipped, 10 rejected at receipt, "
                                 "85 already invoiced).")
    again = issued_for(iw, shipment=fresh(sh))
    assert [ln.quantity for ln in again.lines] == [D(5)]
    assert open_on(order, sh) == [] and listed(iw) == set()


def test_goods_invoiced_before_receipt_then_rejected_and_credited_stay_closed(iw, hundred):
    order, sh = hundred
    inv = issued_for(iw, shipment=sh)  # invoiced on shipping: 100
    receive_rejecting(iw, order, sh, "10")
    assert open_on(order, sh) == [] and listed(iw) == set()
    credit(iw, inv, "10", "rejected_at_receipt")
    assert open_on(order, sh) == [] and open_on(order) == [] and listed(iw) == set()
    credit(iw, inv, "3", "other")
    assert open_on(order) == [] and listed(iw) == set()


def test_a_draft_made_before_another_invoice_is_refused_at_issue(iw, hundred):
    order, sh = hundred
    receive_rejecting(iw, order, sh, "10")
    first = draft_for(iw, shipment=sh)
    second = draft_for(iw, order=order)  # both propose 90
    services.issue(first, iw.accounts_a, first.lock_version)
    second = fresh(second)
    with pytest.raises(ValidationFailed) as exc:
        services.issue(second, iw.accounts_a, second.lock_version)
    assert exc.value.message == ("You can invoice at most 0 pcs of line 1 (100 shipped, 10 rejected at receipt, "
                                 "90 already invoiced).")
    assert fresh(second).number is None
    # editing a draft above what is open is refused too
    services.delete_draft(fresh(second), iw.accounts_a, fresh(second).lock_version)
    credit(iw, first, "20", "invoicing_error")
    d = draft_for(iw, shipment=sh, edits={order.lines[0].id: {"quantity": "10"}})
    with pytest.raises(ValidationFailed, match="at most 20 pcs of line 1"):
        services.update_draft(d, iw.accounts_a, d.lock_version, {order.lines[0].id: {"quantity": "21"}})


def test_per_order_invoices_follow_the_same_rule_across_shipments(iw):
    o = factories.order(iw.buyer, iw.supplier_a, iw.procurement, status="acknowledged",
                        lines=[("100", "2.50"), ("40", "12.00")])
    s1 = ship(o, {1: "60", 2: "40"}, creator=iw.sales_a)
    s2 = ship(fresh(o), {1: "40"}, creator=iw.sales_a)
    receive_rejecting(iw, o, s2, "15")
    rows = services.proposal(fresh(o))
    assert [(r["order_line"].position, r["shipped"], r["rejected"], r["open"]) for r in rows] == \
        [(1, D(100), D(15), D(85)), (2, D(40), D(0), D(40))]
    inv = issued_for(iw, order=fresh(o), edits={o.lines[0].id: {"quantity": "70"}})
    # per-order invoices cover the shipments oldest first: the first is billed, the second has 15 open
    assert listed(iw) == {s2.id}
    assert open_on(o, s1) == [] and open_on(o, s2) == [(D(40), D(15), D(10), D(15))]
    with pytest.raises(ValidationFailed, match="at most 15 pcs of line 1"):
        draft_for(iw, order=fresh(o), edits={o.lines[0].id: {"quantity": "16"}})
    credit(iw, inv, "5", "returned")
    assert open_on(o) == [(D(100), D(15), D(70), D(15))]
    issued_for(iw, shipment=fresh(s2))
    assert listed(iw) == set() and services.fully_invoiced(fresh(o))


# --------------------------------------------------------------------------------------------- pages

def _cells(page: str, position: int) -> dict:
    row = re.search(rf'<tr data-testid="invoice-line-{position}">(.*?)</tr>', page, re.S).group(1)
    return {k: html.unescape(v).strip() for k, v in re.findall(r'data-figure="(\w+)">([^<]*)<', row)}


def test_the_invoice_form_shows_shipped_rejected_invoiced_and_open_per_line(iw, hundred, login):
    order, sh = hundred
    receive_rejecting(iw, order, sh, "10")
    inv = issued_for(iw, shipment=sh, edits={order.lines[0].id: {"quantity": "30"}})
    c = login(iw.accounts_a)
    page = c.get(f"/invoices/new?shipment_id={sh.id}").get_data(as_text=True)
    assert _cells(page, 1) == {"shipped": "100", "rejected": "10", "invoiced": "30", "open": "60"}
    assert f'name="qty-{order.lines[0].id}"' in page and 'value="60"' in page
    assert sh.number in c.get("/invoices/new").get_data(as_text=True)  # still waiting for an invoice
    bad = c.post("/invoices/new", data={"shipment_id": sh.id, f"qty-{order.lines[0].id}": "61"})
    assert bad.status_code == 422
    assert ("You can invoice at most 60 pcs of line 1 (100 shipped, 10 rejected at receipt, 30 already "
            "invoiced).") in html.unescape(bad.get_data(as_text=True))
    assert db.session.scalar(sa.select(sa.func.count(Invoice.id)).where(Invoice.status == "draft")) == 0
    # the rest is credited as returned (60 still open), then invoiced: nothing waits any more
    credit(iw, inv, "30", "returned")
    assert _cells(c.get(f"/invoices/new?shipment_id={sh.id}").get_data(as_text=True), 1)["open"] == "60"
    assert c.post("/invoices/new", data={"shipment_id": sh.id}).status_code == 302
    d = db.session.scalar(sa.select(Invoice).where(Invoice.status == "draft"))
    services.issue(d, iw.accounts_a, d.lock_version)
    picker = c.get("/invoices/new").get_data(as_text=True)
    assert sh.number not in picker
    assert "already invoiced" in c.get(f"/invoices/new?shipment_id={sh.id}").get_data(as_text=True)


def test_credit_note_form_asks_what_the_credit_is_for_and_the_documents_say_it(iw, hundred, login):
    from portal.invoices.pdf import invoice_html

    order, sh = hundred
    inv = issued_for(iw, shipment=sh)
    c = login(iw.accounts_a)
    form = html.unescape(c.get(f"/invoices/{inv.id}/credit").get_data(as_text=True))
    select = re.search(r'<select[^>]*name="reason_kind".*?</select>', form, re.S).group(0)
    assert [lbl for _, lbl in re.findall(r'<option[^>]*value="([^"]*)"[^>]*>([^<]*)</option>', select)] == \
        ["Choose…"] + [r.label for r in CreditReason]
    data = {"mode": "lines", f"qty-{inv.lines[0].id}": "5", "reason": "5 invoiced twice",
            "lock_version": inv.lock_version}
    r = c.post(f"/invoices/{inv.id}/credit", data=data)
    assert r.status_code == 422 and "Choose what the credit note is for" in html.unescape(r.get_data(as_text=True))
    assert db.session.scalar(sa.select(sa.func.count(Invoice.id)).where(Invoice.kind == DocumentKind.credit_note)) == 0
    r = c.post(f"/invoices/{inv.id}/credit", data={**data, "reason_kind": "nonsense"})
    assert r.status_code == 422
    r = c.post(f"/invoices/{inv.id}/credit", data={**data, "reason_kind": "invoicing_error"})
    assert r.status_code == 302
    cn = db.session.scalar(sa.select(Invoice).where(Invoice.kind == DocumentKind.credit_note))
    assert cn.credit_reason == CreditReason.invoicing_error
    assert "Invoicing mistake (wrong quantity or price)" in html.unescape(c.get(f"/invoices/{cn.id}").get_data(as_text=True))
    assert cn.snapshot["credit_reason"] == {"kind": "invoicing_error",
                                            "label": "Invoicing mistake (wrong quantity or price)"}
    assert "Invoicing mistake (wrong quantity or price)" in html.unescape(invoice_html(cn.snapshot))
    assert open_on(order, sh) == [(D(100), D(0), D(95), D(5))]


# --------------------------------------------------------------------------------------------- API

@pytest.fixture
def token_for():
    from portal.api.auth import create_token

    def _make(user):
        return {"Authorization": f"Bearer {create_token(user, 'test')[1]}"}

    return _make


def test_api_credit_note_takes_the_reason_kind_and_invoicing_follows_it(iw, hundred, client, token_for):
    order, sh = hundred
    receive_rejecting(iw, order, sh, "10")
    h = token_for(iw.accounts_a)
    r = client.post("/api/v1/invoices", headers=h, json={"shipment_id": sh.id})
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert [ln["quantity"] for ln in body["lines"]] == ["90"]
    line_id = body["lines"][0]["id"]
    r = client.post("/api/v1/invoices", headers=h, json={"shipment_id": sh.id})
    assert r.status_code == 422 and "nothing to invoice" in r.get_json()["detail"]
    credit_body = {"invoice_id": body["id"], "reason": "back to us", "lines": [{"invoice_line_id": line_id,
                                                                                "quantity": "10"}]}
    r = client.post("/api/v1/credit-notes", headers=h, json=credit_body)
    assert r.status_code == 422 and "reason_kind" in r.get_json()["errors"]
    r = client.post("/api/v1/credit-notes", headers=h, json={**credit_body, "reason_kind": "returned"})
    assert r.status_code == 201 and r.get_json()["credit_reason"] == "returned"
    r = client.post("/api/v1/invoices", headers=h, json={"shipment_id": sh.id})
    assert r.status_code == 422  # returned goods are not invoiced again
    r = client.post("/api/v1/credit-notes", headers=h, json={**credit_body, "reason_kind": "invoicing_error",
                                                              "lines": [{"invoice_line_id": line_id, "quantity": "5"}]})
    assert r.status_code == 201 and r.get_json()["credit_reason"] == "invoicing_error"
    r = client.post("/api/v1/invoices", headers=h, json={"shipment_id": sh.id})
    assert r.status_code == 201 and [ln["quantity"] for ln in r.get_json()["lines"]] == ["5"]
