"""The budget check of purchase orders (portal/budgets/orders.py): warn sends and records, block holds the order for
the cost-centre owner's approval over budget, an owner who is no approver decides over budget without counting for
the amount rules, an order line from an approved requisition line is not counted twice, another company's order is
404, the order page and the API show the impact."""
from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa

from portal.audit.models import AuditEvent
from portal.budgets import services as budgets
from portal.budgets.figures import figures_for, recompute
from portal.budgets.models import OrderBudgetOverride
from portal.budgets.orders import order_impact
from portal.db import db
from portal.errors import Forbidden, ValidationFailed
from portal.orders import approvals
from portal.orders import services as orders
from portal.orders.models import ApprovalRule, PurchaseOrder
from portal.orders.states import OrderStatus as S
from tests import factories
from tests.requisitions.conftest import impact_statements, line, raise_req


@pytest.fixture
def token_for():
    from portal.api.auth import create_token

    def _make(user, name="test"):
        _, raw = create_token(user, name)
        return {"Authorization": f"Bearer {raw}"}

    return _make


def _order(w, amount: str, cc=None, currency="EUR") -> PurchaseOrder:
    """A draft order of one line of ``amount`` on cost centre ``cc`` (default: the budgeted CC-100)."""
    o = factories.order(w.buyer, w.supplier_a, w.procurement, lines=[("1", amount)], currency=currency)
    o.lines[0].cost_centre_id = (cc or w.cc).id
    db.session.commit()
    return o


def _submit(w, order):
    order = db.session.get(PurchaseOrder, order.id)
    return orders.submit(order, w.procurement, order.lock_version)


def _decide(order, user, decision, **kw):
    order = db.session.get(PurchaseOrder, order.id)
    return approvals.decide(order, user, order.lock_version, decision, **kw)


def _events(order, action) -> list[AuditEvent]:
    return list(db.session.scalars(sa.select(AuditEvent).where(AuditEvent.entity_type == "order",
                                                               AuditEvent.entity_id == order.id,
                                                               AuditEvent.action == action)))


def _figures(w):
    db.session.expire_all()
    rows = budgets.budgets_of(w.buyer.id)
    figs = figures_for(w.buyer.id, "EUR", rows)
    assert {b: f.as_tuple() for b, f in figs.items()} == recompute(w.buyer.id, "EUR", rows)
    return figs[w.budget.id]


def _block(w):
    budgets.save_settings(w.buyer_admin, cost_centre_required=False, budget_mode="block")


def test_impact_per_cost_centre_before_submitting(rw):
    _order(rw, "300.00")
    sent = _order(rw, "250.00")
    _submit(rw, sent)  # 250 committed: 750 left
    draft = _order(rw, "900.00")
    imp = order_impact(draft)
    [row] = imp.rows
    assert (row.amount, row.counted, row.net) == (Decimal("900.00"), 0, Decimal("900.00"))
    assert row.figures.available == Decimal("750.00") and row.available_after == Decimal("-150.00")
    assert row.exceeds and imp.exceeded == [row] and imp.mode.value == "warn"


def test_warn_sends_over_budget_and_records_it(rw):
    order = _submit(rw, _order(rw, "1200.00"))
    assert order.status == S.submitted and order.sent_at is not None
    [ev] = _events(order, "over_budget")
    assert "warns" in ev.detail and "CC-100 has €1,000.00 available, this order needs €1,200.00" in ev.detail
    assert _figures(rw).available == Decimal("-200.00")


def test_block_fits_is_sent(rw):
    _block(rw)
    order = _submit(rw, _order(rw, "1000.00"))  # exactly the budget
    assert order.status == S.submitted and not _events(order, "budget_hold")
    assert _figures(rw).available == Decimal("0.00")


