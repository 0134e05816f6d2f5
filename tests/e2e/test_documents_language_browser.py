"""A German buyer in the browser (gunicorn, Chromium with a German Accept-Language): the invoice page speaks
German with German figures, and the invoice PDF downloaded from it is the German one (read with pdftotext).
Screenshots at desktop and phone width land in I18N_SHOTS (default: the test's tmp_path)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from portal.db import db
from portal.invoices import jobs as invoice_jobs
from portal.money import format_money
from tests import factories
from tests.e2e.pages import pdf_text
from tests.invoices.conftest import IBAN, issued_for, ship

pytestmark = [pytest.mark.e2e, pytest.mark.one_run("sqlite")]  # browser tests split between the runs: README "Tests"


def _german_page(browser, live_server, user, width=1366, height=768):
    ctx = browser.new_context(viewport={"width": width, "height": height}, accept_downloads=True, locale="de-DE",
                              extra_http_headers={"Accept-Language": "de-DE,de;q=0.9"})
    page = ctx.new_page()
    page.set_default_timeout(15000)
    page.goto(live_server + "/signin")
    page.locator("input[name=email]").fill(user.email)
    page.locator("input[name=password]").fill(factories.PASSWORD)
    page.locator("form button[type=submit]").first.click()
    page.wait_for_url("**/dashboard")
    return ctx, page


def test_german_buyer_reads_the_invoice_page_and_pdf_in_german(world, browser, live_server, tmp_path):
    shots = Path(os.environ.get("I18N_SHOTS", tmp_path))
    world.supplier_a.iban, world.supplier_a.vat_number = IBAN, "DE136695976"
    world.buyer.vat_number, world.buyer.language = "DE129273398", "de"
    world.buyer_accounts.locale = "de_DE"
    db.session.commit()
    o = factories.order(world.buyer, world.supplier_a, world.procurement, status="acknowledged",
                        lines=[("120", "4.25"), ("8", "199.90")])
    inv = issued_for(world, shipment=ship(o, {1: "120", 2: "8"}, creator=world.sales_a))
    invoice_jobs.invoice_pdf_job(inv.id, inv.pdf_job_id)
    gross = format_money(inv.total_gross, "EUR", "de_DE")  # "2.509,95 €"

    ctx, page = _german_page(browser, live_server, world.buyer_accounts)
    try:
        page.goto(f"{live_server}/invoices/{inv.id}")
        expect(page.locator("h1")).to_contain_text(f"Rechnung {inv.number}")
        body = page.locator("main")
        for text in ("Artikel", "Einzelpreis", "Brutto", gross):
            expect(body).to_contain_text(text)
        page.screenshot(path=str(shots / "invoice-de-1366.png"), full_page=True)
        with page.expect_download() as dl:
            page.get_by_role("link", name="PDF herunterladen").click()
        dl.value.save_as(tmp_path / "invoice.pdf")
        text = pdf_text(tmp_path / "invoice.pdf")
        for must in ("RECHNUNG", "Rechnungsdatum", "Zu zahlender Betrag", gross.replace("\xa0", " "), "Seite 1 von 1"):
            assert must in text, must
    finally:
        ctx.close()

    ctx, phone = _german_page(browser, live_server, world.buyer_accounts, width=390, height=844)
    try:
        phone.goto(f"{live_server}/invoices/{inv.id}")
        expect(phone.locator("h1")).to_contain_text("Rechnung")
        phone.screenshot(path=str(shots / "invoice-de-390.png"), full_page=True)
    finally:
        ctx.close()
