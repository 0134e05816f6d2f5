"""Pages of issue 12: draft edit, change order with its preview, the change view with per-line decisions and the
resulting total, approvals on a change, short-close, revision history with PDFs; tenancy (404) and roles."""
from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa

from portal.credit.models import CreditAccount, CreditReservation
from portal.db import db
from portal.orders import changes, revisions
from portal.orders.models import ChangeStatus, OrderChange, OrderRevision
from portal.orders.states import OrderStatus as S
from tests import factories
from tests.accounts.helpers import fresh, text


def _v(o):
    return fresh(o).lock_version


def _acked(world):
    db.session.add(CreditAccount(supplier_company_id=world.supplier_a.id, buyer_company_id=world.buyer.id,
                                 limit_amount=Decimal("100000"), currency="EUR"))
    o = factories.order(world.buyer, world.supplier_a, world.procurement, status="acknowledged")
    db.session.add(CreditReservation(order_id=o.id, supplier_company_id=o.supplier_company_id,
                                     buyer_company_id=o.buyer_company_id, amount=o.total_net, currency="EUR"))
    db.session.commit()
    return o


def test_edit_a_draft_in_the_browser(world, login):
    factories.catalog_item(world.supplier_a, sku="NUT-1", price="1.00")
    factories.catalog_item(world.supplier_a, sku="CAP-2", price="3.00")
    from portal.catalog.services import order_from_rows

    o, _ = order_from_rows(world.procurement, world.supplier_a.id, [("NUT-1", "10", 1)])
    c = login(world.procurement)
    page = c.get(f"/orders/{o.id}")
    assert f"/orders/{o.id}/edit" in text(page)
    assert c.get(f"/orders/{o.id}/edit").status_code == 200
    line = fresh(o).lines[0]
    r = c.post(f"/orders/{o.id}/edit", data={
        "lock_version": _v(o), "delivery_date": "2031-05-01", "delivery_address": "Gate 4", "notes": "",
        "internal_notes": "for project X", f"qty-{line.id}": "12", f"date-{line.id}": "2031-05-02",
        f"cost-{line.id}": "CC-1", "new-sku-1": "CAP-2", "new-qty-1": "2"})
    assert r.status_code == 302
    o = fresh(o)
    assert [ln.sku for ln in o.lines] == ["NUT-1", "CAP-2"] and o.total_net == Decimal("18.00")
    page = text(c.get(f"/orders/{o.id}"))
    assert "for project X" in page and "CC-1" in page
    # the supplier never sees internal notes or cost references (once sent)
    r = c.post(f"/orders/{o.id}/edit", data={"lock_version": _v(o), f"qty-{o.lines[0].id}": "0",
                                             "delivery_address": "Gate 4"})
    assert r.status_code == 422 and "more than 0" in text(r)
    assert fresh(o).lines[0].quantity == Decimal("12")


def test_supplier_and_strangers_cannot_edit_a_draft(world, login, order_in):
    o = order_in("draft")
    assert login(world.sales_a).get(f"/orders/{o.id}/edit").status_code == 404  # never sent: not theirs to see
    assert login(world.sales_b).get(f"/orders/{o.id}/edit").status_code == 404


