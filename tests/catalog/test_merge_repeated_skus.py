"""Defect 5: a SKU on several rows is ONE line priced on the total quantity (quantity breaks are not missed),
and the buyer is told. Same rule for the quick order page, the CSV order, reorder and the API (one function:
services.price_order_rows)."""
from __future__ import annotations

import io
from decimal import Decimal as D

import pytest
import sqlalchemy as sa

from portal.catalog import services
from portal.db import db
from portal.errors import ValidationFailed
from portal.orders.models import OrderLine, PurchaseOrder
from tests import factories

LIST = D("1.00")
BREAKS = [{"min_quantity": "500", "unit_price": "0.95"}, {"min_quantity": "2000", "unit_price": "0.80"}]


def expected_price(quantity: D) -> D:
    """The break table read by hand: the highest break whose minimum the quantity reaches, else list."""
    price = LIST
    for b in BREAKS:
        if quantity >= D(b["min_quantity"]):
            price = D(b["unit_price"])
    return price


@pytest.fixture
def b8(world):
    return factories.catalog_item(world.supplier_a, sku="B-8", name="Bolt B-8", price=str(LIST), breaks=BREAKS,
                                  pack_size="50")


def eight_rows():
    # 8 rows of 650 pcs, mixed with another SKU: 5,200 pcs of B-8 in total
    rows, n = [], 1
    for i in range(8):
        n += 1
        rows.append(("B-8", "650", n))
        if i % 3 == 0:
            n += 1
            rows.append(("N-1", "3", n))
    return rows


def test_repeated_sku_is_one_line_priced_on_the_total(world, b8):
    factories.catalog_item(world.supplier_a, sku="N-1", price="0.10")
    rows = eight_rows()
    b8_rows = [n for s, _, n in rows if s == "B-8"]
    total = sum(D(q) for s, q, _ in rows if s == "B-8")
    assert expected_price(D("650")) != expected_price(total)  # the defect: each row alone missed the break
    priced = services.price_order_rows(world.buyer.id, world.supplier_a.id, rows)
    assert priced.errors == {}
    assert [ln["sku"] for ln in priced.lines] == ["B-8", "N-1"]
    b8_line, n1_line = priced.lines
    assert b8_line["quantity"] == total == D("5200")
    assert b8_line["unit_price"] == expected_price(total)
    assert n1_line["quantity"] == D("9")
    assert priced.notes[0] == (f"SKU B-8 appeared on 8 lines (rows {', '.join(map(str, b8_rows))}): merged into "
                               "one line of 5,200 pcs, priced at the 2,000+ break (€0.80 each).")
    assert priced.notes[1].startswith("SKU N-1 appeared on 3 lines (rows 3, 7, 11)")
    assert "priced at the list price" in priced.notes[1]
    # build_order_lines applies the same rule
    assert services.build_order_lines(world.buyer.id, world.supplier_a.id, rows) == priced.lines


def test_moq_and_pack_size_apply_to_the_merged_total(world):
    factories.catalog_item(world.supplier_a, sku="M-1", moq="500", pack_size="100")
    # 300 + 200 reach the MOQ together and are whole packs together
    lines = services.build_order_lines(world.buyer.id, world.supplier_a.id, [("M-1", "300", 1), ("M-1", "200", 2)])
    assert [(ln["sku"], ln["quantity"]) for ln in lines] == [("M-1", D("500"))]
    with pytest.raises(ValidationFailed) as ei:
        services.build_order_lines(world.buyer.id, world.supplier_a.id,
                                   [("M-1", "200", 1), ("OTHER", "1", 2), ("M-1", "150", 3)])
    e = ei.value.errors
    assert e[1] == ("Row 1: SKU M-1 is on rows 1, 3, 350 pcs together. Minimum order for SKU M-1 is 500 pcs; "
                    "you entered 350.")
    assert e[3] == e[1].replace("Row 1:", "Row 3:", 1)


def _orders():
    return db.session.scalar(sa.select(sa.func.count()).select_from(PurchaseOrder))


def test_quick_order_page_previews_and_creates_one_merged_line(world, login, b8):
    c = login(world.procurement)
    url = f"/catalog/suppliers/{world.supplier_a.id}/quick-order"
    paste = "\n".join(f"B-8, {q}" for q in ("1000", "600", "400"))
    # the preview ("add pasted lines as rows") says what will happen, and orders nothing
    html = c.post(url, data={"paste": paste, "add_rows": "y"}).get_data(as_text=True)
    assert 'data-testid="merge-notes"' in html
    assert ("SKU B-8 appeared on 3 lines (rows 1, 2, 3): merged into one line of 2,000 pcs, priced at the "
            "2,000+ break (€0.80 each).") in html
    assert _orders() == 0
    r = c.post(url, data={"paste": paste, "submit": "y"})
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    lines = list(db.session.scalars(sa.select(OrderLine)))
    assert [(ln.sku, ln.quantity, ln.unit_price) for ln in lines] == [("B-8", D("2000"), expected_price(D("2000")))]
    assert lines[0].line_total == D("2000") * expected_price(D("2000"))
    follow = c.get(r.headers["Location"]).get_data(as_text=True)
    assert "merged into one line of 2,000 pcs" in follow


def test_csv_order_merges_repeated_skus(world, login, b8):
    c = login(world.procurement)
    data = "sku,quantity\n" + "B-8,650\n" * 8
    r = c.post(f"/catalog/suppliers/{world.supplier_a.id}/order-csv",
               data={"file": (io.BytesIO(data.encode()), "o.csv"), "submit": "y"}, content_type="multipart/form-data")
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    lines = list(db.session.scalars(sa.select(OrderLine)))
    assert len(lines) == 1 and lines[0].quantity == D("5200")
    assert lines[0].unit_price == expected_price(D("5200"))
    assert lines[0].line_total == D("5200") * expected_price(D("5200"))
    follow = c.get(r.headers["Location"]).get_data(as_text=True)
    assert "SKU B-8 appeared on 8 lines (rows 2, 3, 4, 5, 6, 7, 8, 9): merged into one line of 5,200 pcs" in follow


def test_reorder_of_an_order_with_a_repeated_sku_merges_it(world, b8):
    from portal.orders.services import create_draft_order

    spec = {"catalog_item_id": b8.id, "sku": "B-8", "description": "Bolt B-8", "unit": "pcs",
            "unit_price": LIST, "currency": "EUR"}
    old = create_draft_order(world.procurement, world.supplier_a.id,
                             [dict(spec, quantity=D("1500")), dict(spec, quantity=D("1500"))], source="catalog")
    new, skipped, notes = services.reorder(world.procurement, old.id)
    assert skipped == []
    assert [(ln.quantity, ln.unit_price) for ln in new.lines] == [(D("3000"), expected_price(D("3000")))]
    assert notes == ["SKU B-8 appeared on 2 lines (lines 1, 2): merged into one line of 3,000 pcs, priced at the "
                     "2,000+ break (€0.80 each)."]
