"""Payment runs: selection by due date or ids, cash discounts, four eyes, the SEPA file (validated against the
ISO 20022 pain.001.001.09 XSD shipped with sepaxml), export once, execution, non-EUR apart, and every bad input
with a sentence and nothing half-saved."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from lxml import etree

from portal.db import db, utcnow
from portal.errors import Conflict, Forbidden, InvalidTransition, ValidationFailed
from portal.invoices.models import Invoice
from portal.payables import disputes, matching, runs, sepa
from portal.payables.models import ItemState, PaymentRun, PaymentRunItem
from portal.payables.states import RUN_TRANSITIONS, RunStatus

NS = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.001.001.09"}


def xsd_validate(data: bytes):
    schema = etree.XMLSchema(etree.parse(str(sepa.xsd_path())))
    doc = etree.fromstring(data)
    schema.assertValid(doc)
    return doc


def _today():
    return utcnow().date()


def test_run_by_due_date_with_a_cash_discount_exported_and_executed(pw, make_invoice, run_jobs):
    matching.set_discount_terms(pw.buyer_accounts, pw.supplier_a.id, percent="2", days="10")
    early = make_invoice(issued_days_ago=3)                # within 2 % 10 days; due in 27 days
    late = make_invoice(issued_days_ago=40, due_in=-10)    # overdue, discount window over
    later = make_invoice(issued_days_ago=0, due_in=60)     # discount until today+10: after due_by (today+8)
    not_approved = make_invoice(approve=False, due_in=-1)
    run = runs.build_run(pw.buyer_accounts, due_by=_today() + timedelta(days=8))
    inc = {i.invoice_id: i for i in run.included}
    assert set(inc) == {early.id, late.id}, "later (discount ends day 10 > due by) and unapproved stay out"
    assert later.id not in inc and not_approved.id not in inc
    # 2 % of 1,154.30 gross = 23.086 -> 23.09 (rounded by the one rule)
    assert early.total_gross == Decimal("1154.30")
    assert inc[early.id].discount_amount == Decimal("23.09") and inc[early.id].pay_amount == Decimal("1131.21")
    assert inc[late.id].discount_amount == 0 and inc[late.id].pay_amount == Decimal("1154.30")
    assert run.total_amount == Decimal("2285.51") and run.total_discount == Decimal("23.09")
    assert run.reference.startswith("PR-") and run.status == RunStatus.draft

    with pytest.raises(ValidationFailed, match="someone else must approve"):
        runs.approve_run(run, pw.buyer_accounts)
    with pytest.raises(InvalidTransition, match="must be approved"):
        runs.export_run(run, pw.accounts2)
    run, notes = runs.approve_run(run, pw.accounts2)
    assert run.status == RunStatus.approved and notes == []
    run, _ = runs.export_run(run, pw.accounts2)
    assert run.status == RunStatus.exported
    data = runs.sepa_bytes(run)
    doc = xsd_validate(data)
    assert doc.findtext(".//p:GrpHdr/p:NbOfTxs", namespaces=NS) == "1"  # one transfer per supplier
    assert doc.findtext(".//p:GrpHdr/p:CtrlSum", namespaces=NS) == "2285.51"
    assert doc.findtext(".//p:DbtrAcct/p:Id/p:IBAN", namespaces=NS) == pw.buyer.iban
    assert doc.findtext(".//p:DbtrAgt/p:FinInstnId/p:BICFI", namespaces=NS) == pw.buyer.bic
    tx = doc.find(".//p:CdtTrfTxInf", namespaces=NS)
    assert tx.findtext("p:Amt/p:InstdAmt", namespaces=NS) == "2285.51"
    assert tx.findtext("p:CdtrAcct/p:Id/p:IBAN", namespaces=NS) == pw.supplier_a.iban
    assert early.number in tx.findtext("p:RmtInf/p:Ustrd", namespaces=NS)
    assert runs.payment_state(early.id)[0] == "payment scheduled"

    with pytest.raises(InvalidTransition, match="exported once"):
        runs.export_run(run, pw.accounts2)
    with pytest.raises(ValidationFailed, match="future"):
        runs.confirm_execution(run, pw.buyer_accounts, executed_on=_today() + timedelta(days=1))
    runs.confirm_execution(run, pw.buyer_accounts, executed_on=_today())
    assert runs.payment_state(early.id)[0] == "paid"
    from portal.payables.models import RemittanceAdvice

    advices = db.session.query(RemittanceAdvice).all()
    assert len(advices) == 1 and advices[0].amount == Decimal("2285.51")
    assert advices[0].discount_total == Decimal("23.09")
    run_jobs(["documents"])
    db.session.expire_all()
    assert db.session.get(RemittanceAdvice, advices[0].id).pdf_file_id is not None


def test_non_eur_invoices_are_listed_apart(pw, make_invoice):
    eur = make_invoice(due_in=-1)
    usd = make_invoice(due_in=-1, currency="USD")
    run = runs.build_run(pw.buyer_accounts, due_by=_today())
    states = {i.invoice_id: i.state for i in run.items}
    assert states == {eur.id: ItemState.included, usd.id: ItemState.apart}
    assert run.total_amount == eur.open_amount
    run, _ = runs.approve_run(run, pw.accounts2)
    run, _ = runs.export_run(run, pw.accounts2)
    data = runs.sepa_bytes(run)
    xsd_validate(data)
    assert b"USD" not in data and usd.number.encode() not in data
    # the USD invoice is free for another (manual) payment: not claimed
    assert runs.payment_state(usd.id) is None


def test_run_by_ids_drops_paid_and_disputed_with_sentences(pw, make_invoice):
    ok = make_invoice()
    disputed = make_invoice()
    disputes.open_dispute(disputed, pw.buyer_accounts, reason="Price")
    unapproved = make_invoice(approve=False)
    run = runs.build_run(pw.buyer_accounts, invoice_ids=[ok.id, disputed.id, unapproved.id])
    by = {i.invoice_id: i for i in run.items}
    assert by[ok.id].state == ItemState.included
    assert by[disputed.id].state == ItemState.dropped and "disputed" in by[disputed.id].note
    assert by[unapproved.id].state == ItemState.dropped and "not approved" in by[unapproved.id].note


def test_invoice_disputed_or_paid_after_building_is_dropped_at_approval(pw, make_invoice):
    from portal.invoices import services as invoice_services

    a, b, c = make_invoice(), make_invoice(), make_invoice()
    run = runs.build_run(pw.buyer_accounts, invoice_ids=[a.id, b.id, c.id])
    disputes.open_dispute(db.session.get(Invoice, b.id), pw.buyer_accounts, reason="Damaged")
    inv_c = db.session.get(Invoice, c.id)
    invoice_services.record_payment(inv_c, pw.accounts_a, inv_c.lock_version, amount="100.00",
                                    paid_on=_today().isoformat())
    run, notes = runs.approve_run(db.session.get(PaymentRun, run.id), pw.accounts2)
    assert len(notes) == 2 and any("disputed" in n for n in notes) and any("changed since" in n for n in notes)
    assert [i.invoice_id for i in run.included] == [a.id]
    assert run.total_amount == a.open_amount
    run, _ = runs.export_run(run, pw.accounts2)
    doc = xsd_validate(runs.sepa_bytes(run))
    assert doc.findtext(".//p:GrpHdr/p:CtrlSum", namespaces=NS) == f"{a.open_amount:.2f}"


def test_dispute_after_export_is_refused(pw, make_invoice):
    a = make_invoice()
    run = runs.build_run(pw.buyer_accounts, invoice_ids=[a.id])
    run, _ = runs.approve_run(run, pw.accounts2)
    runs.export_run(run, pw.accounts2)
    with pytest.raises(InvalidTransition, match="already sent to the bank"):
        disputes.open_dispute(db.session.get(Invoice, a.id), pw.buyer_accounts, reason="late")


def test_an_invoice_is_in_one_run_at_a_time(pw, make_invoice):
    a = make_invoice()
    run1 = runs.build_run(pw.buyer_accounts, invoice_ids=[a.id])
    with pytest.raises(Conflict, match=f"already in payment run {run1.reference}"):
        runs.build_run(pw.buyer_accounts, invoice_ids=[a.id])
    assert db.session.query(PaymentRun).count() == 1
    # by due date it is simply not selected
    with pytest.raises(ValidationFailed, match="No approved, undisputed invoice"):
        runs.build_run(pw.buyer_accounts, due_by=_today() + timedelta(days=60))
    # cancelling releases it
    runs.cancel_run(run1, pw.accounts2)
    run2 = runs.build_run(pw.buyer_accounts, invoice_ids=[a.id])
    assert [i.invoice_id for i in run2.included] == [a.id]


@pytest.mark.parametrize("iban,bic,words", [
    (None, "BYLADEM1001", "no IBAN"),
    ("DE02120300000000202052", "BYLADEM1001", "is not valid"),
    ("DE02120300000000202051", None, "no BIC"),
    ("DE02120300000000202051", "XX", "BIC XX is not valid"),
])
def test_buyer_without_valid_iban_or_bic_cannot_build_a_run(pw, make_invoice, iban, bic, words):
    a = make_invoice()
    pw.buyer.iban, pw.buyer.bic = iban, bic
    db.session.commit()
    with pytest.raises(ValidationFailed) as exc:
        runs.build_run(pw.buyer_accounts, invoice_ids=[a.id])
    assert words in exc.value.message and "Company settings" in exc.value.message
    assert db.session.query(PaymentRun).count() == 0


def test_supplier_without_valid_iban_is_dropped_with_a_sentence(pw, make_invoice):
    a = make_invoice()
    pw.supplier_a.iban = "DE00123"
    db.session.commit()
    with pytest.raises(ValidationFailed, match="no valid IBAN"):
        runs.build_run(pw.buyer_accounts, invoice_ids=[a.id])
    assert db.session.query(PaymentRun).count() == 0


def test_other_bad_input(pw, make_invoice):
    a = make_invoice()
    with pytest.raises(ValidationFailed, match="either a due-by date or a list"):
        runs.build_run(pw.buyer_accounts)
    with pytest.raises(ValidationFailed, match="either"):
        runs.build_run(pw.buyer_accounts, due_by=_today(), invoice_ids=[a.id])
    with pytest.raises(ValidationFailed, match="enter a date"):
        runs.build_run(pw.buyer_accounts, due_by="31/12/2026")
    with pytest.raises(ValidationFailed, match="in the past"):
        runs.build_run(pw.buyer_accounts, invoice_ids=[a.id], execution_date=_today() - timedelta(days=1))
    with pytest.raises(ValidationFailed, match="No such invoice"):
        runs.build_run(pw.buyer_accounts, invoice_ids=[a.id, 2_000_000])
    with pytest.raises(ValidationFailed, match="not an invoice id"):
        runs.build_run(pw.buyer_accounts, invoice_ids=["x"])
    with pytest.raises(Forbidden):
        runs.build_run(pw.procurement, invoice_ids=[a.id])
    assert db.session.query(PaymentRun).count() == 0 and db.session.query(PaymentRunItem).count() == 0


def test_another_buyers_invoice_is_unknown(pw, make_invoice):
    from tests import factories

    a = make_invoice()
    other = factories.company("buyer", name="Other Buyer AG")
    other.iban, other.bic = "DE89370400440532013000", "COBADEFFXXX"
    acct = factories.user(other, "accounts", email="acct@other.test")
    db.session.commit()
    with pytest.raises(ValidationFailed, match="No such invoice"):
        runs.build_run(acct, invoice_ids=[a.id])
    run = runs.build_run(pw.buyer_accounts, invoice_ids=[a.id])
    from portal.errors import NotFound

    with pytest.raises(NotFound):
        runs.load(run.id, other.id)


def test_discount_never_makes_an_amount_negative(pw, make_invoice):
    from types import SimpleNamespace

    inv = SimpleNamespace(issue_date=_today(), total_gross=Decimal("100.00"), credited_amount=Decimal("99.50"),
                          open_amount=Decimal("0.01"), currency="EUR")
    terms = SimpleNamespace(discount_percent=Decimal(20), discount_days=10)
    disc, pct, until = runs.discount_for(inv, terms, _today())
    assert disc == Decimal("0.01") and inv.open_amount - disc == 0  # 20 % of 0.50 = 0.10, capped at 0.01
    disc, _, _ = runs.discount_for(inv, terms, _today() + timedelta(days=11))
    assert disc == 0


def test_statements_per_run_do_not_grow_with_invoices(pw, make_invoice, count_queries):
    def build(n):
        ids = [make_invoice().id for _ in range(n)]
        db.session.expire_all()
        with count_queries() as q:
            run = runs.build_run(pw.buyer_accounts, invoice_ids=ids)
        runs.cancel_run(run, pw.accounts2)
        return q.count

    assert build(2) == build(6)


@pytest.mark.parametrize("start", list(RunStatus))
def test_run_transition_table_is_walked(start):
    from portal.payables.states import check_run

    for target in RunStatus:
        if target in RUN_TRANSITIONS[start]:
            check_run(start, target)
        else:
            with pytest.raises(InvalidTransition):
                check_run(start, target)


def test_a_file_that_does_not_validate_is_refused():
    from lxml.etree import DocumentInvalid

    doc = (b'<?xml version="1.0" encoding="UTF-8"?><Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.001.001.09">'
           b"<CstmrCdtTrfInitn><GrpHdr><MsgId>x</MsgId></GrpHdr></CstmrCdtTrfInitn></Document>")
    with pytest.raises(DocumentInvalid):
        sepa.validate_xml(doc)
