"""Disputes: opened by the buyer's accounts (whole or a line), answered by the supplier, resolved by a credit note
or withdrawn; Invoice.disputed_at follows; the history is kept; others' disputes do not exist."""
from __future__ import annotations

from decimal import Decimal

import pytest

from portal.db import db
from portal.errors import Forbidden, InvalidTransition, NotFound, ValidationFailed
from portal.invoices import services as invoice_services
from portal.invoices.models import Invoice
from portal.notifications.models import Notification
from portal.payables import disputes, matching
from portal.payables.models import Dispute, MatchStatus
from portal.payables.states import DISPUTE_TRANSITIONS, DisputeStatus


def _notes_for(user):
    return [n.title for n in db.session.query(Notification).filter_by(user_id=user.id)]


def test_full_dispute_resolved_by_a_credit_note(pw, make_invoice):
    matching.save_settings(pw.buyer_accounts, price_tolerance_percent="1", price_tolerance_amount="10",
                           total_tolerance_percent="1", total_tolerance_amount="10", auto_approve=True)
    inv = make_invoice(approve=False, prices={2: "12.50"})  # 30.00 net over
    assert matching.run_match(inv.id).status == MatchStatus.exceptions
    line2 = inv.lines[1]
    d = disputes.open_dispute(inv, pw.buyer_accounts, reason="Price 12.50 instead of 12.00 as ordered",
                              invoice_line_id=line2.id)
    db.session.expire_all()
    inv = db.session.get(Invoice, inv.id)
    assert inv.disputed_at is not None and d.invoice_line_id == line2.id
    assert any("disputes line 2" in t for t in _notes_for(pw.accounts_a))

    disputes.answer(d, pw.accounts_a, text="Right, a credit note follows.")
    assert d.status == DisputeStatus.answered
    assert any("answered your dispute" in t for t in _notes_for(pw.buyer_accounts))

    inv = db.session.get(Invoice, inv.id)
    cn = invoice_services.create_credit_note(inv, pw.accounts_a, inv.lock_version, amount="30.00",
                                             reason="Price difference line 2", reason_kind="invoicing_error")
    d = db.session.get(Dispute, d.id)
    assert [c.id for c in disputes.credit_notes_for(d)] == [cn.id]
    disputes.resolve(d, pw.accounts_a, credit_note_id=cn.id, text="Credited.")
    db.session.expire_all()
    d = db.session.get(Dispute, d.id)
    inv = db.session.get(Invoice, inv.id)
    assert d.status == DisputeStatus.resolved and d.credit_note_id == cn.id and d.closed_at is not None
    assert inv.disputed_at is None
    assert [e.kind for e in d.events] == ["opened", "answered", "resolved"]
    # the credit covers the excess: matched "covered", approved automatically
    m = matching.match_for(inv)
    assert m.status == MatchStatus.covered and m.auto_approved and inv.approved_for_payment_at is not None
    assert inv.open_amount == inv.total_gross - Decimal("35.70")


def test_withdraw_clears_the_flag_and_keeps_history(pw, make_invoice):
    inv = make_invoice()
    d = disputes.open_dispute(inv, pw.buyer_accounts, reason="Not delivered?")
    disputes.answer(d, pw.accounts_a, text="Delivered on Monday, see the delivery note.")
    disputes.reply(d, pw.buyer_accounts, text="Found it.")
    assert d.status == DisputeStatus.open
    disputes.withdraw(d, pw.buyer_accounts, text="Goods found in the warehouse.")
    db.session.expire_all()
    d = db.session.get(Dispute, d.id)
    assert d.status == DisputeStatus.withdrawn and db.session.get(Invoice, inv.id).disputed_at is None
    assert [e.kind for e in d.events] == ["opened", "answered", "replied", "withdrawn"]
    with pytest.raises(InvalidTransition):
        disputes.answer(d, pw.accounts_a, text="late")
    # a new dispute may be opened afterwards
    d2 = disputes.open_dispute(db.session.get(Invoice, inv.id), pw.buyer_accounts, reason="Second thoughts")
    assert d2.id != d.id and len(disputes.disputes_of(inv)) == 2