def test_block_holds_for_the_owner_who_approves_over_budget(rw):
    _block(rw)
    _submit(rw, _order(rw, "700.00"))
    order = _submit(rw, _order(rw, "400.00"))  # 700 + 400 > 1,000
    assert order.status == S.awaiting_approval and order.sent_at is None
    assert "CC-100 has €300.00 available, this order needs €400.00" in order.budget_held
    assert rw.owner.name in order.budget_held
    [hold] = _events(order, "budget_hold")
    assert "waits for the cost-centre owner" in hold.detail
    from portal.notifications.models import Notification

    assert db.session.scalar(sa.select(sa.func.count()).select_from(Notification).where(
        Notification.user_id == rw.owner.id, Notification.link == f"/orders/{order.id}")) == 1
    assert _figures(rw).committed_orders == Decimal("700.00")  # the held order commits nothing
    # another approver's approval does not let it through: it stays held
    order = _decide(order, rw.approver, "approved")
    assert order.status == S.awaiting_approval and order.budget_held
    # only the owner approves over budget, and must say so explicitly
    with pytest.raises(ValidationFailed, match="Only the owner of a cost centre"):
        _decide(order, rw.owner2, "approved", over_budget=True)
    order = _decide(order, rw.owner, "approved")  # a plain approval (the owner is an approver too): still held
    assert order.status == S.awaiting_approval and order.budget_held
    with pytest.raises(ValidationFailed, match="tick 'approve over budget'"):
        _decide(order, rw.owner, "approved")
    order = _decide(order, rw.owner, "approved", over_budget=True)
    assert order.status == S.submitted and order.sent_at is not None
    [override] = db.session.scalars(sa.select(OrderBudgetOverride).where(OrderBudgetOverride.order_id == order.id))
    assert (override.cost_centre_id, override.approver_id) == (rw.cc.id, rw.owner.id)
    assert _events(order, "over_budget_approved") and "owner's approval" in _events(order, "over_budget")[0].detail
    assert _figures(rw).available == Decimal("-100.00")


def test_an_override_of_an_earlier_round_does_not_count(rw):
    _block(rw)
    _submit(rw, _order(rw, "700.00"))
    order = _submit(rw, _order(rw, "400.00"))
    # the owner approves over budget, but an approval rule added meanwhile needs one more approval; then the
    # approver rejects: the round ends, the resubmitted order is held again.
    db.session.add(ApprovalRule(buyer_company_id=rw.buyer.id, threshold=Decimal("100"), currency="EUR",
                                approvals_required=2))
    db.session.commit()
    order = _decide(order, rw.owner, "approved", over_budget=True)
    assert order.status == S.awaiting_approval
    order = _decide(order, rw.approver, "rejected", comment="no")
    assert order.status == S.draft
    db.session.execute(sa.delete(ApprovalRule))
    db.session.commit()
    order = _submit(rw, order)
    assert order.status == S.awaiting_approval and order.budget_held


def test_owner_without_approver_role_decides_over_budget_only(rw, login):
    _block(rw)
    boss = factories.user(rw.buyer, "requester", email="boss@acme.test")
    rw.cc.owner_id = boss.id
    db.session.add(ApprovalRule(buyer_company_id=rw.buyer.id, threshold=Decimal("100"), currency="EUR",
                                approvals_required=1))
    db.session.commit()
    order = _submit(rw, _order(rw, "1500.00"))
    assert order.status == S.awaiting_approval  # the amount rule first; the budget is checked when it completes
    order = db.session.get(PurchaseOrder, order.id)
    assert approvals.can_decide(order, boss) is None
    page = login(boss).get(f"/orders/{order.id}").get_data(as_text=True)
    assert 'name="over_budget"' in page and 'data-testid="order-budget-impact"' in page
    assert 'data-testid="waiting-for-owner"' in page and "CC-100 (" in page and boss.name in page
    with pytest.raises(ValidationFailed, match="tick"):
        _decide(order, boss, "approved")
    order = _decide(order, boss, "approved", over_budget=True)
    assert order.status == S.awaiting_approval  # the owner's decision is no approval of the amount rule
    [override] = db.session.scalars(sa.select(OrderBudgetOverride).where(OrderBudgetOverride.order_id == order.id))
    assert override.counts_as_approval is False
    assert approvals.can_decide(db.session.get(PurchaseOrder, order.id), boss) is not None  # decided already
    order = _decide(order, rw.approver, "approved")
    assert order.status == S.submitted
    # a person who owns nothing on the order and is no approver still may not decide
    with pytest.raises(Forbidden):
        other = _submit(rw, _order(rw, "200.00"))
        _decide(other, rw.engineer, "approved")


