"""Defect 8: ten simultaneous posts of the same form (same lock_version) — exactly one succeeds.

The version is compared under the row lock, after the row is re-read (portal.locking); every loser gets a
Conflict (409 through the API) and nothing of it is saved.
"""
from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa

from portal.accounts.models import User
from portal.db import db
from portal.errors import Conflict
from portal.invoices import services as invoices
from portal.invoices.models import DocumentKind, Invoice, Payment
from portal.orders.models import PurchaseOrder, Shipment
from portal.orders.states import OrderStatus
from tests import factories
from tests.concurrency.conftest import race

N = 10


def _one_winner(results):
    wins = [v for ok, v in results if ok]
    losses = [v for ok, v in results if not ok]
    assert len(wins) == 1, results
    assert all(isinstance(e, Conflict) for e in losses), [repr(e) for e in losses]
    return wins[0]


@pytest.mark.postgres
def test_ten_identical_payments_record_one(app, bw, issued_invoices):
    inv = issued_invoices[0]
    inv_id, version, actor_id = inv.id, inv.lock_version, bw.accounts_a.id

    def work(i):
        actor = db.session.get(User, actor_id)
        p = invoices.record_payment(db.session.get(Invoice, inv_id), actor, version, amount="10.00",
                                    paid_on=str(inv.issue_date))
        return p.id

    _one_winner(race(app, N, work))
    assert db.session.scalar(sa.select(sa.func.count(Payment.id)).where(Payment.invoice_id == inv_id)) == 1
    assert db.session.get(Invoice, inv_id).paid_amount == Decimal("10.00")


@pytest.mark.postgres
def test_ten_identical_credit_notes_issue_one(app, bw, issued_invoices):
    inv = issued_invoices[0]
    inv_id, version, actor_id = inv.id, inv.lock_version, bw.accounts_a.id

    def work(i):
        actor = db.session.get(User, actor_id)
        cn = invoices.create_credit_note(db.session.get(Invoice, inv_id), actor, version, amount="5.00",
                                         reason="Damaged box", reason_kind="returned")
        return cn.number

    _one_winner(race(app, N, work))
    cns = list(db.session.scalars(sa.select(Invoice).where(Invoice.corrects_invoice_id == inv_id)))
    assert len(cns) == 1 and cns[0].kind == DocumentKind.credit_note
    assert db.session.get(Invoice, inv_id).credited_amount == Decimal("5.95")


@pytest.mark.postgres
def test_ten_identical_issues_issue_once(app, bw, many_shipments):
    order, shipments = many_shipments
    draft = invoices.create_draft(bw.accounts_a, shipment_id=shipments[0].id)
    inv_id, version, actor_id = draft.id, draft.lock_version, bw.accounts_a.id

    def work(i):
        return invoices.issue(db.session.get(Invoice, inv_id), db.session.get(User, actor_id), version).number

    number = _one_winner(race(app, N, work))
    assert db.session.get(Invoice, inv_id).number == number
    assert db.session.scalar(sa.select(sa.func.count(Invoice.id)).where(Invoice.number.is_not(None))) == 1


@pytest.mark.postgres
def test_ten_identical_approvals_for_payment_approve_once(app, bw, issued_invoices):
    from portal.audit.models import AuditEvent

    inv = issued_invoices[0]
    inv_id, version = inv.id, inv.lock_version
    approver = factories.user(bw.buyer, "accounts", email="ap@buyer.test")
    approver_id = approver.id

    def work(i):
        return invoices.approve_for_payment(db.session.get(Invoice, inv_id), db.session.get(User, approver_id),
                                            version, despite_mismatches=True, comment="ok").id

    results = race(app, N, work)
    assert sum(1 for ok, _ in results if ok) == 1, results
    assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id)).where(
        AuditEvent.entity_id == inv_id, AuditEvent.action == "approved for payment")) == 1


