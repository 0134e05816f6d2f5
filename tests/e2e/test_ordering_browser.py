"""The ordering journey in the browser, after sourcing: the buyer submits a draft purchase order and the real
worker's credit check places it; the supplier acknowledges with a changed delivery date on one line and the
buyer accepts; the supplier ships in two parts (delivery notes rendered in the worker); the buyer records goods
receipt for both; the supplier's accounts team invoices the first shipment (PDF rendered in the worker), the
buyer's accounts team downloads it, the supplier records the payment. Dashboards follow along.

Everything is done through the pages a person uses and asserted on what they see. Expected totals are computed
here with Decimal, independently of the portal's pricing code.
"""
from __future__ import annotations

import re
import time
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest
from babel.dates import format_date
from playwright.sync_api import expect

from portal.db import db
from tests import factories

pytestmark = pytest.mark.e2e

CENT = Decimal("0.01")
# (quantity, unit price) per line; line 1 ships in two parts, line 2 in the first shipment.
LINES = [(Decimal("100"), Decimal("2.50")), (Decimal("40"), Decimal("12.00"))]
FIRST_SHIPMENT = {1: Decimal("60"), 2: Decimal("40")}
SECOND_SHIPMENT = {1: Decimal("40")}
VAT = Decimal("19")


def _eur(amount: Decimal) -> str:
    """How en_GB shows euros: €1,234.50."""
    return f"€{amount.quantize(CENT, ROUND_HALF_UP):,.2f}"


def _plain(d: Decimal) -> str:
    return format(d.normalize(), "f")


def _reload_until(page, selector: str, count: int = 1, timeout: float = 15.0) -> None:
    """Reload the page until ``selector`` matches ``count`` elements (the worker finishes in the background)."""
    deadline = time.monotonic() + timeout
    while page.locator(selector).count() != count:
        if time.monotonic() > deadline:
            raise AssertionError(f"{selector!r} did not reach {count} on {page.url} within {timeout}s")
        time.sleep(0.5)
        page.reload()


def _panel_count(page, live_server, title: str) -> int:
    page.goto(live_server + "/dashboard")
    panel = page.get_by_test_id("panel-" + title.lower().replace(" ", "-"))
    return int(panel.get_by_test_id("panel-count").inner_text())


UNLABELLED_JS = """() => Array.from(document.querySelectorAll('input, select, textarea'))
  .filter(el => !['hidden', 'submit', 'button'].includes(el.type))
  .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                && !el.getAttribute('aria-labelledby') && !el.title)
  .map(el => el.outerHTML.slice(0, 120))"""


def _assert_labelled(page):
    """Every form control on the page has an accessible name (a <label>, aria-label or aria-labelledby)."""
    missing = page.evaluate(UNLABELLED_JS)
    assert not missing, f"form controls without a label on {page.url}: {missing}"


def _state(page, state: str):
    expect(page.locator(f".page-header .state-badge[data-state={state}]")).to_have_count(1)


