"""Payables fixtures: a banked world (buyer with IBAN/BIC, suppliers with IBANs), received orders and issued
invoices the buyer's accounts team works with."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from portal.db import db, utcnow
from tests import factories
from tests.invoices.conftest import IBAN, receive, ship

BUYER_IBAN = "DE02120300000000202051"
BUYER_BIC = "BYLADEM1001"


@pytest.fixture
def pw(world):
    world.supplier_a.iban = IBAN
    world.supplier_a.bic = "COBADEFFXXX"
    world.supplier_a.vat_number = "DE136695976"
    world.buyer.vat_number = "DE129273398"
    world.buyer.iban = BUYER_IBAN
    world.buyer.bic = BUYER_BIC
    world.supplier_b.iban = "FR1420041010050500013M02606"
    world.supplier_b.vat_number = "FR40303265045"
    db.session.commit()
    world.people["accounts2"] = factories.user(world.buyer, "accounts", email="accounts2@acme.test")
    world.people["accounts_b"] = factories.user(world.supplier_b, "accounts", email="accounts@beta.test")
    return world


def invoice_for(world, supplier_accounts, order, *, prices=None, quantities=None, accepted=None, currency="EUR",
                receive_first=True):
    """Ship everything of ``order``, receive ``accepted`` (default all) and issue an invoice with optional
    ``prices``/``quantities`` (line position -> text) edits. Returns the issued invoice."""
    from portal.invoices import services

    sh = ship(order, {ln.position: str(ln.quantity) for ln in order.lines}, creator=order.created_by)
    if receive_first:
        receive(sh, accepted or {ln.position: str(ln.quantity) for ln in order.lines})
    inv = services.create_draft(supplier_accounts, shipment_id=sh.id)
    for ln in inv.lines:
        pos = next(o.position for o in order.lines if o.id == ln.order_line_id)
        if prices and pos in prices:
            ln.unit_price = Decimal(prices[pos])
        if quantities and pos in quantities:
            ln.quantity = Decimal(quantities[pos])
    if prices or quantities:
        services.compute_totals(inv)
        db.session.commit()
    return services.issue(inv, supplier_accounts, inv.lock_version)


@pytest.fixture
def make_invoice(pw):
    def _make(lines=(("100", "2.50"), ("60", "12.00")), supplier="a", approve=True, currency="EUR",
              prices=None, quantities=None, accepted=None, due_in=None, issued_days_ago=0, receive_first=True):
        sup = pw.supplier_a if supplier == "a" else pw.supplier_b
        acct = pw.accounts_a if supplier == "a" else pw.accounts_b
        o = factories.order(pw.buyer, sup, pw.procurement, status="acknowledged", lines=list(lines),
                            currency=currency)
        inv = invoice_for(pw, acct, o, prices=prices, quantities=quantities, accepted=accepted,
                          receive_first=receive_first)
        if issued_days_ago or due_in is not None:
            from sqlalchemy import update

            from portal.invoices.models import Invoice
            today = utcnow().date()
            issue = today - timedelta(days=issued_days_ago)
            due = today + timedelta(days=due_in) if due_in is not None else issue + timedelta(days=30)
            db.session.execute(update(Invoice).where(Invoice.id == inv.id).values(issue_date=issue, due_date=due))
            db.session.commit()
            db.session.refresh(inv)
        if approve:
            from sqlalchemy import update

            from portal.invoices.models import Invoice
            db.session.execute(update(Invoice).where(Invoice.id == inv.id).values(approved_for_payment_at=utcnow()))
            db.session.commit()
            db.session.refresh(inv)
        return inv

    return _make
