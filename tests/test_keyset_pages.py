"""Keyset (cursor) pages on the long lists: Next/Previous walk every document exactly once in both directions, a
deep page costs the same statements as the second, other companies' documents never appear, odd cursors are the
first page."""
from __future__ import annotations

import html
import re
from datetime import timedelta
from decimal import Decimal

import sqlalchemy as sa

from portal.db import db, utcnow
from portal.invoices.models import Invoice
from portal.orders.models import PurchaseOrder
from portal.paging import cursor
from tests import factories
from tests.invoices.test_numbering_pg import _bulk_drafts


def _issued_invoices(w, n: int) -> list[int]:
    ids = _bulk_drafts(w, n)
    today = utcnow().date()
    db.session.execute(sa.update(Invoice).where(Invoice.id.in_(ids)).values(
        status="issued", number=sa.func.concat("INV-K-", Invoice.id) if db.engine.dialect.name == "postgresql"
        else ("INV-K-" + sa.cast(Invoice.id, sa.String)), year=today.year, sequence=Invoice.id,
        issue_date=today, due_date=today + timedelta(days=30)))
    db.session.commit()
    return ids


def _orders(buyer, supplier, creator, n: int, prefix: str) -> list[int]:
    now = utcnow()
    rows = [dict(buyer_company_id=buyer.id, supplier_company_id=supplier.id, po_number=f"{prefix}-{i:05d}",
                 supplier_order_number=f"SO-{prefix}-{i:05d}", source="catalog", currency="EUR", status="placed",
                 total_net=Decimal("100"), created_by_id=creator.id, payment_terms_days=30, lock_version=1,
                 created_at=now, updated_at=now, sent_at=now) for i in range(n)]
    ids = list(db.session.scalars(sa.insert(PurchaseOrder).returning(PurchaseOrder.id), rows))
    db.session.commit()
    return ids


def _link(body: str, rel: str) -> str | None:
    m = re.search(rf'rel="{rel}" href="([^"#]+)"', body)
    return html.unescape(m.group(1)) if m else None


def _found(pattern: str, body: str) -> list[str]:
    return list(dict.fromkeys(re.findall(pattern, body)))  # a row may name its document twice


def _walk(client, first: str, pattern: str, count_queries):
    """Follow Next from ``first`` to the end, then Previous back; returns (seen forward, seen backward,
    statements per keyset page)."""
    forward, pages, counts = [], [], []
    url = first
    while url:
        with count_queries() as q:
            body = html.unescape(client.get(url).get_data(as_text=True))
        if "after=" in url:
            counts.append(q.count)
        pages.append(_found(pattern, body))
        forward += pages[-1]
        url = _link(body, "next")
    backward = []
    url = _link(body, "prev")
    while url:
        body = html.unescape(client.get(url).get_data(as_text=True))
        backward = _found(pattern, body) + backward
        url = _link(body, "prev")
    return forward, backward, counts, pages


def test_invoice_list_walks_every_document_once_by_cursor(world, login, count_queries):
    ids = _issued_invoices(world, 130)  # 6 pages of 25
    other = factories.company("supplier", name="Other Supplier")
    c = login(world.accounts_a)
    forward, backward, counts, pages = _walk(c, "/invoices/", r"INV-K-\d+", count_queries)
    expected = [f"INV-K-{i}" for i in sorted(ids, reverse=True)]
    assert forward == expected  # newest first, each once, across 6 pages
    assert backward == expected[:len(backward)] and len(backward) == len(expected) - len(pages[-1])
    assert len(set(counts)) == 1, counts  # page 2 and page 6 cost the same statements
    # the buyer sees the same documents, the other supplier none of them
    seen_by_buyer, _, _, _ = _walk(login(world.buyer_accounts), "/invoices/", r"INV-K-\d+", count_queries)
    assert seen_by_buyer == expected
    stranger = factories.user(other, "accounts")
    assert "INV-K-" not in login(stranger).get(f"/invoices/?after={max(ids) + 1}").get_data(as_text=True)


