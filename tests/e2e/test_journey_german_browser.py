"""The journey's pages once more, in German: the buyer's people (``User.language = "de"``, the buyer company's
document language German) and a supplier's people walk the pages the English journey visits (dashboard, RFQ
list, new RFQ, RFQ detail and lines, the quote form, the comparison, orders and an order, the approval queue,
the ship form, the credit holds, invoices and an invoice with its PDF, notifications, company profile and
account). On every page: ``<html lang="de">``, German labels (taken from the catalog with ``force_locale`` +
``gettext``, not typed twice), German number and money formats ("1.234,50 €"), and no English sentence left
over. The invoice PDF is read with pdftotext and must be German.

Screenshots of every page go to PORTAL_DE_SHOTS (default: the test's tmp_path; the committed set in
docs/screenshots/de/ was taken with ``PORTAL_DE_SHOTS=docs/screenshots/de``).
"""
from __future__ import annotations

import os
import re
from decimal import Decimal
from pathlib import Path

import pytest
from flask_babel import force_locale, gettext
from playwright.sync_api import expect

from portal.db import db
from portal.invoices import jobs as invoice_jobs
from portal.money import format_money
from tests import factories
from tests.e2e.pages import pdf_text
from tests.invoices.conftest import IBAN, issued_for, ship

pytestmark = pytest.mark.e2e

# Whole English words that a German page must not show in its running text (names and numbers aside).
ENGLISH = re.compile(r"\b(the|and|your|you|with|for|this|are|has|not|will|from|Save|Cancel|Search|Back|"
                     r"Download|Submit|Approve|Invoice|Order|Orders|Quote|Lines|Total|Shipping|Delivery)\b")
# Test data the factories write in English (line descriptions, item names) and the Incoterms' official English
# names ("CIP — Carriage and Insurance Paid To"): not interface text.
DATA = re.compile(r"\b(Item|Line|Test RFQ) \d+\b|SKU-\d+|P-\d+|\b[A-Z]{3} — .*")


def de(msgid: str, **kw) -> str:
    """What the catalog says in German for ``msgid`` (the expected label)."""
    with force_locale("de"):
        return gettext(msgid, **kw)


def eur_de(amount) -> str:
    return format_money(Decimal(amount), "EUR", "de_DE")  # 1.234,50 € (with a no-break space)


class GermanTour:
    def __init__(self, browser, live_server, shots: Path):
        self.browser, self.live, self.shots, self.contexts = browser, live_server, shots, []
        self.leftovers: dict[str, list[str]] = {}  # page -> English words seen
        self.missing: dict[str, list[str]] = {}  # page -> German labels not seen

    def sign_in(self, user, width=1366, height=768):
        ctx = self.browser.new_context(viewport={"width": width, "height": height}, accept_downloads=True,
                                       locale="de-DE", extra_http_headers={"Accept-Language": "de-DE,de;q=0.9"})
        self.contexts.append(ctx)
        page = ctx.new_page()
        page.set_default_timeout(20000)
        page.goto(self.live + "/signin")
        page.get_by_label(de("Email")).fill(user.email)
        page.get_by_label(de("Password")).fill(factories.PASSWORD)
        page.get_by_role("button", name=de("Sign in")).click()
        page.wait_for_url("**/dashboard")
        return page

    def visit(self, page, path: str, shot: str, *labels: str):
        """Open ``path``; the page is German, shows every label, has no English sentence; screenshot it."""
        if path:
            page.goto(self.live + path)
        assert page.locator("html").get_attribute("lang") == "de", page.url
        main = page.locator("main")
        main.wait_for()
        shown = main.inner_text()
        missing = [label for label in labels if label not in shown]
        width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        if width[0] > width[1]:  # longer German words must not make the page wider than the window
            missing.append(f"page is {width[0]} px wide in a {width[1]} px window")
        if missing:
            self.missing[page.url] = missing
        text = DATA.sub("", shown)
        found = sorted({m.group(0) for m in ENGLISH.finditer(text)})
        if found:
            self.leftovers[page.url] = found
        page.screenshot(path=str(self.shots / f"{shot}.png"), full_page=True)
        return main

    def close(self):
        for c in self.contexts:
            c.close()


