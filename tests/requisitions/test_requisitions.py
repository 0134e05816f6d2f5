"""Requisitions: raise, approve by cost-centre owner and amount rules, bad input, tenancy, sourcing, status."""
from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa

from portal.db import db
from portal.errors import Forbidden, InvalidTransition, NotFound, ValidationFailed
from portal.requisitions import services
from portal.requisitions.models import Requisition, RequisitionLine
from portal.requisitions.states import TRANSITIONS, check
from portal.requisitions.states import RequisitionStatus as S
from tests import factories
from tests.requisitions.conftest import line, raise_req


def _count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


@pytest.mark.parametrize("current", list(S))
def test_transition_table_is_walked(current):
    for target in S:
        if target in TRANSITIONS[current]:
            check(current, target)
        else:
            with pytest.raises(InvalidTransition):
                check(current, target)


def test_requester_role_exists_and_every_role_may_request(rw):
    req = raise_req(rw, who=rw.procurement, submit=False)
    assert req.status == S.draft and req.number.startswith("REQ-")
    assert rw.engineer.has_role("requester")


def test_owner_approves_then_it_lands_in_procurements_queue(rw):
    req = raise_req(rw, line(qty="3", price="20", cc=rw.cc, gl=rw.gl))
    assert req.status == S.submitted and req.total_estimated == Decimal("60.00")
    kind, why = services.can_decide(req, rw.approver)
    assert kind is None and "owner" in why
    with pytest.raises(Forbidden):
        services.decide(rw.approver, req.id, req.lock_version, "approved")
    req = services.decide(rw.owner, req.id, req.lock_version, "approved")
    assert req.status == S.approved and req.approved_on is not None
    assert [r.id for r in services.procurement_queue(rw.procurement)] == [req.id]


def test_amount_rule_needs_an_approver_after_the_owner(rw):
    from portal.orders.models import ApprovalRule

    db.session.add(ApprovalRule(buyer_company_id=rw.buyer.id, threshold=Decimal(100), currency="EUR",
                                approvals_required=1))
    db.session.commit()
    req = raise_req(rw, line(qty="10", price="20", cc=rw.cc))
    req = services.decide(rw.owner, req.id, None, "approved")
    assert req.status == S.submitted and services.pending(req)["amount"] == 1
    with pytest.raises(Forbidden):  # the owner already approved
        services.decide(rw.owner, req.id, None, "approved")
    req = services.decide(rw.approver, req.id, None, "approved")
    assert req.status == S.approved
    kinds = [a.kind for a in req.approvals]
    assert kinds == ["owner", "amount"]


def test_two_cost_centres_need_both_owners(rw):
    req = raise_req(rw, line(cc=rw.cc), line(desc="Drill", cc=rw.cc2))
    req = services.decide(rw.owner, req.id, None, "approved")
    assert req.status == S.submitted
    req = services.decide(rw.owner2, req.id, None, "approved")
    assert req.status == S.approved


def test_reject_needs_a_comment_and_reopen(rw):
    req = raise_req(rw)
    with pytest.raises(ValidationFailed):
        services.decide(rw.owner, req.id, None, "rejected")
    req = services.decide(rw.owner, req.id, None, "rejected", comment="Use stock first")
    assert req.status == S.rejected and req.decision_note == "Use stock first"
    req = services.reopen(rw.engineer, req.id)
    assert req.status == S.draft
    req = services.submit(rw.engineer, req.id)
    assert req.status == S.submitted and services.can_decide(req, rw.owner)[0] == "owner"


def test_cost_centre_required_refused_and_nothing_saved(rw):
    from portal.budgets import services as budgets

    budgets.save_settings(rw.buyer_admin, cost_centre_required=True, budget_mode="warn")
    before = _count(Requisition), _count(RequisitionLine)
    with pytest.raises(ValidationFailed, match="requires a cost centre"):
        raise_req(rw, line(cc=rw.cc), line(desc="Gloves"))
    assert (_count(Requisition), _count(RequisitionLine)) == before
    draft = raise_req(rw, line(desc="Gloves"), submit=False)
    with pytest.raises(ValidationFailed, match="line 1 has none"):
        services.submit(rw.engineer, draft.id)
    db.session.expire_all()
    assert db.session.get(Requisition, draft.id).status == S.draft