def test_order_from_submission_to_paid_invoice(world, signed_in, live_server, tmp_path):
    from portal.credit.models import CreditAccount

    # ---------------------------------------------------------------- setup: terms, bank and VAT details, a draft
    world.supplier_a.iban = "DE89370400440532013000"
    world.supplier_a.vat_number = "DE136695976"
    world.buyer.vat_number = "DE811907980"
    db.session.add(CreditAccount(supplier_company_id=world.supplier_a.id, buyer_company_id=world.buyer.id,
                                 limit_amount=Decimal("50000"), currency="EUR", payment_terms_days=30))
    po = factories.order(world.buyer, world.supplier_a, world.procurement, status="draft",
                         lines=[(str(q), str(p)) for q, p in LINES])
    po.delivery_date = date.today() + timedelta(days=14)
    db.session.commit()
    order_url = f"{live_server}/orders/{po.id}"
    order_total = sum((q * p).quantize(CENT) for q, p in LINES)
    new_date = date.today() + timedelta(days=21)

    # ---------------------------------------------------------------- 1. buyer submits; the worker places it
    buyer = signed_in(world.procurement)
    assert _panel_count(buyer, live_server, "Drafts to submit") == 1
    buyer.goto(order_url)
    _state(buyer, "draft")
    _assert_labelled(buyer)
    assert buyer.get_by_test_id("order-total").inner_text() == _eur(order_total)
    buyer.get_by_role("button", name="Submit order").click()
    buyer.locator(".alert", has_text="credit check runs now").wait_for()
    _reload_until(buyer, ".page-header .state-badge[data-state=placed]")
    credit = buyer.get_by_test_id("credit-check")
    expect(credit.locator(".state-badge", has_text="Passed")).to_have_count(1)
    assert _eur(order_total) in credit.inner_text()
    so_number = buyer.get_by_test_id("so-number").inner_text().strip()
    assert so_number and "assigned" not in so_number

    # ---------------------------------------------------------------- 2. supplier proposes a date; buyer accepts
    sales = signed_in(world.sales_a)
    assert _panel_count(sales, live_server, "Placed orders to acknowledge") == 1
    sales.goto(order_url)
    _state(sales, "placed")
    sales.get_by_role("link", name="Acknowledge order").click()
    sales.wait_for_url(re.compile(r".*/acknowledge$"))
    _assert_labelled(sales)
    sales.get_by_label("Answer for line 2").select_option(label="Propose change")
    sales.get_by_label("Proposed date for line 2").fill(new_date.isoformat())
    sales.get_by_label("Note for line 2").fill("Line 2 is on back order; a week later.")
    sales.get_by_role("button", name="Send acknowledgement").click()
    sales.locator(".alert", has_text="proposed changes went to the buyer").wait_for()
    _state(sales, "change_proposed")

    assert _panel_count(buyer, live_server, "Change proposals to decide") == 1
    buyer.goto(order_url)
    _state(buyer, "change_proposed")
    rows = buyer.get_by_test_id("order-lines").locator("tbody tr")
    expect(rows.nth(1)).to_contain_text("Change proposed")
    expect(rows.nth(1)).to_contain_text(format_date(new_date, "short", locale="en_GB"))
    buyer.get_by_role("button", name="Accept changes").click()
    buyer.locator(".alert", has_text="the order is acknowledged").wait_for()
    _state(buyer, "acknowledged")
    delivery = [r.locator("td").nth(6).inner_text() for r in rows.all()]
    assert delivery == [format_date(po.delivery_date, "short", locale="en_GB"),
                        format_date(new_date, "short", locale="en_GB")]

    # ---------------------------------------------------------------- 3. supplier ships in two parts
    sales.goto(order_url)
    for n, shipment in enumerate((FIRST_SHIPMENT, SECOND_SHIPMENT), start=1):
        sales.get_by_role("link", name="Record a shipment").click()
        sales.wait_for_url(re.compile(r".*/ship$"))
        _assert_labelled(sales)
        for pos, qty in shipment.items():
            sales.get_by_label(f"Quantity to ship for line {pos}").fill(_plain(qty))
        sales.get_by_label("Carrier").fill("DHL Freight")
        sales.get_by_label("Tracking reference").fill(f"TRK-{n}")
        sales.get_by_role("button", name="Record shipment").click()
        sales.locator(".alert", has_text="recorded; the delivery note is being produced").wait_for()
        _state(sales, "partially_shipped" if n == 1 else "shipped")
    shipped = [r.locator("td").nth(8).inner_text() for r in sales.get_by_test_id("order-lines")
               .locator("tbody tr").all()]
    assert shipped == ["100", "40"]
    # The delivery notes are rendered by the worker; each shipment then links its PDF.
    _reload_until(sales, "[data-testid^=shipment-] a:has-text('Delivery note')", count=2)
    shipment_numbers = [s.locator("strong").first.inner_text()
                        for s in sales.locator("[data-testid^=shipment-]").all()]
    assert len(set(shipment_numbers)) == 2
    with sales.expect_download() as dl:
        sales.locator("[data-testid^=shipment-]").first.get_by_role("link", name="Delivery note").click()
    assert open(dl.value.path(), "rb").read(4) == b"%PDF"

    # ---------------------------------------------------------------- 4. buyer receives both shipments
    assert _panel_count(buyer, live_server, "Shipments to receive") == 2
    buyer.goto(order_url)
    _state(buyer, "shipped")
    for number in shipment_numbers:
        buyer.get_by_test_id("actions").get_by_role("link", name=f"Record goods receipt for {number}").click()
        buyer.wait_for_url(re.compile(r".*/receive$"))
        expect(buyer.locator("h1")).to_contain_text(number)
        _assert_labelled(buyer)
        buyer.get_by_role("button", name="Record goods receipt").click()
        buyer.locator(".alert", has_text=f"Goods receipt for {number} recorded").wait_for()
    _state(buyer, "received")
    received = [r.locator("td").nth(9).inner_text() for r in buyer.get_by_test_id("order-lines")
                .locator("tbody tr").all()]
    assert received == ["100", "40"]
    assert _panel_count(buyer, live_server, "Shipments to receive") == 0

    # ---------------------------------------------------------------- 5. supplier accounts invoices shipment 1
    net = sum((FIRST_SHIPMENT[pos] * LINES[pos - 1][1]).quantize(CENT) for pos in FIRST_SHIPMENT)
    tax = (net * VAT / 100).quantize(CENT, ROUND_HALF_UP)
    gross = net + tax

    acc = signed_in(world.accounts_a)
    acc.on("dialog", lambda d: d.accept())
    assert _panel_count(acc, live_server, "Shipments to invoice") == 2
    acc.get_by_test_id("panel-shipments-to-invoice").get_by_role(
        "link", name=re.compile("^" + re.escape(shipment_numbers[0]))).click()
    acc.wait_for_url(re.compile(r".*/invoices/new\?shipment_id=\d+$"))
    _assert_labelled(acc)
    form = acc.get_by_test_id("new-invoice")
    for pos, qty in FIRST_SHIPMENT.items():
        assert Decimal(form.get_by_label(f"Quantity of line {pos}").input_value()) == qty
        assert Decimal(form.get_by_label(f"VAT rate of line {pos}").input_value()) == VAT
    form.get_by_role("button", name="Save draft").click()
    acc.locator(".alert", has_text="Draft invoice saved").wait_for()
    expect(acc.locator(".state-badge[data-state=draft]")).to_have_count(1)
    assert acc.get_by_test_id("total-gross").inner_text() == _eur(gross)
    _assert_labelled(acc)
    acc.get_by_role("button", name="Issue invoice").click()
    acc.locator(".alert", has_text="Issued as INV-").wait_for()
    number = re.search(r"INV-\S+", acc.locator("h1").inner_text()).group(0)
    expect(acc.locator(".state-badge[data-state=issued]")).to_have_count(1)
    assert acc.get_by_test_id("total-net").inner_text() == _eur(net)
    assert acc.get_by_test_id("total-tax").inner_text() == _eur(tax)
    assert acc.get_by_test_id("total-gross").inner_text() == _eur(gross)
    # The PDF renders in the worker; the progress bar updates without reload and the link appears.
    job = acc.locator("[data-job-url]")
    job.locator(".job-result:not(.d-none) a").wait_for(timeout=20000)
    assert job.locator(".progress-bar").inner_text().strip() == "100%"
    with acc.expect_download() as dl:
        job.locator(".job-result a").click()
    assert open(dl.value.path(), "rb").read(4) == b"%PDF"

    # ---------------------------------------------------------------- 6. buyer's accounts team downloads it
    bacc = signed_in(world.buyer_accounts)
    assert _panel_count(bacc, live_server, "Invoices to check and approve") == 1
    bacc.get_by_role("link", name="Invoices", exact=True).first.click()
    row = bacc.locator("tbody tr", has=bacc.get_by_role("link", name=number))
    expect(row).to_have_count(1)
    expect(row.locator(".state-badge[data-state=issued]")).to_have_count(1)
    assert _eur(gross) in row.inner_text()
    row.get_by_role("link", name=number).click()
    expect(bacc.get_by_test_id("match").locator(".badge", has_text="OK")).to_have_count(2)
    with bacc.expect_download() as dl:
        bacc.get_by_role("link", name="Download PDF").click()
    pdf = tmp_path / "invoice.pdf"
    dl.value.save_as(pdf)
    assert pdf.read_bytes()[:4] == b"%PDF"

    # ---------------------------------------------------------------- 7. supplier records the full payment
    acc.reload()
    _assert_labelled(acc)
    pay = acc.get_by_test_id("payment-form")
    pay.get_by_label("Amount received").fill(_plain(gross))
    pay.get_by_label("Bank reference").fill("SEPA 2026-0001")
    pay.get_by_role("button", name="Record payment").click()
    acc.locator(".alert", has_text="Payment recorded").wait_for()
    expect(acc.locator(".state-badge[data-state=paid]")).to_have_count(1)
    assert acc.get_by_test_id("open-amount").inner_text() == _eur(Decimal("0"))
    expect(acc.get_by_test_id("payment-form")).to_have_count(0)

    # ---------------------------------------------------------------- 8. dashboards
    assert _panel_count(acc, live_server, "Shipments to invoice") == 1  # the second shipment
    assert _panel_count(acc, live_server, "Overdue receivables") == 0
    assert _panel_count(acc, live_server, "Draft invoices") == 0
    assert _panel_count(sales, live_server, "Placed orders to acknowledge") == 0
    assert _panel_count(sales, live_server, "Acknowledged orders to ship") == 0
    assert _panel_count(bacc, live_server, "Invoices to check and approve") == 0
    assert _panel_count(bacc, live_server, "Overdue payables") == 0
    assert _panel_count(buyer, live_server, "Drafts to submit") == 0
