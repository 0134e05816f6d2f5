"""Requisition and budget fixtures: a world with cost centres (with owners), GL accounts, an engineer who
requests, and a budget for this year."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from portal.db import db, utcnow
from tests import factories


@pytest.fixture
def rw(world):
    from portal.budgets.models import Budget, CostCentre, GlAccount, PeriodKind

    w = world
    w.people["engineer"] = factories.user(w.buyer, "requester", email="engineer@acme.test", commit=False)
    w.people["owner"] = factories.user(w.buyer, "approver", email="owner@acme.test", commit=False)
    w.people["owner2"] = factories.user(w.buyer, "approver", email="owner2@acme.test", commit=False)
    db.session.flush()
    w.cc = CostCentre(company_id=w.buyer.id, code="CC-100", name="Maintenance", owner_id=w.owner.id)
    w.cc2 = CostCentre(company_id=w.buyer.id, code="CC-200", name="Tooling", owner_id=w.owner2.id)
    w.gl = GlAccount(company_id=w.buyer.id, code="4400", name="Spare parts")
    db.session.add_all([w.cc, w.cc2, w.gl])
    db.session.flush()
    year = utcnow().year
    w.budget = Budget(company_id=w.buyer.id, cost_centre_id=w.cc.id, period_kind=PeriodKind.year,
                      period_start=date(year, 1, 1), period_end=date(year, 12, 31), amount=Decimal("1000.00"),
                      currency="EUR")
    db.session.add(w.budget)
    db.session.commit()
    return w


def line(desc="Bearing 6204", qty="10", price="12.50", cc=None, gl=None, **kw):
    out = {"description": desc, "quantity": qty, "estimated_price": price,
           "cost_centre_id": cc.id if cc is not None else "", "gl_account_id": gl.id if gl is not None else ""}
    out.update(kw)
    return out


def raise_req(w, *lines_, submit=True, title="Spare parts for line 3", who=None):
    from portal.requisitions import services

    return services.save(who or w.engineer, title=title, justification="Line 3 stands still",
                         lines=list(lines_) or [line(cc=w.cc, gl=w.gl)], submit=submit)


def impact_statements(count_queries, orders) -> tuple[list[int], object, object]:
    """The statements ``order_impact`` sends for each of ``orders`` (lines and buyer loaded as the page has them):
    (counts, the last impact, the last recorder)."""
    from portal.budgets.orders import order_impact
    from portal.orders.models import PurchaseOrder

    counts: list[int] = []
    for order in orders:
        db.session.expire_all()
        order = db.session.get(PurchaseOrder, order.id)
        order.lines, order.buyer  # noqa: B018 - loaded as the page has them
        with count_queries() as q:
            imp = order_impact(order)
        counts.append(q.count)
    return counts, imp, q
