"""Matching with tolerances: price, quantity and total; auto-approval; settings refused when negative or absurd."""
from __future__ import annotations

from decimal import Decimal

import pytest

from portal.db import db
from portal.errors import ValidationFailed
from portal.payables import matching
from portal.payables.models import InvoiceMatch, MatchStatus


def _settings(pw, **kw):
    values = dict(price_tolerance_percent="2", price_tolerance_amount="50", quantity_tolerance_percent="0",
                  total_tolerance_percent="2", total_tolerance_amount="100", auto_approve=True)
    values.update(kw)
    return matching.save_settings(pw.buyer_accounts, **values)


def test_exact_invoice_matches_and_is_approved_automatically_by_the_job(pw, make_invoice, run_jobs):
    _settings(pw)
    inv = make_invoice(approve=False)
    run_jobs()
    db.session.expire_all()
    m = db.session.get(InvoiceMatch, inv.id)
    assert m.status == MatchStatus.matched and m.exceptions == [] and m.auto_approved
    assert db.session.get(type(inv), inv.id).approved_for_payment_at is not None


def test_without_auto_approve_a_match_is_not_approved(pw, make_invoice):
    _settings(pw, auto_approve=False)
    inv = make_invoice(approve=False)
    m = matching.run_match(inv.id)
    assert m.status == MatchStatus.matched and not m.auto_approved
    assert db.session.get(type(inv), inv.id).approved_for_payment_at is None


def test_price_within_percent_and_amount_is_matched(pw, make_invoice):
    _settings(pw)
    # line 1: 100 × 2.55 instead of 2.50: +2 %, 5.00 over -> within 2 % and 50
    inv = make_invoice(approve=False, prices={1: "2.55"})
    m = matching.run_match(inv.id)
    assert m.status == MatchStatus.matched, m.exceptions


def test_price_outside_percent_lists_the_figures(pw, make_invoice):
    _settings(pw)
    inv = make_invoice(approve=False, prices={2: "12.50"})  # +4.17 %, 60 × 0.50 = 30.00 over
    m = matching.run_match(inv.id)
    assert m.status == MatchStatus.exceptions and not m.auto_approved
    price = [e for e in m.exceptions if e["kind"] == "price"]
    assert len(price) == 1
    e = price[0]
    assert e["position"] == 2 and e["order_price"] == "12" and e["invoice_price"] == "12.5"
    assert e["difference"] == "30" and e["difference_percent"] == "4.17"
    assert e["ordered"] == "60" and e["received"] == "60" and e["invoiced"] == "60"
    assert "2 %" in e["tolerance"] and "50" in e["tolerance"]
    assert db.session.get(type(inv), inv.id).approved_for_payment_at is None


def test_price_within_percent_but_over_the_amount_is_an_exception(pw, make_invoice):
    _settings(pw, price_tolerance_amount="20", total_tolerance_amount="1000")
    # 1000 × 10.10 instead of 10.00: +1 %, but 100.00 over (more than 20)
    inv = make_invoice(approve=False, lines=(("1000", "10.00"),), prices={1: "10.10"})
    m = matching.run_match(inv.id)
    assert [e["kind"] for e in m.exceptions] == ["price"]


def test_lower_price_is_never_an_exception(pw, make_invoice):
    _settings(pw, price_tolerance_percent="0", price_tolerance_amount="0", total_tolerance_percent="0",
              total_tolerance_amount="0")
    inv = make_invoice(approve=False, prices={1: "2.00"})
    assert matching.run_match(inv.id).status == MatchStatus.matched


def test_exact_settings_refuse_a_cent(pw, make_invoice):
    _settings(pw, price_tolerance_percent="0", price_tolerance_amount="0", total_tolerance_percent="0",
              total_tolerance_amount="0")
    inv = make_invoice(approve=False, lines=(("1", "10.00"),), prices={1: "10.01"})
    m = matching.run_match(inv.id)
    assert {e["kind"] for e in m.exceptions} == {"price", "total"}


def test_quantity_invoiced_beyond_received_is_an_exception(pw, make_invoice):
    from portal.orders.models import Shipment
    from tests.invoices.conftest import receive

    _settings(pw, quantity_tolerance_percent="5")
    inv = make_invoice(approve=False, receive_first=False)
    sh = db.session.get(Shipment, inv.shipment_id)
    receive(sh, {1: "90", 2: "60"})  # 100 invoiced, 90 accepted: 11 % over, tolerance 5 %
    m = matching.run_match(inv.id)
    q = [e for e in m.exceptions if e["kind"] == "quantity"]
    assert len(q) == 1 and q[0]["position"] == 1
    assert (q[0]["ordered"], q[0]["received"], q[0]["invoiced"]) == ("100", "90", "100")
    assert m.status == MatchStatus.exceptions


