"""Acknowledgement per line, the buyer's answer to changes, shipments, goods receipt, closing, cancelling."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from portal.db import db
from portal.errors import InvalidTransition, ValidationFailed
from portal.orders import services, shipping
from portal.orders.models import LineAck, Shipment, ShipmentLine
from portal.orders.states import OrderStatus as S
from tests.accounts.helpers import count, fresh, text
from tests.orders.conftest import post


def _v(o):
    return fresh(o).lock_version


def _ids(o):
    return [ln.id for ln in fresh(o).lines]


@pytest.fixture
def reservation(world):
    """A credit reservation for an order (as the credit check leaves it)."""
    from portal.credit.models import CreditReservation

    def _make(o):
        db.session.add(CreditReservation(order_id=o.id, supplier_company_id=o.supplier_company_id,
                                         buyer_company_id=o.buyer_company_id, amount=o.total_net, currency="EUR"))
        db.session.commit()

    return _make


def _reservation_status(o):
    import sqlalchemy as sa

    from portal.credit.models import CreditReservation

    db.session.expire_all()
    return db.session.scalar(sa.select(CreditReservation.status).where(CreditReservation.order_id == o.id)).value


# --------------------------------------------------------------------------------------------- acknowledgement

def test_accept_all_lines_acknowledges(world, order_in):
    o = order_in("placed")
    services.acknowledge(o, world.sales_a, _v(o), {})
    o = fresh(o)
    assert o.status == S.acknowledged and o.acknowledged_at and all(ln.ack == LineAck.accepted for ln in o.lines)


def test_proposal_then_buyer_accepts(world, order_in):
    o = order_in("placed")  # 100 x 2.50 + 40 x 12.00 = 730
    l1, l2 = _ids(o)
    services.acknowledge(o, world.sales_a, _v(o), {
        l1: {"action": "change", "quantity": "80", "note": "Only 80 in stock"},
        l2: {"action": "change", "date": "2030-01-15", "note": "Later batch"}})
    o = fresh(o)
    assert o.status == S.change_proposed and o.total_net == Decimal("730.00")
    services.accept_changes(o, world.procurement, _v(o))
    o = fresh(o)
    assert o.status == S.acknowledged
    assert o.lines[0].quantity == Decimal("80") and o.lines[1].delivery_date == date(2030, 1, 15)
    assert o.total_net == Decimal("680.00")


def test_accepted_changes_move_the_credit_reservation_with_the_total(world, order_in, reservation):
    import sqlalchemy as sa

    from portal.credit.models import CreditReservation

    o = order_in("placed")  # 730.00 reserved
    reservation(o)
    l1, _ = _ids(o)
    services.acknowledge(o, world.sales_a, _v(o), {l1: {"action": "change", "quantity": "80", "note": "Stock"}})
    services.accept_changes(fresh(o), world.procurement, _v(fresh(o)))
    db.session.expire_all()
    amount = db.session.scalar(sa.select(CreditReservation.amount).where(CreditReservation.order_id == o.id))
    assert amount == Decimal("680.00")


def test_buyer_rejecting_changes_never_cancels_the_order(world, order_in, reservation):
    """Rejecting the supplier's proposals keeps the lines as ordered and the order acknowledged; the
    reservation stays (the buyer cancels explicitly, with a reason, if they want)."""
    o = order_in("placed")
    reservation(o)
    l1, _ = _ids(o)
    services.acknowledge(o, world.sales_a, _v(o), {l1: {"action": "reject", "note": "Discontinued"}})
    assert fresh(o).status == S.change_proposed
    services.reject_changes(o, world.procurement, _v(o))
    o = fresh(o)
    assert o.status == S.acknowledged and o.cancel_reason is None
    assert o.lines[0].ack == LineAck.accepted and o.lines[0].quantity == Decimal("100")
    assert o.total_net == Decimal("730.00")
    assert _reservation_status(o) == "reserved"


def test_rejecting_every_line_rejects_the_order(world, order_in, reservation):
    o = order_in("placed")
    reservation(o)
    l1, l2 = _ids(o)
    services.acknowledge(o, world.sales_a, _v(o), {l1: {"action": "reject", "note": "No"},
                                                   l2: {"action": "reject", "note": "No either"}})
    o = fresh(o)
    assert o.status == S.rejected and "every line" in o.reject_reason
    assert _reservation_status(o) == "released"


@pytest.mark.parametrize("decision,message", [
    ({"action": "change", "quantity": "0", "note": "x"}, "more than 0"),
    ({"action": "change", "quantity": "-3", "note": "x"}, "more than 0"),
    ({"action": "change", "quantity": "lots", "note": "x"}, "not a number"),
    ({"action": "change", "quantity": "100", "note": "x"}, "propose a different quantity, date or price"),
    ({"action": "change", "quantity": "50"}, "add a note"),
    ({"action": "change", "date": "15/01/2030", "note": "x"}, "not a date"),
    ({"action": "reject"}, "reason for rejecting"),
])
def test_bad_acknowledgement_refused_nothing_saved(world, order_in, decision, message):
    o = order_in("placed")
    l1, _ = _ids(o)
    with pytest.raises(ValidationFailed, match=message):
        services.acknowledge(o, world.sales_a, _v(o), {l1: decision})
    o = fresh(o)
    assert o.status == S.placed and all(ln.ack == LineAck.pending for ln in o.lines)
    assert all(ln.proposed_quantity is None for ln in o.lines)


def test_acknowledge_page_shows_message(world, order_in, login):
    o = order_in("placed")
    l1, _ = _ids(o)
    c = login(world.sales_a)
    assert "Send acknowledgement" in text(c.get(f"/orders/{o.id}/acknowledge"))
    r = post(c, f"/orders/{o.id}/acknowledge", o, **{f"action-{l1}": "change", f"quantity-{l1}": "0",
                                                      f"note-{l1}": "x"})
    assert r.status_code == 422 and "Line 1: a proposed quantity must be more than 0" in text(r)
    r = post(c, f"/orders/{o.id}/acknowledge", o)
    assert r.status_code == 302 and fresh(o).status == S.acknowledged


def test_supplier_rejects_placed_order_with_reason(world, order_in, reservation, login):
    o = order_in("placed")
    reservation(o)
    c = login(world.sales_a)
    r = post(c, f"/orders/{o.id}/reject", o, reason="")
    assert "Give a reason" in text(c.get(f"/orders/{o.id}")) and fresh(o).status == S.placed
    post(c, f"/orders/{o.id}/reject", o, reason="Out of capacity")
    o = fresh(o)
    assert r.status_code == 302 and o.status == S.rejected and o.reject_reason == "Out of capacity"
    assert _reservation_status(o) == "released"


# --------------------------------------------------------------------------------------------- cancellation

def test_cancel_needs_reason_and_releases(world, order_in, reservation, login):
    o = order_in("acknowledged")
    reservation(o)
    with pytest.raises(ValidationFailed, match="reason"):
        services.cancel(o, world.procurement, _v(o), "  ")
    assert fresh(o).status == S.acknowledged
    services.cancel(o, world.procurement, _v(o), "Project stopped")
    o = fresh(o)
    assert o.status == S.cancelled and o.cancel_reason == "Project stopped"
    assert _reservation_status(o) == "released"
    assert "Project stopped" in text(login(world.sales_a).get(f"/orders/{o.id}"))


def test_cannot_cancel_after_shipment(world, order_in):
    o = order_in("acknowledged")
    l1, _ = _ids(o)
    shipping.record_shipment(o, world.sales_a, _v(o), {l1: "10"})
    with pytest.raises(InvalidTransition, match="already shipped"):
        services.cancel(o, world.procurement, _v(o), "Too late")
    assert fresh(o).status == S.partially_shipped


@pytest.mark.parametrize("action", ["submit", "acknowledge", "ship", "cancel", "reject", "accept", "close"])
def test_nothing_happens_on_a_cancelled_order(world, order_in, action):
    o = order_in("placed")
    services.cancel(o, world.procurement, _v(o), "No longer needed")
    calls = {
        "submit": lambda: services.submit(o, world.procurement, _v(o)),
        "acknowledge": lambda: services.acknowledge(o, world.sales_a, _v(o), {}),
        "ship": lambda: shipping.record_shipment(o, world.sales_a, _v(o), {_ids(o)[0]: "1"}),
        "cancel": lambda: services.cancel(o, world.procurement, _v(o), "again"),
        "reject": lambda: services.reject(o, world.sales_a, _v(o), "why"),
        "accept": lambda: services.accept_changes(o, world.procurement, _v(o)),
        "close": lambda: shipping.close(o, world.procurement, _v(o)),
    }
    with pytest.raises(InvalidTransition):
        calls[action]()
    assert fresh(o).status == S.cancelled


# --------------------------------------------------------------------------------------------- shipments

def test_partial_then_full_shipment(app, world, order_in, run_jobs):
    o = order_in("acknowledged")
    l1, l2 = _ids(o)
    s1 = shipping.record_shipment(o, world.sales_a, _v(o), {l1: "60"}, carrier="DHL", tracking="JD0001")
    assert fresh(o).status == S.partially_shipped and s1.number.startswith("DN-")
    with pytest.raises(ValidationFailed, match=r"Line 1: only 40 pcs remain to ship \(ordered 100, already shipped 60\)"):
        shipping.record_shipment(o, world.sales_a, _v(o), {l1: "41"})
    shipping.record_shipment(o, world.sales_a, _v(o), {l1: "40", l2: "40"})
    o = fresh(o)
    assert o.status == S.shipped and [ln.shipped_quantity for ln in o.lines] == [Decimal("100"), Decimal("40")]
    run_jobs(["documents"])
    s1 = fresh(s1)
    assert s1.delivery_note_file_id is not None


@pytest.mark.parametrize("qty,message", [("-1", "cannot be negative"), ("x", "not a number"),
                                         ("", "at least one line"), ("0", "at least one line"),
                                         ("101", "only 100 pcs remain")])
def test_bad_shipment_refused_nothing_saved(world, order_in, qty, message):
    o = order_in("acknowledged")
    l1, _ = _ids(o)
    with pytest.raises(ValidationFailed, match=message):
        shipping.record_shipment(o, world.sales_a, _v(o), {l1: qty})
    assert count(Shipment) == 0 and fresh(o).status == S.acknowledged
    assert all(ln.shipped_quantity == 0 for ln in fresh(o).lines)


def test_cannot_ship_before_acknowledgement(world, order_in):
    o = order_in("placed")
    with pytest.raises(InvalidTransition, match="acknowledged"):
        shipping.record_shipment(o, world.sales_a, _v(o), {_ids(o)[0]: "1"})


def test_rejected_line_is_not_shipped_and_does_not_block_completion(world, order_in):
    o = order_in("placed")
    l1, l2 = _ids(o)
    services.acknowledge(o, world.sales_a, _v(o), {l2: {"action": "reject", "note": "Not available"}})
    services.accept_changes(o, world.procurement, _v(o))
    assert fresh(o).total_net == Decimal("250.00")
    with pytest.raises(ValidationFailed, match="rejected at acknowledgement"):
        shipping.record_shipment(o, world.sales_a, _v(o), {l2: "1"})
    shipping.record_shipment(o, world.sales_a, _v(o), {l1: "100"})
    assert fresh(o).status == S.shipped


def test_ship_page(world, order_in, login):
    o = order_in("acknowledged")
    l1, _ = _ids(o)
    c = login(world.sales_a)
    assert "Record shipment" in text(c.get(f"/orders/{o.id}/ship"))
    r = post(c, f"/orders/{o.id}/ship", o, **{f"qty-{l1}": "500"})
    assert r.status_code == 422 and "only 100 pcs remain to ship" in text(r)
    r = post(c, f"/orders/{o.id}/ship", o, **{f"qty-{l1}": "5"}, carrier="UPS")
    assert r.status_code == 302 and count(ShipmentLine) == 1


# --------------------------------------------------------------------------------------------- receipt

def _shipped(world, o, q1="100", q2="40"):
    l1, l2 = _ids(o)
    return shipping.record_shipment(o, world.sales_a, _v(o), {l1: q1, l2: q2})


def test_receipt_then_received_then_closed(world, order_in):
    o = order_in("acknowledged")
    s = _shipped(world, o)
    sl1, sl2 = [sl.id for sl in fresh(s).lines]
    shipping.receive(o, s.id, world.procurement, _v(o), {sl1: {"accepted": "98", "rejected": "2", "reason": "Dented"},
                                                         sl2: {}})
    o = fresh(o)
    assert o.status == S.received
    assert [(ln.accepted_quantity, ln.rejected_quantity) for ln in o.lines] == [
        (Decimal("98"), Decimal("2")), (Decimal("40"), Decimal("0"))]
    shipping.close(o, world.procurement, _v(o))
    assert fresh(o).status == S.closed


def test_partial_shipment_received_stays_partially_shipped(world, order_in):
    o = order_in("acknowledged")
    s = _shipped(world, o, "50", "")
    shipping.receive(o, s.id, world.procurement, _v(o), {})
    assert fresh(o).status == S.partially_shipped
    with pytest.raises(InvalidTransition, match="Only a received order"):
        shipping.close(o, world.procurement, _v(o))


@pytest.mark.parametrize("entry,message", [
    ({"accepted": "101"}, "at most the 100 pcs shipped"),
    ({"accepted": "90", "rejected": "20", "reason": "x"}, "at most the 100 pcs shipped"),
    ({"rejected": "5"}, "reason for the rejected quantity"),
    ({"accepted": "-1"}, "cannot be negative"),
])
def test_bad_receipt_refused_nothing_saved(world, order_in, entry, message):
    o = order_in("acknowledged")
    s = _shipped(world, o)
    sl1 = fresh(s).lines[0].id
    with pytest.raises(ValidationFailed, match=message):
        shipping.receive(o, s.id, world.procurement, _v(o), {sl1: entry})
    s = fresh(s)
    assert s.received_at is None and all(sl.accepted_quantity is None for sl in s.lines)
    assert fresh(o).lines[0].accepted_quantity == 0


def test_receipt_twice_refused(world, order_in):
    o = order_in("acknowledged")
    s = _shipped(world, o, "10", "")
    shipping.receive(o, s.id, world.procurement, _v(o), {})
    with pytest.raises(InvalidTransition, match="already received"):
        shipping.receive(o, s.id, world.procurement, _v(o), {})


def test_receive_page(world, order_in, login):
    o = order_in("acknowledged")
    s = _shipped(world, o)
    sl1 = fresh(s).lines[0].id
    c = login(world.procurement)
    url = f"/orders/{o.id}/shipments/{s.id}/receive"
    assert "Record goods receipt" in text(c.get(url))
    r = post(c, url, o, **{f"rejected-{sl1}": "3"})
    assert r.status_code == 422 and "give a reason for the rejected quantity" in text(r)
    r = post(c, url, o, **{f"rejected-{sl1}": "3", f"reason-{sl1}": "Rusty"})
    assert r.status_code == 302 and fresh(o).status == S.received


# --------------------------------------------------------------------------------------------- stale forms

def test_stale_form_is_refused_not_applied(world, order_in, login):
    o = order_in("placed")
    old = _v(o)
    c = login(world.sales_a)
    post(c, f"/orders/{o.id}/acknowledge", o)  # acknowledged; version moves on
    assert fresh(o).status == S.acknowledged
    r = c.post(f"/orders/{o.id}/reject", data={"lock_version": old, "reason": "Changed my mind"})
    assert r.status_code == 302 and fresh(o).status == S.acknowledged
    assert "changed since you opened the page" in text(c.get(f"/orders/{o.id}"))
    bc = login(world.procurement)
    bc.post(f"/orders/{o.id}/cancel", data={"lock_version": old, "reason": "x"})
    assert fresh(o).status == S.acknowledged


def test_stale_service_call_conflict(world, order_in):
    from portal.errors import Conflict

    o = order_in("draft")
    with pytest.raises(Conflict, match="changed since you opened the page"):
        services.submit(o, world.procurement, _v(o) - 1)
    with pytest.raises(Conflict):
        services.submit(o, world.procurement, "")
    assert fresh(o).status == S.draft


def test_ship_page_fills_in_every_open_quantity_on_request(world, order_in, login):
    o = order_in("acknowledged", lines=[("100", "1.00"), ("12.5", "2.00"), ("40", "3.00")])
    c = login(world.sales_a)
    page = c.get(f"/orders/{o.id}/ship").get_data(as_text=True)
    assert 'value=""' in page and "Fill in every open quantity" in page
    from tests.invoices.conftest import ship

    ship(o, {1: "30", 3: "40"}, creator=world.sales_a)  # line 3 complete, line 1 has 70 open
    page = c.get(f"/orders/{o.id}/ship?fill=open").get_data(as_text=True)
    lines = {ln.position: ln.id for ln in o.lines}
    assert f'name="qty-{lines[1]}" inputmode="decimal" value="70"' in page
    assert f'name="qty-{lines[2]}" inputmode="decimal" value="12.5"' in page
    assert f'name="qty-{lines[3]}"' not in page  # nothing open: no field
    assert count(Shipment) == 1  # filling in ships nothing by itself
