"""Defect 5 over the API: POST /api/v1/orders merges a SKU sent on several rows into one line priced on the
total quantity, and says so in ``pricing_notes``."""
from __future__ import annotations

from decimal import Decimal as D

from tests import factories

BREAKS = [{"min_quantity": "2000", "unit_price": "0.80"}]


def test_api_order_merges_repeated_skus(client, world, token_for):
    factories.catalog_item(world.supplier_a, sku="B-8", price="1.00", breaks=BREAKS)
    factories.catalog_item(world.supplier_a, sku="N-1", price="0.10")
    quantities = ["650"] * 8
    rows = [{"sku": "B-8", "quantity": q} for q in quantities] + [{"sku": "N-1", "quantity": "3"}]
    r = client.post("/api/v1/orders", headers=token_for(world.procurement),
                    json={"supplier_id": world.supplier_a.id, "lines": rows})
    assert r.status_code == 201, r.get_data(as_text=True)[:2000]
    body = r.get_json()
    total = sum(D(q) for q in quantities)
    price = D(BREAKS[0]["unit_price"]) if total >= D(BREAKS[0]["min_quantity"]) else D("1.00")
    assert [(ln["sku"], D(ln["quantity"])) for ln in body["lines"]] == [("B-8", total), ("N-1", D("3"))]
    assert D(body["lines"][0]["unit_price"]["amount"]) == price
    assert D(body["total_net"]["amount"]) == total * price + D("3") * D("0.10")
    assert body["pricing_notes"] == ["SKU B-8 appeared on 8 lines (rows 1, 2, 3, 4, 5, 6, 7, 8): merged into one "
                                     "line of 5,200 pcs, priced at the 2,000+ break (€0.80 each)."]
