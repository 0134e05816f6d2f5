"""Accounts dashboard panels: counts are the real counts (not the five listed), what is left to invoice follows
per-shipment and per-order invoicing, and amounts and dates are in the person's own locale."""
from __future__ import annotations

from decimal import Decimal

from portal.db import db
from tests import factories
from tests.invoices.conftest import draft_for, issued_for, ship


def _panel(app, user, title):
    from portal.invoices.panels import panels

    with app.test_request_context():
        return next(p for p in panels(db.session.merge(user)) if p["title"] == title)


def _order(iw, lines):
    return factories.order(iw.buyer, iw.supplier_a, iw.procurement, status="acknowledged", lines=lines)


def test_counts_are_the_real_counts_beyond_the_five_listed(app, iw):
    order = _order(iw, [("1", "10.00")] * 7)
    shipments = [ship(order, {pos: "1"}, creator=iw.sales_a) for pos in range(1, 8)]
    panel = _panel(app, iw.accounts_a, "Shipments to invoice")
    assert (panel["count"], len(panel["items"])) == (7, 5)

    for sh in shipments[:6]:
        issued_for(iw, shipment=sh)
    assert _panel(app, iw.accounts_a, "Shipments to invoice")["count"] == 1
    panel = _panel(app, iw.buyer_accounts, "Invoices to check and approve")
    assert (panel["count"], len(panel["items"])) == (6, 5)

    other = _order(iw, [("1", "10.00")] * 6)
    for pos in range(1, 7):
        draft_for(iw, shipment=ship(other, {pos: "1"}, creator=iw.sales_a))
    panel = _panel(app, iw.accounts_a, "Draft invoices")
    assert (panel["count"], len(panel["items"])) == (6, 5)


def test_a_shipment_after_an_order_invoice_is_still_to_invoice(app, iw):
    """The per-order invoice covers the shipments it billed, oldest first; the next shipment stays open."""
    order = _order(iw, [("100", "2.50"), ("60", "12.00")])
    first = ship(order, {1: "50"}, creator=iw.sales_a)
    assert [s for _, s in _listed(app, iw)] == [first.number]
    issued_for(iw, order=order)  # bills the 50 shipped so far
    assert _listed(app, iw) == []

    second = ship(order, {1: "50", 2: "60"}, creator=iw.sales_a)
    assert [s for _, s in _listed(app, iw)] == [second.number]
    inv = issued_for(iw, shipment=second)
    assert [ln.quantity for ln in inv.lines] == [Decimal("50"), Decimal("60")]
    assert _listed(app, iw) == []


def test_a_shipment_invoiced_out_of_order_leaves_the_earlier_one_open(app, iw):
    order = _order(iw, [("100", "2.50")])
    first = ship(order, {1: "40"}, creator=iw.sales_a)
    second = ship(order, {1: "60"}, creator=iw.sales_a)
    issued_for(iw, shipment=second)
    assert [s for _, s in _listed(app, iw)] == [first.number]


def _listed(app, iw):
    panel = _panel(app, iw.accounts_a, "Shipments to invoice")
    assert panel["count"] == len(panel["items"])
    return [(text, text.split(" · ")[0]) for text, _ in panel["items"]]


def test_amounts_and_dates_in_the_persons_locale(app, iw):
    from datetime import timedelta

    from portal.db import utcnow

    order = _order(iw, [("1000", "2.50")])
    inv = issued_for(iw, shipment=ship(order, {1: "1000"}, creator=iw.sales_a))
    from portal.invoices.models import Invoice

    # issued invoices are immutable through the ORM; time passing is simulated in SQL, as in test_core
    db.session.execute(db.update(Invoice).where(Invoice.id == inv.id)
                       .values(due_date=utcnow().date() - timedelta(days=3)))
    iw.buyer_accounts.locale = "de_DE"
    db.session.commit()
    overdue = _panel(app, iw.buyer_accounts, "Overdue payables")
    assert overdue["count"] == 1
    assert overdue["items"][0][0] == "Owed: 2.975,00\xa0€"  # 2,500.00 net + 19 % VAT
    to_check = _panel(app, iw.buyer_accounts, "Invoices to check and approve")["items"][0][0]
    assert "2.975,00\xa0€" in to_check
    from babel.dates import format_date

    assert to_check.endswith("due " + format_date(inv.due_date, "medium", locale="de_DE"))
    assert _panel(app, iw.accounts_a, "Overdue receivables")["items"][0][0] == "Open: €2,975.00"
