"""Change orders, supplier proposals decided per line, revisions, and the bad input of issue 12."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa

from portal.credit.models import CreditAccount, CreditReservation
from portal.db import db
from portal.errors import Conflict, Forbidden, InvalidTransition, NotFound, ValidationFailed
from portal.orders import changes, services, shipping
from portal.orders.models import (ChangeOrigin, ChangeStatus, LineAck, LineDecision, OrderChange, OrderRevision)
from portal.orders.states import OrderStatus as S
from tests import factories
from tests.accounts.helpers import fresh


def _v(o):
    return fresh(o).lock_version


def _ids(o):
    return [ln.id for ln in fresh(o).lines]


def _reserve(o, amount=None):
    db.session.add(CreditReservation(order_id=o.id, supplier_company_id=o.supplier_company_id,
                                     buyer_company_id=o.buyer_company_id, amount=amount or o.total_net,
                                     currency=o.currency))
    db.session.commit()


def _reserved(o):
    db.session.expire_all()
    return db.session.scalar(sa.select(CreditReservation.amount).where(CreditReservation.order_id == o.id))


def _limit(world, amount="100000"):
    db.session.add(CreditAccount(supplier_company_id=world.supplier_a.id, buyer_company_id=world.buyer.id,
                                 limit_amount=Decimal(amount), currency="EUR"))
    db.session.commit()


def _count_changes(o):
    db.session.expire_all()
    return db.session.scalar(sa.select(sa.func.count(OrderChange.id)).where(OrderChange.order_id == o.id))


def _revisions(o):
    db.session.expire_all()
    return list(db.session.scalars(sa.select(OrderRevision).where(OrderRevision.order_id == o.id)
                                   .order_by(OrderRevision.number)))


@pytest.fixture
def acked(world, order_in):
    """An acknowledged order (100 x 2.50 + 40 x 12.00 = 730.00) with its reservation and a 100,000 limit."""
    _limit(world)
    o = order_in("acknowledged")
    _reserve(o)
    return o


def _propose(world, o, lines=None, new_lines=None, actor=None):
    return changes.propose(o, actor or world.procurement, _v(o), lines or {}, new_lines)


def _decide_all(world, o, change, choice="accept", actor=None, reason=""):
    change = db.session.get(OrderChange, change.id)
    db.session.refresh(change)
    return changes.decide(o, change.id, actor or world.sales_a, change.lock_version,
                          {cl.id: {"decision": choice, "reason": reason} for cl in change.lines})


# --------------------------------------------------------------------------------------------- supplier proposals

def test_supplier_proposals_decided_per_line_make_revision_2(world, order_in):
    _limit(world)
    o = order_in("placed")
    _reserve(o)
    l1, l2 = _ids(o)
    services.acknowledge(o, world.sales_a, _v(o), {
        l1: {"action": "change", "date": "2030-01-15", "note": "Next batch"},
        l2: {"action": "change", "quantity": "30", "note": "Only 30 in stock"}})
    o = fresh(o)
    change = changes.open_change(o.id)
    assert o.status == S.change_proposed and change.origin == ChangeOrigin.supplier
    assert [cl.position for cl in change.lines] == [1, 2]
    c1, c2 = change.lines
    # What the buyer sees before deciding: the resulting total of this choice
    assert changes.result_total(o, change, [c1.id]) == Decimal("730.00")
    assert changes.result_total(o, change, [c2.id]) == Decimal("610.00")
    assert change.new_total == Decimal("610.00")
    changes.decide(o, change.id, world.procurement, change.lock_version, {
        c1.id: {"decision": "accept"}, c2.id: {"decision": "reject", "reason": "We need all 40"}})
    o = fresh(o)
    assert o.status == S.acknowledged  # never cancelled by a rejection
    assert o.lines[0].delivery_date == date(2030, 1, 15) and o.lines[1].quantity == Decimal("40")
    assert all(ln.ack == LineAck.accepted for ln in o.lines)
    assert o.total_net == Decimal("730.00") and o.revision == 2
    revs = _revisions(o)
    assert [r.number for r in revs] == [1, 2]
    assert "2030-01-15" in revs[1].summary and revs[1].accepted_by_id == world.procurement.id
    change = db.session.get(OrderChange, change.id)
    assert change.status == ChangeStatus.decided and change.revision_number == 2
    assert [cl.decision for cl in change.lines] == [LineDecision.accepted, LineDecision.rejected]
    assert change.lines[1].decision_reason == "We need all 40"


def test_supplier_price_proposal_accepted_moves_reservation(world, order_in):
    _limit(world)
    o = order_in("placed")
    _reserve(o)
    l1, _ = _ids(o)
    services.acknowledge(o, world.sales_a, _v(o), {l1: {"action": "change", "price": "2.60", "note": "Steel"}})
    services.accept_changes(fresh(o), world.procurement, _v(o))
    o = fresh(o)
    assert o.lines[0].unit_price == Decimal("2.6") and o.total_net == Decimal("740.00")
    assert _reserved(o) == Decimal("740.00")


def test_rejecting_a_proposal_needs_a_reason_and_every_line_needs_a_decision(world, order_in):
    o = order_in("placed")
    l1, l2 = _ids(o)
    services.acknowledge(o, world.sales_a, _v(o), {l1: {"action": "change", "quantity": "90", "note": "x"},
                                                   l2: {"action": "change", "quantity": "30", "note": "y"}})
    change = changes.open_change(o.id)
    c1, c2 = change.lines
    with pytest.raises(ValidationFailed, match="give a reason"):
        changes.decide(fresh(o), change.id, world.procurement, change.lock_version,
                       {c1.id: {"decision": "accept"}, c2.id: {"decision": "reject"}})
    with pytest.raises(ValidationFailed, match="accept or reject"):
        changes.decide(fresh(o), change.id, world.procurement, change.lock_version, {c1.id: {"decision": "accept"}})
    o = fresh(o)
    assert o.status == S.change_proposed and o.lines[0].quantity == Decimal("100") and o.revision == 1


def test_the_supplier_cannot_decide_its_own_proposal(world, order_in):
    o = order_in("placed")
    l1, _ = _ids(o)
    services.acknowledge(o, world.sales_a, _v(o), {l1: {"action": "change", "quantity": "90", "note": "x"}})
    change = changes.open_change(o.id)
    with pytest.raises(Forbidden):
        changes.decide(fresh(o), change.id, world.sales_a, change.lock_version,
                       {change.lines[0].id: {"decision": "accept"}})


# --------------------------------------------------------------------------------------------- change orders

def test_buyer_cuts_a_quantity_supplier_accepts(world, acked):
    o = acked
    l1, l2 = _ids(o)
    change = _propose(world, o, {l1: {"quantity": "60", "reason": "Project scaled down"}})
    assert change.status == ChangeStatus.proposed and change.new_total == Decimal("630.00")
    assert fresh(o).total_net == Decimal("730.00")  # nothing takes effect before the supplier decides
    _decide_all(world, o, change)
    o = fresh(o)
    assert o.lines[0].quantity == Decimal("60") and o.total_net == Decimal("630.00") and o.revision == 2
    assert _reserved(o) == Decimal("630.00")
    assert [r.number for r in _revisions(o)] == [1, 2]
    assert _revisions(o)[0].total_net == Decimal("730.00")  # revision 1 is the order as it was


def test_change_order_accept_some_reject_others(world, acked):
    o = acked
    l1, l2 = _ids(o)
    item = factories.catalog_item(world.supplier_a, sku="BOLT-9", price="1.50")
    change = _propose(world, o, {l1: {"date": "2031-02-01"}, l2: {"cancel": "1", "reason": "Not needed"}},
                      [{"sku": "BOLT-9", "quantity": "10"}])
    assert [cl.kind.value for cl in change.lines] == ["update", "cancel", "add"]
    assert change.new_total == Decimal("265.00")  # 250 + 0 + 15
    change = db.session.get(OrderChange, change.id)
    c1, c2, c3 = change.lines
    changes.decide(fresh(o), change.id, world.sales_a, change.lock_version, {
        c1.id: {"decision": "reject", "reason": "Cannot hold stock"}, c2.id: {"decision": "accept"},
        c3.id: {"decision": "accept"}})
    o = fresh(o)
    assert o.lines[0].delivery_date is None
    assert o.lines[1].short_closed_quantity == Decimal("40") and o.lines[1].line_total == Decimal("0")
    assert o.lines[2].sku == "BOLT-9" and o.lines[2].catalog_item_id == item.id and o.lines[2].position == 3
    assert o.total_net == Decimal("265.00") and _reserved(o) == Decimal("265.00")
    assert o.status == S.acknowledged


def test_rejecting_every_line_of_a_change_keeps_the_order(world, acked):
    o = acked
    l1, _ = _ids(o)
    change = _propose(world, o, {l1: {"quantity": "150"}})
    _decide_all(world, o, change, "reject", reason="No capacity")
    o = fresh(o)
    assert o.status == S.acknowledged and o.lines[0].quantity == Decimal("100") and o.revision == 1
    assert _revisions(o) == []  # nothing took effect, no revision


def test_a_change_that_crosses_an_approval_rule_goes_to_the_approvers_first(world, rules, acked):
    o = acked  # 730: no approval; the rules say above 10,000 one approval
    l1, _ = _ids(o)
    change = _propose(world, o, {l1: {"quantity": "4000"}})  # 10,000 + 480 = 10,480
    assert change.status == ChangeStatus.awaiting_approval and change.approvals_required == 1
    with pytest.raises(Conflict):  # not yet for the supplier
        _decide_all(world, o, change)
    change = db.session.get(OrderChange, change.id)
    with pytest.raises(Forbidden):
        changes.decide_approval(fresh(o), change.id, world.procurement, change.lock_version, "approved")
    changes.decide_approval(fresh(o), change.id, world.approver, change.lock_version, "approved")
    change = db.session.get(OrderChange, change.id)
    db.session.refresh(change)
    assert change.status == ChangeStatus.proposed
    _decide_all(world, o, change)
    assert fresh(o).total_net == Decimal("10480.00")


def test_an_approver_rejecting_the_change_withdraws_it(world, rules, acked):
    o = acked
    l1, _ = _ids(o)
    change = _propose(world, o, {l1: {"quantity": "4000"}})
    with pytest.raises(ValidationFailed, match="Say why"):
        changes.decide_approval(fresh(o), change.id, world.approver, change.lock_version, "rejected")
    changes.decide_approval(fresh(o), change.id, world.approver, change.lock_version, "rejected", "Too much")
    assert db.session.get(OrderChange, change.id).status == ChangeStatus.withdrawn
    assert fresh(o).lines[0].quantity == Decimal("100") and fresh(o).status == S.acknowledged


def test_an_increase_over_the_credit_limit_puts_the_change_on_hold_not_the_order(world, order_in):
    _limit(world, "1000")
    o = order_in("acknowledged")
    _reserve(o)  # 730 of 1,000 used
    l1, _ = _ids(o)
    change = _propose(world, o, {l1: {"quantity": "300"}})  # +500 -> 1,230 > 1,000
    assert change.status == ChangeStatus.credit_hold
    assert fresh(o).status == S.acknowledged
    with pytest.raises(Forbidden):  # sales does not release holds
        changes.decide_credit_hold(fresh(o), change.id, world.sales_a, change.lock_version, True)
    changes.decide_credit_hold(fresh(o), change.id, world.accounts_a, change.lock_version, True, "Known customer")
    change = db.session.get(OrderChange, change.id)
    db.session.refresh(change)
    assert change.status == ChangeStatus.proposed
    _decide_all(world, o, change)
    assert _reserved(o) == Decimal("1230.00")


def test_a_decrease_never_waits_for_credit(world, order_in):
    _limit(world, "10")  # already over the limit
    o = order_in("acknowledged")
    _reserve(o)
    l1, _ = _ids(o)
    assert _propose(world, o, {l1: {"quantity": "50"}}).status == ChangeStatus.proposed


def test_the_buyer_can_withdraw_an_open_change(world, acked):
    o = acked
    l1, _ = _ids(o)
    change = _propose(world, o, {l1: {"quantity": "50"}})
    changes.withdraw(fresh(o), change.id, world.procurement, change.lock_version)
    assert db.session.get(OrderChange, change.id).status == ChangeStatus.withdrawn
    assert _propose(world, o, {l1: {"quantity": "70"}}).number == 2


def test_cancelling_the_order_supersedes_its_open_change(world, acked):
    o = acked
    l1, _ = _ids(o)
    change = _propose(world, o, {l1: {"quantity": "50"}})
    services.cancel(fresh(o), world.procurement, _v(o), "Project stopped")
    assert db.session.get(OrderChange, change.id).status == ChangeStatus.superseded


# --------------------------------------------------------------------------------------------- bad input

def test_reducing_below_the_shipped_quantity_is_refused(world, acked):
    o = acked
    l1, _ = _ids(o)
    shipping.record_shipment(fresh(o), world.sales_a, _v(o), {l1: "70"})
    with pytest.raises(ValidationFailed, match="70 pcs already shipped; the quantity cannot go below 70"):
        _propose(world, o, {l1: {"quantity": "60"}})
    assert _count_changes(o) == 0


def test_a_change_accepted_after_goods_shipped_past_it_is_a_conflict(world, acked):
    o = acked
    l1, _ = _ids(o)
    change = _propose(world, o, {l1: {"quantity": "60"}})
    shipping.record_shipment(fresh(o), world.sales_a, _v(o), {l1: "80"})
    with pytest.raises(Conflict, match="shipped since the change was proposed"):
        _decide_all(world, o, change)
    o = fresh(o)
    assert o.lines[0].quantity == Decimal("100") and o.revision == 1
    assert db.session.get(OrderChange, change.id).status == ChangeStatus.proposed


@pytest.mark.parametrize("status", ["cancelled", "closed", "rejected"])
def test_changing_a_finished_order_is_refused(world, order_in, status):
    o = factories.order(world.buyer, world.supplier_a, world.procurement, status=status, sent=True)
    l1, _ = _ids(o)
    with pytest.raises(InvalidTransition, match="can no longer be changed"):
        _propose(world, o, {l1: {"quantity": "50"}})
    assert _count_changes(o) == 0


def test_changing_an_unacknowledged_order_is_refused(world, order_in):
    o = order_in("placed")
    l1, _ = _ids(o)
    with pytest.raises(InvalidTransition, match="once the supplier has acknowledged"):
        _propose(world, o, {l1: {"quantity": "50"}})


def test_a_change_that_is_no_longer_current_is_a_409(world, acked):
    o = acked
    l1, _ = _ids(o)
    change = _propose(world, o, {l1: {"quantity": "50"}})
    version = change.lock_version
    # The order moved on: another revision came into force meanwhile (as if decided elsewhere).
    db.session.execute(sa.update(type(fresh(o))).where(type(o).id == o.id).values(revision=5))
    db.session.commit()
    with pytest.raises(Conflict, match="no longer current"):
        changes.decide(fresh(o), change.id, world.sales_a, version,
                       {change.lines[0].id: {"decision": "accept"}})


def test_a_decided_change_cannot_be_decided_again(world, acked):
    o = acked
    l1, _ = _ids(o)
    change = _propose(world, o, {l1: {"quantity": "50"}})
    _decide_all(world, o, change)
    with pytest.raises(Conflict, match="already decided"):
        _decide_all(world, o, change, "reject", reason="changed my mind")
    assert fresh(o).lines[0].quantity == Decimal("50")


def test_a_stale_change_form_is_a_conflict(world, acked):
    o = acked
    l1, _ = _ids(o)
    change = _propose(world, o, {l1: {"quantity": "50"}})
    stale = change.lock_version - 1
    with pytest.raises(Conflict):
        changes.decide(fresh(o), change.id, world.sales_a, stale, {change.lines[0].id: {"decision": "accept"}})


def test_a_price_change_on_an_awarded_line_is_refused(world, acked):
    o = acked
    from portal.orders.models import OrderLine

    award = _award_line(world)
    line = db.session.get(OrderLine, _ids(o)[0])
    line.award_line_id = award
    db.session.commit()
    with pytest.raises(ValidationFailed, match="awarded at the quoted price"):
        _propose(world, o, {line.id: {"unit_price": "2.00", "quantity": "50"}})
    assert _count_changes(o) == 0


def _award_line(world) -> int:
    r = factories.closed_rfq(world.buyer, world.procurement, lines=1)
    q = factories.quote(r, world.supplier_a, world.sales_a)
    a = factories.award(r, world.procurement, [(0, q, "100", "2.50")])
    return a.lines[0].id


def test_a_price_change_on_a_catalog_line_is_allowed(world, acked):
    o = acked
    l1, _ = _ids(o)
    change = _propose(world, o, {l1: {"unit_price": "2.00"}})
    assert change.new_total == Decimal("680.00")


@pytest.mark.parametrize("lines", [{}, "same"])
def test_an_empty_change_is_refused(world, acked, lines):
    o = acked
    l1, l2 = _ids(o)
    if lines == "same":
        lines = {l1: {"quantity": "100"}, l2: {"quantity": "40.000"}}
    with pytest.raises(ValidationFailed, match="The change is empty"):
        _propose(world, o, lines)
    assert _count_changes(o) == 0


@pytest.mark.parametrize("entry,message", [
    ({"quantity": "0"}, "more than 0"),
    ({"quantity": "-5"}, "more than 0"),
    ({"quantity": "many"}, "not a number"),
    ({"date": "31/12/2030"}, "not a date"),
    ({"unit_price": "-1"}, "cannot be negative"),
])
def test_bad_change_input_is_refused_nothing_saved(world, acked, entry, message):
    o = acked
    l1, l2 = _ids(o)
    with pytest.raises(ValidationFailed, match=message):
        _propose(world, o, {l1: entry, l2: {"quantity": "20"}})
    assert _count_changes(o) == 0 and fresh(o).lines[1].quantity == Decimal("40")


def test_an_unknown_sku_on_a_new_line_is_refused(world, acked):
    with pytest.raises(ValidationFailed, match="not in this supplier's catalog"):
        _propose(world, acked, {}, [{"sku": "NOPE-1", "quantity": "3"}])


def test_one_open_change_at_a_time(world, acked):
    o = acked
    l1, _ = _ids(o)
    _propose(world, o, {l1: {"quantity": "50"}})
    with pytest.raises(Conflict, match="still open"):
        _propose(world, o, {l1: {"quantity": "70"}})


def test_cancelling_everything_unshipped_is_cancel_the_order(world, acked):
    o = acked
    l1, l2 = _ids(o)
    with pytest.raises(ValidationFailed, match="cancel the order instead"):
        _propose(world, o, {l1: {"cancel": "1"}, l2: {"cancel": "on"}})


def test_another_company_cannot_see_or_decide_a_change(world, acked):
    o = acked
    l1, _ = _ids(o)
    change = _propose(world, o, {l1: {"quantity": "50"}})
    with pytest.raises(NotFound):
        changes.decide(fresh(o), change.id, world.sales_b, change.lock_version,
                       {change.lines[0].id: {"decision": "accept"}})
    with pytest.raises(NotFound):
        changes.propose(fresh(o), world.sales_b, _v(o), {l1: {"quantity": "40"}})
    other = factories.order(world.buyer, world.supplier_a, world.procurement, status="acknowledged")
    with pytest.raises(NotFound):
        changes.get_change(other, change.id)


def test_the_preview_shows_the_new_total_and_saves_nothing(world, rules, acked):
    o = acked
    l1, _ = _ids(o)
    plan = changes.preview(fresh(o), world.procurement, {l1: {"quantity": "4000"}})
    assert plan.old_total == Decimal("730.00") and plan.new_total == Decimal("10480.00")
    assert any("approval" in n for n in plan.notes)
    assert _count_changes(o) == 0


def test_a_changed_quantity_keeps_the_pack_size_and_moq_as_ordered(world, acked):
    from portal.orders.models import OrderLine

    o = acked
    line = db.session.get(OrderLine, _ids(o)[0])
    line.pack_size, line.moq = Decimal("25"), Decimal("50")
    db.session.commit()
    with pytest.raises(ValidationFailed, match="packs of 25"):
        _propose(world, o, {line.id: {"quantity": "60"}})
    with pytest.raises(ValidationFailed, match="Minimum order"):
        _propose(world, o, {line.id: {"quantity": "25"}})
    assert _propose(world, o, {line.id: {"quantity": "75"}}).new_total == Decimal("667.50")
