"""Document lists for a sync job: cursor paging (`starting_after`) beside page numbers, `updated_since`, the other
company, the reference, creation dates and sort; every resource carries created_at/updated_at."""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from portal.db import db, utcnow
from tests import factories


def ok(resp, status=200):
    assert resp.status_code == status, resp.get_data(as_text=True)[:1000]
    return resp.get_json()


@pytest.fixture
def orders(world):
    """Five placed orders from the buyer: three to supplier A, two to supplier B."""
    made = []
    for supplier in (world.supplier_a, world.supplier_b, world.supplier_a, world.supplier_b, world.supplier_a):
        made.append(factories.order(world.buyer, supplier, world.procurement, status="placed"))
    db.session.commit()
    return made


def test_a_cursor_walks_every_order_once(client, world, token_for, orders):
    h = token_for(world.procurement)
    seen, url, pages = [], "/api/v1/orders?per_page=2&starting_after=0", 0
    while url:
        body = ok(client.get(url, headers=h))
        seen += [o["id"] for o in body["items"]]
        assert body["has_more"] == (body["links"]["next"] is not None)
        url, pages = body["links"]["next"], pages + 1
    assert seen == sorted(o.id for o in orders) and pages == 3
    newest_first = ok(client.get(f"/api/v1/orders?sort=-id&starting_after={orders[3].id}", headers=h))
    assert [o["id"] for o in newest_first["items"]] == [orders[2].id, orders[1].id, orders[0].id]


def test_a_cursor_in_another_order_starts_after_its_item(client, world, token_for, orders, outsiders):
    from portal.orders.models import PurchaseOrder

    base = utcnow() - timedelta(days=1)
    for minutes, o in zip([5, 1, 5, 3, 2], orders):  # two orders share a moment: the id breaks the tie
        db.session.execute(sa.update(PurchaseOrder).where(PurchaseOrder.id == o.id)
                           .values(updated_at=base + timedelta(minutes=minutes)))
    db.session.commit()
    h = token_for(world.procurement)
    seen, url = [], "/api/v1/orders?sort=updated_at&per_page=2"
    first = ok(client.get(url, headers=h))
    seen += [o["id"] for o in first["items"]]
    url = f"/api/v1/orders?sort=updated_at&per_page=2&starting_after={seen[-1]}"
    while url:
        body = ok(client.get(url, headers=h))
        seen += [o["id"] for o in body["items"]]
        url = body["links"]["next"]
    assert seen == [orders[1].id, orders[4].id, orders[3].id, orders[0].id, orders[2].id]
    # the cursor must be an item of the caller's list: another company's order is "not in this list" (404)
    foreign = factories.order(outsiders.buyer.company, world.supplier_a, outsiders.buyer, status="draft")
    db.session.commit()
    resp = client.get(f"/api/v1/orders?sort=updated_at&starting_after={foreign.id}", headers=h)
    assert resp.status_code == 404 and "starting_after" in resp.get_json()["errors"]


def test_what_changed_since_the_last_sync(client, world, token_for, orders):
    from portal.orders.models import PurchaseOrder

    long_ago = utcnow() - timedelta(days=3)
    db.session.execute(sa.update(PurchaseOrder).values(updated_at=long_ago, created_at=long_ago))
    db.session.execute(sa.update(PurchaseOrder).where(PurchaseOrder.id == orders[1].id)
                       .values(updated_at=utcnow()))
    db.session.commit()
    h = token_for(world.procurement)
    since = (utcnow() - timedelta(hours=1)).isoformat()
    changed = ok(client.get("/api/v1/orders", headers=h, query_string={"updated_since": since}))
    assert [o["id"] for o in changed["items"]] == [orders[1].id] and changed["total"] == 1
    assert changed["items"][0]["updated_at"] >= since
    by_date = ok(client.get("/api/v1/orders", headers=h, query_string={
        "created_to": (utcnow() - timedelta(days=2)).date().isoformat()}))
    assert by_date["total"] == 5
    none_yet = ok(client.get("/api/v1/orders", headers=h, query_string={"created_from": utcnow().date().isoformat()}))
    assert none_yet["total"] == 0
    newest = ok(client.get("/api/v1/orders?sort=-updated_at&per_page=1", headers=h))
    assert newest["items"][0]["id"] == orders[1].id and newest["has_more"] is True


def test_filter_by_the_other_company_and_the_reference(client, world, token_for, orders):
    h = token_for(world.procurement)
    to_b = ok(client.get(f"/api/v1/orders?counterparty_id={world.supplier_b.id}", headers=h))
    assert {o["id"] for o in to_b["items"]} == {orders[1].id, orders[3].id}
    # the supplier filters by its buyer and sees only its own orders
    sales_b = token_for(world.sales_b)
    mine = ok(client.get(f"/api/v1/orders?counterparty_id={world.buyer.id}", headers=sales_b))
    assert {o["id"] for o in mine["items"]} == {orders[1].id, orders[3].id}
    po = orders[2].po_number
    by_ref = ok(client.get("/api/v1/orders", headers=h, query_string={"reference": po.lower()}))
    assert [o["id"] for o in by_ref["items"]] == [orders[2].id]
    prefix = ok(client.get("/api/v1/orders", headers=h, query_string={"reference": po[:3]}))
    assert prefix["total"] == 5
    nothing = ok(client.get("/api/v1/orders", headers=h, query_string={"reference": "%"}))
    assert nothing["total"] == 0  # a wildcard is a character, not a pattern


def test_rfq_and_invoice_lists_take_the_same_filters(client, docs, token_for):
    w = docs.world
    buyer = token_for(w.procurement)
    rfqs = ok(client.get(f"/api/v1/rfqs?counterparty_id={w.supplier_b.id}", headers=buyer))
    assert {r["id"] for r in rfqs["items"]} == {docs.rfq.id, docs.closed.id}
    ref = ok(client.get("/api/v1/rfqs", headers=buyer, query_string={"reference": docs.rfq.reference}))
    assert [r["id"] for r in ref["items"]] == [docs.rfq.id]
    accounts = token_for(w.accounts_a)
    invs = ok(client.get(f"/api/v1/invoices?counterparty_id={w.buyer.id}&reference={docs.invoice.number}",
                         headers=accounts))
    assert [i["id"] for i in invs["items"]] == [docs.invoice.id]
    issued = docs.invoice.issue_date.isoformat()
    assert ok(client.get(f"/api/v1/invoices?issued_from={issued}&issued_to={issued}", headers=accounts))["total"] == 1
    assert ok(client.get(f"/api/v1/invoices?counterparty_id={w.supplier_b.id}", headers=accounts))["total"] == 0


def test_every_resource_carries_created_and_updated_at(client, docs, token_for):
    spec = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]
    for name in ("RfqOut", "QuoteOut", "OrderOut", "InvoiceOut", "ShipmentOut", "Company"):
        assert {"created_at", "updated_at"} <= set(spec[name]["required"]), name
    w = docs.world
    order = ok(client.get(f"/api/v1/orders/{docs.order.id}", headers=token_for(w.procurement)))
    assert order["created_at"] and order["updated_at"] >= order["created_at"]
    assert order["shipments"][0]["created_at"] and order["shipments"][0]["updated_at"]
