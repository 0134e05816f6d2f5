"""Two people deciding the same change at once: one wins, the other gets a Conflict; nothing is applied twice
(PostgreSQL, threads released together; the order row lock serialises them)."""
from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa

from portal.accounts.models import User
from portal.credit.models import CreditAccount, CreditReservation
from portal.db import db
from portal.errors import Conflict
from portal.orders import changes, services
from portal.orders.models import ChangeStatus, OrderChange, OrderRevision, PurchaseOrder
from tests import factories
from tests.accounts.helpers import fresh
from tests.concurrency.conftest import race


def _setup(world):
    db.session.add(CreditAccount(supplier_company_id=world.supplier_a.id, buyer_company_id=world.buyer.id,
                                 limit_amount=Decimal("100000"), currency="EUR"))
    o = factories.order(world.buyer, world.supplier_a, world.procurement, status="acknowledged")
    db.session.add(CreditReservation(order_id=o.id, supplier_company_id=o.supplier_company_id,
                                     buyer_company_id=o.buyer_company_id, amount=o.total_net, currency="EUR"))
    db.session.commit()
    return o


@pytest.mark.postgres
def test_two_simultaneous_decisions_on_one_change_one_wins(app, world):
    o = _setup(world)
    l1 = fresh(o).lines[0].id
    change = changes.propose(fresh(o), world.procurement, fresh(o).lock_version, {l1: {"quantity": "60"}})
    change = db.session.get(OrderChange, change.id)
    cid, version, cl_id = change.id, change.lock_version, change.lines[0].id
    deciders = [world.sales_a.id, world.admin_a.id]
    choices = ["accept", "reject"]

    def work(i):
        actor = db.session.get(User, deciders[i])
        changes.decide(db.session.get(PurchaseOrder, o.id), cid, actor, version,
                       {cl_id: {"decision": choices[i], "reason": "no" if i else ""}})
        return choices[i]

    results = race(app, 2, work)
    wins = [v for ok, v in results if ok]
    losses = [v for ok, v in results if not ok]
    assert len(wins) == 1 and len(losses) == 1 and isinstance(losses[0], Conflict), results
    order = db.session.get(PurchaseOrder, o.id)
    change = db.session.get(OrderChange, cid)
    assert change.status == ChangeStatus.decided
    reserved = db.session.scalar(sa.select(CreditReservation.amount).where(CreditReservation.order_id == o.id))
    if wins[0] == "accept":
        assert order.lines[0].quantity == Decimal("60") and order.revision == 2 and reserved == Decimal("630.00")
    else:
        assert order.lines[0].quantity == Decimal("100") and order.revision == 1 and reserved == Decimal("730.00")
    revs = db.session.scalar(sa.select(sa.func.count(OrderRevision.id)).where(OrderRevision.order_id == o.id))
    assert revs == (2 if wins[0] == "accept" else 0)


@pytest.mark.postgres
def test_buyer_accepting_and_rejecting_supplier_proposals_at_once(app, world):
    o = factories.order(world.buyer, world.supplier_a, world.procurement, status="placed")
    l1 = fresh(o).lines[0].id
    services.acknowledge(fresh(o), world.sales_a, fresh(o).lock_version,
                         {l1: {"action": "change", "quantity": "80", "note": "stock"}})
    version = fresh(o).lock_version
    buyers = [world.procurement.id, world.procurement2.id]

    def work(i):
        actor = db.session.get(User, buyers[i])
        fn = services.accept_changes if i == 0 else services.reject_changes
        fn(db.session.get(PurchaseOrder, o.id), actor, version)
        return i

    results = race(app, 2, work)
    assert sum(1 for ok, _ in results if ok) == 1
    assert all(isinstance(v, Conflict) for ok, v in results if not ok), results
    order = db.session.get(PurchaseOrder, o.id)
    assert order.status.value == "acknowledged"
    assert db.session.scalar(sa.select(sa.func.count(OrderChange.id)).where(
        OrderChange.order_id == o.id, OrderChange.status == ChangeStatus.decided)) == 1


@pytest.mark.postgres
def test_two_buyers_proposing_at_once_make_one_change(app, world):
    o = _setup(world)
    l1 = fresh(o).lines[0].id
    version = fresh(o).lock_version
    buyers = [world.procurement.id, world.procurement2.id]

    def work(i):
        actor = db.session.get(User, buyers[i])
        return changes.propose(db.session.get(PurchaseOrder, o.id), actor, version,
                               {l1: {"quantity": str(50 + i)}}).id

    results = race(app, 2, work)
    assert sum(1 for ok, _ in results if ok) == 1
    assert all(isinstance(v, Conflict) for ok, v in results if not ok), results
    assert db.session.scalar(sa.select(sa.func.count(OrderChange.id)).where(OrderChange.order_id == o.id)) == 1
