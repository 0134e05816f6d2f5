"""The change feed: the services emit events for the companies party to a document, each with its own view;
GET /api/v1/events reads them with a cursor; they are kept at least 30 days."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from portal.db import db, utcnow
from portal.events import services as event_services
from portal.events.models import Event
from tests import factories


def ok(r, status=200):
    assert r.status_code == status, (r.status_code, r.get_data(as_text=True)[:2000])
    return r.get_json()


def events(company_id, type_=None):
    db.session.expire_all()
    stmt = sa.select(Event).where(Event.company_id == company_id)
    if type_:
        stmt = stmt.where(Event.type == type_)
    return list(db.session.scalars(stmt.order_by(Event.id)))


def test_rfq_quote_and_award_events_reach_both_sides_and_sealed_prices_stay_sealed(client, world, token_for):
    buyer, sales_a = token_for(world.procurement), token_for(world.sales_a)
    deadline = (utcnow() + timedelta(days=5)).isoformat()
    rfq = ok(client.post("/api/v1/rfqs", headers=buyer, json={
        "title": "Bolts", "currency": "EUR", "deadline": deadline, "sealed": True,
        "lines": [{"description": "Hex bolt M8", "quantity": "1000", "unit": "pcs"}],
        "supplier_ids": [world.supplier_a.id, world.supplier_b.id]}), 201)
    assert events(world.buyer.id) == []  # a draft is nobody's news
    ok(client.post(f"/api/v1/rfqs/{rfq['id']}/publish", headers=buyer, json={}))
    for company in (world.buyer, world.supplier_a, world.supplier_b):
        (ev,) = events(company.id, "rfq.published")
        assert ev.resource_type == "rfq" and ev.resource_id == rfq["id"] and ev.data["status"] == "open"
    ok(client.post(f"/api/v1/rfqs/{rfq['id']}/quotes", headers=sales_a, json={
        "valid_until": (utcnow() + timedelta(days=30)).date().isoformat(),
        "lines": [{"rfq_line_id": rfq["lines"][0]["id"], "unit_price": {"amount": "0.50", "currency": "EUR"},
                   "lead_time_days": 10}]}), 201)
    (mine,) = events(world.supplier_a.id, "quote.submitted")
    (theirs,) = events(world.buyer.id, "quote.submitted")
    assert events(world.supplier_b.id, "quote.submitted") == []  # a competitor hears nothing
    assert mine.data["version"] == 1 and "version" not in theirs.data
    assert "0.5" not in str(theirs.data)  # no price reaches the buyer before the sealed RFQ opens


def test_order_events_follow_the_lifecycle_and_a_supplier_never_hears_of_a_draft(client, world, token_for,
                                                                                  run_jobs):
    from portal.orders import services as order_services
    from portal.orders.models import ApprovalRule

    db.session.add(ApprovalRule(buyer_company_id=world.buyer.id, threshold=Decimal("0"), currency="EUR",
                                approvals_required=1))
    db.session.commit()
    order = factories.order(world.buyer, world.supplier_a, world.procurement)
    order = order_services.submit(order, world.procurement, order.lock_version)
    (ev,) = events(world.buyer.id)
    assert ev.type == "order.changed" and ev.data["status"] == "awaiting_approval"
    assert events(world.supplier_a.id) == []

    from portal.orders import approvals

    approvals.decide(order, world.approver, order.lock_version, "approved")
    assert [e.type for e in events(world.supplier_a.id)] == ["order.submitted"]
    run_jobs(queues=["credit"])
    placed = events(world.supplier_a.id, "order.placed") or events(world.supplier_a.id, "order.credit_hold")
    assert len(placed) == 1
    (buyer_view,) = events(world.buyer.id, placed[0].type)
    assert buyer_view.data["po_number"] == order.po_number
    assert buyer_view.data["total_net"] == {"amount": "730.00", "currency": "EUR"}
    if placed[0].type == "order.placed":  # snapshot at commit: the number given while placing is in it
        assert placed[0].data["supplier_order_number"]


def test_invoice_issue_and_payment_events(client, world):
    from portal.invoices import services as invoice_services
    from portal.orders import shipping

    world.supplier_a.iban = "DE89370400440532013000"
    db.session.commit()
    order = factories.order(world.buyer, world.supplier_a, world.procurement, status="acknowledged")
    sh = shipping.record_shipment(order, world.sales_a, order.lock_version,
                                  {ln.id: str(ln.quantity) for ln in order.lines})
    assert [e.type for e in events(world.buyer.id)] == ["order.changed", "shipment.created"]
    inv = invoice_services.create_draft(world.accounts_a, shipment_id=sh.id)
    assert not events(world.buyer.id, "invoice.issued")  # drafts are not news
    inv = invoice_services.issue(inv, world.accounts_a, inv.lock_version)
    (issued,) = events(world.buyer.id, "invoice.issued")
    assert issued.data["number"] == inv.number and issued.data["open_amount"] == {"amount": "868.70", "currency": "EUR"}  # 730.00 + 19 %
    invoice_services.record_payment(inv, world.accounts_a, inv.lock_version, amount="100.00",
                                    paid_on=utcnow().date().isoformat())
    (part,) = events(world.supplier_a.id, "invoice.payment_recorded")
    assert part.data["paid_amount"] == {"amount": "100.00", "currency": "EUR"}
    inv = invoice_services.load(inv.id, world.supplier_a.id)
    invoice_services.record_payment(inv, world.accounts_a, inv.lock_version, amount=str(inv.open_amount),
                                    paid_on=utcnow().date().isoformat())
    (paid,) = events(world.buyer.id, "invoice.paid")
    assert paid.data["status"] == "paid" and paid.data["open_amount"]["amount"] == "0.00"


def test_the_feed_reads_with_a_cursor_filters_and_is_per_company(client, world, token_for):
    order = factories.order(world.buyer, world.supplier_a, world.procurement, status="placed")
    for _ in range(5):
        event_services.emit([world.buyer.id, world.supplier_a.id], "order.changed", order)
        db.session.commit()
    event_services.emit([world.buyer.id], "order.placed", order)
    db.session.commit()
    buyer = token_for(world.procurement)
    page = ok(client.get("/api/v1/events?limit=4", headers=buyer))
    assert len(page["items"]) == 4 and page["has_more"] is True and page["retention_days"] >= 30
    ids = [e["id"] for e in page["items"]]
    assert ids == sorted(ids)
    rest = ok(client.get(f"/api/v1/events?after={page['next_after']}&limit=4", headers=buyer))
    assert [e["type"] for e in rest["items"]] == ["order.changed", "order.placed"] and rest["has_more"] is False
    empty = ok(client.get(f"/api/v1/events?after={rest['next_after']}", headers=buyer))
    assert empty["items"] == [] and empty["next_after"] == rest["next_after"]
    only = ok(client.get("/api/v1/events?type=order.placed", headers=buyer))["items"]
    assert [e["type"] for e in only] == ["order.placed"] and only[0]["webhook_id"] == f"evt_{only[0]['id']}"
    assert only[0]["data"]["po_number"] == order.po_number
    # another company's event does not exist for you
    theirs = events(world.supplier_a.id)[0]
    r = client.get(f"/api/v1/events/{theirs.id}", headers=buyer)
    assert r.status_code == 404 and r.mimetype == "application/problem+json"
    assert ok(client.get(f"/api/v1/events/{theirs.id}", headers=token_for(world.sales_a)))["id"] == theirs.id
    assert ok(client.get("/api/v1/events", headers=token_for(world.sales_b)))["items"] == []
    bad = client.get("/api/v1/events?type=order.exploded", headers=buyer)
    assert bad.status_code == 422 and bad.mimetype == "application/problem+json"


def test_events_are_kept_at_least_30_days(app, world, monkeypatch):
    order = factories.order(world.buyer, world.supplier_a, world.procurement, status="placed")
    event_services.emit([world.buyer.id], "order.changed", order)
    db.session.commit()
    (ev,) = events(world.buyer.id)
    monkeypatch.setitem(app.config, "EVENT_RETENTION_DAYS", 7)  # fewer than 30 is not honoured
    assert event_services.retention_days() == 30
    assert event_services.purge_expired(now=ev.created_at + timedelta(days=29, hours=23)) == 0
    assert event_services.purge_expired(now=ev.created_at + timedelta(days=30, seconds=1)) == 1
    assert events(world.buyer.id) == []


def test_emit_refuses_an_unknown_type(world):
    order = factories.order(world.buyer, world.supplier_a, world.procurement)
    with pytest.raises(ValueError):
        event_services.emit([world.buyer.id], "order.exploded", order)


def test_a_cancelled_rfq_is_news_for_the_suppliers_only_once_published(world):
    from portal.rfq import services as rfq_services

    draft = factories.rfq(world.buyer, world.procurement, status="draft", suppliers=[world.supplier_a])
    rfq_services.cancel(world.procurement, draft.id, reason="Not needed")
    assert [e.type for e in events(world.buyer.id)] == ["rfq.cancelled"] and events(world.supplier_a.id) == []
    published = factories.rfq(world.buyer, world.procurement, suppliers=[world.supplier_a])
    rfq_services.cancel(world.procurement, published.id, reason="Budget cut")
    (ev,) = events(world.supplier_a.id, "rfq.cancelled")
    assert ev.resource_id == published.id and ev.data["status"] == "cancelled"
