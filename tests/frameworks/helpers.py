"""Builders for the scoring and framework-agreement tests."""
from __future__ import annotations

from datetime import timedelta

from portal.db import db, utcnow
from portal.frameworks import services as fa
from portal.quotes import award as award_service
from tests import factories


def closed_with_quotes(world):
    """A closed, opened RFQ (3 lines: 100/200/300 pcs) with complete quotes from A and B.

    A: 1/2/3 EUR, shipping 40, lead time 10 days -> total 1,440.00; B: 0.9/2.1/2.8, shipping 0, lead time 20 ->
    total 1,350.00."""
    r = factories.closed_rfq(world.buyer, world.procurement, suppliers=[world.supplier_a, world.supplier_b])
    qa = factories.quote(r, world.supplier_a, world.sales_a, prices=["1.00", "2.00", "3.00"], shipping="40",
                         lead_time_days=10)
    qb = factories.quote(r, world.supplier_b, world.sales_b, prices=["0.90", "2.10", "2.80"], lead_time_days=20)
    return r, qa, qb


def agreement(world, *, max_value=None, allow_exceed=False, cap_quantities=True, days=365):
    """An awarded RFQ (all to A) turned into a framework agreement: 100/200/300 pcs at 1/2/3 EUR."""
    r, qa, qb = closed_with_quotes(world)
    award = award_service.award_whole(r, world.procurement, qa.id)
    today = utcnow().date()
    (a,) = fa.create_from_award(award.id, world.procurement, valid_from=today,
                                valid_until=today + timedelta(days=days), max_value=max_value,
                                allow_exceed=allow_exceed, cap_quantities=cap_quantities)
    return a


def fresh(obj):
    db.session.expire_all()
    return db.session.get(type(obj), obj.id)
