"""Remittance advices: sent per supplier when a run is executed (portal, mail, PDF), reconciled by the supplier in
one action into payments (discount as its own line, the invoice closed to the cent), refused on a mismatch."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from portal.db import db, utcnow
from portal.errors import Forbidden, InvalidTransition, NotFound, ValidationFailed
from portal.invoices.models import Invoice, Payment
from portal.invoices.states import InvoiceStatus
from portal.notifications.models import Notification
from portal.payables import matching, remittance, runs
from portal.payables.models import RemittanceAdvice, RemittanceStatus


def _executed_run(pw, invoices):
    run = runs.build_run(pw.buyer_accounts, invoice_ids=[i.id for i in invoices])
    run, _ = runs.approve_run(run, pw.accounts2)
    run, _ = runs.export_run(run, pw.accounts2)
    return runs.confirm_execution(run, pw.buyer_accounts, executed_on=utcnow().date())


def test_advice_lists_invoices_credit_notes_and_discounts_and_reconciles(pw, make_invoice):
    from portal.invoices import services as invoice_services

    matching.set_discount_terms(pw.buyer_accounts, pw.supplier_a.id, percent="2", days="10")
    a = make_invoice(issued_days_ago=2)
    b = make_invoice(issued_days_ago=20, due_in=-1)
    cn = invoice_services.create_credit_note(b, pw.accounts_a, b.lock_version, amount="100.00", reason="Damaged",
                                             reason_kind="other")
    run = _executed_run(pw, [a, b])
    [adv] = db.session.query(RemittanceAdvice).all()
    assert adv.supplier_company_id == pw.supplier_a.id and adv.status == RemittanceStatus.sent
    la, lb = adv.lines
    assert la["number"] == a.number and la["discount"] == "23.09" and la["paid"] == "1131.21"
    assert lb["credit_notes"] == [{"number": cn.number, "issue_date": cn.issue_date.isoformat(), "amount": "119.00"}]
    assert lb["discount"] == "0" or Decimal(lb["discount"]) == 0
    assert Decimal(lb["paid"]) == Decimal("1154.30") - Decimal("119.00")
    assert adv.amount == Decimal(la["paid"]) + Decimal(lb["paid"])
    assert any("Remittance advice" in n.title for n in db.session.query(Notification).filter_by(
        user_id=pw.accounts_a.id))
    # the buyer sees it, another supplier does not
    assert [x.id for x in remittance.list_advices(pw.buyer.id)] == [adv.id]
    assert remittance.list_advices(pw.supplier_b.id) == []

    with pytest.raises(NotFound):
        remittance.reconcile(adv, pw.buyer_accounts)  # the supplier confirms money arrived, not the buyer
    with pytest.raises(Forbidden):
        remittance.reconcile(adv, pw.sales_a)
    remittance.reconcile(adv, pw.accounts_a)
    db.session.expire_all()
    ia, ib = db.session.get(Invoice, a.id), db.session.get(Invoice, b.id)
    assert ia.status == InvoiceStatus.paid and ia.open_amount == 0
    assert ib.status == InvoiceStatus.paid and ib.open_amount == 0
    pays = db.session.query(Payment).filter_by(invoice_id=a.id).order_by(Payment.id).all()
    assert [(p.amount, p.reference[:13]) for p in pays] == [(Decimal("1131.21"), "Remittance PR"),
                                                           (Decimal("23.09"), "Cash discount")]
    assert db.session.get(RemittanceAdvice, adv.id).status == RemittanceStatus.reconciled
    with pytest.raises(InvalidTransition, match="reconciled"):
        remittance.reconcile(db.session.get(RemittanceAdvice, adv.id), pw.accounts_a)
    assert run.status.value == "executed"


def test_mismatch_is_shown_and_nothing_recorded(pw, make_invoice):
    from portal.invoices import services as invoice_services

    a, b = make_invoice(), make_invoice()
    _executed_run(pw, [a, b])
    ib = db.session.get(Invoice, b.id)
    invoice_services.record_payment(ib, pw.accounts_a, ib.lock_version, amount="10.00",
                                    paid_on=utcnow().date().isoformat())
    [adv] = db.session.query(RemittanceAdvice).all()
    rows = remittance.compare(adv)
    assert [r["ok"] for r in rows] == [True, False]
    assert Decimal(rows[1]["open_now"]) == Decimal(rows[1]["open"]) - Decimal("10.00")
    with pytest.raises(ValidationFailed, match="does not match your open items"):
        remittance.reconcile(adv, pw.accounts_a)
    db.session.expire_all()
    assert db.session.query(Payment).filter_by(invoice_id=a.id).count() == 0
    assert db.session.get(RemittanceAdvice, adv.id).status == RemittanceStatus.sent


def test_one_advice_per_supplier(pw, make_invoice):
    a = make_invoice(supplier="a")
    b = make_invoice(supplier="b")
    _executed_run(pw, [a, b])
    advs = db.session.query(RemittanceAdvice).order_by(RemittanceAdvice.supplier_company_id).all()
    assert [x.supplier_company_id for x in advs] == [pw.supplier_a.id, pw.supplier_b.id]
    assert [x.amount for x in advs] == [a.open_amount, b.open_amount]


def test_pdf_renders_from_the_snapshot(pw, make_invoice, run_jobs):
    from portal.documents.models import StoredFile
    from portal.documents.store import read_bytes

    _executed_run(pw, [make_invoice()])
    run_jobs(["documents"])
    db.session.expire_all()
    [adv] = db.session.query(RemittanceAdvice).all()
    data = read_bytes(db.session.get(StoredFile, adv.pdf_file_id))
    assert data.startswith(b"%PDF")


def test_execution_before_export_is_refused(pw, make_invoice):
    run = runs.build_run(pw.buyer_accounts, invoice_ids=[make_invoice().id])
    with pytest.raises(InvalidTransition, match="not been exported"):
        runs.confirm_execution(run, pw.buyer_accounts, executed_on=utcnow().date())
    run, _ = runs.approve_run(run, pw.accounts2)
    run, _ = runs.export_run(run, pw.accounts2)
    with pytest.raises(ValidationFailed, match="before it was exported"):
        runs.confirm_execution(run, pw.buyer_accounts, executed_on=utcnow().date() - timedelta(days=5))
    assert db.session.query(RemittanceAdvice).count() == 0