@pytest.mark.postgres
def test_ten_identical_acknowledgements_acknowledge_once(app, bw):
    order = factories.order(bw.buyer, bw.supplier_a, bw.procurement, status="placed")
    oid, version, actor_id = order.id, order.lock_version, bw.sales_a.id

    def work(i):
        from portal.orders import services as orders

        return orders.acknowledge(db.session.get(PurchaseOrder, oid), db.session.get(User, actor_id), version,
                                  {}).status

    _one_winner(race(app, N, work))
    assert db.session.get(PurchaseOrder, oid).status == OrderStatus.acknowledged


@pytest.mark.postgres
def test_ten_identical_shipments_ship_once(app, bw):
    order = factories.order(bw.buyer, bw.supplier_a, bw.procurement, status="acknowledged")
    oid, version, actor_id = order.id, order.lock_version, bw.sales_a.id
    line_id = order.lines[0].id

    def work(i):
        from portal.orders import shipping

        return shipping.record_shipment(db.session.get(PurchaseOrder, oid), db.session.get(User, actor_id),
                                        version, {line_id: "1"}).number

    _one_winner(race(app, N, work))
    assert db.session.scalar(sa.select(sa.func.count(Shipment.id)).where(Shipment.order_id == oid)) == 1
    assert db.session.get(PurchaseOrder, oid).lines[0].shipped_quantity == Decimal("1")


@pytest.mark.postgres
def test_ten_identical_second_shipments_of_a_partly_shipped_order_ship_once(app, bw):
    """Found by the model: a second partial shipment leaves the status as it was (partially shipped), and the
    order's version did not change, so identical posts all passed the check under the lock."""
    from portal.orders import shipping

    order = factories.order(bw.buyer, bw.supplier_a, bw.procurement, status="acknowledged",
                            lines=[("10", "2.50")])
    line_id = order.lines[0].id
    shipping.record_shipment(order, bw.sales_a, order.lock_version, {line_id: "2"})
    order = db.session.get(PurchaseOrder, order.id)
    assert order.status == OrderStatus.partially_shipped
    oid, version, actor_id = order.id, order.lock_version, bw.sales_a.id

    def work(i):
        return shipping.record_shipment(db.session.get(PurchaseOrder, oid), db.session.get(User, actor_id),
                                        version, {line_id: "1"}).number

    _one_winner(race(app, N, work))
    assert db.session.scalar(sa.select(sa.func.count(Shipment.id)).where(Shipment.order_id == oid)) == 2
    assert db.session.get(PurchaseOrder, oid).lines[0].shipped_quantity == Decimal("3")


@pytest.mark.postgres
def test_ten_identical_credit_hold_releases_release_once(app, bw):
    from portal.credit import services as credit

    order = factories.order(bw.buyer, bw.supplier_a, bw.procurement, status="credit_hold")
    oid, version, actor_id = order.id, order.lock_version, bw.accounts_a.id

    def work(i):
        return credit.release_hold(db.session.get(PurchaseOrder, oid), db.session.get(User, actor_id),
                                   "Known customer", expected_lock_version=version).status

    _one_winner(race(app, N, work))
    assert db.session.get(PurchaseOrder, oid).status == OrderStatus.placed


@pytest.mark.postgres
def test_ten_identical_api_payments_answer_one_201_and_409s(app, bw, issued_invoices, token_for):
    inv = issued_invoices[0]
    inv_id, version = inv.id, inv.lock_version
    headers = token_for(bw.accounts_a)
    body = {"amount": {"amount": "10.00", "currency": "EUR"}, "date": str(inv.issue_date), "lock_version": version}

    def work(i):
        return app.test_client().post(f"/api/v1/invoices/{inv_id}/payments", json=body, headers=headers).status_code

    codes = sorted(v for ok, v in race(app, N, work))
    assert codes == [201] + [409] * (N - 1)
    assert db.session.scalar(sa.select(sa.func.count(Payment.id)).where(Payment.invoice_id == inv_id)) == 1


