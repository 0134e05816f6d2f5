from decimal import Decimal

from tests import factories


def test_sourcing_factories_build_an_open_rfq_with_quotes(world):
    r = factories.rfq(world.buyer, world.procurement, suppliers=[world.supplier_a, world.supplier_b])
    assert r.reference.startswith("RFQ-") and len(r.lines) == 3
    q = factories.quote(r, world.supplier_a, world.sales_a, prices=["1.50", "2", "3.25"])
    assert q.current_version.number == 1
    assert [ln.unit_price for ln in q.current_version.lines] == [Decimal("1.5"), Decimal("2"), Decimal("3.25")]
