"""Unit prices keep their places in API answers (up to 4: 1.2345 EUR a piece), as on the page and in the PDF;
totals are in the currency's minor unit. Rounding a unit price to cents would misstate every line."""
from __future__ import annotations

from tests import factories


def test_order_and_invoice_lines_answer_the_exact_unit_price(world, client, token_for):
    o = factories.order(world.buyer, world.supplier_a, world.procurement, lines=[("1000", "1.2345")])
    body = client.get(f"/api/v1/orders/{o.id}", headers=token_for(world.procurement)).get_json()
    line = body["lines"][0]
    assert line["unit_price"] == {"amount": "1.2345", "currency": "EUR"}
    assert line["line_total"] == {"amount": "1234.50", "currency": "EUR"}


def test_a_whole_unit_price_still_shows_the_minor_unit(world, client, token_for):
    o = factories.order(world.buyer, world.supplier_a, world.procurement, lines=[("3", "2")])
    body = client.get(f"/api/v1/orders/{o.id}", headers=token_for(world.procurement)).get_json()
    assert body["lines"][0]["unit_price"] == {"amount": "2.00", "currency": "EUR"}