def test_propose_a_change_preview_then_send_then_supplier_decides(world, login, run_jobs):
    o = _acked(world)
    revisions.first_revision(fresh(o))
    db.session.commit()
    l1, l2 = [ln.id for ln in fresh(o).lines]
    c = login(world.procurement)
    assert "Propose a change" in text(c.get(f"/orders/{o.id}"))
    form = {"lock_version": _v(o), f"qty-{l1}": "60", f"reason-{l1}": "Smaller project", f"date-{l2}": "2031-06-01"}
    r = c.post(f"/orders/{o.id}/change", data={**form, "action": "preview"})
    page = text(r)
    assert r.status_code == 200 and "730.00" in page and "630.00" in page and "Send change" in page
    assert changes.open_change(o.id) is None  # the preview saves nothing
    r = c.post(f"/orders/{o.id}/change", data={**form, "action": "send"})
    assert r.status_code == 302
    change = changes.open_change(o.id)
    assert change.status == ChangeStatus.proposed
    # the supplier's change view: old -> new, preview the result, then confirm
    s = login(world.sales_a)
    page = text(s.get(f"/orders/{o.id}/changes/{change.id}"))
    assert "Smaller project" in page and "630.00" in page
    c1, c2 = change.lines
    data = {"lock_version": change.lock_version, f"decision-{c1.id}": "accept", f"decision-{c2.id}": "reject",
            f"reason-{c2.id}": "Date impossible"}
    r = s.post(f"/orders/{o.id}/changes/{change.id}", data={**data, "action": "preview"})
    assert r.status_code == 200 and "With your decisions" in text(r) and "630.00" in text(r)
    assert fresh(o).revision == 1
    r = s.post(f"/orders/{o.id}/changes/{change.id}", data={**data, "action": "decide"})
    assert r.status_code == 302
    o = fresh(o)
    assert o.revision == 2 and o.lines[0].quantity == Decimal("60") and o.lines[1].delivery_date is None
    run_jobs()
    page = text(c.get(f"/orders/{o.id}"))
    assert "Rev. 2" in page and "Rev. 1" in page and "rev. 2" in page
    rev2 = db.session.scalar(sa.select(OrderRevision).where(OrderRevision.order_id == o.id, OrderRevision.number == 2))
    assert rev2.pdf_file_id
    r = s.get(f"/orders/{o.id}/revisions/2.pdf")
    assert r.status_code == 200 and r.data.startswith(b"%PDF")
    assert login(world.sales_b).get(f"/orders/{o.id}/revisions/2.pdf").status_code == 404
    assert c.get(f"/orders/{o.id}/revisions/9.pdf").status_code == 404


def test_a_decision_on_a_stale_change_is_a_409_with_a_sentence(world, login):
    o = _acked(world)
    l1, _ = [ln.id for ln in fresh(o).lines]
    change = changes.propose(fresh(o), world.procurement, _v(o), {l1: {"quantity": "50"}})
    change = db.session.get(OrderChange, change.id)
    version, cl = change.lock_version, change.lines[0].id
    changes.withdraw(fresh(o), change.id, world.procurement, version)
    r = login(world.sales_a).post(f"/orders/{o.id}/changes/{change.id}", data={
        "lock_version": version, f"decision-{cl}": "accept", "action": "decide"})
    assert r.status_code == 409 and "reload" in text(r)


def test_empty_change_and_bad_input_are_sentences(world, login):
    o = _acked(world)
    l1, _ = [ln.id for ln in fresh(o).lines]
    c = login(world.procurement)
    r = c.post(f"/orders/{o.id}/change", data={"lock_version": _v(o), "action": "send"})
    assert r.status_code == 422 and "The change is empty" in text(r)
    r = c.post(f"/orders/{o.id}/change", data={"lock_version": _v(o), "action": "send", f"qty-{l1}": "abc"})
    assert r.status_code == 422 and "not a number" in text(r)
    assert db.session.scalar(sa.select(sa.func.count(OrderChange.id))) == 0


def test_the_supplier_does_not_see_a_change_awaiting_the_buyers_approval(world, login, rules):
    o = _acked(world)
    l1, _ = [ln.id for ln in fresh(o).lines]
    change = changes.propose(fresh(o), world.procurement, _v(o), {l1: {"quantity": "5000"}})
    assert change.status == ChangeStatus.awaiting_approval
    assert login(world.sales_a).get(f"/orders/{o.id}/changes/{change.id}").status_code == 404
    assert "Change 1" not in text(login(world.sales_a).get(f"/orders/{o.id}"))
    a = login(world.approver)
    page = text(a.get(f"/orders/{o.id}/changes/{change.id}"))
    assert "Approve change" in page
    r = a.post(f"/orders/{o.id}/changes/{change.id}/approval",
               data={"lock_version": change.lock_version, "decision": "approve"})
    assert r.status_code == 302, text(r)
    db.session.expire_all()
    assert db.session.get(OrderChange, change.id).status == ChangeStatus.proposed
    assert login(world.sales_a).get(f"/orders/{o.id}/changes/{change.id}").status_code == 200


def test_supplier_proposal_per_line_in_the_browser_never_cancels(world, login):
    o = factories.order(world.buyer, world.supplier_a, world.procurement, status="placed")
    l1, l2 = [ln.id for ln in fresh(o).lines]
    s = login(world.sales_a)
    r = s.post(f"/orders/{o.id}/acknowledge", data={
        "lock_version": _v(o), f"action-{l1}": "change", f"date-{l1}": "2031-01-10", f"note-{l1}": "Batch",
        f"action-{l2}": "change", f"quantity-{l2}": "30", f"price-{l2}": "12.50", f"note-{l2}": "Stock"})
    assert r.status_code == 302
    change = changes.open_change(o.id)
    c = login(world.procurement)
    page = text(c.get(f"/orders/{o.id}"))
    assert "Decide per line" in page and "never cancels" in page
    c1, c2 = change.lines
    r = c.post(f"/orders/{o.id}/changes/{change.id}", data={
        "lock_version": change.lock_version, f"decision-{c1.id}": "accept", f"decision-{c2.id}": "reject",
        f"reason-{c2.id}": "We need 40", "action": "decide"})
    assert r.status_code == 302
    o = fresh(o)
    assert o.status == S.acknowledged and o.revision == 2 and o.lines[1].quantity == Decimal("40")


