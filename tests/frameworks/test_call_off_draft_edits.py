"""A call-off's draft edited on the order (page or API) stays within the agreement's caps: a raised quantity is
checked like a call-off, a lowered or removed one gives quantity back, new items need a new call-off."""
from __future__ import annotations

from decimal import Decimal as D

import pytest

from portal.errors import ValidationFailed
from portal.frameworks import services as fa
from portal.orders import drafts
from tests import factories
from tests.frameworks.helpers import agreement, fresh


def _edit(order, actor, lines=None, new_lines=None):
    order = fresh(order)
    return drafts.update_draft(order, actor, order.lock_version,
                               {"lines": lines or {}, "new_lines": new_lines or []})


def test_raising_a_call_off_beyond_the_agreed_quantity_on_the_draft_is_refused(world):
    a = agreement(world)
    l1 = a.lines[0].id
    first = fa.call_off(a, world.procurement, {l1: "60"}).order
    fa.call_off(fresh(a), world.procurement, {l1: "30"})
    line = fresh(first).lines[0]
    with pytest.raises(ValidationFailed, match=r"Item 1: 71 pcs would exceed the agreed 100 pcs"):
        _edit(first, world.procurement, {line.id: {"quantity": "71"}})
    assert fresh(first).lines[0].quantity == D("60")  # nothing applied
    assert fa.usage(fresh(a)).line(l1).consumed == D("90")
    _edit(first, world.procurement, {line.id: {"quantity": "70"}})  # exactly 100 % fits
    use = fa.usage(fresh(a))
    assert use.line(l1).consumed == D("100") and use.line(l1).value == D("100.00")


def test_lowering_or_removing_gives_quantity_and_value_back(world):
    a = agreement(world, max_value="1000")
    l1, l2 = a.lines[0].id, a.lines[1].id
    order = fa.call_off(a, world.procurement, {l1: "50", l2: "100"}).order  # 50.00 + 200.00
    o = fresh(order)
    first, second = o.lines[0], o.lines[1]
    _edit(order, world.procurement, {first.id: {"quantity": "20"}, second.id: {"remove": "1"}})
    use = fa.usage(fresh(a))
    assert use.line(l1).consumed == D("20") and use.line(l2).consumed == 0
    assert use.value == D("20.00")
    assert fresh(order).total_net == D("20.00")


def test_the_value_cap_holds_on_the_draft_too(world):
    a = agreement(world, max_value="500", cap_quantities=False)
    l3 = a.lines[2].id
    order = fa.call_off(a, world.procurement, {l3: "100"}).order  # 300.00
    line = fresh(order).lines[0]
    with pytest.raises(ValidationFailed, match="would exceed the agreed value of"):
        _edit(order, world.procurement, {line.id: {"quantity": "167"}})  # 501.00
    _edit(order, world.procurement, {line.id: {"quantity": "166"}})  # 498.00
    assert fa.usage(fresh(a)).value == D("498.00")


def test_new_items_on_a_call_off_need_a_new_call_off(world):
    a = agreement(world)
    order = fa.call_off(a, world.procurement, {a.lines[0].id: "10"}).order
    factories.catalog_item(world.supplier_a, sku="CAT-1")
    with pytest.raises(ValidationFailed, match="add items with a new call-off"):
        _edit(order, world.procurement, new_lines=[{"sku": "CAT-1", "quantity": "5"}])
    assert len(fresh(order).lines) == 1


def test_a_change_order_raising_a_placed_call_off_beyond_the_cap_is_refused(world):
    from portal.orders import changes
    from portal.orders.models import PurchaseOrder
    from portal.orders.states import OrderStatus

    a = agreement(world)
    l1 = a.lines[0].id
    order = fa.call_off(a, world.procurement, {l1: "90"}).order
    o = fresh(order)
    o.status = OrderStatus.acknowledged  # placed and acknowledged (the states the change service accepts)
    o.sent_at = o.created_at
    from portal.db import db
    db.session.commit()
    line = fresh(order).lines[0]
    with pytest.raises(ValidationFailed, match=r"Item 1: 101 pcs would exceed the agreed 100 pcs"):
        changes.propose(fresh(order), world.procurement, fresh(order).lock_version,
                        {line.id: {"quantity": "101"}}, reason="More")
    assert db.session.query(PurchaseOrder).count() == 1
    assert fa.usage(fresh(a)).line(l1).consumed == D("90")
