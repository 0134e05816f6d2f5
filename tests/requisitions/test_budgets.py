"""Budgets: periods (no overlap), figures computed from the documents equal a from-scratch recomputation after a
sequence of documents, one statement for any number of budgets, warn/block, the owner's override, pages, CSV."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa

from portal.budgets import services as budgets
from portal.budgets.figures import figures_for, recompute
from portal.budgets.models import Budget
from portal.db import db, utcnow
from portal.errors import NotFound, ValidationFailed
from portal.requisitions import services
from portal.requisitions.states import RequisitionStatus as S
from tests import factories
from tests.requisitions.conftest import line, raise_req


def _budgets() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Budget))


def test_overlapping_period_refused_nothing_saved(rw):
    year = utcnow().year
    before = _budgets()
    with pytest.raises(ValidationFailed, match="overlaps"):
        budgets.save_budget(rw.buyer_admin, cost_centre_id=rw.cc.id, period_kind="quarter",
                            period_start=f"{year}-04-01", amount="100")
    assert _budgets() == before
    # another cost centre, or the next year, is fine
    budgets.save_budget(rw.buyer_admin, cost_centre_id=rw.cc2.id, period_kind="quarter",
                        period_start=f"{year}-04-01", amount="100")
    budgets.save_budget(rw.buyer_admin, cost_centre_id=rw.cc.id, period_kind="month",
                        period_start=f"{year + 1}-02-01", amount="100")
    b = db.session.scalar(sa.select(Budget).where(Budget.period_start == date(year + 1, 2, 1)))
    assert b.period_end == date(year + 1, 2, 28) or b.period_end == date(year + 1, 2, 29)


@pytest.mark.parametrize("kind,start,amount,message", [
    ("quarter", "2026-02-01", "10", "quarter"), ("year", "2026-03-01", "10", "1 January"),
    ("month", "2026-02-15", "10", "first day"), ("week", "2026-02-01", "10", "month, quarter or year"),
    ("month", "soon", "10", "YYYY-MM-DD"), ("month", "2030-02-01", "lots", "Amount"),
    ("month", "2030-02-01", "-5", "0 or more"),
])
def test_bad_budget_input_refused(rw, kind, start, amount, message):
    before = _budgets()
    with pytest.raises(ValidationFailed, match=message):
        budgets.save_budget(rw.buyer_admin, cost_centre_id=rw.cc.id, period_kind=kind, period_start=start,
                            amount=amount)
    assert _budgets() == before


def test_another_companys_cost_centre_or_budget_is_404(rw, login):
    other = factories.company("buyer")
    boss = factories.user(other, "admin")
    with pytest.raises(NotFound):
        budgets.save_budget(boss, cost_centre_id=rw.cc.id, period_kind="month", period_start="2031-01-01", amount="1")
    c = login(boss)
    assert c.post(f"/budgets/{rw.budget.id}/delete").status_code == 404
    assert c.get(f"/budgets/cost-centres?edit={rw.cc.id}").status_code == 404
    assert db.session.get(Budget, rw.budget.id) is not None


def _approve_invoice(w, order, qty):
    from portal.invoices import services as invoices
    from tests.invoices.conftest import ship

    sh = ship(order, {1: qty}, creator=w.sales_a)
    order = db.session.get(type(order), order.id)
    for ln in order.lines:  # goods receipt, so the invoice matches
        ln.accepted_quantity = ln.shipped_quantity
    db.session.commit()
    inv = invoices.create_draft(w.accounts_a, shipment_id=sh.id)
    inv = invoices.issue(inv, w.accounts_a, inv.lock_version)
    return invoices.approve_for_payment(inv, w.buyer_accounts, inv.lock_version)


def test_figures_equal_a_from_scratch_recomputation_after_a_sequence(rw, count_queries):
    from tests.invoices.conftest import IBAN

    rw.supplier_a.iban, rw.supplier_a.bic = IBAN, "COBADEFFXXX"
    db.session.commit()
    cid = rw.buyer.id

    def check():
        db.session.expire_all()
        rows = budgets.budgets_of(cid)
        with count_queries() as q:
            figs = figures_for(cid, "EUR", rows)
        assert q.count == 1
        assert {b: f.as_tuple() for b, f in figs.items()} == recompute(cid, "EUR", rows)
        return figs[rw.budget.id]

    assert check().as_tuple() == (0, 0, 0)
    # 1. an approved requisition commits
    a = raise_req(rw, line(qty="10", price="20", cc=rw.cc))
    services.decide(rw.owner, a.id, None, "approved")
    f = check()
    assert (f.committed_requisitions, f.available) == (Decimal("200.00"), Decimal("800.00"))
    # 2. a submitted (not approved) one does not; a rejected one neither
    b = raise_req(rw, line(qty="1", price="99", cc=rw.cc))
    assert check().committed == Decimal("200.00")
    services.decide(rw.owner, b.id, None, "rejected", comment="no")
    # 3. a sent order on the cost centre commits its open amount; a draft does not
    order = factories.order(rw.buyer, rw.supplier_a, rw.procurement, status="acknowledged", lines=[("10", "15.00")])
    order.lines[0].cost_centre_id = rw.cc.id
    draft = factories.order(rw.buyer, rw.supplier_a, rw.procurement, lines=[("5", "7.00")])
    draft.lines[0].cost_centre_id = rw.cc.id
    db.session.commit()
    f = check()
    assert f.committed_orders == Decimal("150.00")
    # 4. an approved invoice moves the billed part from committed to actual
    _approve_invoice(rw, order, "4")
    f = check()
    assert (f.committed_orders, f.actual) == (Decimal("90.00"), Decimal("60.00"))
    # 5. the requisition turned into a sent order stops committing as a requisition
    orders = None
    item = factories.catalog_item(rw.supplier_b, sku="GLV-1", price="2.00")
    c = raise_req(rw, line(desc="", sku="GLV-1", qty="50", price="", cc=rw.cc))
    services.decide(rw.owner, c.id, None, "approved")
    assert check().committed_requisitions == Decimal("300.00")
    orders = services.to_orders(rw.procurement, [c.id])
    from portal.orders.states import OrderStatus

    orders[0].status = OrderStatus.submitted
    db.session.commit()
    f = check()
    assert (f.committed_requisitions, f.committed_orders) == (Decimal("200.00"), Decimal("190.00"))
    # 6. a cancelled order and a cancelled requisition release their amounts
    order2 = db.session.get(type(orders[0]), orders[0].id)
    order2.status = OrderStatus.cancelled
    db.session.commit()
    services.cancel(rw.procurement, a.id, None, reason="bought elsewhere")
    f = check()
    # the requisition whose order was cancelled is back in sourcing: it commits as a requisition again
    assert db.session.get(type(c), c.id).status == S.sourcing
    assert (f.committed_requisitions, f.committed_orders, f.actual) == (Decimal("100.00"), Decimal("90.00"),
                                                                       Decimal("60.00"))
    assert f.available == Decimal("750.00")
    assert item is not None
    # 7. an order in USD counts converted with the rate valid on its send day, rounded per line; without a rate it
    #    is left out and named
    from datetime import timedelta

    from portal.budgets import rates

    usd = factories.order(rw.buyer, rw.supplier_a, rw.procurement, status="acknowledged", currency="USD",
                          lines=[("10", "20.00"), ("1", "0.05"), ("1", "0.05")])
    for ln in usd.lines:
        ln.cost_centre_id = rw.cc.id
    db.session.commit()
    f = check()
    assert f.committed_orders == Decimal("90.00") and f.left_out == {"USD": {("po", usd.id)}}
    today = utcnow().date()
    rates.add_rate(rw.buyer_admin, currency="USD", rate="2", valid_from=today + timedelta(days=1))  # not yet valid
    assert check().left_out == {"USD": {("po", usd.id)}}
    rates.add_rate(rw.buyer_admin, currency="USD", rate="1.5", valid_from=date(today.year, 1, 1))
    f = check()
    # 200 × 1.5 = 300; 0.05 × 1.5 = 0.075 → 0.08 per line, so 0.16 (not 0.15 for the two together)
    assert (f.committed_orders, f.left_out) == (Decimal("390.16"), {})
    # 8. an approved USD invoice on it: 4 × 20 USD billed → 120.00 actual, at the rate valid on the invoice date
    inv = _approve_invoice(rw, usd, "4")
    assert inv.currency == "USD"
    f = check()
    assert (f.committed_orders, f.actual) == (Decimal("270.16"), Decimal("180.00"))
    assert f.available == Decimal("1000.00") - Decimal("100.00") - Decimal("270.16") - Decimal("180.00")
    # the page's spend by cost centre converts the same way: 60.00 EUR + 80 USD × 1.5
    spend = budgets.spend_by(cid, "EUR", "cost_centre", date(today.year, 1, 1), today)
    assert [(r["code"], r["amount"], r["lines"]) for r in spend] == [("CC-100", Decimal("180.00"), 2)]


def test_block_mode_refuses_beyond_budget_unless_owner_overrides(rw):
    budgets.save_settings(rw.buyer_admin, cost_centre_required=False, budget_mode="block")
    a = raise_req(rw, line(qty="8", price="100", cc=rw.cc))
    services.decide(rw.owner, a.id, None, "approved")  # 800 of 1,000
    b = raise_req(rw, line(qty="3", price="100", cc=rw.cc))
    impact = services.budget_impact(b)
    assert impact.exceeded and impact.rows[0].available_after == Decimal("-100.00")
    with pytest.raises(ValidationFailed, match="budget would be exceeded"):
        services.decide(rw.owner, b.id, None, "approved")
    db.session.expire_all()
    b = db.session.get(type(b), b.id)
    assert b.status == S.submitted and b.approvals == []  # nothing saved
    b = services.decide(rw.owner, b.id, None, "approved", over_budget=True)
    assert b.status == S.approved and b.approvals[0].over_budget


def test_warn_mode_lets_it_through(rw):
    a = raise_req(rw, line(qty="11", price="100", cc=rw.cc))
    assert services.budget_impact(a).exceeded
    assert services.decide(rw.owner, a.id, None, "approved").status == S.approved


def test_budget_page_spend_dimensions_and_csv(rw, login):
    a = raise_req(rw, line(qty="2", price="50", cc=rw.cc))
    services.decide(rw.owner, a.id, None, "approved")
    c = login(rw.procurement)
    page = c.get("/budgets/").get_data(as_text=True)
    assert "CC-100" in page and 'data-testid="spend-gl"' in page
    csv_text = c.get("/budgets/export.csv").get_data(as_text=True)
    assert "CC-100" in csv_text and ",100.00," in csv_text and "900.00" in csv_text
    admin = login(rw.buyer_admin)
    for url in ("/budgets/cost-centres", "/budgets/gl-accounts", "/budgets/settings"):
        assert admin.get(url).status_code == 200
    assert c.get("/budgets/cost-centres").status_code == 403
    resp = admin.post("/budgets/", data={"cost_centre_id": rw.cc.id, "period_kind": "month",
                                         "period_start": f"{utcnow().year}-05-01", "amount": "10"})
    assert resp.status_code == 422 and "overlaps" in resp.get_data(as_text=True)
    resp = admin.post("/budgets/cost-centres", data={"code": "CC-300", "name": "IT", "owner_id": rw.owner.id,
                                                     "active": "1"})
    assert resp.status_code == 302, resp.get_data(as_text=True)[-3000:]