def test_order_list_walks_every_order_once_by_cursor_and_jumps_to_the_oldest(world, login, count_queries):
    ids = _orders(world.buyer, world.supplier_a, world.procurement, 130, "PO-K")  # 3 pages of 50
    other_buyer = factories.company("buyer", name="Other Buyer")
    _orders(other_buyer, world.supplier_b, factories.user(other_buyer, "procurement"), 60, "PO-X")
    c = login(world.procurement)
    forward, backward, counts, _ = _walk(c, "/orders/", r"PO-[KX]-\d+", count_queries)
    expected = [f"PO-K-{i:05d}" for i in reversed(range(130))]
    assert forward == expected and set(backward) <= set(expected)
    assert len(set(counts)) == 1, counts
    oldest = html.unescape(c.get("/orders/?before=0").get_data(as_text=True))
    assert _found(r"PO-[KX]-\d+", oldest) == [f"PO-K-{i:05d}" for i in reversed(range(50))]
    assert _link(oldest, "next") is None and _link(oldest, "prev")
    # the supplier walks its own orders (sent ones), never the other buyer's
    seen, _, _, _ = _walk(login(world.sales_a), "/orders/", r"PO-[KX]-\d+", count_queries)
    assert seen == expected and ids


def test_odd_cursors_give_the_first_page(world, login):
    _orders(world.buyer, world.supplier_a, world.procurement, 3, "PO-K")
    c = login(world.procurement)
    for q in ("after=abc", "before=-1", "after=99999999999999999999", "after=0", "before=2147483648"):
        body = c.get(f"/orders/?{q}").get_data(as_text=True)
        assert "PO-K-00002" in body, q
    assert [cursor(v) for v in ("7", "0", "-1", "x", None, "2147483648")] == [7, 0, None, None, None, None]


def test_rfq_lists_walk_every_rfq_once_by_cursor(world, login, count_queries):
    made = [factories.rfq(world.buyer, world.procurement, lines=1, suppliers=[world.supplier_a],
                          title=f"Keyset RFQ {i:03d}") for i in range(105)]  # 3 pages of 50
    factories.rfq(factories.company("buyer", name="Other Buyer"), world.procurement, lines=1, title="Keyset RFQ X")
    expected = [r.title for r in sorted(made, key=lambda r: r.id, reverse=True)]
    for who in (world.procurement, world.sales_a):  # the buyer's own list and the invited supplier's
        forward, backward, counts, pages = _walk(login(who), "/rfqs/", r"Keyset RFQ [X\d]+", count_queries)
        assert forward == expected, who.email
        assert backward == expected[:len(backward)] and len(backward) == len(expected) - len(pages[-1])
        assert len(set(counts)) == 1, counts
    oldest = html.unescape(login(world.procurement).get("/rfqs/?before=0").get_data(as_text=True))
    assert _found(r"Keyset RFQ [X\d]+", oldest) == expected[-50:]


def test_api_lists_walk_by_cursor_in_id_order_and_page_numbers_still_work(world, app, count_queries):
    from portal.api.auth import create_token

    inv_ids = _issued_invoices(world, 23)
    order_ids = _orders(world.buyer, world.supplier_a, world.procurement, 23, "PO-K")
    rfqs = [factories.rfq(world.buyer, world.procurement, lines=1) for _ in range(23)]
    for who, path, expected in ((world.buyer_accounts, "/api/v1/invoices", inv_ids),
                                (world.procurement, "/api/v1/orders", order_ids),
                                (world.procurement, "/api/v1/rfqs", [r.id for r in rfqs])):
        headers = {"Authorization": f"Bearer {create_token(who, 'k')[1]}"}
        client = app.test_client()
        url, seen, counts = f"{path}?starting_after=0&per_page=5", [], []
        while url:
            with count_queries() as q:
                body = client.get(url, headers=headers).get_json()
            counts.append(q.count)
            assert body["total"] == 23 and body["links"]["prev"] is None
            seen += [item["id"] for item in body["items"]]
            url = body["links"]["next"]
        assert seen == sorted(expected), path  # id order, each once, 5 pages
        assert len(set(counts[1:])) == 1, (path, counts)  # the same statements on every page
        numbered = client.get(f"{path}?page=2&per_page=5", headers=headers).get_json()
        assert numbered["page"] == 2 and [i["id"] for i in numbered["items"]] == sorted(expected)[5:10]
        assert client.get(f"{path}?starting_after=-1", headers=headers).status_code == 422
