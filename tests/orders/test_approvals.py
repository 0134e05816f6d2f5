"""Approval rules and decisions: tiers, sequence, own orders, twice, rejection back to draft, concurrency."""
from __future__ import annotations

import threading
from decimal import Decimal

import pytest
import sqlalchemy as sa

from portal.db import db
from portal.errors import Conflict, Forbidden, InvalidTransition, ValidationFailed
from portal.orders import approvals, services
from portal.orders.models import ApprovalRule, OrderApproval
from portal.orders.states import OrderStatus as S
from tests import factories
from tests.accounts.helpers import count, fresh, text
from tests.orders.conftest import post


def _queued(app, queue="credit"):
    from rq import Queue

    from portal.jobs.queue import namespace

    # the portal's own job ids, without this installation's namespace (portal.jobs.queue.rq_id)
    return [i.removeprefix(namespace() + "__") for i in Queue(queue, connection=app.extensions["portal_redis"]).job_ids]


def _submit(order, user):
    return services.submit(order, user, fresh(order).lock_version)


@pytest.mark.parametrize("total,required", [("9999.99", 0), ("10000.00", 0), ("10000.01", 1), ("100000.00", 1),
                                            ("100000.01", 2)])
def test_tiers_on_total(world, rules, order_in, total, required):
    o = order_in(lines=[("1", total)])
    assert approvals.required_approvals(o) == required


def test_other_currency_needs_the_highest_tier(world, rules):
    o = factories.order(world.buyer, world.supplier_a, world.procurement, lines=[("1", "5")], currency="USD")
    assert approvals.required_approvals(o) == 2


def test_no_rule_submits_and_queues_the_credit_check(app, world, order_in):
    o = order_in(lines=[("1", "50000")])
    _submit(o, world.procurement)
    o = fresh(o)
    assert o.status == S.submitted and o.submitted_by_id == world.procurement.id and o.submitted_at
    assert f"credit-check-{o.id}" in _queued(app)


def test_rule_sends_to_approval_and_notifies_approvers(app, world, rules, order_in):
    from portal.notifications.models import Notification

    o = order_in(lines=[("1", "20000")])
    _submit(o, world.procurement)
    assert fresh(o).status == S.awaiting_approval
    assert _queued(app) == []
    assert count(Notification, Notification.user_id == world.approver.id) == 1


def test_one_approval_then_submitted(app, world, rules, order_in):
    o = order_in(lines=[("1", "20000")])
    _submit(o, world.procurement)
    approvals.decide(o, world.approver, fresh(o).lock_version, "approved", "ok")
    assert fresh(o).status == S.submitted
    assert f"credit-check-{o.id}" in _queued(app)


def test_two_approvals_in_sequence_by_different_people(app, world, rules, order_in):
    second = factories.user(world.buyer, "approver")
    o = order_in(lines=[("1", "150000")])
    _submit(o, world.procurement)
    approvals.decide(o, world.approver, fresh(o).lock_version, "approved")
    assert fresh(o).status == S.awaiting_approval and _queued(app) == []
    with pytest.raises(Forbidden, match="already approved"):
        approvals.decide(o, world.approver, fresh(o).lock_version, "approved")
    approvals.decide(o, second, fresh(o).lock_version, "approved")
    o = fresh(o)
    assert o.status == S.submitted and [a.step for a in o.approvals] == [1, 2]


def test_nobody_approves_their_own_order(world, rules):
    boss = factories.user(world.buyer, "procurement", "approver")
    o = factories.order(world.buyer, world.supplier_a, boss, lines=[("1", "20000")])
    _submit(o, boss)
    with pytest.raises(Forbidden, match="created or submitted"):
        approvals.decide(o, boss, fresh(o).lock_version, "approved")
    # ...nor one they submitted for someone else
    o2 = factories.order(world.buyer, world.supplier_a, world.procurement, lines=[("1", "20000")])
    _submit(o2, boss)
    with pytest.raises(Forbidden):
        approvals.decide(o2, boss, fresh(o2).lock_version, "approved")
    assert count(OrderApproval) == 0


def test_reject_needs_a_comment_and_returns_to_draft(world, rules, order_in, login):
    o = order_in(lines=[("1", "20000")])
    _submit(o, world.procurement)
    with pytest.raises(ValidationFailed, match="Say why"):
        approvals.decide(o, world.approver, fresh(o).lock_version, "rejected", "  ")
    assert fresh(o).status == S.awaiting_approval and count(OrderApproval) == 0
    approvals.decide(o, world.approver, fresh(o).lock_version, "rejected", "Split it by quarter")
    assert fresh(o).status == S.draft
    page = text(login(world.procurement).get(f"/orders/{o.id}"))
    assert "Split it by quarter" in page
    # a new round after resubmitting: the same approver may approve now
    _submit(o, world.procurement)
    approvals.decide(o, world.approver, fresh(o).lock_version, "approved")
    o = fresh(o)
    assert o.status == S.submitted and [(a.step, a.decision) for a in o.approvals] == [(1, "rejected"), (2, "approved")]


def test_non_approver_and_supplier_cannot_decide(world, rules, order_in, login):
    o = order_in(lines=[("1", "20000")])
    _submit(o, world.procurement)
    with pytest.raises(Forbidden):
        approvals.decide(o, world.procurement2, fresh(o).lock_version, "approved")
    # the supplier does not even see an order awaiting approval
    assert post(login(world.sales_a), f"/orders/{o.id}/decide", o, decision="approve").status_code == 404


