"""Supplier onboarding in the browser: a buyer invites a new supplier by e-mail from an RFQ's invitation page, the
invitee follows the link from the outbox, is told about a bad IBAN, registers and lands on the RFQ ready to quote;
the buyer then sees the new supplier in the directory and approves it. With ONBOARD_SCREENSHOTS=<dir> the pages
are saved as PNGs."""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from portal.db import db
from portal.notifications.models import OutboxMail
from tests import factories
from tests.e2e.pages import flash

pytestmark = [pytest.mark.e2e, pytest.mark.one_run("sqlite")]  # browser tests split between the runs: README "Tests"

SHOTS = os.environ.get("ONBOARD_SCREENSHOTS")
EMAIL = "nora.lang@neuland-metall.test"


def shot(page, name):
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


def _link_from_outbox() -> str:
    db.session.expire_all()
    mail = db.session.scalar(sa.select(OutboxMail).where(OutboxMail.to_address == EMAIL))
    assert mail is not None
    return re.search(r"(/supplier-invitations/\S+)", mail.body).group(1)


def _warm_up(live_server, timeout=180.0):
    """The gunicorn workers build the app before answering; on a loaded machine that outlasts a page timeout."""
    import time
    import urllib.request

    end = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(live_server + "/signin", timeout=60).read()
            urllib.request.urlopen(live_server + "/signin", timeout=60).read()  # both workers, likely
            return
        except OSError:
            if time.monotonic() > end:
                raise
            time.sleep(1)


def test_invite_register_and_quote(live_server, signed_in, browser, world):
    _warm_up(live_server)
    rfq = factories.rfq(world.buyer, world.procurement, status="open", suppliers=[world.supplier_a],
                        title="Laser-cut brackets 2027")
    buyer = signed_in(world.procurement)
    buyer.set_default_timeout(45000)  # a loaded 2-core machine
    buyer.goto(f"{live_server}/rfqs/{rfq.id}/suppliers")
    form = buyer.get_by_test_id("invite-by-email")
    form.get_by_label("E-mail").fill(EMAIL)
    form.get_by_label("Company").fill("Neuland Metallbau GmbH")
    form.get_by_label("Contact name").fill("Nora Lang")
    shot(buyer, "onb-01-rfq-invite-by-email")
    form.get_by_role("button", name="Send invitation").click()
    flash(buyer, f"Invitation sent to {EMAIL}")
    expect(buyer.get_by_test_id("pending-email-invitations")).to_contain_text("Neuland Metallbau GmbH")

    # an address already on the portal: a sentence and the button that invites the company instead
    form = buyer.get_by_test_id("invite-by-email")
    form.get_by_label("E-mail").fill(world.sales_b.email)
    form.get_by_role("button", name="Send invitation").click()
    expect(buyer.get_by_test_id("already-on-portal")).to_contain_text("already on the portal at Supplier Beta SAS")
    shot(buyer, "onb-02-already-on-portal")
    buyer.get_by_role("button", name="Invite Supplier Beta SAS instead").click()
    flash(buyer, "Supplier Beta SAS")
    expect(buyer.get_by_test_id("invited-suppliers")).to_contain_text("Supplier Beta SAS")

    ctx = browser.new_context(viewport={"width": 1366, "height": 900})
    try:
        page = ctx.new_page()
        page.set_default_timeout(45000)
        page.goto(live_server + _link_from_outbox())
        expect(page.get_by_role("heading", name="Register your company")).to_be_visible()
        expect(page.get_by_text("Laser-cut brackets 2027")).to_be_visible()
        page.fill("#legal_name", "Neuland Metallbau GmbH")
        page.fill("#display_name", "Neuland Metall")
        page.select_option("#country", "DE")
        page.fill("#vat_number", "DE136695976")
        page.fill("#address_line1", "Werkstraße 5")
        page.fill("#postcode", "34117")
        page.fill("#city", "Kassel")
        page.fill("#categories", "sheet metal, laser cutting")
        page.fill("#iban", "DE89370400440532013001")  # one digit wrong
        page.fill("#bic", "COBADEFFXXX")
        page.fill("#contact0_name", "Nora Lang")
        page.fill("#contact0_function", "Sales")
        page.fill("#contact0_email", EMAIL)
        page.fill("#name", "Nora Lang")
        page.fill("#password", "Blech-und-Stahl-2026")
        page.fill("#confirm", "Blech-und-Stahl-2026")
        page.get_by_role("button", name="Register and continue").click()
        expect(page.locator(".invalid-feedback", has_text="Not a valid IBAN")).to_be_visible()
        shot(page, "onb-03-register-bad-iban")
        page.fill("#iban", "DE89370400440532013000")
        page.fill("#password", "Blech-und-Stahl-2026")
        page.fill("#confirm", "Blech-und-Stahl-2026")
        page.get_by_role("button", name="Register and continue").click()
        page.wait_for_url(f"**/rfqs/{rfq.id}")
        flash(page, "Neuland Metall is registered")
        expect(page.get_by_test_id("start-quote")).to_be_visible()  # ready to quote
        shot(page, "onb-04-landed-on-rfq")
        page.get_by_test_id("start-quote").click()
        expect(page).to_have_url(re.compile(r"/quote"))
    finally:
        ctx.close()

    buyer.goto(f"{live_server}/suppliers/?q=Neuland")
    expect(buyer.get_by_test_id("supplier-directory")).to_contain_text("Neuland Metall")
    buyer.get_by_role("link", name="Neuland Metall").click()
    buyer.get_by_label("New status").select_option("approved")
    buyer.get_by_label("Reason").fill("Samples approved.")
    buyer.get_by_role("button", name="Change status").click()
    flash(buyer, "Status saved")
    expect(buyer.get_by_test_id("supplier-status")).to_contain_text("Approved")
    expect(buyer.get_by_test_id("status-history")).to_contain_text("Samples approved.")
    shot(buyer, "onb-05-supplier-approved")