@pytest.mark.parametrize("qty,price,message", [
    ("ten", "12.50", "quantity"), ("0", "12.50", "more than 0"), ("-3", "1", "more than 0"),
    ("5", "12,50,3", "price"), ("5", "-1", "negative"), ("5", "", "estimated unit price"),
    ("1e999", "1", "quantity"),
])
def test_malformed_quantities_and_prices_refused_nothing_saved(rw, qty, price, message):
    before = _count(Requisition)
    with pytest.raises(ValidationFailed, match=message):
        raise_req(rw, line(qty=qty, price=price, cc=rw.cc))
    assert _count(Requisition) == before


def test_another_companys_cost_centre_is_not_found(rw):
    from portal.budgets.models import CostCentre

    other = factories.company("buyer")
    boss = factories.user(other, "admin")
    foreign = CostCentre(company_id=other.id, code="X-1", name="Theirs", owner_id=boss.id)
    db.session.add(foreign)
    db.session.commit()
    before = _count(Requisition)
    with pytest.raises(NotFound):
        raise_req(rw, line(cc=foreign))
    assert _count(Requisition) == before


def test_another_companys_requisition_is_404(rw, login):
    req = raise_req(rw)
    other = factories.company("buyer")
    stranger = factories.user(other, "admin", "approver")
    c = login(stranger)
    assert c.get(f"/requisitions/{req.id}").status_code == 404
    assert c.post(f"/requisitions/{req.id}/decide", data={"decision": "approve"}).status_code == 404
    with pytest.raises(NotFound):
        services.decide(stranger, req.id, None, "approved")


def test_to_rfq_links_lines_and_follows_to_ordered_and_received(rw):
    from portal.orders.models import OrderLine
    from portal.orders.services import create_orders_from_award
    from portal.orders.states import OrderStatus
    from portal.rfq.models import RfqLine

    a = raise_req(rw, line(desc="Bearing", qty="10", price="5", cc=rw.cc, gl=rw.gl))
    b = raise_req(rw, line(desc="Seal kit", qty="4", price="20", cc=rw.cc2))
    for req, owner in ((a, rw.owner), (b, rw.owner2)):
        services.decide(owner, req.id, None, "approved")
    rfq = services.to_rfq(rw.procurement, [a.id, b.id], title="Spares")
    db.session.expire_all()
    lines = db.session.scalars(sa.select(RfqLine).where(RfqLine.rfq_id == rfq.id).order_by(RfqLine.position)).all()
    assert [ln.description for ln in lines] == ["Bearing", "Seal kit"]
    a, b = db.session.get(Requisition, a.id), db.session.get(Requisition, b.id)
    assert a.status == b.status == S.sourcing
    assert a.lines[0].rfq_line_id == lines[0].id and b.lines[0].rfq_line_id == lines[1].id
    # award and order: the order lines take the requisition lines' cost centres and link back
    from portal.rfq.models import Rfq
    from portal.rfq.states import RfqStatus

    rfq = db.session.get(Rfq, rfq.id)
    rfq.status = RfqStatus.closed
    db.session.commit()
    q = factories.quote(rfq, rw.supplier_a, rw.sales_a)
    award = factories.award(rfq, rw.procurement, [(0, q, "10", "5.00"), (1, q, "4", "20.00")])
    orders = create_orders_from_award(award.id, rw.procurement)
    ols = db.session.scalars(sa.select(OrderLine).where(OrderLine.order_id == orders[0].id)
                             .order_by(OrderLine.position)).all()
    assert [(ol.cost_centre_id, ol.gl_account_id) for ol in ols] == [(rw.cc.id, rw.gl.id), (rw.cc2.id, None)]
    db.session.expire_all()
    assert db.session.get(Requisition, a.id).lines[0].order_line_id == ols[0].id
    order = orders[0]
    order.status = OrderStatus.submitted  # sent
    db.session.commit()
    assert db.session.get(Requisition, a.id).status == S.ordered
    order.status = OrderStatus.placed
    db.session.commit()
    order.status = OrderStatus.acknowledged
    db.session.commit()
    order.status = OrderStatus.shipped
    db.session.commit()
    order.status = OrderStatus.received
    db.session.commit()
    assert db.session.get(Requisition, a.id).status == S.received
    assert db.session.get(Requisition, b.id).status == S.received


