"""Approvals must not dead-end: impossible rules are refused, a leaving approver names what is stuck, long waits
are escalated to the admins (once), and the admins see the approval queue."""
from __future__ import annotations

import threading
from datetime import datetime, timezone
from decimal import Decimal

import pytest
import sqlalchemy as sa

from portal.audit.models import AuditEvent
from portal.db import db
from portal.errors import ValidationFailed
from portal.money import format_money
from portal.notifications.models import Notification
from portal.orders import approvals, services
from portal.orders.models import ApprovalEscalation, ApprovalRule
from portal.orders.states import OrderStatus as S
from tests import factories
from tests.accounts.helpers import count, fresh, text
from tests.orders.conftest import post


def _submit(order, user):
    return services.submit(order, user, fresh(order).lock_version)


def _rule(world, threshold, n):
    db.session.add(ApprovalRule(buyer_company_id=world.buyer.id, threshold=Decimal(threshold), currency="EUR",
                                approvals_required=n))
    db.session.commit()


# --------------------------------------------------------------------------------------------- rules

def test_rule_needing_more_approvals_than_approvers_is_refused(world):
    # Acme has one active approver (world.approver); an inactive one does not count.
    factories.user(world.buyer, "approver", active=False)
    with pytest.raises(ValidationFailed) as exc:
        approvals.save_rule(world.buyer_admin, "10000", "2")
    msg = exc.value.message
    assert "needs 2 approvals" in msg and "only 1 active approver" in msg and world.approver.name in msg
    assert count(ApprovalRule) == 0
    approvals.save_rule(world.buyer_admin, "10000", "1")  # what the approvers can give is accepted
    assert count(ApprovalRule) == 1


def test_rule_refused_on_the_page_with_a_sentence(world, login):
    c = login(world.buyer_admin)
    r = c.post("/orders/approval-rules", data={"threshold": "5000", "approvals_required": "3", "currency": "EUR"})
    assert r.status_code == 422
    assert "This rule needs 3 approvals but Acme Buying GmbH has only 1 active approver" in text(r)
    assert count(ApprovalRule) == 0


# --------------------------------------------------------------------------------------------- leaving approvers

@pytest.fixture
def two_tier(world, order_in):
    """Two approvers; above 10,000 one approval, above 100,000 two; one order of each tier waiting."""
    second = factories.user(world.buyer, "approver", name="Second Approver")
    _rule(world, "10000", 1)
    _rule(world, "100000", 2)
    big = order_in(lines=[("1", "150000")])
    small = order_in(lines=[("1", "20000")])
    _submit(big, world.procurement)
    _submit(small, world.procurement)
    return second, big, small


def test_role_removal_names_the_rule_and_the_waiting_orders(world, login, two_tier):
    second, big, small = two_tier
    assert not approvals.dead_ends(world.buyer.id)
    c = login(world.buyer_admin)
    r = c.post(f"/company/members/{second.id}/roles", data={"roles": ["procurement"]}, follow_redirects=True)
    page = text(r)
    rule_text = f"'above {format_money(Decimal('100000'), 'EUR')}: 2 approvals'"
    assert "Second Approver is no longer an approver." in page
    assert "With 1 active approver left, these can no longer be approved" in page
    assert rule_text in page and big.po_number in page
    assert small.po_number not in page  # world.approver can still approve the small one
    # every admin is told, and the company's history keeps it
    note = db.session.scalar(sa.select(Notification).where(Notification.user_id == world.buyer_admin.id,
                                                           Notification.title.like("%can no longer be approved%")))
    assert note is not None and rule_text in note.body and big.po_number in note.body
    assert count(AuditEvent, AuditEvent.action == "approvals_dead_end") == 1


def test_deactivating_the_last_approver_names_every_waiting_order(world, login, two_tier):
    second, big, small = two_tier
    from portal.accounts import services as accounts

    accounts.set_member_roles(world.buyer_admin, second.id, ["procurement"])
    u = accounts.set_member_active(world.buyer_admin, world.approver.id, False)
    assert big.po_number in u.approval_warning and small.po_number in u.approval_warning
    assert "With 0 active approvers left" in u.approval_warning
    assert f"'above {format_money(Decimal('10000'), 'EUR')}: 1 approval'" in u.approval_warning


def test_no_warning_when_nothing_is_stuck(world, two_tier):
    from portal.accounts import services as accounts

    third = factories.user(world.buyer, "approver")
    u = accounts.set_member_roles(world.buyer_admin, third.id, ["procurement"])
    assert u.approval_warning is None
    assert count(AuditEvent, AuditEvent.action == "approvals_dead_end") == 0


# --------------------------------------------------------------------------------------------- escalation

FRIDAY = datetime(2026, 11, 6, 10, 0, tzinfo=timezone.utc)  # a Friday


def test_working_days_skip_the_weekend():
    assert FRIDAY.weekday() == 4
    assert approvals.add_working_days(FRIDAY, 3) == datetime(2026, 11, 11, 10, 0, tzinfo=timezone.utc)  # Wed
    assert approvals.add_working_days(FRIDAY, 1) == datetime(2026, 11, 9, 10, 0, tzinfo=timezone.utc)  # Mon
    saturday = datetime(2026, 11, 7, 9, 0, tzinfo=timezone.utc)
    assert approvals.add_working_days(saturday, 1) == datetime(2026, 11, 9, 9, 0, tzinfo=timezone.utc)


@pytest.fixture
def waiting_since_friday(world, order_in):
    _rule(world, "10000", 1)
    o = order_in(lines=[("1", "20000")])
    _submit(o, world.procurement)
    o = fresh(o)
    o.submitted_at = FRIDAY
    db.session.commit()
    return o


