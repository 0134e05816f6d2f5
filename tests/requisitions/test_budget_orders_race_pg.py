"""Two purchase orders that each fit but together exceed a blocking budget, submitted at the same moment: exactly one
is sent; the other waits on the budget row lock, reads the first one's commitment under the lock and is held for the
cost-centre owner's approval with a sentence (PostgreSQL, threads). The figures still equal a from-scratch
recomputation."""
from __future__ import annotations

import threading
import time
from decimal import Decimal

import pytest

from portal.db import db
from tests import factories
from tests.concurrency.conftest import race

pytestmark = [pytest.mark.usefixtures("app"), pytest.mark.postgres]


def _drafts(w, *amounts):
    out = []
    for amount in amounts:
        o = factories.order(w.buyer, w.supplier_a, w.procurement, lines=[("1", amount)])
        o.lines[0].cost_centre_id = w.cc.id
        out.append(o)
    db.session.commit()
    return [o.id for o in out]


def test_two_orders_cannot_both_spend_a_blocking_budget(app, rw, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("row locks: PostgreSQL")
    from portal.accounts.models import User
    from portal.budgets import services as budgets
    from portal.budgets.figures import figures_for, recompute
    from portal.orders import services as orders
    from portal.orders.models import PurchaseOrder

    budgets.save_settings(rw.buyer_admin, cost_centre_required=False, budget_mode="block")
    ids = _drafts(rw, "600.00", "600.00")  # each fits the 1,000; together they do not
    buyer_id = rw.procurement.id

    def work(i):
        order = db.session.get(PurchaseOrder, ids[i])
        done = orders.submit(order, db.session.get(User, buyer_id), order.lock_version)
        return done.id, done.status.value, done.budget_held

    results = race(app, 2, work)
    assert all(ok for ok, _ in results), results
    outcomes = sorted((status, held) for ok, (_, status, held) in results)
    assert [s for s, _ in outcomes] == ["awaiting_approval", "submitted"]
    held = outcomes[0][1]
    assert "CC-100 has €400.00 available, this order needs €600.00" in held and "owner" in held
    db.session.expire_all()
    sent = [db.session.get(PurchaseOrder, i) for i in ids]
    assert sorted(o.sent_at is not None for o in sent) == [False, True]
    rows = budgets.budgets_of(rw.buyer.id)
    fig = figures_for(rw.buyer.id, "EUR", rows)[rw.budget.id]
    assert fig.committed_orders == Decimal("600.00") and fig.available == Decimal("400.00")
    assert {b: f.as_tuple() for b, f in figures_for(rw.buyer.id, "EUR", rows).items()} == \
        recompute(rw.buyer.id, "EUR", rows)


def test_the_second_submit_waits_for_the_budget_lock(app, rw, database_url):
    """While one transaction holds the budget row (as a submit does between its check and its commit), a submit on
    the same budget does not finish; once the holder commits an order that uses the budget, the waiting submit
    reads it and holds its order."""
    if not database_url.startswith("postgresql"):
        pytest.skip("row locks: PostgreSQL")
    import sqlalchemy as sa

    from portal.accounts.models import User
    from portal.budgets import services as budgets
    from portal.budgets.models import Budget
    from portal.orders import services as orders
    from portal.orders.models import PurchaseOrder
    from portal.orders.states import OrderStatus

    budgets.save_settings(rw.buyer_admin, cost_centre_required=False, budget_mode="block")
    first, second = _drafts(rw, "600.00", "600.00")
    budget_id, buyer_id = rw.budget.id, rw.procurement.id
    locked, release = threading.Event(), threading.Event()
    finished: dict = {}

    def holder():
        with app.app_context():
            db.session.scalar(sa.select(Budget).where(Budget.id == budget_id).with_for_update(of=Budget))
            locked.set()
            release.wait(30)
            order = db.session.get(PurchaseOrder, first)
            order.status = OrderStatus.submitted  # sent: stamps sent_at, commits 600 against the budget
            db.session.commit()
            db.session.remove()

    def submitter():
        with app.app_context():
            order = db.session.get(PurchaseOrder, second)
            done = orders.submit(order, db.session.get(User, buyer_id), order.lock_version)
            finished["at"], finished["status"] = time.monotonic(), done.status.value
            db.session.remove()

    t1 = threading.Thread(target=holder)
    t1.start()
    assert locked.wait(30)
    t2 = threading.Thread(target=submitter)
    t2.start()
    time.sleep(1.5)
    assert "status" not in finished  # waiting for the budget row
    released_at = time.monotonic()
    release.set()
    t1.join(30)
    t2.join(30)
    assert finished["status"] == "awaiting_approval" and finished["at"] >= released_at
