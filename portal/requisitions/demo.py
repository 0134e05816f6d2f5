"""Demo: at Hartmann an engineer (requester) with requisitions in several states, cost centres with owners,
GL accounts, defaults, budgets whose committed and actual figures come from the demo's orders and invoices."""
from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa

from portal.db import db, utcnow

ENGINEER = ("Felix Wagner", "felix.wagner@hartmann.example")
CENTRES = [("CC-4100", "Maintenance", "petra.braun@hartmann.example"),
           ("CC-4200", "Production tooling", "anna.keller@hartmann.example"),
           ("CC-4900", "IT and office", "anna.keller@hartmann.example")]
ACCOUNTS = [("6300", "Spare parts and maintenance"), ("6400", "Tools and fixtures"), ("6800", "IT equipment")]


def seed(companies: dict, users: dict) -> None:
    from portal.accounts.models import User
    from portal.accounts.services import create_user
    from portal.budgets import services as budgets
    from portal.budgets.models import CostCentre
    from portal.demo import DEMO_PASSWORD
    from portal.invoices.models import Invoice, InvoiceLine
    from portal.orders.models import OrderLine, PurchaseOrder
    from portal.requisitions import services

    hartmann = companies.get("hartmann")
    admin = users.get("anna.keller@hartmann.example")
    if hartmann is None or admin is None:
        return
    if db.session.scalar(sa.select(CostCentre.id).where(CostCentre.company_id == hartmann.id).limit(1)):
        return  # already seeded
    engineer = db.session.scalar(sa.select(User).where(User.email == ENGINEER[1])) or create_user(
        company_id=hartmann.id, email=ENGINEER[1], name=ENGINEER[0], roles=["requester"], password=DEMO_PASSWORD,
        check_strength=False)
    users[engineer.email] = engineer
    cc = {code: budgets.save_cost_centre(admin, code=code, name=name, owner_id=users[owner].id)
          for code, name, owner in CENTRES}
    gl = {code: budgets.save_gl_account(admin, code=code, name=name) for code, name in ACCOUNTS}
    budgets.save_settings(admin, cost_centre_required=True, budget_mode="warn")
    budgets.save_default(admin, user_id=engineer.id, cost_centre_id=cc["CC-4100"].id, gl_account_id=gl["6300"].id)
    budgets.save_default(admin, user_id=users["jonas.weber@hartmann.example"].id, cost_centre_id=cc["CC-4200"].id,
                         gl_account_id=gl["6400"].id)
    for category, c, g in (("Bolts", "CC-4200", "6400"), ("Seals", "CC-4100", "6300"), ("Tools", "CC-4200", "6400")):
        budgets.save_default(admin, category=category, cost_centre_id=cc[c].id, gl_account_id=gl[g].id)
    today = utcnow().date()
    quarter = date(today.year, (today.month - 1) // 3 * 3 + 1, 1)
    budgets.save_budget(admin, cost_centre_id=cc["CC-4100"].id, period_kind="year",
                        period_start=date(today.year, 1, 1), amount="60000")
    budgets.save_budget(admin, cost_centre_id=cc["CC-4200"].id, period_kind="quarter", period_start=quarter,
                        amount="25000")
    budgets.save_budget(admin, cost_centre_id=cc["CC-4900"].id, period_kind="month",
                        period_start=date(today.year, today.month, 1), amount="3000")

    # The demo's orders and invoices were made before cost centres existed: book Hartmann's lines on them
    # (a one-off for the demo; new lines get them from requisitions and defaults).
    centres = [cc["CC-4200"].id, cc["CC-4100"].id]
    order_lines = db.session.scalars(sa.select(OrderLine).join(PurchaseOrder)
                                     .where(PurchaseOrder.buyer_company_id == hartmann.id)
                                     .order_by(OrderLine.id)).all()
    for i, ol in enumerate(order_lines):
        ol.cost_centre_id = centres[i % 2]
        ol.gl_account_id = gl["6400"].id if ol.cost_centre_id == cc["CC-4200"].id else gl["6300"].id
    db.session.flush()
    # Issued invoices are immutable through the ORM (portal.invoices.services guards their lines); the booking
    # columns are the buyer's own data, copied here in one statement per column.
    for column in ("cost_centre_id", "gl_account_id"):
        source = (sa.select(getattr(OrderLine, column)).where(OrderLine.id == InvoiceLine.order_line_id)
                  .scalar_subquery())
        db.session.execute(sa.update(InvoiceLine).where(
            InvoiceLine.order_line_id.is_not(None),
            InvoiceLine.invoice_id.in_(sa.select(Invoice.id).where(Invoice.buyer_company_id == hartmann.id)))
            .values({column: source}).execution_options(synchronize_session=False))
    db.session.commit()

    petra, jonas = users["petra.braun@hartmann.example"], users["jonas.weber@hartmann.example"]
    soon = (today + timedelta(days=21)).isoformat()

    def line(desc, qty, price, centre="CC-4100", account="6300", sku=""):
        return {"description": desc, "quantity": qty, "estimated_price": price, "needed_by": soon, "sku": sku,
                "cost_centre_id": cc[centre].id, "gl_account_id": gl[account].id}

    services.save(engineer, title="Spare bearings for press line 2", submit=False,
                  justification="Stock for the planned shutdown in the next quarter.",
                  lines=[line("Deep groove ball bearing 6205-2RS", "20", "6.80")])
    services.save(engineer, title="Hydraulic hoses for the 400 t press", submit=True,
                  justification="Two hoses show cracks at the last inspection.",
                  lines=[line("Hydraulic hose 2SN DN12, 1.5 m, with fittings", "6", "38.00"),
                         line("Hose protection spiral 25 mm", "10", "2.40")])
    approved = services.save(engineer, title="Seal kits for cylinder overhaul", submit=True,
                             justification="Cylinder overhaul on press line 1.",
                             lines=[line("", "4", "", sku="AW-ORK-NBR70"),
                                    line("Rod seal kit 50 mm, PU", "8", "19.50")])
    services.decide(petra, approved.id, None, "approved", comment="Fits the maintenance budget.")
    rejected = services.save(engineer, title="Cordless impact wrench", submit=True,
                             justification="Faster wheel changes on the forklifts.",
                             lines=[line("Cordless impact wrench 18 V, 2 batteries", "1", "420.00",
                                         centre="CC-4200", account="6400")])
    services.decide(admin, rejected.id, None, "rejected", comment="We have two in the tool crib; borrow one.")
    sourced = services.save(engineer, title="Safety gear for the new shift", submit=True,
                            justification="Twelve new colleagues start next month.",
                            lines=[line("Safety helmet EN 397, white", "12", "14.50"),
                                   line("Cut-resistant gloves, size 9, EN 388 level C", "24", "6.90"),
                                   line("Safety glasses, anti-fog", "12", "7.80")])
    services.decide(petra, sourced.id, None, "approved")
    services.to_rfq(jonas, [sourced.id], title="Safety gear (requisition " + sourced.number + ")")
    db.session.commit()
