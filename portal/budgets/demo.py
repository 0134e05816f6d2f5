"""Demo: Hartmann keeps exchange rates for the currencies its suppliers quote in (PLN for Polmet in Poznań, CHF),
and a PLN order from Polmet on cost centre CC-4100 that the maintenance budget counts converted at the rate valid
on its send day (Petra and Anna approve it: another currency takes the highest approval tier). Runs after
portal/requisitions/demo.py (the cost centres); does nothing twice."""
from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from portal.db import db, utcnow

PLN_LINES = [("Deep groove ball bearing 6206-2RS, FAG", "40", "31.90"),
             ("Taper roller bearing 30207, SKF", "12", "88.50"),
             ("Bearing grease LGMT 2, 1 kg", "6", "74.35")]


def seed(companies: dict, users: dict) -> None:
    from portal.budgets import rates
    from portal.budgets.models import CostCentre, ExchangeRate
    from portal.orders import approvals
    from portal.orders import services as orders
    from portal.orders.models import PurchaseOrder
    from portal.orders.states import OrderStatus

    hartmann, polmet = companies.get("hartmann"), companies.get("polmet")
    admin = users.get("anna.keller@hartmann.example")
    buyer = users.get("jonas.weber@hartmann.example")
    if hartmann is None or admin is None:
        return
    if db.session.scalar(sa.select(ExchangeRate.id).where(ExchangeRate.company_id == hartmann.id).limit(1)):
        return  # already seeded
    today = utcnow().date()
    january = date(today.year, 1, 1)
    this_month = date(today.year, today.month, 1)
    rates.add_rate(admin, currency="PLN", rate="0.2310", valid_from=january)
    if this_month != january:
        rates.add_rate(admin, currency="PLN", rate="0.2345", valid_from=this_month)
    rates.add_rate(admin, currency="CHF", rate="1.0650", valid_from=january)
    cc = db.session.scalar(sa.select(CostCentre).where(CostCentre.company_id == hartmann.id,
                                                        CostCentre.code == "CC-4100"))
    if polmet is None or buyer is None or cc is None:
        return
    order = orders.create_draft_order(
        buyer, polmet.id, [{"description": d, "quantity": q, "unit_price": p} for d, q, p in PLN_LINES],
        source="catalog", currency="PLN", notes="Polmet's local stock in Poznań, quoted in PLN.")
    for line in order.lines:
        line.cost_centre_id = cc.id
    db.session.commit()
    order = orders.submit(order, buyer, order.lock_version)
    # an order in another currency takes the highest tier of Hartmann's approval rules: Petra and Anna approve
    for email in ("petra.braun@hartmann.example", "anna.keller@hartmann.example"):
        order = db.session.get(PurchaseOrder, order.id)
        approver = users.get(email)
        if order.status != OrderStatus.awaiting_approval or approver is None:
            break
        approvals.decide(order, approver, order.lock_version, "approved",
                         comment="Local stock at Polmet, cheaper than importing.")
