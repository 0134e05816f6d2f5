"""Reorder at today's prices, the real draft order, dashboard panels, demo data and demo files."""
from __future__ import annotations

import csv
import io
from decimal import Decimal as D

import pytest
import sqlalchemy as sa

from portal.catalog import demo, services
from portal.catalog.models import CatalogBuyerPrice, CatalogItem
from portal.db import db
from portal.errors import NotFound, ValidationFailed
from portal.orders.models import OrderLine, PurchaseOrder
from tests import factories


def _past_order(world, items_and_qty, source="catalog"):
    o = factories.order(world.buyer, world.supplier_a, world.procurement, status="closed" if False else "draft",
                        lines=[(q, "9.99") for _, q in items_and_qty], source=source)
    for ln, (item, _) in zip(o.lines, items_and_qty):
        if isinstance(item, CatalogItem):
            ln.catalog_item_id, ln.sku = item.id, item.sku
        else:
            ln.catalog_item_id, ln.sku = None, item  # a SKU that is gone
    db.session.commit()
    return o


def test_prepare_reorder_uses_todays_prices_and_reports_what_cannot_be_reordered(world):
    keep = factories.catalog_item(world.supplier_a, sku="KEEP", price="2.00",
                                  breaks=[{"min_quantity": "100", "unit_price": "1.80"}])
    old = factories.catalog_item(world.supplier_a, sku="OLD", price="1.00")
    moq = factories.catalog_item(world.supplier_a, sku="MOQ", price="1.00")
    o = _past_order(world, [(keep, "100"), (old, "5"), ("GONE-1", "7"), (moq, "10")])
    old.active = False
    moq.moq = D("50")  # the supplier raised its minimum since
    db.session.commit()
    order, lines, skipped, notes = services.prepare_reorder(world.procurement, o.id)
    assert notes == []
    assert [ln["sku"] for ln in lines] == ["KEEP"]
    assert lines[0]["unit_price"] == D("1.80") and lines[0]["quantity"] == D("100")
    assert skipped == [
        "Line 2 (SKU OLD): SKU OLD is no longer offered (inactive).",
        f"Line 3 (SKU GONE-1): the item is no longer in the catalog of {world.supplier_a.display_name}.",
        "Line 4: Minimum order for SKU MOQ is 50 pcs; you entered 10.",
    ]


def test_reorder_of_another_buyers_order_is_not_found(world, buyer2):
    item = factories.catalog_item(world.supplier_a, sku="K")
    o = _past_order(world, [(item, "1")])
    _, other = buyer2
    with pytest.raises(NotFound):
        services.prepare_reorder(other, o.id)


def test_reorder_with_nothing_left_says_so(world, fake_orders):
    item = factories.catalog_item(world.supplier_a, sku="K", active=False)
    o = _past_order(world, [(item, "1")])
    with pytest.raises(ValidationFailed, match="Nothing from PO-"):
        services.reorder(world.procurement, o.id)
    assert not fake_orders


def test_reorder_view(world, login, fake_orders):
    item = factories.catalog_item(world.supplier_a, sku="K", price="3")
    gone = factories.catalog_item(world.supplier_a, sku="G", active=False)
    o = _past_order(world, [(item, "4"), (gone, "2")])
    c = login(world.procurement)
    html = c.get("/catalog/reorder").get_data(as_text=True)
    assert o.po_number in html
    r = c.post(f"/catalog/orders/{o.id}/reorder", follow_redirects=False)
    assert r.status_code == 302
    call = fake_orders[0]
    assert call["source"] == "reorder" and call["reorder_of_id"] == o.id and len(call["lines"]) == 1
    # the skipped line is told as a sentence
    with c.session_transaction() as s:
        flashes = [m for _, m in s.get("_flashes", [])]
    assert any("SKU G is no longer offered" in m for m in flashes)
    assert c.post("/catalog/orders/999999/reorder").status_code == 404