def test_to_orders_from_catalog_lines_keeps_cost_centre(rw):
    item = factories.catalog_item(rw.supplier_a, sku="BRG-6204", price="4.00")
    req = raise_req(rw, line(desc="", qty="25", price="", cc=rw.cc, gl=rw.gl, sku="brg-6204"))
    assert req.lines[0].catalog_item_id == item.id and req.lines[0].estimated_price == Decimal("4.0000")
    services.decide(rw.owner, req.id, None, "approved")
    orders = services.to_orders(rw.procurement, [req.id])
    assert len(orders) == 1
    ol = orders[0].lines[0]
    assert (ol.cost_centre_id, ol.gl_account_id, ol.quantity) == (rw.cc.id, rw.gl.id, Decimal(25))
    db.session.expire_all()
    req = db.session.get(Requisition, req.id)
    assert req.status == S.sourcing and req.lines[0].order_line_id == ol.id


def test_free_text_lines_cannot_become_orders(rw):
    req = raise_req(rw)
    services.decide(rw.owner, req.id, None, "approved")
    with pytest.raises(ValidationFailed, match="RFQ"):
        services.to_orders(rw.procurement, [req.id])
    db.session.expire_all()
    assert db.session.get(Requisition, req.id).status == S.approved


def test_only_approved_requisitions_are_sourced(rw):
    req = raise_req(rw)
    with pytest.raises(InvalidTransition):
        services.to_rfq(rw.procurement, [req.id])
    with pytest.raises(Forbidden):
        services.to_rfq(rw.engineer, [req.id])


def test_defaults_fill_lines_and_order_lines(rw):
    from portal.budgets import services as budgets

    budgets.save_default(rw.buyer_admin, user_id=rw.engineer.id, cost_centre_id=rw.cc2.id, gl_account_id=rw.gl.id)
    budgets.save_default(rw.buyer_admin, category="bearings", cost_centre_id=rw.cc.id)
    req = raise_req(rw, line(desc="Gloves"))
    assert (req.lines[0].cost_centre_id, req.lines[0].gl_account_id) == (rw.cc2.id, rw.gl.id)
    order = factories.order(rw.buyer, rw.supplier_a, rw.engineer)
    assert {ln.cost_centre_id for ln in order.lines} == {rw.cc2.id}


def test_invoice_lines_take_the_order_lines_cost_centre(rw):
    from portal.invoices import services as invoices
    from portal.invoices.models import InvoiceLine
    from tests.invoices.conftest import IBAN, ship

    rw.supplier_a.iban, rw.supplier_a.bic = IBAN, "COBADEFFXXX"
    db.session.commit()
    order = factories.order(rw.buyer, rw.supplier_a, rw.procurement, status="acknowledged", lines=[("10", "3.00")])
    order.lines[0].cost_centre_id, order.lines[0].gl_account_id = rw.cc.id, rw.gl.id
    db.session.commit()
    sh = ship(order, {1: "10"}, creator=rw.sales_a)
    inv = invoices.create_draft(rw.accounts_a, shipment_id=sh.id)
    il = db.session.scalar(sa.select(InvoiceLine).where(InvoiceLine.invoice_id == inv.id))
    assert (il.cost_centre_id, il.gl_account_id) == (rw.cc.id, rw.gl.id)


