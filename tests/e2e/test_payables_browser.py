"""The buyer's accounts payable in the browser: an invoice with a price difference is disputed, answered and
resolved by a credit note; a payment run with a cash discount is built by one accountant, approved and exported by
another, its pain.001.001.09 file downloaded and validated against the XSD; the execution is confirmed and the
supplier reconciles the remittance advice. With PAYABLES_SCREENSHOTS=<dir> the pages are also saved as PNGs."""
from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest
from lxml import etree
from playwright.sync_api import expect

from portal.db import db, utcnow
from tests.e2e.pages import flash
from tests.payables.conftest import make_invoice, pw  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.e2e, pytest.mark.one_run("sqlite")]  # browser tests split between the runs: README "Tests"

SHOTS = os.environ.get("PAYABLES_SCREENSHOTS")


def shot(page, name):
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


def test_dispute_run_and_remittance_in_the_browser(live_server, signed_in, pw, make_invoice):
    from portal.invoices import services as invoice_services
    from portal.invoices.models import Invoice
    from portal.payables import matching, sepa

    matching.save_settings(pw.buyer_accounts, price_tolerance_percent="2", price_tolerance_amount="50",
                           quantity_tolerance_percent="0", total_tolerance_percent="1", total_tolerance_amount="20",
                           auto_approve=True)
    matching.set_discount_terms(pw.buyer_accounts, pw.supplier_a.id, percent="2", days="10")
    good = make_invoice(approve=False)
    bad = make_invoice(approve=False, prices={2: "12.50"})
    matching.run_match(good.id)
    matching.run_match(bad.id)

    buyer = signed_in(pw.buyer_accounts)
    buyer.set_default_timeout(45000)  # a loaded 2-core machine
    buyer.goto(f"{live_server}/payables/")
    expect(buyer.get_by_test_id("exceptions")).to_contain_text(bad.number)
    shot(buyer, "ap-01-payables-buyer")
    buyer.goto(f"{live_server}/payables/invoices/{bad.id}")
    expect(buyer.get_by_test_id("match-status")).to_contain_text("Exceptions")
    expect(buyer.get_by_test_id("match-exceptions")).to_contain_text("12.5")
    buyer.get_by_label("What is disputed").select_option(label=f"Line 2: {bad.lines[1].description}")
    buyer.get_by_label("Reason (the supplier reads it)").fill("12.50 charged, 12.00 ordered.")
    shot(buyer, "ap-02-invoice-match")
    buyer.get_by_role("button", name="Dispute").click()
    flash(buyer, "Dispute opened")

    supplier = signed_in(pw.accounts_a)
    supplier.set_default_timeout(45000)  # a loaded 2-core machine
    supplier.goto(f"{live_server}/notifications/")
    expect(supplier.get_by_text("disputes line 2").first).to_be_visible()
    supplier.goto(f"{live_server}/payables/")
    supplier.get_by_test_id("disputes").get_by_role("link").first.click()
    supplier.get_by_label("Message").fill("Our mistake; a credit note follows.")
    supplier.get_by_role("button", name="Answer").click()
    flash(supplier, "Answer sent")
    db.session.expire_all()
    inv = db.session.get(Invoice, bad.id)
    invoice_services.create_credit_note(inv, pw.accounts_a, inv.lock_version, amount="30.00",
                                        reason="Price line 2", reason_kind="invoicing_error")
    supplier.reload()
    supplier.get_by_role("button", name="Resolve with this credit note").click()
    flash(supplier, "resolved by the credit note")
    expect(supplier.get_by_test_id("dispute-status")).to_have_text("Resolved")
    shot(supplier, "ap-03-dispute-resolved")

    buyer.goto(f"{live_server}/payables/invoices/{bad.id}")
    expect(buyer.get_by_test_id("match-status")).to_contain_text("Covered by credit notes")
    buyer.goto(f"{live_server}/payables/runs")
    buyer.get_by_label("Pay what is due by").fill((utcnow().date() + timedelta(days=40)).isoformat())
    buyer.get_by_role("button", name="Build payment run").click()
    flash(buyer, "someone else reviews and approves it")
    expect(buyer.get_by_role("button", name="Approve")).to_be_disabled()
    run_url = buyer.url
    shot(buyer, "ap-04-payment-run")

    other = signed_in(pw.accounts2)
    other.set_default_timeout(45000)  # a loaded 2-core machine
    other.goto(run_url)
    other.get_by_role("button", name="Approve").click()
    flash(other, "Payment run approved")
    other.get_by_role("button", name="Export the SEPA file").click()
    flash(other, "SEPA file produced")
    with other.expect_download() as dl:
        other.get_by_test_id("sepa-download").click()
    data = Path(dl.value.path()).read_bytes()
    etree.XMLSchema(etree.parse(str(sepa.xsd_path()))).assertValid(etree.fromstring(data))
    assert good.number.encode() in data and bad.number.encode() in data
    shot(other, "ap-05-run-exported")

    buyer.goto(run_url)
    buyer.get_by_role("button", name="Confirm execution").click()
    flash(buyer, "remittance advices")
    expect(buyer.get_by_test_id("run-status")).to_have_text("Executed")

    supplier.goto(f"{live_server}/payables/")
    supplier.get_by_test_id("advices").get_by_role("link").first.click()
    shot(supplier, "ap-06-remittance-supplier")
    supplier.get_by_role("button", name="Money arrived: record these payments").click()
    flash(supplier, "Reconciled")
    expect(supplier.get_by_test_id("advice-status")).to_have_text("Reconciled")
    db.session.expire_all()
    assert db.session.get(Invoice, good.id).open_amount == 0
    assert db.session.get(Invoice, bad.id).open_amount == 0
