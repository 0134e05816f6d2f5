"""Core invoicing rules: drafts from shipments, issue, numbers, totals, immutability, credit notes, payments."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from portal.db import db, utcnow
from portal.errors import Conflict, InvalidTransition, ValidationFailed
from portal.invoices import services
from portal.invoices.models import DocumentKind, Invoice, InvoiceLine, InvoiceSettings, Payment
from portal.invoices.states import InvoiceStatus
from tests import factories
from tests.invoices.conftest import draft_for, issued_for, ship

YEAR = utcnow().year


def test_draft_is_prefilled_with_uninvoiced_shipped_quantities(shipped, iw):
    order, sh = shipped
    inv = draft_for(iw, shipment=sh)
    assert inv.status == InvoiceStatus.draft and inv.number is None and inv.sequence is None
    assert [(ln.quantity, ln.unit_price) for ln in inv.lines] == [(Decimal("100"), Decimal("2.50")),
                                                                 (Decimal("60"), Decimal("12.00"))]
    assert inv.buyer_reference == order.po_number and inv.order_id == order.id and inv.shipment_id == sh.id


def test_invoicing_more_than_shipped_minus_invoiced_is_refused(shipped, iw):
    order, sh = shipped
    issued_for(iw, shipment=sh, edits={order.lines[1].id: {"quantity": "20"}})
    # 60 shipped, 20 invoiced: the next draft proposes 40 and refuses 41
    with pytest.raises(ValidationFailed) as exc:
        draft_for(iw, order=order, edits={order.lines[1].id: {"quantity": "41"}})
    assert exc.value.message == "You can invoice at most 40 pcs of line 2 (60 shipped, 20 already invoiced)."
    assert db.session.scalar(sa.select(sa.func.count(Invoice.id))) == 1  # nothing partially saved
    inv = draft_for(iw, order=order)
    assert [ln.quantity for ln in inv.lines] == [Decimal("40")]  # line 1 fully invoiced already


def test_issue_checks_quantities_again(shipped, iw):
    order, sh = shipped
    a = draft_for(iw, shipment=sh)
    b = draft_for(iw, shipment=sh)  # a second draft for the same goods
    services.issue(a, iw.accounts_a, a.lock_version)
    with pytest.raises(ValidationFailed, match="You can invoice at most 0 pcs of line 1"):
        services.issue(b, iw.accounts_a, b.lock_version)
    db.session.refresh(b)
    assert b.status == InvoiceStatus.draft and b.number is None


def test_totals_rounding_rule():
    inv = Invoice(currency="EUR")
    inv.lines = [InvoiceLine(quantity=Decimal("3"), unit_price=Decimal("0.3333"), discount_percent=Decimal("0"),
                             tax_rate=Decimal("19")),
                 InvoiceLine(quantity=Decimal("7"), unit_price=Decimal("1.005"), discount_percent=Decimal("10"),
                             tax_rate=Decimal("19")),
                 InvoiceLine(quantity=Decimal("1"), unit_price=Decimal("0.05"), discount_percent=Decimal("0"),
                             tax_rate=Decimal("7"))]
    breakdown = services.compute_totals(inv)
    assert [ln.net_amount for ln in inv.lines] == [Decimal("1.00"), Decimal("6.33"), Decimal("0.05")]
    assert breakdown == [{"rate": Decimal("19.00"), "net": Decimal("7.33"), "tax": Decimal("1.39")},
                         {"rate": Decimal("7.00"), "net": Decimal("0.05"), "tax": Decimal("0.00")}]
    assert (inv.total_net, inv.total_tax, inv.total_gross) == (Decimal("7.38"), Decimal("1.39"), Decimal("8.77"))


def test_issue_assigns_number_snapshot_due_date_and_pdf_job(shipped, iw):
    order, sh = shipped
    inv = issued_for(iw, shipment=sh)
    assert inv.number == f"INV-{YEAR}-000001" and inv.sequence == 1 and inv.status == InvoiceStatus.issued
    assert inv.total_net == Decimal("970.00") and inv.total_tax == Decimal("184.30")
    assert inv.total_gross == Decimal("1154.30")
    assert inv.due_date == inv.issue_date + timedelta(days=order.payment_terms_days)
    snap = inv.snapshot
    assert snap["number"] == inv.number and snap["total_gross"] == "1154.30"
    assert snap["seller"]["iban"] == "DE89370400440532013000" and snap["buyer"]["vat_number"] == "DE129273398"
    assert snap["buyer_reference"] == order.po_number and snap["shipment"]["number"] == sh.number
    assert snap["tax_breakdown"] == [{"rate": "19.00", "net": "970.00", "tax": "184.30", "category": "S"}]
    assert inv.pdf_job_id is not None
    second = issued_for(iw, order=factories.order(iw.buyer, iw.supplier_a, iw.procurement, status="acknowledged")
                        and ship(factories.order(iw.buyer, iw.supplier_a, iw.procurement, status="acknowledged"),
                                 {1: "1"}).order)
    assert second.number == f"INV-{YEAR}-000002"


def test_reverse_charge_between_eu_countries(iw):
    iw.buyer.country = "AT"
    iw.buyer.vat_number = "ATU12345675"
    db.session.commit()
    o = factories.order(iw.buyer, iw.supplier_a, iw.procurement, status="acknowledged")
    ship(o, {1: "100", 2: "40"})
    inv = issued_for(iw, order=o)
    assert inv.reverse_charge and inv.total_tax == 0 and all(ln.tax_rate == 0 for ln in inv.lines)
    assert inv.snapshot["reverse_charge_note"] == services.REVERSE_CHARGE_NOTE
    assert "Art. 196 Directive 2006/112/EC" in services.REVERSE_CHARGE_NOTE


def test_no_reverse_charge_in_same_country_or_without_vat_number(iw):
    assert not services.reverse_charge_applies(iw.supplier_a, iw.buyer)
    iw.buyer.country = "FR"
    iw.buyer.vat_number = None
    assert not services.reverse_charge_applies(iw.supplier_a, iw.buyer)


def test_invalid_iban_refuses_issue_and_consumes_no_number(shipped, iw):
    order, sh = shipped
    inv = draft_for(iw, shipment=sh)
    iw.supplier_a.iban = "DE00123"
    db.session.commit()
    with pytest.raises(ValidationFailed, match="company profile"):
        services.issue(inv, iw.accounts_a, inv.lock_version)
    inv = db.session.get(Invoice, inv.id)
    assert inv.status == InvoiceStatus.draft and inv.number is None
    iw.supplier_a.iban = None
    db.session.commit()
    with pytest.raises(ValidationFailed, match="no valid IBAN"):
        services.issue(inv, iw.accounts_a, inv.lock_version)
    iw.supplier_a.iban = "DE89370400440532013000"
    db.session.commit()
    assert services.issue(inv, iw.accounts_a, inv.lock_version).number == f"INV-{YEAR}-000001"


def test_failed_issue_leaves_no_gap(shipped, iw, monkeypatch):
    order, sh = shipped
    half = {order.lines[0].id: {"quantity": "10"}, order.lines[1].id: {"quantity": "30"}}
    a = draft_for(iw, shipment=sh, edits=half)
    b = draft_for(iw, order=order, edits=half)
    real = services.build_snapshot

    def boom(*args, **kw):
        raise RuntimeError("snapshot builder broke after the number was drawn")

    monkeypatch.setattr(services, "build_snapshot", boom)
    with pytest.raises(RuntimeError):
        services.issue(a, iw.accounts_a, a.lock_version)
    monkeypatch.setattr(services, "build_snapshot", real)
    b = db.session.get(Invoice, b.id)
    assert services.issue(b, iw.accounts_a, b.lock_version).number == f"INV-{YEAR}-000001"
    a = db.session.get(Invoice, a.id)
    assert a.status == InvoiceStatus.draft
    assert services.issue(a, iw.accounts_a, a.lock_version).number == f"INV-{YEAR}-000002"


def test_stale_form_is_refused(shipped, iw):
    order, sh = shipped
    inv = draft_for(iw, shipment=sh)
    stale = inv.lock_version
    services.update_draft(inv, iw.accounts_a, stale, {order.lines[0].id: {"discount_percent": "5"}})
    with pytest.raises(Conflict):
        services.issue(inv, iw.accounts_a, stale)
    with pytest.raises(Conflict):
        services.record_payment(services.issue(inv, iw.accounts_a, inv.lock_version), iw.accounts_a, stale,
                                amount="1", paid_on=utcnow().date())


def test_draft_edit_discount_and_tax(shipped, iw):
    order, sh = shipped
    inv = draft_for(iw, shipment=sh)
    services.update_draft(inv, iw.accounts_a, inv.lock_version,
                          {order.lines[0].id: {"quantity": "50", "discount_percent": "10", "tax_rate": "7"}})
    assert inv.lines[0].net_amount == Decimal("112.50") and inv.total_tax == Decimal("7.88") + Decimal("136.80")
    with pytest.raises(ValidationFailed, match="at most 100 pcs of line 1"):
        services.update_draft(inv, iw.accounts_a, inv.lock_version, {order.lines[0].id: {"quantity": "101"}})
    with pytest.raises(ValidationFailed, match="discount"):
        services.update_draft(inv, iw.accounts_a, inv.lock_version, {order.lines[0].id: {"discount_percent": "120"}})


# --------------------------------------------------------------------------------------------- immutability

def test_direct_orm_edit_of_issued_total_raises(shipped, iw):
    order, sh = shipped
    inv = issued_for(iw, shipment=sh)
    inv.total_gross = Decimal("1.00")
    with pytest.raises(services.ImmutableInvoice, match="cannot be changed"):
        db.session.flush()
    db.session.rollback()
    inv = db.session.get(Invoice, inv.id)
    assert inv.total_gross == Decimal("1154.30")


@pytest.mark.parametrize("change", ["number", "buyer", "issue_date", "snapshot", "line", "add_line"])
def test_frozen_fields_of_issued_invoice(shipped, iw, change):
    order, sh = shipped
    inv = issued_for(iw, shipment=sh)
    if change == "number":
        inv.number = "INV-X"
    elif change == "buyer":
        inv.buyer_company_id = iw.supplier_b.id
    elif change == "issue_date":
        inv.issue_date = inv.issue_date - timedelta(days=3)
    elif change == "snapshot":
        inv.snapshot = {**inv.snapshot, "total_gross": "1"}
    elif change == "line":
        inv.lines[0].quantity = Decimal("1")
    else:
        inv.lines.append(InvoiceLine(position=9, description="x", quantity=Decimal(1), unit_price=Decimal(1),
                                     tax_rate=Decimal(0), net_amount=Decimal(1)))
    with pytest.raises(services.ImmutableInvoice):
        db.session.commit()
    db.session.rollback()


def test_issued_invoice_cannot_be_deleted(shipped, iw):
    order, sh = shipped
    inv = issued_for(iw, shipment=sh)
    with pytest.raises(InvalidTransition, match="never deleted"):
        services.delete_draft(inv, iw.accounts_a, inv.lock_version)
    db.session.delete(inv)
    with pytest.raises(services.ImmutableInvoice, match="deleted"):
        db.session.flush()
    db.session.rollback()
    assert db.session.get(Invoice, inv.id) is not None
    with pytest.raises(InvalidTransition, match="credit note"):
        services.update_draft(db.session.get(Invoice, inv.id), iw.accounts_a, inv.lock_version, {})


def test_allowed_changes_on_issued_invoice(shipped, iw):
    order, sh = shipped
    inv = issued_for(iw, shipment=sh)
    inv.approved_for_payment_at = utcnow()
    inv.pdf_file_id = None
    db.session.commit()


def test_draft_can_be_deleted(shipped, iw):
    order, sh = shipped
    inv = draft_for(iw, shipment=sh)
    services.delete_draft(inv, iw.accounts_a, inv.lock_version)
    assert db.session.scalar(sa.select(sa.func.count(Invoice.id))) == 0


# --------------------------------------------------------------------------------------------- payments

def test_partial_then_full_payment(shipped, iw):
    order, sh = shipped
    inv = issued_for(iw, shipment=sh)
    today = utcnow().date()
    services.record_payment(inv, iw.accounts_a, inv.lock_version, amount="154.30", paid_on=today, reference="T1")
    assert inv.status == InvoiceStatus.partially_paid and inv.open_amount == Decimal("1000.00")
    services.record_payment(inv, iw.accounts_a, inv.lock_version, amount="1000", paid_on=today.isoformat())
    assert inv.status == InvoiceStatus.paid and inv.open_amount == 0
    with pytest.raises(InvalidTransition, match="nothing left to pay"):
        services.record_payment(inv, iw.accounts_a, inv.lock_version, amount="1", paid_on=today)


def test_overpayment_refused_with_sentence(iw):
    o = factories.order(iw.buyer, iw.supplier_a, iw.procurement, status="acknowledged", lines=[("100", "10.00")])
    ship(o, {1: "100"})
    inv = issued_for(iw, order=o)
    assert inv.total_gross == Decimal("1190.00")
    with pytest.raises(ValidationFailed) as exc:
        services.record_payment(inv, iw.accounts_a, inv.lock_version, amount="1200", paid_on=utcnow().date())
    assert exc.value.message == "The open amount is 1,190.00 EUR; a payment of 1,200.00 EUR would overpay it."
    assert db.session.scalar(sa.select(sa.func.count(Payment.id))) == 0


@pytest.mark.parametrize("amount,paid_on,message", [
    ("0", None, "above 0"), ("-5", None, "above 0"), ("abc", None, "not a number"), ("1.234", None, "decimals"),
    ("10", "tomorrow", "in the future"), ("10", "31/12/2026", "enter a date"),
])
def test_bad_payments(shipped, iw, amount, paid_on, message):
    order, sh = shipped
    inv = issued_for(iw, shipment=sh)
    day = {None: utcnow().date(), "tomorrow": utcnow().date() + timedelta(days=1)}.get(paid_on, paid_on)
    with pytest.raises(ValidationFailed, match=message):
        services.record_payment(inv, iw.accounts_a, inv.lock_version, amount=amount, paid_on=day)
    assert db.session.get(Invoice, inv.id).paid_amount == 0


def test_buyer_cannot_record_payment(shipped, iw):
    order, sh = shipped
    inv = issued_for(iw, shipment=sh)
    with pytest.raises(Exception):
        services.record_payment(inv, iw.buyer_accounts, inv.lock_version, amount="1", paid_on=utcnow().date())


# --------------------------------------------------------------------------------------------- credit notes

def test_credit_note_by_quantity(shipped, iw):
    order, sh = shipped
    inv = issued_for(iw, shipment=sh)
    cn = services.create_credit_note(inv, iw.accounts_a, inv.lock_version, reason_kind="invoicing_error",
                                     quantities={inv.lines[1].id: "10"}, reason="10 invoiced twice")
    assert cn.kind == DocumentKind.credit_note and cn.number == f"CRN-{YEAR}-000001"
    assert cn.corrects_invoice_id == inv.id and cn.total_gross == Decimal("142.80")
    inv = db.session.get(Invoice, inv.id)
    assert inv.credited_amount == Decimal("142.80") and inv.open_amount == Decimal("1011.50")
    assert cn.snapshot["corrects"]["number"] == inv.number
    # a credit for an invoicing mistake: its quantity can be invoiced again (60 shipped, 50 net invoiced)
    again = draft_for(iw, order=order)
    assert [ln.quantity for ln in again.lines] == [Decimal("10")]
    with pytest.raises(ValidationFailed, match="at most 50 pcs of line 2"):
        services.create_credit_note(inv, iw.accounts_a, inv.lock_version, quantities={inv.lines[1].id: "51"},
                                    reason="x", reason_kind="returned")


def test_credit_note_by_amount_and_larger_than_open_refused(shipped, iw):
    order, sh = shipped
    inv = issued_for(iw, shipment=sh)
    services.record_payment(inv, iw.accounts_a, inv.lock_version, amount="1000", paid_on=utcnow().date())
    with pytest.raises(ValidationFailed) as exc:
        services.create_credit_note(inv, iw.accounts_a, inv.lock_version, amount="150", reason="goodwill", reason_kind="other")
    assert "open amount of invoice" in exc.value.message and "154.30 EUR" in exc.value.message
    assert db.session.scalar(sa.select(sa.func.count(Invoice.id)).where(Invoice.kind == DocumentKind.credit_note)) == 0
    cn = services.create_credit_note(inv, iw.accounts_a, inv.lock_version, amount="129.66", reason="goodwill",
                                     reason_kind="other")
    assert cn.total_gross == Decimal("154.30")
    inv = db.session.get(Invoice, inv.id)
    assert inv.open_amount == 0 and inv.status == InvoiceStatus.paid


def test_credit_note_needs_reason_and_issued_invoice(shipped, iw):
    order, sh = shipped
    inv = draft_for(iw, shipment=sh)
    with pytest.raises(InvalidTransition):
        services.create_credit_note(inv, iw.accounts_a, inv.lock_version, amount="1", reason="x", reason_kind="other")
    services.issue(inv, iw.accounts_a, inv.lock_version)
    with pytest.raises(ValidationFailed, match="reason"):
        services.create_credit_note(inv, iw.accounts_a, inv.lock_version, amount="1", reason=" ", reason_kind="other")


# --------------------------------------------------------------------------------------------- figures, ledger

def test_unpaid_total_and_overdue_count(shipped, iw):
    order, sh = shipped
    inv = issued_for(iw, shipment=sh)
    assert services.unpaid_invoices_total(iw.supplier_a.id, iw.buyer.id, "EUR") == Decimal("1154.30")
    assert services.unpaid_invoices_total(iw.supplier_a.id, iw.buyer.id, "USD") == 0
    assert services.overdue_invoices_count(iw.supplier_a.id, iw.buyer.id) == 0
    db.session.execute(sa.update(Invoice).where(Invoice.id == inv.id)
                       .values(due_date=utcnow().date() - timedelta(days=1)))
    db.session.commit()
    assert services.overdue_invoices_count(iw.supplier_a.id, iw.buyer.id) == 1
    services.record_payment(db.session.get(Invoice, inv.id), iw.accounts_a, inv.lock_version, amount="154.30",
                            paid_on=utcnow().date())
    assert services.unpaid_invoices_total(iw.supplier_a.id, iw.buyer.id, "EUR") == Decimal("1000.00")


def test_credit_reservation_converted_when_order_fully_invoiced(iw):
    from portal.credit.models import CreditReservation, ReservationStatus

    o = factories.order(iw.buyer, iw.supplier_a, iw.procurement, status="acknowledged")
    db.session.add(CreditReservation(supplier_company_id=iw.supplier_a.id, buyer_company_id=iw.buyer.id,
                                     order_id=o.id, amount=o.total_net, currency="EUR"))
    db.session.commit()
    sh1 = ship(o, {1: "50"})
    issued_for(iw, shipment=sh1)
    res = db.session.scalar(sa.select(CreditReservation))
    assert res.status == ReservationStatus.reserved
    # The invoiced part is exposure in unpaid invoices now, not in the reservation as well (no double count).
    first = db.session.scalar(sa.select(Invoice).where(Invoice.shipment_id == sh1.id))
    assert res.amount == o.total_net - first.total_net
    sh2 = ship(o, {1: "50", 2: "40"})
    issued_for(iw, shipment=sh2)
    db.session.refresh(res)
    assert res.status == ReservationStatus.converted


# --------------------------------------------------------------------------------------------- auto-issue, reminders

def test_auto_issue_on_shipment_is_idempotent(shipped, iw):
    from portal.invoices.jobs import on_shipment_recorded

    order, sh = shipped
    assert on_shipment_recorded(sh.id) is None  # no settings: nothing happens
    db.session.add(InvoiceSettings(supplier_company_id=iw.supplier_a.id, auto_issue=True))
    db.session.commit()
    first = on_shipment_recorded(sh.id)
    assert first and on_shipment_recorded(sh.id) is None
    invs = db.session.scalars(sa.select(Invoice)).all()
    assert len(invs) == 1 and invs[0].status == InvoiceStatus.issued and invs[0].shipment_id == sh.id


def test_overdue_reminders_once_per_stage(shipped, iw):
    """The reminder stages are dunning levels now (portal.receivables.dunning; more in tests/receivables)."""
    from portal.notifications.models import Notification
    from portal.receivables.dunning import run_dunning

    order, sh = shipped
    inv = issued_for(iw, shipment=sh)
    db.session.add(InvoiceSettings(supplier_company_id=iw.supplier_a.id, reminder_days="3,14,30"))
    db.session.execute(sa.update(Invoice).where(Invoice.id == inv.id)
                       .values(due_date=utcnow().date() - timedelta(days=2)))
    db.session.commit()
    assert run_dunning() == 0  # 2 days late: no stage yet
    db.session.execute(sa.update(Invoice).where(Invoice.id == inv.id)
                       .values(due_date=utcnow().date() - timedelta(days=15)))
    db.session.commit()
    before = db.session.scalar(sa.select(sa.func.count(Notification.id)))
    assert run_dunning() == 1
    assert run_dunning() == 0  # second run: nothing
    notes = db.session.scalars(sa.select(Notification).where(Notification.kind == "invoice-reminder")).all()
    assert {n.user_id for n in notes} == {iw.buyer_accounts.id, iw.accounts_a.id}
    assert db.session.scalar(sa.select(sa.func.count(Notification.id))) == before + 2
    today = utcnow().date()
    assert run_dunning(today + timedelta(days=16)) == 1  # the 30-day stage, once
    assert run_dunning(today + timedelta(days=16)) == 0