def test_short_close_in_the_browser(world, login):
    o = _acked(world)
    from tests.invoices.conftest import ship

    ship(o, {1: "60", 2: "40"}, creator=world.sales_a)
    c = login(world.procurement)
    assert "Close open quantities" in text(c.get(f"/orders/{o.id}"))
    page = text(c.get(f"/orders/{o.id}/short-close"))
    assert "40" in page
    l1 = fresh(o).lines[0].id
    r = c.post(f"/orders/{o.id}/short-close", data={"lock_version": _v(o), "line": [str(l1)], "reason": ""})
    assert r.status_code == 422 and "Give a reason" in text(r)
    r = c.post(f"/orders/{o.id}/short-close", data={"lock_version": _v(o), "line": [str(l1)],
                                                    "reason": "Rest not needed"})
    assert r.status_code == 302
    o = fresh(o)
    assert o.status == S.shipped and o.lines[0].short_closed_quantity == Decimal("40")
    assert login(world.sales_a).get(f"/orders/{o.id}/short-close").status_code == 403


def test_internal_notes_and_cost_references_stay_with_the_buyer(world, login):
    o = _acked(world)
    o = fresh(o)
    o.internal_notes = "Budget line 42 secret"
    o.lines[0].cost_reference = "CC-SECRET"
    db.session.commit()
    assert "Budget line 42 secret" in text(login(world.procurement).get(f"/orders/{o.id}"))
    page = text(login(world.sales_a).get(f"/orders/{o.id}"))
    assert "Budget line 42 secret" not in page and "CC-SECRET" not in page
    snap = revisions.po_snapshot(fresh(o))
    assert "secret" not in str(snap).lower()


def test_the_approval_queue_lists_changes_waiting_for_approval(world, login, rules):
    o = _acked(world)
    l1, _ = [ln.id for ln in fresh(o).lines]
    change = changes.propose(fresh(o), world.procurement, _v(o), {l1: {"quantity": "5000"}})
    page = text(login(world.approver).get("/orders/approvals"))
    assert "Changes to sent orders waiting for approval" in page and f"/changes/{change.id}" in page
    assert "Review and decide" in page


def test_a_reordered_draft_says_which_prices_changed(world, login):
    from portal.orders import services

    item = factories.catalog_item(world.supplier_a, sku="NUT-7", price="1.20")
    old = services.create_draft_order(world.procurement, world.supplier_a.id, [
        {"catalog_item_id": item.id, "sku": "NUT-7", "description": "Nut", "quantity": Decimal("10"),
         "unit_price": Decimal("1.00")}])
    new = services.create_draft_order(world.procurement, world.supplier_a.id, [
        {"catalog_item_id": item.id, "sku": "NUT-7", "description": "Nut", "quantity": Decimal("10"),
         "unit_price": Decimal("1.20")}], source="reorder", reorder_of_id=old.id)
    page = text(login(world.procurement).get(f"/orders/{new.id}"))
    assert "Prices changed since the order you reordered" in page and old.po_number in page
    assert "Prices changed" not in text(login(world.procurement).get(f"/orders/{old.id}"))


def test_the_suppliers_dashboard_counts_change_orders_to_decide(world, login):
    from flask import current_app

    from portal.orders.panels import panels

    o = _acked(world)
    l1, _ = [ln.id for ln in fresh(o).lines]
    change = changes.propose(fresh(o), world.procurement, _v(o), {l1: {"quantity": "50"}})
    with current_app.test_request_context():
        tiles = {p["title"]: p for p in panels(world.sales_a)}
        assert tiles["Change orders to decide"]["count"] == 1
        assert f"/changes/{change.id}" in tiles["Change orders to decide"]["items"][0][1]
        assert {p["title"]: p["count"] for p in panels(world.sales_b)}["Change orders to decide"] == 0
    page = text(login(world.sales_a).get("/dashboard"))
    assert "Change orders to decide" in page