def _escalation_notes(user):
    return count(Notification, Notification.user_id == user.id, Notification.title.like("%waiting too long%"))


def test_escalation_after_three_working_days_once(world, waiting_since_friday):
    o = waiting_since_friday
    second_admin = factories.user(world.buyer, "admin")
    # Tuesday evening: 2 working days and a weekend have passed -> not yet
    assert approvals.escalate_waiting_orders(now=datetime(2026, 11, 10, 23, 59, tzinfo=timezone.utc)) == 0
    assert count(ApprovalEscalation) == 0 and _escalation_notes(world.buyer_admin) == 0
    # Wednesday 10:00: three working days -> escalated to every admin, recorded
    wednesday = datetime(2026, 11, 11, 10, 0, tzinfo=timezone.utc)
    assert approvals.escalate_waiting_orders(now=wednesday) == 1
    assert _escalation_notes(world.buyer_admin) == 1 and _escalation_notes(second_admin) == 1
    assert _escalation_notes(world.approver) == 0 and _escalation_notes(world.admin_a) == 0
    ev = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "approval_escalated",
                                                       AuditEvent.entity_id == o.id))
    assert ev is not None and "more than 3 working days" in ev.detail and "0 of 1 approval given" in ev.detail
    # later sweeps do not escalate the same wait again
    assert approvals.escalate_waiting_orders(now=datetime(2026, 11, 13, 10, 0, tzinfo=timezone.utc)) == 0
    assert _escalation_notes(world.buyer_admin) == 1 and count(ApprovalEscalation) == 1
    assert fresh(o).status == S.awaiting_approval


def test_escalation_follows_the_company_setting(world, waiting_since_friday):
    with pytest.raises(ValidationFailed, match="from 1 to 30"):
        approvals.save_escalation_days(world.buyer_admin, "0")
    approvals.save_escalation_days(world.buyer_admin, "5")
    assert fresh(world.buyer).approval_escalation_days == 5
    assert approvals.escalate_waiting_orders(now=datetime(2026, 11, 11, 10, 0, tzinfo=timezone.utc)) == 0
    assert approvals.escalate_waiting_orders(now=datetime(2026, 11, 13, 10, 0, tzinfo=timezone.utc)) == 1  # Fri


def test_the_periodic_tick_runs_the_escalation_sweep():
    from portal.jobs.periodic import SWEEPS
    from portal.jobs.queue import resolve

    assert resolve("portal.orders.approvals.escalate_waiting_orders") is approvals.escalate_waiting_orders
    assert "portal.orders.approvals.escalate_waiting_orders" in SWEEPS


@pytest.mark.postgres
def test_two_sweeps_at_once_escalate_once(app, world, waiting_since_friday):
    barrier = threading.Barrier(2)
    results = []
    wednesday = datetime(2026, 11, 11, 12, 0, tzinfo=timezone.utc)

    def run():
        with app.app_context():
            try:
                barrier.wait()
                results.append(approvals.escalate_waiting_orders(now=wednesday))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(results) == [0, 1]
    assert count(ApprovalEscalation) == 1 and _escalation_notes(world.buyer_admin) == 1


# --------------------------------------------------------------------------------------------- admin's queue

def test_admin_sees_the_approval_queue(world, login, waiting_since_friday):
    o = waiting_since_friday
    c = login(world.buyer_admin)  # admin, not approver
    r = c.get("/orders/approvals")
    assert r.status_code == 200
    page = text(r)
    assert o.po_number in page and "Waiting for an approver" in page
    assert f'action="/orders/{o.id}/decide"' not in page  # reading only: the admin is no approver
    assert post(c, f"/orders/{o.id}/decide", o, decision="approve").status_code == 403
    assert fresh(o).status == S.awaiting_approval
    # an admin who is also an approver decides from the same page
    boss = factories.user(world.buyer, "admin", "approver")
    assert f'action="/orders/{o.id}/decide"' in text(login(boss).get("/orders/approvals"))
    # still nobody else: a procurement user, or the supplier's admin
    assert login(world.procurement).get("/orders/approvals").status_code == 403
    assert login(world.admin_a).get("/orders/approvals").status_code == 403


def test_admin_queue_marks_escalated_and_stuck_orders(world, login, waiting_since_friday):
    o = waiting_since_friday
    approvals.escalate_waiting_orders(now=datetime(2026, 11, 11, 10, 0, tzinfo=timezone.utc))
    from portal.accounts import services as accounts

    accounts.set_member_active(world.buyer_admin, world.approver.id, False)
    page = text(login(world.buyer_admin).get("/orders/approvals"))
    assert "Escalated" in page and "Nobody left can give the next approval" in page
    assert o.po_number in page


def test_a_resubmitted_order_waits_anew(world, waiting_since_friday):
    o = waiting_since_friday
    assert approvals.escalate_waiting_orders(now=datetime(2026, 11, 11, 10, 0, tzinfo=timezone.utc)) == 1
    approvals.decide(o, world.approver, fresh(o).lock_version, "rejected", "Split it")
    _submit(o, world.procurement)
    o = fresh(o)
    o.submitted_at = datetime(2026, 11, 13, 10, 0, tzinfo=timezone.utc)  # Friday again
    db.session.commit()
    assert approvals.escalate_waiting_orders(now=datetime(2026, 11, 17, 10, 0, tzinfo=timezone.utc)) == 0  # Tue
    assert approvals.escalate_waiting_orders(now=datetime(2026, 11, 18, 10, 0, tzinfo=timezone.utc)) == 1  # Wed
    assert count(ApprovalEscalation) == 2
