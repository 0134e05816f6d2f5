from decimal import Decimal

from tests import factories


def test_ordering_factories(world):
    item = factories.catalog_item(world.supplier_a, moq="10", pack_size="5")
    assert item.sku.startswith("SKU-")
    o = factories.order(world.buyer, world.supplier_a, world.procurement, status="placed")
    assert o.po_number.endswith("-00001") and o.supplier_order_number.startswith("SO-")
    assert o.total_net == Decimal("730.00")
