"""price_for and build_order_lines: tier prices, buyer prices, MOQ/pack messages, unknown/inactive SKUs,
currencies, and a constant number of queries."""
from __future__ import annotations

from decimal import Decimal as D

import pytest

from portal.catalog import services
from portal.catalog.models import CatalogBuyerPrice
from portal.db import db
from portal.errors import ValidationFailed
from tests import factories

BREAKS = [{"min_quantity": "500", "unit_price": "0.95"}, {"min_quantity": "1000", "unit_price": "0.90"}]


def _special(item, buyer, price, breaks=()):
    bp = CatalogBuyerPrice(item_id=item.id, buyer_company_id=buyer.id, unit_price=D(price),
                           price_breaks=list(breaks))
    db.session.add(bp)
    db.session.commit()
    return bp


def test_price_for_uses_highest_break_at_or_below_quantity(world):
    item = factories.catalog_item(world.supplier_a, price="1.00", breaks=BREAKS)
    assert services.price_for(item, world.buyer.id, D("499")) == D("1.00")
    assert services.price_for(item, world.buyer.id, D("500")) == D("0.95")
    assert services.price_for(item, world.buyer.id, D("999")) == D("0.95")
    assert services.price_for(item, world.buyer.id, D("1000")) == D("0.90")
    assert services.price_for(item, world.buyer.id, D("50000")) == D("0.90")


def test_breaks_order_in_storage_does_not_matter(world):
    item = factories.catalog_item(world.supplier_a, price="1.00", breaks=list(reversed(BREAKS)))
    assert services.price_for(item, world.buyer.id, D("1200")) == D("0.90")


def test_buyer_price_replaces_list_price_and_breaks_for_that_buyer_only(world, buyer2):
    item = factories.catalog_item(world.supplier_a, price="1.00", breaks=BREAKS)
    _special(item, world.buyer, "0.80", [{"min_quantity": "2000", "unit_price": "0.70"}])
    assert services.price_for(item, world.buyer.id, D("100")) == D("0.80")
    # the list breaks no longer apply to this buyer: 1000 pcs is still its own base price
    assert services.price_for(item, world.buyer.id, D("1000")) == D("0.80")
    assert services.price_for(item, world.buyer.id, D("2000")) == D("0.70")
    other, _ = buyer2
    assert services.price_for(item, other.id, D("1000")) == D("0.90")


@pytest.mark.parametrize("qty,moq,pack,expected", [
    ("480", "500", None, "Minimum order for SKU X is 500 pcs; you entered 480."),
    ("480", "500", "25", "Minimum order for SKU X is 500 pcs; you entered 480."),
    ("490", None, "25", "SKU X is sold in packs of 25: order 475 or 500."),
    ("510", "500", "25", "SKU X is sold in packs of 25: order 500 or 525."),
    ("10", None, "25", "SKU X is sold in packs of 25: order 25."),
    ("0", None, None, "The quantity for SKU X must be greater than zero; you entered 0."),
    ("-5", None, None, "The quantity for SKU X must be greater than zero; you entered -5."),
    ("500", "500", "25", None),
    ("1", None, None, None),
])
def test_quantity_messages_say_what_would_be_valid(qty, moq, pack, expected):
    got = services.quantity_problem("X", D(qty), D(moq) if moq else None, D(pack) if pack else None)
    assert got == expected


def test_build_order_lines_prices_and_shapes_lines(world):
    a = factories.catalog_item(world.supplier_a, sku="A-1", price="1.00", breaks=BREAKS, moq="100", pack_size="50",
                               name="Bolt A")
    b = factories.catalog_item(world.supplier_a, sku="B-2", price="2.5000")
    _special(b, world.buyer, "2.1000")
    lines = services.build_order_lines(world.buyer.id, world.supplier_a.id,
                                       [("A-1", "1000", 1), ("", "", 2), ("b-2", " 3 ", 3)])
    assert lines == [
        {"catalog_item_id": a.id, "sku": "A-1", "description": "Bolt A", "unit": "pcs", "quantity": D("1000"),
         "unit_price": D("0.90"), "moq": D("100"), "pack_size": D("50"), "currency": "EUR"},
        {"catalog_item_id": b.id, "sku": "B-2", "description": b.name, "unit": "pcs", "quantity": D("3"),
         "unit_price": D("2.1"), "moq": None, "pack_size": None, "currency": "EUR"},
    ]


