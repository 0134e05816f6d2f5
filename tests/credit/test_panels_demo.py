"""Dashboard panels, the fallback when the orders hooks are absent, and the demo terms."""
from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa

from portal.credit import services
from portal.credit.models import CreditAccount
from portal.db import db
from portal.orders.states import OrderStatus
from tests import factories
from tests.credit.helpers import fresh, text


def test_dashboard_panels_for_the_suppliers_accounts_team(world, account, submitted, login):
    account(world.supplier_a, world.buyer, "1000")
    services.check_order(submitted("900").id)  # 90 % used
    held = submitted("500")
    services.check_order(held.id)
    body = text(login(world.accounts_a).get("/dashboard"))
    assert "Orders on credit hold" in body and held.po_number in body
    assert "Buyers near or over their credit limit" in body
    assert "Acme Buying GmbH · 90 % used, near the limit" in body


def test_panels_are_only_for_supplier_accounts(world):
    from portal.credit.panels import panels

    assert panels(world.sales_a) == [] and panels(world.buyer_accounts) == []


def test_panel_near_limit_starts_at_80_percent(world, account, submitted):
    """Under 80 % ok, 80-100 % near (the issue's rule; this test said "strictly over 80 %" before)."""
    account(world.supplier_a, world.buyer, "1000")
    services.check_order(submitted("799.99").id)
    _d, rows = services.accounts_overview(world.supplier_a.id)
    assert not rows[0].near_limit and rows[0].utilisation == "ok"
    services.check_order(submitted("0.01").id)
    _d, rows = services.accounts_overview(world.supplier_a.id)
    assert rows[0].near_limit and rows[0].utilisation == "near"


def test_without_the_orders_hooks_the_minimum_is_done(world, account, submitted, monkeypatch):
    monkeypatch.setattr(services, "_orders_hook", lambda name: None)
    account(world.supplier_a, world.buyer, "1000")
    ok = submitted("100")
    services.check_order(ok.id)
    ok = fresh(ok)
    assert ok.status == OrderStatus.placed and ok.placed_at and ok.supplier_order_number.startswith("SO-")
    held = submitted("5000")
    services.check_order(held.id)
    assert fresh(held).status == OrderStatus.credit_hold


def test_demo_terms(app):
    from portal.credit.demo import seed

    keys = ["nordstahl", "hartmann", "vandijk", "lefevre", "polmet"]
    companies = {k: factories.company("supplier" if k in ("nordstahl", "lefevre", "polmet") else "buyer",
                                      name=k) for k in keys}
    seed(companies, {})
    seed(companies, {})  # idempotent
    rows = {(a.supplier_company_id, a.buyer_company_id): a for a in db.session.scalars(sa.select(CreditAccount))}
    assert len(rows) == 5
    c = companies
    assert rows[(c["nordstahl"].id, None)].limit_amount == Decimal("25000")
    assert rows[(c["nordstahl"].id, c["hartmann"].id)].limit_amount == Decimal("50000")
    vd = rows[(c["nordstahl"].id, c["vandijk"].id)]
    assert (vd.limit_amount, vd.payment_terms_days) == (Decimal("5000"), 14)
    assert rows[(c["lefevre"].id, None)].limit_amount == Decimal("20000")
    assert rows[(c["polmet"].id, None)].payment_terms_days == 30
