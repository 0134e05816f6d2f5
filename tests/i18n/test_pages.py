"""A German person sees German pages; an English one sees them unchanged. The language is the person's
setting, else the browser's Accept-Language; formats follow the language unless the person chose one."""
from __future__ import annotations

import html

from portal.db import db
from tests import factories


def _page(client, url, **kw) -> str:
    resp = client.get(url, **kw)
    assert resp.status_code == 200, (url, resp.status_code)
    return html.unescape(resp.get_data(as_text=True))


def _german(user):
    user.language = "de"
    db.session.commit()


def test_german_person_sees_german_labels_on_the_translated_pages(world, login):
    r = factories.rfq(world.buyer, world.procurement, suppliers=[world.supplier_a])
    _german(world.procurement)
    c = login(world.procurement)
    dashboard = _page(c, "/dashboard")
    assert 'lang="de"' in dashboard
    assert "Mein Konto" in dashboard and "Abmelden" in dashboard and "Angebotsanfragen" in dashboard
    assert "My account" not in dashboard and "Sign out" not in dashboard
    rfqs = _page(c, "/rfqs/")
    assert "Unsere Angebotsanfragen" in rfqs or "Angebotsanfragen" in rfqs
    assert "Referenz" in rfqs and "Reference" not in rfqs
    detail = _page(c, f"/rfqs/{r.id}")
    assert "Positionen" in detail and "Fragen und Antworten" in detail
    account = _page(c, "/account")
    assert "Zahlen- und Datumsformat" in account and "Einstellungen speichern" in account
    assert "Passwort ändern" in account
    jobs = _page(c, "/jobs/")
    assert "Hintergrundaufträge" in jobs
    notes = _page(c, "/notifications/")
    assert "Benachrichtigungen" in notes


def test_english_pages_are_unchanged(world, login):
    factories.rfq(world.buyer, world.procurement, suppliers=[world.supplier_a])
    c = login(world.procurement)
    dashboard = _page(c, "/dashboard")
    assert 'lang="en"' in dashboard
    assert "My account" in dashboard and "Sign out" in dashboard
    rfqs = _page(c, "/rfqs/")
    assert "Reference" in rfqs and "Referenz" not in rfqs
    account = _page(c, "/account")
    assert "Number and date format" in account and "Save preferences" in account


def test_sign_in_page_follows_the_browser(client):
    german = _page(client, "/signin", headers={"Accept-Language": "de-DE,de;q=0.9,en;q=0.5"})
    assert 'lang="de"' in german and "Anmelden" in german and "Passwort" in german
    english = _page(client, "/signin", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert 'lang="en"' in english and "Sign in" in english and "Password" in english
    other = _page(client, "/signin", headers={"Accept-Language": "pl"})
    assert 'lang="en"' in other  # a language without a catalog: English


def test_the_persons_language_beats_the_browser(world, login):
    _german(world.procurement)
    c = login(world.procurement)
    assert 'lang="de"' in _page(c, "/account", headers={"Accept-Language": "en"})


def test_without_a_language_the_browser_decides_for_a_signed_in_person(world, login):
    c = login(world.procurement)
    page = _page(c, "/account", headers={"Accept-Language": "de"})
    assert 'lang="de"' in page and "Mein Konto" in page


def test_language_is_saved_on_my_account_and_formats_follow_it(world, login):
    o = factories.order(world.buyer, world.supplier_a, world.procurement, lines=[("1000", "1.2345")])
    c = login(world.procurement)
    r = c.post("/account", data={"prefs-name": world.procurement.name, "prefs-language": "de",
                                 "prefs-locale": "", "prefs-timezone": "Europe/Berlin", "prefs-submit": "y"})
    assert r.status_code == 302
    db.session.expire_all()
    user = db.session.get(type(world.procurement), world.procurement.id)
    assert user.language == "de" and user.format_choice is None and user.locale == "de_DE"
    assert "1.234,50\xa0€" in _page(c, f"/orders/{o.id}")  # German formats without choosing them
    # A chosen format wins over the language's.
    r = c.post("/account", data={"prefs-name": user.name, "prefs-language": "de", "prefs-locale": "en_GB",
                                 "prefs-timezone": "Europe/Berlin", "prefs-submit": "y"})
    assert r.status_code == 302
    page = _page(c, f"/orders/{o.id}")
    assert "€1,234.50" in page and 'lang="de"' in page


def test_an_unknown_language_is_refused_and_nothing_saved(world, login):
    c = login(world.procurement)
    r = c.post("/account", data={"prefs-name": "Renamed", "prefs-language": "xx",
                                 "prefs-locale": "", "prefs-timezone": "Europe/Berlin", "prefs-submit": "y"})
    assert r.status_code == 200 and "Choose a language" in r.get_data(as_text=True)
    db.session.expire_all()
    user = db.session.get(type(world.procurement), world.procurement.id)
    assert user.language is None and user.name != "Renamed"


def test_the_form_shows_the_stored_choices(world, login):
    c = login(world.procurement)
    page = _page(c, "/account")
    assert 'value="de" selected' not in page and 'selected value="de"' not in page  # follows the browser
    world.procurement.language = "de"
    db.session.commit()
    page = _page(c, "/account")
    assert 'value="de" selected' in page or 'selected value="de"' in page


def test_wtforms_messages_are_german_for_a_german_person(world, login):
    _german(world.procurement)
    c = login(world.procurement)
    r = c.post("/account", data={"prefs-name": world.procurement.name, "prefs-language": "de",
                                 "prefs-locale": "xx_XX", "prefs-timezone": "Europe/Berlin", "prefs-submit": "y"})
    page = html.unescape(r.get_data(as_text=True))
    assert r.status_code == 200 and "Keine gültige Auswahl" in page


def test_german_flash_message(world, login):
    _german(world.procurement)
    c = login(world.procurement)
    r = c.post("/account", data={"prefs-name": world.procurement.name, "prefs-language": "de",
                                 "prefs-locale": "", "prefs-timezone": "Europe/Berlin", "prefs-submit": "y"},
               follow_redirects=True)
    assert "Einstellungen gespeichert." in html.unescape(r.get_data(as_text=True))


def test_switching_to_german_confirms_in_german(world, login):
    c = login(world.procurement)
    r = c.post("/account", data={"prefs-name": world.procurement.name, "prefs-language": "de",
                                 "prefs-locale": "", "prefs-timezone": "Europe/Berlin", "prefs-submit": "y"},
               follow_redirects=True)
    page = html.unescape(r.get_data(as_text=True))
    assert "Einstellungen gespeichert." in page and 'lang="de"' in page