def test_order_draft_costs_are_editable_and_tenant_checked(rw, login):
    order = factories.order(rw.buyer, rw.supplier_a, rw.procurement)
    c = login(rw.procurement)
    page = c.get(f"/orders/{order.id}").get_data(as_text=True)
    assert 'data-testid="order-costs"' in page
    ln = order.lines[0]
    resp = c.post(f"/budgets/orders/{order.id}/costs", data={"lock_version": order.lock_version,
                                                              f"cc-{ln.id}": rw.cc.id, f"gl-{ln.id}": rw.gl.id})
    assert resp.status_code == 302
    db.session.expire_all()
    assert db.session.get(type(ln), ln.id).cost_centre_id == rw.cc.id
    from portal.budgets.models import CostCentre

    other = factories.company("buyer")
    foreign = CostCentre(company_id=other.id, code="X", name="X", owner_id=factories.user(other).id)
    db.session.add(foreign)
    db.session.commit()
    order = db.session.get(type(order), order.id)
    c.post(f"/budgets/orders/{order.id}/costs", data={"lock_version": order.lock_version, f"cc-{ln.id}": foreign.id})
    db.session.expire_all()
    assert db.session.get(type(ln), ln.id).cost_centre_id == rw.cc.id  # refused (404), nothing changed


def test_pages_render_for_requester_owner_and_procurement(rw, login):
    req = raise_req(rw)
    c = login(rw.engineer)
    assert c.get("/requisitions/").status_code == 200
    assert c.get("/requisitions/new").status_code == 200
    draft = raise_req(rw, line(), line(desc="Two"), line(desc="Three"), line(desc="Four"), submit=False)
    page = c.get(f"/requisitions/{draft.id}/edit").get_data(as_text=True)
    assert page.count('name="lines-') // 8 == 6  # four lines and two blank ones
    resp = c.post("/requisitions/new", data={"title": "Helmets", "line_count": "1", "lines-0-description": "Helmet",
                                             "lines-0-quantity": "3", "lines-0-estimated_price": "12.00",
                                             "lines-0-cost_centre_id": rw.cc.id, "action": "submit"})
    assert resp.status_code == 302
    bad = c.post("/requisitions/new", data={"title": "Helmets", "line_count": "1", "lines-0-description": "Helmet",
                                            "lines-0-quantity": "three", "lines-0-estimated_price": "12.00"})
    assert bad.status_code == 422 and "quantity" in bad.get_data(as_text=True)
    o = login(rw.owner)
    page = o.get(f"/requisitions/{req.id}").get_data(as_text=True)
    assert 'data-testid="budget-impact"' in page and 'data-testid="decide"' in page
    assert o.post(f"/requisitions/{req.id}/decide", data={"decision": "approve"}).status_code == 302
    p = login(rw.procurement)
    assert req.number in p.get("/requisitions/queue").get_data(as_text=True)
    resp = p.post("/requisitions/source", data={"requisition_id": req.id, "action": "rfq"})
    assert resp.status_code == 302 and "/rfqs/" in resp.headers["Location"]


def test_attachments(rw, login):
    req = raise_req(rw, submit=False)
    c = login(rw.engineer)
    import io

    resp = c.post(f"/requisitions/{req.id}/attachments",
                  data={"file": (io.BytesIO(b"%PDF-1.4 quote"), "offer.pdf")}, content_type="multipart/form-data")
    assert resp.status_code == 302
    db.session.expire_all()
    att = db.session.get(Requisition, req.id).attachments[0]
    assert c.get(f"/requisitions/{req.id}/attachments/{att.id}").status_code == 200
    resp = c.post(f"/requisitions/{req.id}/attachments",
                  data={"file": (io.BytesIO(b"MZ..."), "virus.exe")}, content_type="multipart/form-data")
    db.session.expire_all()
    assert len(db.session.get(Requisition, req.id).attachments) == 1