def test_an_order_line_from_an_approved_requisition_is_not_counted_twice(rw):
    from portal.requisitions import services as reqs

    _block(rw)
    factories.catalog_item(rw.supplier_b, sku="GLV-1", price="2.00")
    req = raise_req(rw, line(desc="", sku="GLV-1", qty="300", price="", cc=rw.cc))
    reqs.decide(rw.owner, req.id, None, "approved")
    assert _figures(rw).committed_requisitions == Decimal("600.00")
    other = _order(rw, "500.00")  # 600 + 500 > 1,000: refused even though the requisition is not ordered yet
    assert _submit(rw, other).status == S.awaiting_approval
    [order] = reqs.to_orders(rw.procurement, [req.id])
    [row] = order_impact(db.session.get(PurchaseOrder, order.id)).rows
    assert (row.amount, row.counted, row.net) == (Decimal("600.00"), Decimal("600.00"), Decimal("0.00"))
    assert not row.exceeds and row.available_after == Decimal("400.00")
    order = _submit(rw, order)
    assert order.status == S.submitted
    f = _figures(rw)
    assert (f.committed_requisitions, f.committed_orders, f.available) == (0, Decimal("600.00"), Decimal("400.00"))


def test_order_in_another_currency_counts_in_no_budget(rw):
    _block(rw)
    order = _order(rw, "5000.00", currency="USD")
    imp = order_impact(order)
    assert not imp.counted and imp.rows[0].figures is None and not imp.exceeded
    assert _submit(rw, order).status == S.submitted


def test_order_page_shows_the_impact_in_red_before_submitting(rw, login):
    _block(rw)
    order = _order(rw, "1100.00")
    page = login(rw.procurement).get(f"/orders/{order.id}").get_data(as_text=True)
    assert 'data-testid="order-budget-impact"' in page and "text-danger" in page
    assert "-€100.00" in page or "−€100.00" in page
    assert "holds such orders until the cost-centre owner approves" in page
    resp = login(rw.procurement).post(f"/orders/{order.id}/submit", data={"lock_version": order.lock_version},
                                      follow_redirects=True)
    assert "waits for the cost-centre owner" in resp.get_data(as_text=True)
    # the supplier never sees the buyer's budgets
    assert 'order-budget-impact' not in login(rw.sales_a).get(f"/orders/{order.id}").get_data(as_text=True)


def test_api_budget_impact_and_over_budget_approval(rw, token_for, client):
    _block(rw)
    _submit(rw, _order(rw, "700.00"))
    order = _submit(rw, _order(rw, "400.00"))
    body = client.get(f"/api/v1/orders/{order.id}/budget-impact", headers=token_for(rw.procurement)).get_json()
    assert body["budget_mode"] == "block" and body["counted"] and not body["sent"]
    assert body["waiting_for_owners"] == [rw.cc.id]
    [row] = body["rows"]
    assert row["available"]["amount"] == "300.00" and row["available_after"]["amount"] == "-100.00"
    assert row["this_order"]["amount"] == "400.00" and row["exceeds"] is True
    resp = client.post(f"/api/v1/orders/{order.id}/approve", headers=token_for(rw.owner),
                       json={"decision": "approved", "over_budget": True})
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["status"] == "submitted"
    body = client.get(f"/api/v1/orders/{order.id}/budget-impact", headers=token_for(rw.procurement)).get_json()
    assert body["sent"] and body["rows"] == []


def test_another_companys_order_is_404(rw, token_for, client):
    order = _order(rw, "100.00")
    other = factories.company("buyer")
    boss = factories.user(other, "admin")
    assert client.get(f"/api/v1/orders/{order.id}/budget-impact", headers=token_for(boss)).status_code == 404
    assert client.get("/api/v1/orders/2147483647/budget-impact", headers=token_for(rw.procurement)).status_code == 404
    # the supplier of the order (even a sent one) never sees the buyer's budgets
    _submit(rw, order)
    assert client.get(f"/api/v1/orders/{order.id}/budget-impact", headers=token_for(rw.sales_a)).status_code == 404


def test_the_impact_takes_a_fixed_number_of_statements(rw, count_queries):
    small = _order(rw, "10.00")
    big = factories.order(rw.buyer, rw.supplier_a, rw.procurement, lines=[("1", "5.00")] * 12)
    for i, ln in enumerate(big.lines):
        ln.cost_centre_id = (rw.cc, rw.cc2, rw.cc)[i % 3].id
    db.session.commit()
    counts, imp, q = impact_statements(count_queries, (small, big))
    # settings, cost centres, budgets, figures, requisition lines, and the owners' roles (loaded with the
    # cost centres and with the budgets' cost centres)
    assert counts[0] == counts[1] == 7, (counts, [s[:90] for s in q.statements])
    assert [r.cost_centre.code for r in imp.rows] == ["CC-100", "CC-200"]
    assert imp.rows[0].amount == Decimal("40.00") and imp.rows[1].figures is None  # CC-200 has no budget
