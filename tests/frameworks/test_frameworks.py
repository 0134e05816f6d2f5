"""Framework agreements: made from an award, call-offs at agreed prices, caps (80 % warning, refusal beyond 100 %
unless allowed), expiry by the sweep, the notice to both sides 30 days before."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal as D

import pytest
import sqlalchemy as sa

from portal.db import db, utcnow
from portal.errors import Forbidden, InvalidTransition, NotFound, ValidationFailed
from portal.frameworks import services as fa
from portal.frameworks.models import AgreementStatus, CallOff, CallOffLine, FrameworkAgreement
from portal.notifications.models import Notification
from portal.orders import services as order_services
from portal.orders.models import OrderLine, PurchaseOrder
from portal.orders.states import OrderStatus
from portal.quotes import award as award_service
from portal.quotes.models import Award
from tests.api.conftest import token_for  # noqa: F401 - the API tests' token fixture
from tests.frameworks.helpers import agreement, closed_with_quotes, fresh
from tests.requisitions.conftest import rw  # noqa: F401  (fixture)


def count(model, *where):
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def line_ids(a):
    return [ln.id for ln in a.lines]


def test_an_award_becomes_an_agreement_at_the_awarded_prices(world):
    a = agreement(world, max_value="2000")
    assert a.reference.startswith("FA-") and a.status == AgreementStatus.active
    assert a.supplier_company_id == world.supplier_a.id
    assert [(ln.unit_price, ln.max_quantity) for ln in a.lines] == [(D("1.0000"), D("100.0000")),
                                                                     (D("2.0000"), D("200.0000")),
                                                                     (D("3.0000"), D("300.0000"))]
    assert a.max_value == D("2000.00")
    award = db.session.get(Award, a.award_id)
    assert award.orders_created_at is not None  # instead of one-off orders
    assert order_services.create_orders_from_award(award.id, world.procurement) == []
    with pytest.raises(InvalidTransition):
        fa.create_from_award(award.id, world.procurement, valid_from=utcnow().date(),
                             valid_until=utcnow().date() + timedelta(days=30))
    # the supplier is told
    assert count(Notification, Notification.kind == "framework_agreement",
                 Notification.company_id == world.supplier_a.id) >= 1


@pytest.mark.parametrize("start, end, message", [
    (0, -1, "end on or after"), (-30, -1, "in the past"), (0, None, "Enter the end of validity"),
])
def test_bad_validity_is_refused_and_nothing_saved(world, start, end, message):
    r, qa, _ = closed_with_quotes(world)
    award = award_service.award_whole(r, world.procurement, qa.id)
    today = utcnow().date()
    with pytest.raises(ValidationFailed, match=message):
        fa.create_from_award(award.id, world.procurement, valid_from=today + timedelta(days=start),
                             valid_until=None if end is None else today + timedelta(days=end))
    assert count(FrameworkAgreement) == 0
    assert fresh(award).orders_created_at is None


def test_a_call_off_is_a_draft_po_at_the_agreed_prices_linked_to_the_agreement(world):
    a = agreement(world)
    l1, l2, _ = line_ids(a)
    result = fa.call_off(a, world.procurement, {l1: "40", l2: "10"})
    order = result.order
    assert order.status == OrderStatus.draft and order.supplier_company_id == world.supplier_a.id
    assert [(ln.quantity, ln.unit_price, ln.line_total) for ln in order.lines] == [
        (D("40"), D("1"), D("40.00")), (D("10"), D("2"), D("20.00"))]
    assert order.total_net == D("60.00")
    links = list(db.session.scalars(sa.select(CallOffLine).order_by(CallOffLine.id)))
    assert [(x.framework_line_id, x.order_line_id) for x in links] == [(l1, order.lines[0].id),
                                                                        (l2, order.lines[1].id)]
    use = fa.usage(fresh(a))
    assert use.line(l1).consumed == D("40") and use.line(l1).remaining == D("60")
    assert use.value == D("60.00") and use.call_offs == 1
    assert result.warnings == []


def test_warns_at_80_percent(world):
    a = agreement(world)
    l1 = line_ids(a)[0]
    assert fa.call_off(a, world.procurement, {l1: "79"}).warnings == []
    warnings = fa.call_off(fresh(a), world.procurement, {l1: "1"}).warnings
    assert warnings == ["Item 1: 80 % of the agreed quantity is now used"]
    assert fa.usage(fresh(a)).warning


def test_beyond_the_agreed_quantity_is_refused_and_nothing_saved(world):
    a = agreement(world)
    l1 = line_ids(a)[0]
    fa.call_off(a, world.procurement, {l1: "70"})
    with pytest.raises(ValidationFailed, match=r"Item 1: 31 pcs would exceed the agreed 100 pcs \(70 called off, "
                                               r"30 remaining\)"):
        fa.call_off(fresh(a), world.procurement, {l1: "31"})
    assert count(CallOff) == 1 and count(PurchaseOrder) == 1 and count(OrderLine) == 1
    fa.call_off(fresh(a), world.procurement, {l1: "30"})  # exactly 100 % fits


def test_beyond_the_agreed_value_is_refused(world):
    a = agreement(world, max_value="500", cap_quantities=False)
    l3 = line_ids(a)[2]
    fa.call_off(a, world.procurement, {l3: "100"})  # 300.00
    with pytest.raises(ValidationFailed, match="would exceed the agreed value of €500.00"):
        fa.call_off(fresh(a), world.procurement, {l3: "67"})  # 201.00
    assert count(PurchaseOrder) == 1


def test_the_setting_allows_going_beyond_with_a_warning(world):
    a = agreement(world, allow_exceed=True)
    l1 = line_ids(a)[0]
    result = fa.call_off(a, world.procurement, {l1: "120"})
    assert any("would exceed the agreed 100 pcs" in w for w in result.warnings)
    assert fa.usage(fresh(a)).percent == 120


def test_a_cancelled_call_off_gives_its_quantity_back(world):
    a = agreement(world)
    l1 = line_ids(a)[0]
    order = fa.call_off(a, world.procurement, {l1: "100"}).order
    order_services.cancel(fresh(order), world.procurement, fresh(order).lock_version, "Not needed")
    assert fresh(order).status == OrderStatus.cancelled
    assert fa.usage(fresh(a)).line(l1).consumed == 0
    fa.call_off(fresh(a), world.procurement, {l1: "100"})


def test_a_call_off_after_expiry_is_refused(world):
    a = agreement(world)
    a.valid_from = utcnow().date() - timedelta(days=40)
    a.valid_until = utcnow().date() - timedelta(days=1)
    db.session.commit()
    with pytest.raises(ValidationFailed, match=r"expired on .*call-offs are no longer possible"):
        fa.call_off(fresh(a), world.procurement, {line_ids(a)[0]: "1"})
    assert count(PurchaseOrder) == 0


@pytest.mark.parametrize("quantities, message", [
    ({}, "at least one item"), ({"999999": "1"}, "not an item of"), ("neg", "cannot be negative"),
    ("text", "Quantity of Item 1"),
])
def test_bad_call_off_input_gets_a_sentence(world, quantities, message):
    a = agreement(world)
    if quantities == "neg":
        quantities = {line_ids(a)[0]: "-3"}
    elif quantities == "text":
        quantities = {line_ids(a)[0]: "lots"}
    with pytest.raises(ValidationFailed, match=message):
        fa.call_off(a, world.procurement, quantities)
    assert count(PurchaseOrder) == 0


def test_only_the_buyers_procurement_calls_off(world):
    a = agreement(world)
    with pytest.raises(Forbidden):
        fa.call_off(a, world.sales_a, {line_ids(a)[0]: "1"})
    with pytest.raises(Forbidden):
        fa.call_off(fresh(a), world.approver, {line_ids(a)[0]: "1"})
    with pytest.raises(NotFound):
        fa.call_off(fresh(a), world.sales_b, {line_ids(a)[0]: "1"})


def test_the_sweep_tells_both_sides_30_days_before_and_expires_after(world):
    a = agreement(world, days=45)
    today = utcnow().date()
    assert fa.sweep(today) == {"expired": 0, "noticed": 0}
    assert fa.sweep(today + timedelta(days=15)) == {"expired": 0, "noticed": 1}
    assert fa.sweep(today + timedelta(days=16)) == {"expired": 0, "noticed": 0}  # once
    kinds = db.session.execute(sa.select(Notification.company_id).where(Notification.kind == "framework_expiring"))
    companies = {cid for (cid,) in kinds}
    assert companies == {world.buyer.id, world.supplier_a.id}
    assert fa.sweep(today + timedelta(days=46)) == {"expired": 1, "noticed": 0}
    assert fresh(a).status == AgreementStatus.expired
    with pytest.raises(ValidationFailed, match="expired"):
        fa.call_off(fresh(a), world.procurement, {line_ids(a)[0]: "1"})


def test_the_sweep_runs_from_the_periodic_tick():
    from portal.jobs.periodic import SWEEPS

    assert "portal.frameworks.services.sweep" in SWEEPS


def test_call_off_from_a_requisitions_rfq_takes_its_cost_centre_and_links_the_requisition(rw):  # noqa: F811
    """A framework made from an RFQ that came from a requisition: the call-off's lines carry the award line, so
    they take the requisition line's cost centre and GL account and the requisition line links the order line
    (its amount is then committed once, through the order, not twice)."""
    from datetime import timedelta

    from portal.budgets.figures import figures_for
    from portal.frameworks import services as fa_services
    from portal.orders.states import OrderStatus
    from portal.requisitions import services as req_services
    from portal.requisitions.models import Requisition
    from portal.rfq.models import Rfq
    from portal.rfq.states import RfqStatus
    from tests import factories
    from tests.requisitions.conftest import line, raise_req

    req = raise_req(rw, line(desc="Bearing", qty="10", price="5", cc=rw.cc, gl=rw.gl))
    req_services.decide(rw.owner, req.id, None, "approved")
    rfq = req_services.to_rfq(rw.procurement, [req.id], title="Spares")
    rfq = db.session.get(Rfq, rfq.id)
    rfq.status = RfqStatus.closed
    db.session.commit()
    q = factories.quote(rfq, rw.supplier_a, rw.sales_a, prices=["4.00"])
    award = factories.award(rfq, rw.procurement, [(0, q, "10", "4.00")])
    today = utcnow().date()
    (agreement,) = fa_services.create_from_award(award.id, rw.procurement, valid_from=today,
                                                 valid_until=today + timedelta(days=30))
    order = fa_services.call_off(agreement, rw.procurement, {agreement.lines[0].id: "6"}).order
    ol = order.lines[0]
    assert (ol.cost_centre_id, ol.gl_account_id) == (rw.cc.id, rw.gl.id)
    assert ol.award_line_id is not None
    db.session.expire_all()
    assert db.session.get(Requisition, req.id).lines[0].order_line_id == ol.id
    before = figures_for(rw.buyer.id, "EUR", [rw.budget])[rw.budget.id]
    assert before.committed == D("50.00")  # the requisition: its order is a draft, not sent
    order = db.session.get(type(order), order.id)
    order.status = OrderStatus.submitted
    order.sent_at = utcnow()
    db.session.commit()
    after = figures_for(rw.buyer.id, "EUR", [rw.budget])[rw.budget.id]
    assert after.committed == D("24.00")  # the sent call-off (6 × 4.00) only; the requisition no more


def test_the_suppliers_consumed_total_leaves_out_the_buyers_unsent_drafts(world, client, token_for):
    """The supplier sees a call-off only once its order is sent: its figures (page, API, expiry notice) count only
    sent call-offs; the buyer's figures and the caps count the drafts too."""
    a = agreement(world, max_value="1000", days=20)
    l1, l2, _ = line_ids(a)
    sent = fa.call_off(a, world.procurement, {l1: "10"}).order  # 10.00
    assert sent.source.value == "framework"
    draft = fa.call_off(fresh(a), world.procurement, {l2: "50"}).order  # 100.00, stays a draft
    sent = db.session.get(PurchaseOrder, sent.id)
    sent.status = OrderStatus.submitted  # sent: sent_at is stamped
    db.session.commit()
    assert db.session.get(PurchaseOrder, sent.id).sent_at is not None
    assert db.session.get(PurchaseOrder, draft.id).sent_at is None
    a = fresh(a)
    assert fa.usage(a).value == D("110.00")
    assert fa.usage(a, viewer_company_id=world.buyer.id).value == D("110.00")
    supplier_use = fa.usage(a, viewer_company_id=world.supplier_a.id)
    assert supplier_use.value == D("10.00") and supplier_use.call_offs == 1
    assert supplier_use.line(l2).consumed == 0
    theirs = client.get(f"/api/v1/framework-agreements/{a.id}", headers=token_for(world.sales_a)).get_json()
    assert theirs["consumed_value"] == {"amount": "10.00", "currency": "EUR"}
    assert theirs["remaining_value"] == {"amount": "990.00", "currency": "EUR"}
    assert [c["order_id"] for c in theirs["call_offs"]] == [sent.id]
    listed = client.get("/api/v1/framework-agreements", headers=token_for(world.sales_a)).get_json()["items"]
    assert listed[0]["consumed_value"]["amount"] == "10.00"
    mine = client.get(f"/api/v1/framework-agreements/{a.id}", headers=token_for(world.procurement)).get_json()
    assert mine["consumed_value"] == {"amount": "110.00", "currency": "EUR"}
    fa.sweep(utcnow().date())
    body = db.session.scalar(sa.select(Notification.body).where(
        Notification.company_id == world.supplier_a.id, Notification.kind == "framework_expiring"))
    assert "10.00" in body and "110.00" not in body
