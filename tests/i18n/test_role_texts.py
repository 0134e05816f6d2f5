"""Texts fit the reader's role and company (issue 19): sales people are not asked to release credit holds they
cannot act on; a buyer-only company is not asked which categories it supplies."""
from __future__ import annotations

import html

import sqlalchemy as sa
from flask_babel import force_locale

from portal.db import db
from portal.notifications.messages import for_reader
from portal.notifications.models import Notification
from tests import factories


def _notes(user) -> list[Notification]:
    return list(db.session.scalars(sa.select(Notification).where(Notification.user_id == user.id)))


def test_credit_hold_asks_accounts_to_decide_and_only_tells_sales(world):
    from portal.orders import services

    order = factories.order(world.buyer, world.supplier_a, world.procurement, status="submitted")
    services.on_credit_hold(order)
    db.session.commit()
    (accounts,) = [n for n in _notes(world.accounts_a) if "credit hold" in n.title]
    (sales,) = [n for n in _notes(world.sales_a) if "credit hold" in n.title]
    assert "Release or reject" in accounts.body
    assert "Release" not in sales.body and "release" not in sales.body
    assert "accounts team decides" in sales.body
    assert accounts.title == sales.title and order.po_number in sales.title
    with force_locale("de"):
        assert for_reader(sales, "body", locale="de_DE", tz="UTC").startswith("Ihre Buchhaltung entscheidet")
        assert "Kreditsperre" in for_reader(accounts, "title", locale="de_DE", tz="UTC")


def test_a_person_with_both_roles_is_asked_once(world):
    from portal.accounts.models import Role, UserRole
    from portal.orders import services

    db.session.add(UserRole(user_id=world.sales_a.id, role=Role.accounts))
    db.session.commit()
    order = factories.order(world.buyer, world.supplier_a, world.procurement, status="submitted")
    services.on_credit_hold(order)
    db.session.commit()
    held = [n for n in _notes(world.sales_a) if "credit hold" in n.title]
    assert len(held) == 1 and "Release or reject" in held[0].body


def test_buyer_only_company_is_not_asked_what_it_supplies(world, login):
    buyer_page = html.unescape(login(world.buyer_admin).get("/company/").get_data(as_text=True))
    assert "Categories you supply" not in buyer_page and 'name="categories"' not in buyer_page
    supplier_page = html.unescape(login(world.admin_a).get("/company/").get_data(as_text=True))
    assert "Categories you supply" in supplier_page and 'name="categories"' in supplier_page
    assert "Supplier" in supplier_page


def test_saving_a_buyers_profile_leaves_categories_alone(world, login):
    world.buyer.categories = "legacy"
    db.session.commit()
    c = login(world.buyer_admin)
    data = {"legal_name": world.buyer.legal_name, "display_name": world.buyer.display_name,
            "country": world.buyer.country, "vat_number": world.buyer.vat_number or "",
            "default_currency": "EUR", "address_line1": "Street 1", "postcode": "10115", "city": "Berlin",
            "categories": "should not be saved"}
    r = c.post("/company/", data=data)
    assert r.status_code == 302, html.unescape(r.get_data(as_text=True))[-2000:]
    db.session.expire_all()
    assert world.buyer.city == "Berlin" and world.buyer.categories == "legacy"
