"""Creating orders: drafts from priced lines, orders from an award (idempotent)."""
from __future__ import annotations

from decimal import Decimal

import pytest

from portal.db import db, utcnow
from portal.errors import ValidationFailed
from portal.orders import services
from portal.orders.models import OrderLine, PurchaseOrder
from tests import factories
from tests.accounts.helpers import count, fresh, text


def _lines(*pairs):
    return [{"sku": f"S-{i}", "description": f"Thing {i}", "unit": "pcs", "quantity": Decimal(q),
             "unit_price": Decimal(p)} for i, (q, p) in enumerate(pairs, 1)]


def test_draft_gets_po_number_totals_and_default_terms(world):
    o = services.create_draft_order(world.procurement, world.supplier_a.id, _lines(("3", "1.005"), ("10", "2.50")))
    o = fresh(o)
    assert o.po_number == f"PO-{utcnow().year}-00001"
    assert o.status.value == "draft" and o.supplier_order_number is None
    assert [ln.line_total for ln in o.lines] == [Decimal("3.02"), Decimal("25.00")]
    assert o.total_net == Decimal("28.02")
    assert o.payment_terms_days == 30
    assert "Acme Buying GmbH" in o.delivery_address


def test_payment_terms_from_credit_account(world):
    from portal.credit.models import CreditAccount

    db.session.add(CreditAccount(supplier_company_id=world.supplier_a.id, buyer_company_id=world.buyer.id,
                                 limit_amount=Decimal("1000"), currency="EUR", payment_terms_days=45))
    db.session.commit()
    o = services.create_draft_order(world.procurement, world.supplier_a.id, _lines(("1", "1")))
    assert fresh(o).payment_terms_days == 45


@pytest.mark.parametrize("qty", ["0", "-5", "abc"])
def test_bad_quantity_refused_nothing_saved(world, qty):
    with pytest.raises(ValidationFailed) as exc:
        services.create_draft_order(world.procurement, world.supplier_a.id,
                                    _lines(("5", "1")) + [{"description": "X", "quantity": qty, "unit_price": "1"}])
    assert "Line 2" in exc.value.message
    assert count(PurchaseOrder) == 0 and count(OrderLine) == 0


def test_supplier_cannot_create_a_draft(world):
    from portal.errors import Forbidden

    with pytest.raises(Forbidden):
        services.create_draft_order(world.sales_a, world.supplier_b.id, _lines(("1", "1")))


# --------------------------------------------------------------------------------------------- awards

def make_award(world):
    """RFQ of 3 lines; lines 1 and 3 to supplier A, line 2 to supplier B (with a tier price)."""
    r = factories.rfq(world.buyer, world.procurement, lines=3, status="awarded",
                      suppliers=[world.supplier_a, world.supplier_b])
    qa = factories.quote(r, world.supplier_a, world.sales_a, prices=["1.00", "2.00", "3.00"], moq="50")
    qb = factories.quote(r, world.supplier_b, world.sales_b, prices=["1.50", "1.80", "3.50"])
    return factories.award(r, world.procurement, [(0, qa, "100", "0.95"), (1, qb, "250", "1.75"),
                                                  (2, qa, "300", "3.00")])


def test_one_order_per_awarded_supplier_at_awarded_prices(world):
    award = make_award(world)
    orders = services.create_orders_from_award(award.id, world.procurement)
    assert len(orders) == 2
    by_sup = {o.supplier_company_id: fresh(o) for o in orders}
    a, b = by_sup[world.supplier_a.id], by_sup[world.supplier_b.id]
    assert [(ln.part_number, ln.description, ln.quantity, ln.unit_price) for ln in a.lines] == [
        ("P-0001", "Item 1", Decimal("100"), Decimal("0.95")), ("P-0003", "Item 3", Decimal("300"), Decimal("3.00"))]
    assert a.total_net == Decimal("995.00") and a.lines[0].moq == Decimal("50")
    assert [(ln.quantity, ln.unit_price) for ln in b.lines] == [(Decimal("250"), Decimal("1.75"))]
    assert a.source.value == "award" and a.award_id == award.id and a.rfq_id == award.rfq_id
    assert a.delivery_address == "Teststraße 1, 10115 Berlin" and a.currency == "EUR"
    assert a.po_number != b.po_number and all(o.status.value == "draft" for o in (a, b))
    assert fresh(award).orders_created_at is not None


def test_award_orders_are_idempotent(world):
    award = make_award(world)
    first = services.create_orders_from_award(award.id, world.procurement)
    again = services.create_orders_from_award(award.id, world.procurement2)
    assert sorted(o.id for o in again) == sorted(o.id for o in first)
    assert count(PurchaseOrder) == 2


def test_award_pages_and_button(world, login):
    award = make_award(world)
    c = login(world.procurement)
    page = c.get("/orders/awards")
    assert page.status_code == 200 and "Create purchase orders" in text(page)
    r = c.post(f"/orders/from-award/{award.id}")
    assert r.status_code == 302
    assert count(PurchaseOrder) == 2
    c.post(f"/orders/from-award/{award.id}")  # a double click creates nothing new
    assert count(PurchaseOrder) == 2
    assert "Every award already has its purchase orders" in text(c.get("/orders/awards"))


def test_award_of_another_company_is_404(world, login):
    award = make_award(world)
    other = factories.company("buyer")
    stranger = factories.user(other, "procurement")
    assert login(stranger).post(f"/orders/from-award/{award.id}").status_code == 404
    assert count(PurchaseOrder) == 0
    assert login(world.sales_a).get("/orders/awards").status_code == 403