def test_cannot_approve_outside_awaiting_approval(world, rules, order_in):
    o = order_in(lines=[("1", "20000")])
    with pytest.raises(InvalidTransition):
        approvals.decide(o, world.approver, fresh(o).lock_version, "approved")


def test_approval_views_queue_and_buttons(world, rules, order_in, login):
    o = order_in(lines=[("1", "20000")])
    _submit(o, world.procurement)
    c = login(world.approver)
    q = text(c.get("/orders/approvals"))
    assert o.po_number in q
    assert "Approve" in text(c.get(f"/orders/{o.id}"))
    r = post(c, f"/orders/{o.id}/decide", o, decision="approve", comment="fine")
    assert r.status_code == 302 and fresh(o).status == S.submitted
    assert "Nothing is waiting for your approval" in text(c.get("/orders/approvals"))
    assert login(world.procurement).get("/orders/approvals").status_code == 403


def test_approving_twice_via_the_page_is_refused(world, rules, order_in, login):
    factories.user(world.buyer, "approver")
    o = order_in(lines=[("1", "150000")])
    _submit(o, world.procurement)
    c = login(world.approver)
    post(c, f"/orders/{o.id}/decide", o, decision="approve")
    r = post(c, f"/orders/{o.id}/decide", o, decision="approve")
    assert r.status_code == 403
    assert count(OrderApproval) == 1


# --------------------------------------------------------------------------------------------- rules admin

def test_rules_admin(world, login):
    factories.user(world.buyer, "approver")  # a rule of 2 approvals needs 2 active approvers
    c = login(world.buyer_admin)
    assert c.get("/orders/approval-rules").status_code == 200
    r = c.post("/orders/approval-rules", data={"threshold": "10000", "approvals_required": "1", "currency": "EUR"})
    assert r.status_code == 302
    c.post("/orders/approval-rules", data={"threshold": "10000", "approvals_required": "2", "currency": "EUR"})
    rules = db.session.scalars(sa.select(ApprovalRule)).all()
    assert [(r.threshold, r.approvals_required) for r in rules] == [(Decimal("10000.00"), 2)]
    for bad in ({"threshold": "-1", "approvals_required": "1"}, {"threshold": "abc", "approvals_required": "1"},
                {"threshold": "5", "approvals_required": "9"}):
        resp = c.post("/orders/approval-rules", data={**bad, "currency": "EUR"})
        assert resp.status_code == 422
    assert count(ApprovalRule) == 1
    rid = rules[0].id
    assert c.post(f"/orders/approval-rules/{rid}/delete").status_code == 302
    assert count(ApprovalRule) == 0


def test_rules_admin_only(world, login):
    assert login(world.procurement).get("/orders/approval-rules").status_code == 403
    assert login(world.admin_a).get("/orders/approval-rules").status_code == 403
    other = factories.company("buyer")
    db.session.add(ApprovalRule(buyer_company_id=other.id, threshold=Decimal("5"), currency="EUR"))
    db.session.commit()
    rid = db.session.scalar(sa.select(ApprovalRule.id))
    assert login(world.buyer_admin).post(f"/orders/approval-rules/{rid}/delete").status_code == 404


# --------------------------------------------------------------------------------------------- concurrency

@pytest.mark.postgres
def test_two_approvers_at_once_fill_one_step(app, world, rules, order_in):
    """One approval needed, two approvers click at the same moment: exactly one approval row, one winner."""
    from portal.accounts.models import User

    second = factories.user(world.buyer, "approver")
    o = order_in(lines=[("1", "20000")])
    _submit(o, world.procurement)
    version = fresh(o).lock_version
    barrier = threading.Barrier(2)
    results = {}

    def run(uid):
        with app.app_context():
            user = db.session.get(User, uid)
            order = db.session.get(type(o), o.id)
            barrier.wait()
            try:
                approvals.decide(order, user, version, "approved")
                results[uid] = "ok"
            except (Conflict, InvalidTransition, Forbidden) as exc:
                results[uid] = type(exc).__name__
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(u.id,)) for u in (world.approver, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(results.values()).count("ok") == 1, results
    assert count(OrderApproval) == 1
    assert fresh(o).status == S.submitted


@pytest.mark.postgres
def test_two_approvers_at_once_two_steps(app, world, rules, order_in):
    """Two approvals needed: simultaneous clicks never produce two rows for one step."""
    from portal.accounts.models import User

    second = factories.user(world.buyer, "approver")
    o = order_in(lines=[("1", "150000")])
    _submit(o, world.procurement)
    version = fresh(o).lock_version
    barrier = threading.Barrier(2)

    def run(uid):
        with app.app_context():
            user = db.session.get(User, uid)
            barrier.wait()
            try:
                approvals.decide(db.session.get(type(o), o.id), user, version, "approved")
            except (Conflict, InvalidTransition, Forbidden):
                pass
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(u.id,)) for u in (world.approver, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    steps = [a.step for a in fresh(o).approvals]
    assert steps == sorted(set(steps)) and len(steps) == 1  # the second click was stale: refused, not applied
