"""Invoicing fixtures: the world with bank details and VAT numbers, and shipped orders to invoice."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from portal.db import db, utcnow
from tests import factories

IBAN = "DE89370400440532013000"


@pytest.fixture
def iw(world):
    """The world, with the supplier's IBAN and both sides' VAT numbers (both in Germany: no reverse charge)."""
    world.supplier_a.iban = IBAN
    world.supplier_a.bic = "COBADEFFXXX"
    world.supplier_a.bank_name = "Commerzbank"
    world.supplier_a.vat_number = "DE136695976"
    world.buyer.vat_number = "DE129273398"
    world.supplier_b.iban = "FR1420041010050500013M02606"
    world.supplier_b.vat_number = "FR40303265045"
    db.session.commit()
    return world


def ship(order, quantities: dict[int, str], creator=None, days_ago: int = 0):
    """A shipment of ``quantities`` (line position -> quantity) on ``order``, as the shipping service leaves it."""
    from portal.orders.models import Shipment, ShipmentLine
    from portal.orders.numbers import new_delivery_note_number

    sh = Shipment(order_id=order.id, supplier_company_id=order.supplier_company_id,
                  buyer_company_id=order.buyer_company_id, number=new_delivery_note_number(order.supplier_company_id),
                  shipped_at=utcnow() - timedelta(days=days_ago), created_by_id=(creator or order.created_by).id)
    lines = {ln.position: ln for ln in order.lines}
    for pos, q in quantities.items():
        ln = lines[pos]
        sh.lines.append(ShipmentLine(order_line_id=ln.id, quantity=Decimal(q)))
        ln.shipped_quantity += Decimal(q)
    from portal.orders.states import OrderStatus

    order.status = (OrderStatus.shipped if all(ln.shipped_quantity >= ln.quantity for ln in order.lines)
                    else OrderStatus.partially_shipped)
    db.session.add(sh)
    db.session.flush()
    from portal.invoices.quantities import keep

    keep(order)  # the kept invoiced quantities, as the shipping service leaves them
    db.session.commit()
    return sh


def receive(shipment, accepted: dict[int, str]):
    for sl in shipment.lines:
        pos = sl.order_line.position
        if pos in accepted:
            sl.accepted_quantity = Decimal(accepted[pos])
            sl.rejected_quantity = sl.quantity - Decimal(accepted[pos])
            sl.order_line.accepted_quantity += Decimal(accepted[pos])
            sl.order_line.rejected_quantity += sl.rejected_quantity
    shipment.received_at = utcnow()
    db.session.flush()
    from portal.invoices.quantities import keep

    keep(shipment.order)
    db.session.commit()


@pytest.fixture
def shipped(iw):
    """An order of 100 × 2.50 and 60 × 12.00, fully shipped in one shipment."""
    o = factories.order(iw.buyer, iw.supplier_a, iw.procurement, status="acknowledged",
                        lines=[("100", "2.50"), ("60", "12.00")])
    sh = ship(o, {1: "100", 2: "60"}, creator=iw.sales_a)
    return o, sh


def draft_for(world, shipment=None, order=None, edits=None):
    from portal.invoices import services

    return services.create_draft(world.accounts_a, shipment_id=shipment.id if shipment else None,
                                 order_id=order.id if order else None, edits=edits)


def issued_for(world, shipment=None, order=None, edits=None):
    from portal.invoices import services

    inv = draft_for(world, shipment, order, edits)
    return services.issue(inv, world.accounts_a, inv.lock_version)
