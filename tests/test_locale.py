"""Money, numbers and dates follow the person's language setting; times their time zone."""
from __future__ import annotations

import html

from portal.db import db
from tests import factories


def test_german_user_sees_german_money_and_dates(world, login):
    o = factories.order(world.buyer, world.supplier_a, world.procurement, lines=[("1000", "1.2345")])
    world.procurement.locale = "de_DE"
    db.session.commit()
    page = html.unescape(login(world.procurement).get(f"/orders/{o.id}").get_data(as_text=True))
    assert "1.234,50\xa0€" in page  # 1000 × 1.2345 = 1,234.50 in German
    assert 'lang="en"' in page  # the format is German, the language (and <html lang>) still English
    world.procurement.locale, world.procurement.language = None, "de"
    db.session.commit()
    page = html.unescape(login(world.procurement).get(f"/orders/{o.id}").get_data(as_text=True))
    assert "1.234,50\xa0€" in page and 'lang="de"' in page  # formats follow the language


def test_english_user_sees_english_money(world, login):
    o = factories.order(world.buyer, world.supplier_a, world.procurement, lines=[("1000", "1.2345")])
    page = html.unescape(login(world.procurement).get(f"/orders/{o.id}").get_data(as_text=True))
    assert "€1,234.50" in page


def test_times_are_shown_in_the_users_time_zone(world, login):
    from datetime import datetime, timezone

    r = factories.rfq(world.buyer, world.procurement,
                      deadline=datetime(2031, 1, 15, 12, 0, tzinfo=timezone.utc))
    world.procurement.timezone = "America/New_York"
    world.procurement2.timezone = "Europe/Berlin"
    db.session.commit()
    new_york = html.unescape(login(world.procurement).get(f"/rfqs/{r.id}").get_data(as_text=True))
    berlin = html.unescape(login(world.procurement2).get(f"/rfqs/{r.id}").get_data(as_text=True))
    assert "07:00" in new_york and "13:00" not in new_york
    assert "13:00" in berlin and "07:00" not in berlin


def test_format_setting_says_what_it_does_and_french_reads_back(world, login):
    from portal.db import db

    c = login(world.procurement)
    page = c.get("/account").get_data(as_text=True)
    assert "Number and date format" in page and "German: 1.234,50 · 01.12.2026" in page
    r = c.post("/account", data={"prefs-name": world.procurement.name, "prefs-locale": "fr_FR",
                                 "prefs-timezone": "Europe/Paris", "prefs-submit": "y"})
    assert r.status_code == 302
    db.session.expire_all()
    assert db.session.get(type(world.procurement), world.procurement.id).locale == "fr_FR"
    r = c.post("/account", data={"prefs-name": world.procurement.name, "prefs-locale": "xx_XX",
                                 "prefs-timezone": "Europe/Paris", "prefs-submit": "y"})
    assert r.status_code == 200 and "Not a valid choice" in r.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(type(world.procurement), world.procurement.id).locale == "fr_FR"