def test_real_draft_order_from_quick_order(world, login):
    orders = pytest.importorskip("portal.orders.services")
    if not hasattr(orders, "create_draft_order"):
        pytest.skip("orders.services.create_draft_order not there yet")
    item = factories.catalog_item(world.supplier_a, sku="R-1", price="1.00", pack_size="10",
                                  breaks=[{"min_quantity": "100", "unit_price": "0.90"}])
    db.session.add(CatalogBuyerPrice(item_id=item.id, buyer_company_id=world.buyer.id, unit_price=D("0.85"),
                                     price_breaks=[]))
    db.session.commit()
    c = login(world.procurement)
    r = c.post(f"/catalog/suppliers/{world.supplier_a.id}/quick-order",
               data={"sku": ["R-1"], "qty": ["120"], "submit": "y"})
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    order = db.session.scalar(sa.select(PurchaseOrder))
    assert r.headers["Location"].endswith(f"/orders/{order.id}") or "/catalog/suppliers/" in r.headers["Location"]
    assert order.source.value == "catalog" and order.currency == "EUR"
    line = db.session.scalar(sa.select(OrderLine))
    assert (line.sku, line.quantity, line.unit_price, line.catalog_item_id) == ("R-1", D("120"), D("0.85"), item.id)
    # reorder it for real: a new draft at today's price
    item.unit_price = D("2")
    db.session.execute(sa.delete(CatalogBuyerPrice))
    db.session.commit()
    new, skipped, notes = services.reorder(world.procurement, order.id)
    assert new.id != order.id and new.reorder_of_id == order.id and skipped == []
    assert new.lines[0].unit_price == D("0.90")


# --------------------------------------------------------------------------------------------- panels

def test_panels(world, app):
    from portal.catalog.panels import panels

    factories.catalog_item(world.supplier_a)
    factories.catalog_item(world.supplier_a, active=False)
    factories.catalog_item(world.supplier_b)
    with app.test_request_context():
        sales = panels(world.sales_a)
        assert sales[0]["count"] == 1 and "1 inactive item" in sales[0]["items"][0][0]
        buyer = panels(world.procurement)
        assert buyer[0]["title"] == "Order from a catalog" and buyer[0]["count"] == 2
        assert panels(world.accounts_a) == [] and panels(world.approver) == []


# --------------------------------------------------------------------------------------------- demo

def _demo_world():
    companies = {k: factories.company("supplier", name=k.title()) for k in ("nordstahl", "lefevre", "polmet")}
    companies["hartmann"] = factories.company("buyer", name="Hartmann")
    return companies


def test_demo_seed_is_idempotent_and_gives_hartmann_special_prices():
    companies = _demo_world()
    demo.seed(companies, {})
    demo.seed(companies, {})
    n = dict(db.session.execute(sa.select(CatalogItem.supplier_company_id, sa.func.count())
                                .group_by(CatalogItem.supplier_company_id)).all())
    assert n[companies["nordstahl"].id] == 40 and n[companies["lefevre"].id] == 20
    assert n[companies["polmet"].id] == 25
    specials = db.session.scalars(sa.select(CatalogBuyerPrice)).all()
    assert len(specials) == 4 and all(s.buyer_company_id == companies["hartmann"].id for s in specials)


def test_demo_quick_order_file_is_valid_for_nordstahl_and_files_are_up_to_date():
    companies = _demo_world()
    demo.seed(companies, {})
    rows = list(csv.DictReader(io.StringIO(demo.quick_order_csv())))
    assert len(rows) == 300
    lines = services.build_order_lines(companies["hartmann"].id, companies["nordstahl"].id,
                                       [(r["sku"], r["quantity"], i) for i, r in enumerate(rows, 2)])
    assert len(lines) == len({r["sku"] for r in rows})  # repeated SKUs are one line each
    prev_rows = services.csvio.parse_catalog(demo.nordstahl_import_csv())
    assert prev_rows.ok and len(prev_rows.rows) == 45
    for name, text in (("quick-order-300.csv", demo.quick_order_csv()),
                       ("catalog-import-nordstahl.csv", demo.nordstahl_import_csv())):
        path = demo.ROOT / "docs" / "demo" / name
        assert path.read_text(encoding="utf-8") == text, f"{path} is stale: run write_demo_files()"


def test_reorder_list_shows_the_orders_coloured_status_badges(world, login):
    """The same badge as the order pages (colour per status, the status in words), not a grey generic one."""
    placed = factories.order(world.buyer, world.supplier_a, world.procurement, status="placed")
    hold = factories.order(world.buyer, world.supplier_a, world.procurement, status="credit_hold")
    received = factories.order(world.buyer, world.supplier_a, world.procurement, status="received")
    html = login(world.procurement).get("/catalog/reorder").get_data(as_text=True)
    rows = {o.po_number: html[html.index(o.po_number):].split("</tr>")[0] for o in (placed, hold, received)}
    assert 'text-bg-primary" data-state="placed">Placed</span>' in rows[placed.po_number]
    assert 'text-bg-danger" data-state="credit_hold">Credit hold</span>' in rows[hold.po_number]
    assert 'text-bg-success" data-state="received">Received</span>' in rows[received.po_number]
