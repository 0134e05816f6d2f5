"""The hold queue: the supplier's accounts team releases or rejects, with a comment, and both sides see it."""
from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa

from portal.audit.models import AuditEvent
from portal.credit import services
from portal.credit.models import CreditReservation, ReservationStatus
from portal.db import db
from portal.errors import Forbidden, InvalidTransition, NotFound, ValidationFailed
from portal.notifications.models import Notification
from portal.orders.states import OrderStatus
from tests import factories
from tests.credit.helpers import fresh, text


@pytest.fixture
def held(world, account, submitted):
    account(world.supplier_a, world.buyer, "1000")
    order = submitted("1500")
    services.check_order(order.id)
    order = fresh(order)
    assert order.status == OrderStatus.credit_hold
    return order


def _actions(order):
    return [e.action for e in db.session.scalars(sa.select(AuditEvent).where(
        AuditEvent.entity_type == "order", AuditEvent.entity_id == order.id))]


def test_release_places_and_reserves_even_over_the_limit(world, held):
    services.release_hold(held, world.accounts_a, "Known customer, paid late but always paid.")
    order = fresh(held)
    assert order.status == OrderStatus.placed and order.supplier_order_number
    res = db.session.scalar(sa.select(CreditReservation).where(CreditReservation.order_id == order.id))
    assert res.status == ReservationStatus.reserved and res.amount == Decimal("1500.00")
    cc = services.checks_for(order)[-1]
    assert (cc.resolution, cc.resolved_by_id) == ("released", world.accounts_a.id)
    assert cc.resolution_comment.startswith("Known customer") and cc.resolved_at is not None
    assert "credit_hold_released" in _actions(order)
    titles = [n.title for n in db.session.scalars(sa.select(Notification).where(
        Notification.user_id == world.procurement.id))]
    assert any("released from credit hold" in t for t in titles)


def test_reject_rejects_with_the_comment_and_reserves_nothing(world, held):
    services.reject_hold(held, world.accounts_a, "Too much open already.")
    order = fresh(held)
    assert order.status == OrderStatus.rejected and order.reject_reason == "Too much open already."
    assert db.session.scalar(sa.select(CreditReservation).where(CreditReservation.order_id == order.id)) is None
    assert services.checks_for(order)[-1].resolution == "rejected"
    assert "credit_hold_rejected" in _actions(order)
    assert db.session.scalar(sa.select(sa.func.count(Notification.id)).where(
        Notification.user_id == world.procurement2.id, Notification.title.contains("rejected"))) == 1


@pytest.mark.parametrize("fn", [services.release_hold, services.reject_hold])
@pytest.mark.parametrize("comment", ["", "   "])
def test_a_decision_needs_a_comment(world, held, fn, comment):
    with pytest.raises(ValidationFailed, match="comment"):
        fn(held, world.accounts_a, comment)
    order = fresh(held)
    assert order.status == OrderStatus.credit_hold
    assert services.checks_for(order)[-1].resolution is None


def test_releasing_an_order_that_is_not_on_hold_is_an_invalid_transition(world, account, submitted):
    account(world.supplier_a, world.buyer, "1000")
    order = submitted("100")
    with pytest.raises(InvalidTransition, match="Only an order on credit hold"):
        services.release_hold(order, world.accounts_a, "ok")  # still submitted
    services.check_order(order.id)
    with pytest.raises(InvalidTransition, match="is placed"):
        services.release_hold(fresh(order), world.accounts_a, "ok")


def test_only_the_suppliers_accounts_team_decides(world, held):
    with pytest.raises(Forbidden):
        services.release_hold(held, world.sales_a, "ok")
    with pytest.raises(NotFound):
        services.release_hold(held, world.buyer_accounts, "ok")
    with pytest.raises(NotFound):
        services.reject_hold(held, world.admin_b, "ok")
    assert fresh(held).status == OrderStatus.credit_hold


def test_stale_form_is_a_conflict(world, held):
    from portal.errors import Conflict

    with pytest.raises(Conflict, match="changed since you opened"):
        services.release_hold(held, world.accounts_a, "ok", expected_lock_version=held.lock_version - 1)


# --- pages -----------------------------------------------------------------------------------------------

def test_hold_queue_page_lists_holds_with_figures(world, held, login):
    resp = login(world.accounts_a).get("/credit/holds")
    assert resp.status_code == 200
    body = text(resp)
    assert held.po_number in body and "would exceed the limit" in body and "Release and place" in body


def test_release_via_page(world, held, login):
    c = login(world.accounts_a)
    resp = c.post(f"/credit/holds/{held.id}/release", data={"comment": "Approved by CFO",
                                                          "lock_version": held.lock_version})
    assert resp.status_code == 302
    assert fresh(held).status == OrderStatus.placed


def test_reject_via_page_without_comment_shows_the_sentence(world, held, login):
    c = login(world.accounts_a)
    resp = c.post(f"/credit/holds/{held.id}/reject", data={"comment": "", "lock_version": held.lock_version})
    assert resp.status_code == 422
    assert "Write a comment saying why you reject the order." in text(resp)
    assert fresh(held).status == OrderStatus.credit_hold


def test_release_of_a_placed_order_via_page_says_why(world, account, submitted, login):
    account(world.supplier_a, world.buyer, "1000")
    order = submitted("100")
    services.check_order(order.id)
    order = fresh(order)
    resp = login(world.accounts_a).post(f"/credit/holds/{order.id}/release", data={"comment": "x"})
    assert resp.status_code == 409 and "Only an order on credit hold" in text(resp)


def test_another_suppliers_hold_is_404(world, held, login):
    accounts_b = factories.user(world.supplier_b, "accounts")
    c = login(accounts_b)
    assert c.post(f"/credit/holds/{held.id}/release", data={"comment": "x"}).status_code == 404
    assert c.post(f"/credit/holds/{held.id}/reject", data={"comment": "x"}).status_code == 404
    assert held.po_number not in text(c.get("/credit/holds"))
    assert fresh(held).status == OrderStatus.credit_hold


@pytest.mark.parametrize("who", ["sales_a", "buyer_accounts", "procurement"])
def test_holds_are_for_the_suppliers_accounts_team_only(world, held, login, who):
    c = login(getattr(world, who))
    assert c.get("/credit/holds").status_code == 403
    assert c.post(f"/credit/holds/{held.id}/release", data={"comment": "x"}).status_code == 403


def test_order_credit_partial_renders_figures_and_resolution(app, world, held):
    from flask import render_template

    services.reject_hold(held, world.accounts_a, "Not now.")
    order = fresh(held)
    with app.test_request_context("/"):
        html = render_template("credit/_order_credit.html", order=order, credit_checks=services.checks_for(order))
    assert "would exceed the limit" in html and "Not now." in html and "Rejected" in html
    assert "1.000,00" in html or "1,000.00" in html
