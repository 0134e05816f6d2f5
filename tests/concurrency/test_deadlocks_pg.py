"""Defect 2: simultaneous work on one order never deadlocks into a 500.

Every path takes its locks in the one order written in portal/credit/ledger.py (purchase order, then invoice,
then credit account and reservation, then the document counter); where PostgreSQL still reports a deadlock or a
serialization failure, the unit of work is rolled back and run again (portal.locking.retry_on_conflict).
"""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from portal.db import db
from portal.invoices.models import DocumentKind, Invoice, Payment
from portal.orders.models import PurchaseOrder, Shipment
from tests.concurrency.conftest import race

N = 12


def _consecutive(numbers: list[str]) -> list[int]:
    return sorted(int(n.rsplit("-", 1)[1]) for n in numbers)


@pytest.mark.postgres
def test_twelve_api_invoices_for_twelve_shipments_of_one_order(app, bw, many_shipments, token_for):
    order, shipments = many_shipments
    ids = [sh.id for sh in shipments]
    headers = token_for(bw.accounts_a)

    def work(i):
        r = app.test_client().post("/api/v1/invoices", json={"shipment_id": ids[i]}, headers=headers)
        return r.status_code, r.get_json()

    results = race(app, N, work)
    codes = [v[0] for ok, v in results]
    assert codes == [201] * N, [v for ok, v in results if v[0] != 201][:3]
    numbers = [v[1]["number"] for ok, v in results]
    assert _consecutive(numbers) == list(range(1, N + 1))
    invs = list(db.session.scalars(sa.select(Invoice).where(Invoice.order_id == order.id)))
    assert sorted(i.shipment_id for i in invs) == sorted(ids)


@pytest.mark.postgres
def test_twelve_api_payments_on_invoices_of_one_order(app, bw, issued_invoices, token_for):
    ids = [inv.id for inv in issued_invoices]
    day = str(issued_invoices[0].issue_date)
    headers = token_for(bw.accounts_a)

    def work(i):
        return app.test_client().post(f"/api/v1/invoices/{ids[i]}/payments",
                                      json={"amount": {"amount": "119.00", "currency": "EUR"}, "date": day},
                                      headers=headers).status_code

    assert [v for ok, v in race(app, N, work)] == [201] * N
    assert db.session.scalar(sa.select(sa.func.count(Payment.id))) == N
    assert {db.session.get(Invoice, i).status.value for i in ids} == {"paid"}


@pytest.mark.postgres
def test_twelve_api_credit_notes_on_invoices_of_one_order(app, bw, issued_invoices, token_for):
    ids = [inv.id for inv in issued_invoices]
    headers = token_for(bw.accounts_a)

    def work(i):
        r = app.test_client().post("/api/v1/credit-notes", json={"invoice_id": ids[i], "reason": "Discount",
                                                                 "reason_kind": "other",
                                                                 "amount": {"amount": "10.00", "currency": "EUR"}},
                                                           headers=headers)
        return r.status_code, r.get_json()

    results = race(app, N, work)
    assert [v[0] for ok, v in results] == [201] * N, [v for ok, v in results if v[0] != 201][:3]
    assert _consecutive([v[1]["number"] for ok, v in results]) == list(range(1, N + 1))
    assert db.session.scalar(sa.select(sa.func.count(Invoice.id)).where(
        Invoice.kind == DocumentKind.credit_note)) == N


@pytest.mark.postgres
def test_twelve_api_shipments_on_one_order(app, bw, token_for):
    from tests import factories

    order = factories.order(bw.buyer, bw.supplier_a, bw.procurement, status="acknowledged",
                            lines=[("1200", "1.00")])
    oid, line_id = order.id, order.lines[0].id
    headers = token_for(bw.sales_a)

    def work(i):
        r = app.test_client().post(f"/api/v1/orders/{oid}/shipments",
                                   json={"lines": [{"order_line_id": line_id, "quantity": "100"}]}, headers=headers)
        return r.status_code, r.get_json()

    results = race(app, N, work)
    assert [v[0] for ok, v in results] == [201] * N, [v for ok, v in results if v[0] != 201][:3]
    numbers = list(db.session.scalars(sa.select(Shipment.number).where(Shipment.order_id == oid)))
    assert _consecutive(numbers) == list(range(1, N + 1))
    assert db.session.get(PurchaseOrder, oid).status.value == "shipped"


@pytest.mark.postgres
def test_twelve_api_invoices_and_payments_mixed_on_one_order(app, bw, many_shipments, token_for):
    """Invoices for six shipments while six invoices of the same order are paid."""
    from portal.invoices import services

    order, shipments = many_shipments
    paid = []
    for sh in shipments[:6]:
        inv = services.create_draft(bw.accounts_a, shipment_id=sh.id)
        paid.append(services.issue(inv, bw.accounts_a, inv.lock_version))
    day = str(paid[0].issue_date)
    pay_ids = [inv.id for inv in paid]
    ship_ids = [sh.id for sh in shipments[6:]]
    headers = token_for(bw.accounts_a)

    def work(i):
        c = app.test_client()
        if i % 2:
            return c.post("/api/v1/invoices", json={"shipment_id": ship_ids[i // 2]}, headers=headers).status_code
        return c.post(f"/api/v1/invoices/{pay_ids[i // 2]}/payments",
                      json={"amount": {"amount": "119.00", "currency": "EUR"}, "date": day},
                      headers=headers).status_code

    assert [v for ok, v in race(app, N, work)] == [201] * N
    numbers = list(db.session.scalars(sa.select(Invoice.number).where(Invoice.kind == DocumentKind.invoice)))
    assert _consecutive(numbers) == list(range(1, N + 1))