def test_second_open_dispute_is_refused(pw, make_invoice):
    inv = make_invoice()
    disputes.open_dispute(inv, pw.buyer_accounts, reason="One")
    with pytest.raises(InvalidTransition, match="already disputed"):
        disputes.open_dispute(db.session.get(Invoice, inv.id), pw.buyer_accounts, reason="Two")
    assert db.session.query(Dispute).count() == 1


def test_bad_input_is_refused_with_a_sentence_and_nothing_saved(pw, make_invoice):
    inv = make_invoice()
    with pytest.raises(ValidationFailed, match="Say why"):
        disputes.open_dispute(inv, pw.buyer_accounts, reason="   ")
    with pytest.raises(ValidationFailed, match="not on this invoice"):
        disputes.open_dispute(inv, pw.buyer_accounts, reason="x", invoice_line_id=999999)
    with pytest.raises(ValidationFailed, match="under 2000"):
        disputes.open_dispute(inv, pw.buyer_accounts, reason="x" * 2001)
    assert db.session.query(Dispute).count() == 0
    assert db.session.get(Invoice, inv.id).disputed_at is None


def test_resolve_needs_a_credit_note_of_this_invoice(pw, make_invoice):
    inv = make_invoice()
    other = make_invoice()
    cn_other = invoice_services.create_credit_note(other, pw.accounts_a, other.lock_version, amount="1.00",
                                                   reason="x", reason_kind="other")
    d = disputes.open_dispute(inv, pw.buyer_accounts, reason="Price")
    with pytest.raises(ValidationFailed, match="credit note issued against"):
        disputes.resolve(d, pw.accounts_a, credit_note_id=cn_other.id)
    with pytest.raises(ValidationFailed):
        disputes.resolve(d, pw.accounts_a, credit_note_id=None)
    assert db.session.get(Dispute, d.id).status == DisputeStatus.open


def test_roles_and_tenancy(pw, make_invoice):
    inv = make_invoice()
    with pytest.raises(Forbidden):
        disputes.open_dispute(inv, pw.procurement, reason="x")
    with pytest.raises(NotFound):
        disputes.open_dispute(inv, pw.accounts_a, reason="x")  # the supplier does not dispute its own invoice
    with pytest.raises(NotFound):
        disputes.open_dispute(inv, pw.accounts_b, reason="x")
    d = disputes.open_dispute(inv, pw.buyer_accounts, reason="x")
    with pytest.raises(NotFound):
        disputes.answer(d, pw.accounts_b, text="not mine")
    with pytest.raises(NotFound):
        disputes.withdraw(d, pw.accounts_a)  # only the buyer withdraws
    assert disputes.list_disputes(pw.supplier_b.id) == []
    assert [x.id for x in disputes.list_disputes(pw.supplier_a.id)] == [d.id]


def test_credit_note_cannot_be_disputed(pw, make_invoice):
    inv = make_invoice()
    cn = invoice_services.create_credit_note(inv, pw.accounts_a, inv.lock_version, amount="1.00", reason="x",
                                             reason_kind="other")
    with pytest.raises(InvalidTransition):
        disputes.open_dispute(cn, pw.buyer_accounts, reason="x")


@pytest.mark.parametrize("start", list(DisputeStatus))
def test_transition_table_is_walked(start):
    from portal.payables.states import check_dispute

    for target in DisputeStatus:
        if target in DISPUTE_TRANSITIONS[start]:
            check_dispute(start, target)
        else:
            with pytest.raises(InvalidTransition):
                check_dispute(start, target)


def test_opening_a_dispute_is_in_both_companies_change_feeds(pw, make_invoice):
    """dispute.opened reaches the buyer's and the supplier's feed (and their webhooks), with the invoice."""
    from portal.events.models import Event

    inv = make_invoice()
    disputes.open_dispute(inv, pw.buyer_accounts, reason="Price differs from the order")
    rows = db.session.query(Event).filter_by(type="dispute.opened").all()
    assert sorted(e.company_id for e in rows) == sorted([inv.buyer_company_id, inv.supplier_company_id])
    assert {(e.resource_type, e.resource_id) for e in rows} == {("invoice", inv.id)}
