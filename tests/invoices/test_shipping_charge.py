"""The freight a supplier quoted travels with its award: into the purchase order (its net total, so approvals
and the credit check see it) and, once, onto an invoice. A second invoice never bills it again."""
from __future__ import annotations

from decimal import Decimal

import pytest

from portal.db import db
from portal.errors import ValidationFailed
from portal.invoices import services as inv_services
from portal.orders import services
from portal.orders.states import OrderStatus
from tests import factories
from tests.accounts.helpers import fresh
from tests.invoices.conftest import draft_for, issued_for, ship


def _award_with_shipping(world, a_shipping="25.00", b_shipping="40.00"):
    r = factories.rfq(world.buyer, world.procurement, lines=3, status="awarded",
                      suppliers=[world.supplier_a, world.supplier_b])
    qa = factories.quote(r, world.supplier_a, world.sales_a, prices=["1.00", "2.00", "3.00"], shipping=a_shipping)
    qb = factories.quote(r, world.supplier_b, world.sales_b, prices=["1.50", "1.80", "3.50"], shipping=b_shipping)
    return factories.award(r, world.procurement, [(0, qa, "100", "1.00"), (1, qb, "200", "1.80"),
                                                  (2, qa, "300", "3.00")])


def _orders(world, **kw):
    award = _award_with_shipping(world, **kw)
    orders = services.create_orders_from_award(award.id, world.procurement)
    return {o.supplier_company_id: fresh(o) for o in orders}


def test_each_order_carries_the_shipping_its_supplier_quoted(world):
    by_sup = _orders(world)
    a, b = by_sup[world.supplier_a.id], by_sup[world.supplier_b.id]
    assert (a.shipping_amount, a.total_net) == (Decimal("25.00"), Decimal("1025.00"))  # 100 + 900 + 25
    assert (b.shipping_amount, b.total_net) == (Decimal("40.00"), Decimal("400.00"))  # 360 + 40
    assert services.lines_subtotal(a) == Decimal("1000.00")


def test_catalog_orders_have_no_shipping_and_free_shipping_stays_zero(world):
    order = factories.order(world.buyer, world.supplier_a, world.procurement, lines=[("10", "2.00")])
    assert fresh(order).shipping_amount == 0
    by_sup = _orders(world, a_shipping="0", b_shipping="0")
    assert all(o.shipping_amount == 0 and o.total_net == services.lines_subtotal(o) for o in by_sup.values())


def test_rejected_lines_leave_the_shipping_in_the_total(world):
    order = _orders(world)[world.supplier_a.id]
    order.status = OrderStatus.placed
    db.session.commit()
    first, second = order.lines
    services.acknowledge(order, world.sales_a, order.lock_version,
                         {first.id: {"action": "accept"}, second.id: {"action": "reject", "note": "Out of stock"}})
    order = fresh(order)
    services.accept_changes(order, world.procurement, order.lock_version)
    order = fresh(order)
    assert order.status == OrderStatus.acknowledged
    assert order.total_net == Decimal("125.00")  # 100 for line 1 + 25 shipping


@pytest.fixture
def shipped_award_order(iw):
    order = _orders(iw)[iw.supplier_a.id]
    order.status = OrderStatus.acknowledged
    db.session.commit()
    return order


def test_the_first_invoice_bills_the_shipping_and_the_next_does_not(iw, shipped_award_order):
    order = shipped_award_order
    first = issued_for(iw, shipment=ship(order, {1: "100"}, creator=iw.sales_a))
    assert [(ln.charge, ln.quantity, ln.unit_price) for ln in first.lines] == [
        (None, Decimal("100"), Decimal("1.00")), ("shipping", Decimal("1"), Decimal("25.00"))]
    assert first.total_net == Decimal("125.00") and first.total_tax == Decimal("23.75")
    assert inv_services.shipping_to_bill(fresh(order)) == 0

    second = issued_for(iw, shipment=ship(fresh(order), {2: "300"}, creator=iw.sales_a))
    assert [ln.charge for ln in second.lines] == [None] and second.total_net == Decimal("900.00")
    # the buyer's three-way match shows the shipping line against the order's charge, without a problem
    row = next(r for r in inv_services.match(first) if r["line"].charge == "shipping")
    assert row["order_price"] == Decimal("25.00") and row["problems"] == []