def test_the_journey_pages_in_german(world, browser, live_server, tmp_path):
    shots = Path(os.environ.get("PORTAL_DE_SHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    world.supplier_a.iban, world.supplier_a.vat_number = IBAN, "DE136695976"
    world.buyer.vat_number, world.buyer.language = "DE129273398", "de"
    for person in (world.buyer_admin, world.procurement, world.approver, world.buyer_accounts, world.sales_a,
                   world.accounts_a):
        person.language = "de"
    db.session.commit()

    r = factories.rfq(world.buyer, world.procurement, suppliers=[world.supplier_a, world.supplier_b],
                      title="Befestigungsteile Linie 4", quantities=[Decimal("1250"), Decimal("12.5"),
                                                                     Decimal("300")])
    closed = factories.closed_rfq(world.buyer, world.procurement, title="Schrauben und Muttern")
    factories.quote(closed, world.supplier_a, world.sales_a, prices=["7.4321", "0.0815", "0.3333"], shipping="25")
    factories.quote(closed, world.supplier_b, world.sales_b, prices=["9.10", "0.0700", "0.4125"], shipping="40")
    o = factories.order(world.buyer, world.supplier_a, world.procurement, status="acknowledged",
                        lines=[("1200", "4.25"), ("8", "199.90")])
    inv = issued_for(world, shipment=ship(o, {1: "1200", 2: "8"}, creator=world.sales_a))
    invoice_jobs.invoice_pdf_job(inv.id, inv.pdf_job_id)
    o2 = factories.order(world.buyer, world.supplier_a, world.procurement, status="acknowledged",
                         lines=[("40", "12.00")])
    gross = eur_de(inv.total_gross)  # e.g. "8.009,34 €"
    assert re.fullmatch(r"\d{1,3}(\.\d{3})*,\d\d\xa0€", gross)

    from urllib.request import urlopen

    for _ in range(2):  # the first request of a fresh gunicorn worker can be slow on a busy machine
        urlopen(live_server + "/signin", timeout=90).read()
    tour = GermanTour(browser, live_server, shots)
    try:
        # ------------------------------------------------------------------ procurement
        buyer = tour.sign_in(world.procurement)
        tour.visit(buyer, "", "01-dashboard-procurement")
        for nav in ("Dashboard", "Orders"):
            expect(buyer.get_by_role("link", name=de(nav), exact=True).first).to_be_visible()
        tour.visit(buyer, "/rfqs/", "02-rfq-list", de("Requests for quotation"),
                   de("Your company's RFQs, newest first."), r.reference)
        tour.visit(buyer, "/rfqs/new", "03-rfq-new", de("New RFQ"))
        assert buyer.get_by_label(de("Title")).is_visible()
        main = tour.visit(buyer, f"/rfqs/{r.id}", "04-rfq-detail", de("Terms"), de("Questions and answers"))
        assert buyer.locator("#lines-h").inner_text() == f"{de('Lines')} (3)"
        assert buyer.locator(".page-header .state-badge").first.inner_text() == de("Open")
        assert "1.250" in main.inner_text() and "12,5" in main.inner_text()  # German quantities
        tour.visit(buyer, f"/rfqs/{r.id}/lines", "05-rfq-lines", de("Add a line"), de("Import from CSV"))
        main = tour.visit(buyer, f"/rfqs/{closed.id}/comparison", "06-comparison", world.supplier_a.display_name)
        # the cheapest complete quote: A = 100 × 7.4321 + 200 × 0.0815 + 300 × 0.3333 + 25 shipping
        a_total = Decimal("743.21") + Decimal("16.30") + Decimal("99.99") + Decimal("25")
        assert eur_de(a_total) in main.inner_text()
        tour.visit(buyer, "/orders/", "07-orders", de("Orders"), o.po_number)
        main = tour.visit(buyer, f"/orders/{o.id}", "08-order-detail", de("Lines"), de("Shipments"))
        assert eur_de(o.total_net) in main.inner_text() and "1.200" in main.inner_text()
        tour.visit(buyer, "/notifications/", "09-notifications", de("Notifications"))

        approver = tour.sign_in(world.approver)
        tour.visit(approver, "/orders/approvals", "10-approvals")

        admin = tour.sign_in(world.buyer_admin)
        tour.visit(admin, "/company/", "11-company-profile")
        assert admin.get_by_label("IBAN").is_visible()
        tour.visit(admin, "/account", "12-account")
        assert admin.get_by_label(de("Language")).input_value() == "de"

        # ------------------------------------------------------------------ the supplier's people, in German
        sales = tour.sign_in(world.sales_a)
        tour.visit(sales, f"/rfqs/{r.id}/quote", "13-quote-form")
        assert sales.get_by_label(de("Shipping cost")).is_visible()
        tour.visit(sales, f"/orders/{o2.id}/ship", "14-ship-form", de("Ship now"))
        acc_a = tour.sign_in(world.accounts_a)
        tour.visit(acc_a, "/credit/holds", "15-credit-holds", de("Orders on credit hold"))
        tour.visit(acc_a, "/invoices/", "16-invoices-supplier", de("Invoices"), inv.number)

        # ------------------------------------------------------------------ buyer's accounts: invoice and PDF
        bacc = tour.sign_in(world.buyer_accounts)
        main = tour.visit(bacc, "/invoices/", "17-invoices-buyer", de("Invoices"), inv.number, gross)
        bacc.get_by_role("link", name=inv.number).first.click()
        bacc.wait_for_url(re.compile(rf".*/invoices/{inv.id}$"))
        main = tour.visit(bacc, "", "18-invoice-detail", de("Download PDF"), gross)
        expect(bacc.locator("h1")).to_contain_text(inv.number)
        with bacc.expect_download() as dl:
            bacc.get_by_role("link", name=de("Download PDF")).click()
        dl.value.save_as(tmp_path / "invoice.pdf")
        text = pdf_text(tmp_path / "invoice.pdf")
        for must in ("RECHNUNG", "Rechnungsdatum", "Zu zahlender Betrag", gross.replace("\xa0", " ")):
            assert must in text, must

        phone = tour.sign_in(world.buyer_accounts, width=390, height=844)
        tour.visit(phone, f"/invoices/{inv.id}", "19-invoice-detail-phone", gross)
        assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    finally:
        tour.close()

    assert not tour.missing and not tour.leftovers, (f"German labels missing: {tour.missing}; "
                                                     f"English text on German pages: {tour.leftovers}")