def test_build_order_lines_reports_every_bad_row_by_number(world):
    factories.catalog_item(world.supplier_a, sku="OK-1", price="1")
    factories.catalog_item(world.supplier_a, sku="MOQ-1", price="1", moq="500")
    factories.catalog_item(world.supplier_a, sku="PACK-1", price="1", pack_size="25")
    factories.catalog_item(world.supplier_a, sku="OLD-1", price="1", active=False)
    factories.catalog_item(world.supplier_a, sku="USD-1", price="1", currency="USD")
    factories.catalog_item(world.supplier_b, sku="OTHER-1", price="1")
    rows = [("OK-1", "10", 1), ("NOPE", "1", 2), ("OLD-1", "5", 3), ("OK-1", "0", 4), ("OK-1", "-3", 5),
            ("OK-1", "ten", 6), ("MOQ-1", "480", 7), ("PACK-1", "490", 8), ("USD-1", "5", 9),
            ("OTHER-1", "1", 10), ("OK-1", "", 11), ("", "7", 12), ("OK-1", "1.12345", 13)]
    with pytest.raises(ValidationFailed) as ei:
        services.build_order_lines(world.buyer.id, world.supplier_a.id, rows)
    e = ei.value.errors
    assert set(e) == {2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13}
    assert e[2] == "Row 2: SKU NOPE is not in this supplier's catalog."
    assert e[3] == "Row 3: SKU OLD-1 is no longer offered (inactive)."
    assert "greater than zero" in e[4] and "greater than zero" in e[5]
    assert "must be a number" in e[6]
    assert e[7] == "Row 7: Minimum order for SKU MOQ-1 is 500 pcs; you entered 480."
    assert e[8] == "Row 8: SKU PACK-1 is sold in packs of 25: order 475 or 500."
    assert "priced in USD" in e[9] and "one currency" in e[9]
    assert "not in this supplier's catalog" in e[10]  # another supplier's SKU is unknown here
    assert "enter a quantity" in e[11]
    assert "enter a SKU" in e[12]
    assert "more than 4 decimal places" in e[13]
    assert "nothing was ordered" in ei.value.message


def test_build_order_lines_refuses_an_empty_order(world):
    with pytest.raises(ValidationFailed, match="at least one SKU"):
        services.build_order_lines(world.buyer.id, world.supplier_a.id, [("", "", 1), (" ", " ", 2)])


def test_300_lines_validate_with_two_queries(world, count_queries):
    items = [factories.catalog_item(world.supplier_a, sku=f"S-{i:03d}", price="1.00", pack_size="10", moq="20")
             for i in range(40)]
    _special(items[0], world.buyer, "0.5")
    buyer_id, supplier_id = world.buyer.id, world.supplier_a.id
    db.session.expire_all()
    rows3 = [(f"S-{i:03d}", "20", i + 1) for i in range(3)]
    rows300 = [(f"S-{i % 40:03d}", str(20 + 10 * (i % 5)), i + 1) for i in range(300)]
    with count_queries() as small:
        services.build_order_lines(buyer_id, supplier_id, rows3)
    db.session.expire_all()
    with count_queries() as big:
        lines = services.build_order_lines(buyer_id, supplier_id, rows300)
    assert len(lines) == 40  # 300 rows naming 40 SKUs: one line per SKU, on the total quantity
    assert big.count == small.count <= 2, big.statements
    assert lines[0]["unit_price"] == D("0.5")


def test_quantity_with_decimal_pack_size(world):
    factories.catalog_item(world.supplier_a, sku="M-1", price="3", pack_size="0.5")
    lines = services.build_order_lines(world.buyer.id, world.supplier_a.id, [("M-1", "2.5", 1)])
    assert lines[0]["quantity"] == D("2.5")
    with pytest.raises(ValidationFailed) as ei:
        services.build_order_lines(world.buyer.id, world.supplier_a.id, [("M-1", "2.7", 1)])
    assert ei.value.errors[1] == "Row 1: SKU M-1 is sold in packs of 0.5: order 2.5 or 3."