def test_shipping_may_wait_for_a_later_invoice_but_only_one_bills_it(iw, shipped_award_order):
    order = shipped_award_order
    sh1 = ship(order, {1: "100"}, creator=iw.sales_a)
    left_out = issued_for(iw, shipment=sh1, edits={"shipping": {"quantity": "0"}})
    assert [ln.charge for ln in left_out.lines] == [None]
    assert inv_services.shipping_to_bill(fresh(order)) == Decimal("25.00")

    sh2 = ship(fresh(order), {2: "300"}, creator=iw.sales_a)
    one = draft_for(iw, shipment=sh2, edits={2: {"quantity": "100"}})
    two = draft_for(iw, shipment=sh2, edits={2: {"quantity": "100"}})
    assert all(any(ln.charge == "shipping" for ln in d.lines) for d in (one, two))  # both drafts offer it
    inv_services.issue(one, iw.accounts_a, one.lock_version)
    with pytest.raises(ValidationFailed) as exc:
        inv_services.issue(fresh(two), iw.accounts_a, fresh(two).lock_version)
    assert "shipping charge of order" in exc.value.message and "already invoiced" in exc.value.message
    assert fresh(two).number is None  # nothing issued, no number used


def test_the_shipping_quantity_is_all_or_nothing(iw, shipped_award_order):
    sh = ship(shipped_award_order, {1: "100"}, creator=iw.sales_a)
    with pytest.raises(ValidationFailed) as exc:
        draft_for(iw, shipment=sh, edits={"shipping": {"quantity": "0.5"}})
    assert exc.value.message == "Shipping is invoiced once: quantity 1 bills it on this invoice, 0 leaves it out."


def test_a_credit_note_for_an_invoicing_mistake_on_the_shipping_line_makes_it_billable_again(iw,
                                                                                            shipped_award_order):
    order = shipped_award_order
    inv = issued_for(iw, shipment=ship(order, {1: "100"}, creator=iw.sales_a))
    shipping_line = next(ln for ln in inv.lines if ln.charge == "shipping")
    cn = inv_services.create_credit_note(inv, iw.accounts_a, inv.lock_version, reason_kind="invoicing_error",
                                         quantities={shipping_line.id: "1"}, reason="Freight billed by mistake")
    assert [ln.charge for ln in cn.lines] == ["shipping"]
    assert inv_services.shipping_billed(order.id) == 0
    assert inv_services.shipping_to_bill(fresh(order)) == Decimal("25.00")


def test_new_invoice_page_shows_the_shipping_row_and_explains_it(iw, shipped_award_order, login):
    sh = ship(shipped_award_order, {1: "100"}, creator=iw.sales_a)
    c = login(iw.accounts_a)
    page = c.get(f"/invoices/new?shipment_id={sh.id}").get_data(as_text=True)
    assert 'data-testid="shipping-row"' in page and "€25.00" in page and "Set its quantity to 0" in page
    r = c.post("/invoices/new", data={"shipment_id": sh.id, "qty-shipping": "2"})
    assert r.status_code == 422 and "Shipping is invoiced once" in r.get_data(as_text=True)
    from portal.invoices.models import Invoice

    assert db.session.scalar(db.select(db.func.count(Invoice.id))) == 0  # nothing saved half-way


def test_order_page_and_po_pdf_show_the_shipping(iw, shipped_award_order, login):
    from portal.orders.jobs import po_snapshot

    page = login(iw.procurement).get(f"/orders/{shipped_award_order.id}").get_data(as_text=True)
    assert "Shipping (as quoted)" in page and "incl. €25.00 shipping" in page
    snap = po_snapshot(fresh(shipped_award_order))
    assert Decimal(snap["shipping_amount"]) == Decimal("25") and Decimal(snap["goods_net"]) == Decimal("1000")


def test_waived_freight_stays_billed(iw, shipped_award_order):
    """A credit note that waives the freight (not an invoicing mistake) does not put it on the next invoice."""
    order = shipped_award_order
    inv = issued_for(iw, shipment=ship(order, {1: "100"}, creator=iw.sales_a))
    shipping_line = next(ln for ln in inv.lines if ln.charge == "shipping")
    inv_services.create_credit_note(inv, iw.accounts_a, inv.lock_version, reason_kind="other",
                                    quantities={shipping_line.id: "1"}, reason="Freight waived")
    assert inv_services.shipping_billed(order.id) == 1
    assert inv_services.shipping_to_bill(fresh(order)) == 0
