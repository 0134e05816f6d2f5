"""The main pages of each kind of person, built with the e2e tests' demo-like data (shared by the phone-width
and the axe-core browser tests)."""
from __future__ import annotations

from tests import factories

LONG = ("Sechskantschraube DIN 933 M12x80 verzinkt, Festigkeitsklasse 8.8, "
        "Verpackungseinheit 200 Stück, Lieferung auf Europalette mit Lieferschein")


def main_pages(world):
    """[(user, [(name, path), ...]), ...] for a buyer, a supplier's sales and accounts team and an admin."""
    r = factories.rfq(world.buyer, world.procurement, suppliers=[world.supplier_a, world.supplier_b])
    factories.quote(r, world.supplier_a, world.sales_a)
    closed = factories.closed_rfq(world.buyer, world.procurement, sealed=False, lines=6,
                                  suppliers=[world.supplier_a, world.supplier_b])
    factories.quote(closed, world.supplier_a, world.sales_a)
    factories.quote(closed, world.supplier_b, world.sales_b)
    long_lines = [("1200", "0.42"), ("40", "12.00"), ("3", "1249.90")]
    placed = factories.order(world.buyer, world.supplier_a, world.procurement, status="placed", lines=long_lines)
    acked = factories.order(world.buyer, world.supplier_a, world.procurement, status="acknowledged",
                            lines=long_lines)
    for o in (placed, acked):
        o.lines[0].description = LONG
    factories.db.session.commit()
    from tests.receivables.conftest import open_invoice
    inv = open_invoice(world, "1190.00", due_in=10)
    return [
        (world.procurement, [
            ("dashboard", "/dashboard"), ("rfqs", "/rfqs/"), ("rfq-new", "/rfqs/new"), ("rfq", f"/rfqs/{r.id}"),
            ("comparison", f"/rfqs/{closed.id}/comparison"), ("orders", "/orders/"), ("order", f"/orders/{placed.id}"),
            ("suppliers", "/catalog/suppliers"), ("notifications", "/notifications/")]),
        (world.sales_a, [
            ("dashboard", "/dashboard"), ("rfqs", "/rfqs/"), ("quote", f"/rfqs/{r.id}/quote"),
            ("order", f"/orders/{placed.id}"), ("acknowledge", f"/orders/{placed.id}/acknowledge"),
            ("ship", f"/orders/{acked.id}/ship"), ("catalog", "/catalog/")]),
        (world.accounts_a, [
            ("dashboard", "/dashboard"), ("invoices", "/invoices/"), ("invoice", f"/invoices/{inv.id}"),
            ("holds", "/credit/holds"), ("aging", "/receivables/aging")]),
        (world.buyer_accounts, [("invoices", "/invoices/"), ("invoice", f"/invoices/{inv.id}")]),
        (world.buyer_admin, [("members", "/company/members"), ("company", "/company/")]),
    ]


def open_signed_in(browser, live_server, user, viewport, contexts, bypass_csp=False):
    """A Playwright page signed in as ``user`` at ``viewport`` (long timeouts: the test machine is shared;
    ``bypass_csp`` lets axe-core be injected inline)."""
    from tests.e2e.conftest import sign_in

    return sign_in(browser, live_server, user, contexts, viewport=viewport, timeout=60000, bypass_csp=bypass_csp)
