"""Concurrency fixtures: a banked world, shipped orders with many shipments, and a race runner.

``race(app, n, work)`` starts ``n`` threads that wait on one barrier and then call ``work(i)`` each in its own
app context (its own database session and connection), and returns what every call returned or raised.
"""
from __future__ import annotations

import threading
from decimal import Decimal

import pytest

from portal.db import db
from tests import factories
from tests.invoices.conftest import IBAN, ship


@pytest.fixture
def bw(world):
    """The world with the supplier's bank details and both sides' VAT numbers (Germany: no reverse charge)."""
    world.supplier_a.iban = IBAN
    world.supplier_a.bic = "COBADEFFXXX"
    world.supplier_a.vat_number = "DE136695976"
    world.buyer.vat_number = "DE129273398"
    db.session.commit()
    return world


def race(app, n: int, work, timeout: float = 120):
    """Run ``work(i)`` for i in 0..n-1 in n threads released together; [(ok, value_or_exception), ...]."""
    barrier = threading.Barrier(n)
    results: list = [None] * n

    def run(i):
        with app.app_context():
            try:
                barrier.wait(timeout=30)
                results[i] = (True, work(i))
            except Exception as exc:  # noqa: BLE001 - the test inspects every outcome
                results[i] = (False, exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
    assert all(r is not None for r in results), "a thread did not finish"
    db.session.expire_all()
    return results


@pytest.fixture
def many_shipments(bw):
    """An acknowledged order of one line of 1,200 pieces at 1.00, shipped in twelve shipments of 100."""
    order = factories.order(bw.buyer, bw.supplier_a, bw.procurement, status="acknowledged",
                            lines=[("1200", "1.00")])
    shipments = [ship(order, {1: "100"}, creator=bw.sales_a) for _ in range(12)]
    return order, shipments


@pytest.fixture
def issued_invoices(bw, many_shipments):
    """Twelve issued invoices (one per shipment of the same order), 119.00 gross each."""
    from portal.invoices import services

    order, shipments = many_shipments
    out = []
    for sh in shipments:
        inv = services.create_draft(bw.accounts_a, shipment_id=sh.id)
        out.append(services.issue(inv, bw.accounts_a, inv.lock_version))
    assert all(inv.total_gross == Decimal("119.00") for inv in out)
    return out


@pytest.fixture
def token_for():
    """token_for(user) -> headers with a fresh personal API token for that user."""
    from portal.api.auth import create_token

    def _make(user, name="test"):
        _, raw = create_token(user, name)
        return {"Authorization": f"Bearer {raw}"}

    return _make