@pytest.mark.postgres
def test_ten_identical_api_credit_notes_answer_one_201_and_409s(app, bw, issued_invoices, token_for):
    inv = issued_invoices[0]
    inv_id, version = inv.id, inv.lock_version
    headers = token_for(bw.accounts_a)
    body = {"invoice_id": inv_id, "reason": "Damaged", "reason_kind": "returned",
            "amount": {"amount": "5.00", "currency": "EUR"},
            "lock_version": version}

    def work(i):
        return app.test_client().post("/api/v1/credit-notes", json=body, headers=headers).status_code

    codes = sorted(v for ok, v in race(app, N, work))
    assert codes == [201] + [409] * (N - 1)
    assert db.session.scalar(sa.select(sa.func.count(Invoice.id)).where(Invoice.corrects_invoice_id == inv_id)) == 1


@pytest.mark.postgres
def test_ten_identical_rfq_edits_save_one(app, bw):
    from portal.rfq import services as rfq_services
    from portal.rfq.models import Rfq

    rfq = factories.rfq(bw.buyer, bw.procurement, status="draft")
    rid, version, actor_id = rfq.id, rfq.version, bw.procurement.id

    def work(i):
        return rfq_services.update_rfq(db.session.get(User, actor_id), rid, version=version,
                                       title=f"Pumps, take {i}").title

    title = _one_winner(race(app, N, work))
    assert db.session.get(Rfq, rid).title == title
    assert db.session.get(Rfq, rid).version == version + 1


@pytest.mark.postgres
def test_ten_identical_quote_withdrawals_withdraw_once(app, bw):
    from portal.audit.models import AuditEvent
    from portal.quotes import services as quote_services
    from portal.quotes.models import Quote

    rfq = factories.rfq(bw.buyer, bw.procurement, suppliers=[bw.supplier_a])
    quote = factories.quote(rfq, bw.supplier_a, bw.sales_a)
    qid, version, actor_id = quote.id, quote.lock_version, bw.sales_a.id

    def work(i):
        return quote_services.withdraw(db.session.get(Quote, qid), db.session.get(User, actor_id), "Price error",
                                       version).status

    _one_winner(race(app, N, work))
    assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id)).where(
        AuditEvent.entity_type == "quote", AuditEvent.entity_id == qid, AuditEvent.action.like("%withdr%"))) == 1


@pytest.mark.postgres
def test_a_double_click_on_record_payment_in_the_browser_records_one(app, bw, issued_invoices, login):
    inv = issued_invoices[0]
    inv_id = inv.id
    form = {"lock_version": str(inv.lock_version), "amount": "10.00", "paid_on": str(inv.issue_date),
            "reference": "", "submit": "Record payment"}
    clients = [login(bw.accounts_a) for _ in range(N)]

    def work(i):
        return clients[i].post(f"/invoices/{inv_id}/payments", data=form).status_code

    codes = sorted(v for ok, v in race(app, N, work))
    assert codes == [302] + [422] * (N - 1)  # one redirect to the invoice; the others see the sentence
    assert db.session.scalar(sa.select(sa.func.count(Payment.id)).where(Payment.invoice_id == inv_id)) == 1


@pytest.mark.postgres
def test_ten_clicks_on_issue_credit_note_in_the_browser_issue_one(app, bw, issued_invoices, login):
    inv = issued_invoices[0]
    inv_id = inv.id
    form = {"lock_version": str(inv.lock_version), "mode": "amount", "amount": "5.00", "tax_rate": "19",
            "reason": "Damaged box", "reason_kind": "returned", "submit": "Issue credit note"}
    clients = [login(bw.accounts_a) for _ in range(N)]

    def work(i):
        return clients[i].post(f"/invoices/{inv_id}/credit", data=form).status_code

    codes = sorted(v for ok, v in race(app, N, work))
    assert codes == [302] + [422] * (N - 1)
    assert db.session.scalar(sa.select(sa.func.count(Invoice.id)).where(Invoice.corrects_invoice_id == inv_id)) == 1
