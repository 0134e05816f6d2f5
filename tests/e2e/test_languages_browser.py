"""A person chooses German on My account: the pages, the status words and the figures turn German; a German
browser gets a German sign-in page. Screenshots of both languages go to the test's tmp directory."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests import factories

pytestmark = pytest.mark.e2e

SHOTS = Path(os.environ.get("PORTAL_SCREENSHOTS", "/tmp/portal-screens"))


def _warm_up(live_server):
    """The first request of a fresh gunicorn worker can be slow on a busy machine."""
    from urllib.request import urlopen

    for _ in range(2):
        urlopen(live_server + "/signin", timeout=60).read()


def test_person_switches_to_german_and_back(world, signed_in, live_server):
    _warm_up(live_server)
    r = factories.rfq(world.buyer, world.procurement, suppliers=[world.supplier_a], title="Sechskantschrauben M12")
    page = signed_in(world.procurement)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.goto(live_server + "/account")
    page.get_by_label("Language").select_option("de")
    page.get_by_role("button", name="Save preferences").click()
    page.get_by_text("Einstellungen gespeichert.").wait_for()
    assert page.locator("html").get_attribute("lang") == "de"
    assert page.get_by_label("Zahlen- und Datumsformat").is_visible()
    page.screenshot(path=str(SHOTS / "account-de.png"), full_page=True)

    page.goto(live_server + f"/rfqs/{r.id}")
    assert page.get_by_role("heading", name="Fragen und Antworten").is_visible()
    assert page.locator(".state-badge").first.inner_text() == "Offen"
    page.screenshot(path=str(SHOTS / "rfq-de.png"), full_page=True)
    page.goto(live_server + "/dashboard")
    assert page.get_by_role("link", name="Übersicht").is_visible()
    page.screenshot(path=str(SHOTS / "dashboard-de.png"), full_page=True)

    page.goto(live_server + "/account")
    page.get_by_label("Sprache").select_option("en")
    page.get_by_role("button", name="Einstellungen speichern").click()
    page.get_by_text("Preferences saved.").wait_for()
    assert page.locator("html").get_attribute("lang") == "en"


def test_sign_in_page_in_the_browsers_language(browser, live_server):
    ctx = browser.new_context(locale="de-DE", extra_http_headers={"Accept-Language": "de-DE,de;q=0.9"})
    try:
        page = ctx.new_page()
        page.goto(live_server + "/signin")
        assert page.locator("html").get_attribute("lang") == "de"
        assert page.get_by_role("button", name="Anmelden").is_visible()
        assert page.get_by_label("Passwort").is_visible()
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "signin-de.png"), full_page=True)
    finally:
        ctx.close()