def test_quantity_within_tolerance(pw, make_invoice):
    from portal.orders.models import Shipment
    from tests.invoices.conftest import receive

    _settings(pw, quantity_tolerance_percent="5")
    inv = make_invoice(approve=False, receive_first=False)
    receive(db.session.get(Shipment, inv.shipment_id), {1: "96", 2: "60"})  # 4.2 % over
    assert matching.run_match(inv.id).status == MatchStatus.matched


def test_total_tolerance_catches_many_small_differences(pw, make_invoice):
    # each line within 2 %/50, but the total tolerance is 1.00
    _settings(pw, total_tolerance_percent="2", total_tolerance_amount="1")
    inv = make_invoice(approve=False, prices={1: "2.52", 2: "12.10"})  # 2.00 + 6.00 = 8.00 over
    m = matching.run_match(inv.id)
    assert [e["kind"] for e in m.exceptions] == ["total"]
    assert m.exceptions[0]["difference"] == "8"


def test_disputed_invoice_is_not_approved_automatically(pw, make_invoice):
    from portal.payables import disputes

    _settings(pw, auto_approve=False)
    inv = make_invoice(approve=False)
    disputes.open_dispute(inv, pw.buyer_accounts, reason="Wrong delivery address")
    _settings(pw, auto_approve=True)
    m = matching.run_match(inv.id)
    assert m.status == MatchStatus.matched and not m.auto_approved


@pytest.mark.parametrize("field,value,words", [
    ("price_tolerance_percent", "-1", "cannot be negative"),
    ("price_tolerance_percent", "75", "beyond reason"),
    ("quantity_tolerance_percent", "51", "beyond reason"),
    ("total_tolerance_amount", "-0.01", "cannot be negative"),
    ("price_tolerance_amount", "1000000", "beyond reason"),
    ("total_tolerance_percent", "abc", "not a number"),
    ("price_tolerance_percent", "NaN", ""),
])
def test_negative_or_absurd_tolerances_are_refused(pw, field, value, words):
    _settings(pw)
    with pytest.raises(ValidationFailed) as exc:
        _settings(pw, **{field: value})
    assert words in exc.value.message
    db.session.expire_all()
    s = matching.settings_for(pw.buyer.id)
    assert s.price_tolerance_percent == Decimal(2) and s.total_tolerance_amount == Decimal(100)


def test_only_accounts_set_tolerances(pw):
    from portal.errors import Forbidden

    with pytest.raises(Forbidden):
        matching.save_settings(pw.procurement, price_tolerance_percent="1")


def test_stale_settings_form_is_refused(pw):
    from portal.errors import Conflict

    s = _settings(pw)
    v = s.lock_version
    matching.save_settings(pw.buyer_accounts, v, price_tolerance_percent="3")
    with pytest.raises(Conflict):
        matching.save_settings(pw.buyer_accounts, v, price_tolerance_percent="4")


def test_cash_discount_terms_validated(pw):
    t = matching.set_discount_terms(pw.buyer_accounts, pw.supplier_a.id, percent="2", days="10")
    assert t.discount_percent == Decimal(2) and t.discount_days == 10
    with pytest.raises(ValidationFailed):
        matching.set_discount_terms(pw.buyer_accounts, pw.supplier_a.id, percent="-2", days="10")
    with pytest.raises(ValidationFailed):
        matching.set_discount_terms(pw.buyer_accounts, pw.supplier_a.id, percent="30", days="10")
    with pytest.raises(ValidationFailed):
        matching.set_discount_terms(pw.buyer_accounts, pw.supplier_a.id, percent="2", days="0")
    assert matching.set_discount_terms(pw.buyer_accounts, pw.supplier_a.id, percent="", days="") is None
    assert matching.discount_terms(pw.buyer.id) == []


def test_manual_approval_honours_the_tolerances(pw, make_invoice):
    from portal.invoices.models import Invoice

    _settings(pw, auto_approve=False)
    within = make_invoice(approve=False, prices={1: "2.55"})  # +2 %: within
    outside = make_invoice(approve=False, prices={2: "12.50"})
    matching.approve(within, pw.buyer_accounts)
    assert db.session.get(Invoice, within.id).approved_for_payment_at is not None
    with pytest.raises(ValidationFailed, match="does not match"):
        matching.approve(outside, pw.buyer_accounts)
    assert db.session.get(Invoice, outside.id).approved_for_payment_at is None
    matching.approve(db.session.get(Invoice, outside.id), pw.buyer_accounts, despite_mismatches=True,
                     comment="Agreed by phone")
    assert db.session.get(Invoice, outside.id).approved_for_payment_at is not None
