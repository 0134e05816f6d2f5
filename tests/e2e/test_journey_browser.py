"""The whole journey in one browser session per person, from an RFQ to paid invoices.

Procurement builds an RFQ (3 typed lines + 50 from CSV), invites two suppliers and publishes it sealed; both
suppliers quote and one revises; procurement closes early, compares and splits the award, and the two purchase
orders that come out of it go all the way: the larger one needs the approver (the buyer's approval rule), each
meets the supplier's credit check in the real worker (Alpha has a default limit and places it, Beta has none so
its accounts team releases the hold), each supplier acknowledges (Alpha proposes a later date, procurement
accepts) and ships in two parts with delivery notes rendered in the worker, procurement records goods receipt of
all four shipments, each supplier's accounts team issues an invoice (the PDF job's progress bar runs to 100 % and
the download link appears; Beta's first attempt is refused until its admin adds an IBAN, and its cross-border
invoice is reverse charge), the buyer's accounts team checks the three-way match, approves and downloads the
PDFs, and the suppliers record one full and one part payment. Every dashboard shows the counts that follow.

Everything is done through the pages a person uses and asserted on what they see. Expected totals are computed
here with Decimal from the prices typed, independently of the portal's pricing code.
"""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from babel.dates import format_date
from playwright.sync_api import expect

from portal.db import db
from tests import factories
from tests.e2e.pages import (CENT, assert_labelled, eur, flash, header_state, number_in, panel_count, pdf_text,
                             plain, reload_until)

pytestmark = pytest.mark.e2e

ALPHA, BETA = "Supplier Alpha GmbH", "Supplier Beta SAS"
VAT = Decimal("19")
APPROVAL_THRESHOLD = Decimal("5000")  # the buyer's rule: orders above this need one approval

# Three lines typed in the line editor, fifty from the CSV: (description, quantity, unit, part number).
TYPED = [("Hex bolt M8x40, zinc plated", Decimal("100"), "pcs", "HB-M8-40"),
         ("Washer DIN 125 M8", Decimal("250"), "pcs", "W-125-8"),
         ("Threadlocker, medium strength", Decimal("12.5"), "ml", "TL-243")]
IMPORTED = [(f"Imported item {i:02d}", Decimal(10 + 5 * i), "pcs" if i % 3 else "kg", f"IMP-{i:03d}")
            for i in range(1, 51)]
LINES = TYPED + IMPORTED  # position n is LINES[n - 1]

# Supplier A is cheapest on lines 1-3, supplier B on lines 4-53. 4-decimal prices exercise rounding.
A_PRICES = [Decimal("7.4321"), Decimal("0.0815"), Decimal("0.3333")] + [Decimal("2.5") + Decimal(i) / 100
                                                                         for i in range(1, 51)]
B_PRICES = [Decimal("9.10"), Decimal("0.0990"), Decimal("0.4125")] + [Decimal("1.75") + Decimal(i) / 1000
                                                                       for i in range(1, 51)]
A_SHIPPING, B_SHIPPING = Decimal("25.00"), Decimal("40.00")
B_REVISED_POSITION, B_REVISED_PRICE = 10, Decimal("1.2345")  # B lowers line 10 in its second version

# How each supplier ships its order in two parts: {order line position: quantity}.
A_SHIPMENTS = [{1: Decimal("60"), 2: Decimal("250")}, {1: Decimal("40"), 3: Decimal("12.5")}]
B_SHIPMENTS = [{p: IMPORTED[p - 1][1] for p in range(1, 26)}, "all open"]  # lines 1-25, then 26-50
B_PART_PAYMENT = Decimal("5000.00")


def _line_totals(prices) -> list[Decimal]:
    return [(qty * p).quantize(CENT, ROUND_HALF_UP) for (_, qty, _, _), p in zip(LINES, prices)]


def _fill_quote(page, prices, shipping: Decimal, valid_until: date):
    page.get_by_label("Valid until").fill(valid_until.isoformat())
    page.get_by_label("Shipping cost").fill(plain(shipping))
    page.get_by_label("Delivery terms").fill("DAP Stuttgart, 2 weeks after order")
    for n, price in enumerate(prices, start=1):
        page.get_by_label(f"Line {n} unit price", exact=True).fill(plain(price))


def _source_and_award(world, signed_in, live_server, tmp_path) -> SimpleNamespace:
    """Steps 1-5: RFQ, invitations, sealed quotes (B revises), early close, comparison, split award, POs."""
    # ---------------------------------------------------------------- 1. the buyer builds and publishes
    buyer = signed_in(world.procurement)
    buyer.on("dialog", lambda d: d.accept())
    buyer.get_by_role("link", name="RFQs", exact=True).click()
    buyer.get_by_role("link", name="New RFQ").first.click()  # header button (the empty list offers one too)
    buyer.wait_for_url("**/rfqs/new")
    assert_labelled(buyer)
    buyer.get_by_label("Title").fill("Fasteners for assembly line 4")
    buyer.get_by_label("Description", exact=True).fill("Zinc plated unless stated otherwise.")
    deadline = datetime.now(ZoneInfo(world.procurement.timezone)) + timedelta(days=7)
    buyer.get_by_label("Response deadline").fill(deadline.strftime("%Y-%m-%dT%H:%M"))
    sealed = buyer.get_by_label(re.compile("^Sealed bidding"))
    assert sealed.is_checked()
    buyer.get_by_role("button", name="Create draft").click()
    buyer.wait_for_url(re.compile(r".*/rfqs/\d+$"))
    rfq_url = buyer.url
    reference = buyer.locator("h1 .text-muted").inner_text().strip()
    assert re.fullmatch(r"\S+", reference)
    expect(buyer.locator(".state-badge[data-state=draft]")).to_have_count(1)

    assert_labelled(buyer)
    buyer.get_by_test_id("rfq-actions").get_by_role("link", name="Edit lines").click()
    buyer.wait_for_url(re.compile(r".*/lines$"))
    assert_labelled(buyer)
    add = buyer.locator("#add-line")
    for description, qty, unit, part in TYPED:
        add.get_by_label("Description", exact=True).fill(description)
        add.get_by_label("Your part number").fill(part)
        add.get_by_label("Quantity").fill(plain(qty))
        add.get_by_label("Unit", exact=True).fill(unit)
        add.get_by_role("button", name="Add line").click()
        buyer.locator(".alert", has_text="added").wait_for()
    expect(buyer.get_by_test_id("line-editor").locator("tbody tr")).to_have_count(3)

    csv_file = tmp_path / "lines.csv"
    csv_file.write_text("description,quantity,unit,part_number\n"
                        + "".join(f"{d},{plain(q)},{u},{p}\n" for d, q, u, p in IMPORTED), encoding="utf-8")
    buyer.get_by_role("link", name="Import from CSV").click()
    buyer.wait_for_url(re.compile(r".*/lines/import$"))
    assert_labelled(buyer)
    buyer.get_by_label("Upload a CSV file").set_input_files(str(csv_file))
    buyer.get_by_role("button", name="Preview").click()
    preview = buyer.get_by_test_id("import-preview")
    assert "All 50 rows are fine" in preview.inner_text()
    preview.get_by_role("button", name="Append 50 lines").click()
    buyer.locator(".alert", has_text="50 lines appended").wait_for()
    expect(buyer.get_by_test_id("line-editor").locator("tbody tr")).to_have_count(53)

    buyer.goto(rfq_url)
    buyer.get_by_role("link", name="Invite suppliers").click()
    buyer.get_by_role("searchbox", name="Name").fill("Supplier")
    buyer.get_by_role("button", name="Search").click()
    buyer.wait_for_url(re.compile(r".*q=Supplier.*"))
    assert_labelled(buyer)
    buyer.get_by_label(f"Invite {ALPHA}").check()
    buyer.get_by_label(f"Invite {BETA}").check()
    buyer.get_by_role("button", name="Invite selected").click()
    invited = buyer.get_by_test_id("invited-suppliers")
    invited.get_by_text(BETA).wait_for()
    assert ALPHA in invited.inner_text()

    buyer.goto(rfq_url)
    buyer.get_by_role("button", name="Publish").click()
    buyer.locator(".alert", has_text="is published").wait_for()
    expect(buyer.locator(".state-badge[data-state=open]")).to_have_count(1)
    assert buyer.get_by_text("Sealed", exact=True).first.is_visible()
    assert buyer.locator("#lines-h").inner_text() == "Lines (53)"
    expect(buyer.get_by_test_id("rfq-lines").locator("tbody tr")).to_have_count(53)

    # ---------------------------------------------------------------- 2. both suppliers quote; B revises
    valid_until = date.today() + timedelta(days=60)

    alpha = signed_in(world.sales_a)
    alpha.get_by_role("link", name="Requests for quotation").click()
    alpha.get_by_role("link", name=reference).click()
    alpha.get_by_test_id("start-quote").click()
    alpha.wait_for_url(re.compile(r".*/rfqs/\d+/quote$"))
    expect(alpha.get_by_test_id("quote-lines").locator("tbody tr")).to_have_count(53)
    assert_labelled(alpha)
    _fill_quote(alpha, A_PRICES, A_SHIPPING, valid_until)
    alpha.get_by_test_id("submit-quote").click()
    alpha.locator(".alert", has_text="Quote submitted (version 1)").wait_for()
    state = alpha.get_by_test_id("quote-state")
    assert state.locator(".state-badge[data-state=submitted]").inner_text() == "Submitted"
    assert alpha.locator("#sum-h").text_content().strip() == "Version 1 (current)"

    beta = signed_in(world.sales_b)
    beta.get_by_role("link", name="Requests for quotation").click()
    beta.get_by_role("link", name=reference).click()
    beta.get_by_test_id("start-quote").click()
    _fill_quote(beta, B_PRICES, B_SHIPPING, valid_until)
    beta.get_by_test_id("submit-quote").click()
    beta.locator(".alert", has_text="Quote submitted (version 1)").wait_for()
    beta.get_by_test_id("quote-actions").get_by_test_id("revise").click()
    beta.wait_for_url(re.compile(r".*/rfqs/\d+/quote$"))
    price_cell = beta.get_by_label(f"Line {B_REVISED_POSITION} unit price", exact=True)
    assert Decimal(price_cell.input_value()) == B_PRICES[B_REVISED_POSITION - 1]  # the draft starts from v1
    price_cell.fill(plain(B_REVISED_PRICE))
    beta.get_by_test_id("submit-quote").click()
    beta.locator(".alert", has_text="Quote submitted (version 2)").wait_for()
    expect(beta.get_by_test_id("quote-state").locator(".state-badge[data-state=submitted]")).to_have_count(1)
    assert beta.locator("#sum-h").text_content().strip() == "Version 2 (current)"
    expect(beta.get_by_test_id("versions").locator("tbody tr")).to_have_count(2)

    b_final = list(B_PRICES)
    b_final[B_REVISED_POSITION - 1] = B_REVISED_PRICE

    # ---------------------------------------------------------------- 3. sealed panel, close, compare, award
    a_totals, b_totals = _line_totals(A_PRICES), _line_totals(b_final)
    a_total, b_total = sum(a_totals) + A_SHIPPING, sum(b_totals) + B_SHIPPING
    # What must not leak while sealed: a unit price A typed, A's line total, both quote totals, B's revision.
    sealed_secrets = [plain(A_PRICES[0]), eur(a_totals[0]), eur(a_total), eur(b_total),
                      plain(B_REVISED_PRICE)]

    buyer.goto(rfq_url)
    panel = buyer.get_by_test_id("quote-panel")
    assert panel.get_by_test_id("quote-count").inner_text() == "2 of 2 invited suppliers submitted"
    expect(panel.get_by_test_id("sealed-note")).to_be_visible()
    alpha_row = panel.locator(f"tr[data-supplier='{ALPHA}']")
    beta_row = panel.locator(f"tr[data-supplier='{BETA}']")
    assert re.search(r"v1 · \S", alpha_row.inner_text())
    assert re.search(r"v2 · \S", beta_row.inner_text())
    expect(alpha_row.locator(".state-badge[data-state=submitted]")).to_have_count(1)
    assert "Total" not in panel.locator("thead").inner_text()
    content = buyer.content()
    for secret in sealed_secrets:
        assert secret not in content, f"sealed price {secret!r} visible to the buyer"
    # The buyer may open a quote from the panel, and still sees no price there.
    alpha_row.get_by_role("link", name=ALPHA).click()
    buyer.wait_for_url(re.compile(r".*/quotes/\d+$"))
    expect(buyer.get_by_test_id("sealed-note")).to_contain_text(f"Sealed bid: you see that {ALPHA} submitted")
    content = buyer.content()
    for secret in sealed_secrets:
        assert secret not in content, f"sealed price {secret!r} visible on the quote page"

    buyer.goto(rfq_url)
    buyer.get_by_role("button", name="Close early").click()
    buyer.locator(".alert", has_text="2 quotes opened").wait_for()
    expect(buyer.locator(".state-badge[data-state=closed]")).to_have_count(1)
    assert "Quotes opened" in buyer.get_by_test_id("audit-trail").inner_text()
    assert eur(a_total) in buyer.get_by_test_id("quote-panel").inner_text()  # prices open now

    buyer.get_by_role("link", name="Compare quotes").click()
    best = [min(a, b) for a, b in zip(a_totals, b_totals)]
    assert best[:3] == a_totals[:3] and best[3:] == b_totals[3:]  # A wins 1-3, B wins 4-53
    expected_complete = min(a_total, b_total)
    expected_split = sum(best) + A_SHIPPING + B_SHIPPING
    assert buyer.get_by_test_id("cheapest-complete").inner_text() == eur(expected_complete)
    assert buyer.get_by_test_id("cheapest-split").inner_text() == eur(expected_split)
    assert expected_split < expected_complete  # the prices are chosen so the split saves money
    assert buyer.get_by_test_id("saving").inner_text() == eur(expected_complete - expected_split)

    assert_labelled(buyer)
    for n in range(1, 54):
        buyer.get_by_label(f"Line {n}: {ALPHA if n <= 3 else BETA}", exact=True).check()
    buyer.get_by_label("Note for the award").fill("Split: bolts to Alpha, the rest to Beta.")
    buyer.get_by_role("button", name="Award selected lines").click()
    buyer.locator(".alert", has_text="is awarded (53 lines)").wait_for()
    award = buyer.get_by_test_id("award")
    assert "Split award · 53 of 53 lines awarded" in award.inner_text()
    rows = {r.locator("td").first.inner_text(): r.locator("td").all_inner_texts()
            for r in award.locator("tbody tr").all()}
    assert set(rows) == {ALPHA, BETA}
    assert rows[ALPHA][1:3] == ["3", "1–3"] and rows[BETA][1:3] == ["50", "4–53"]
    assert rows[ALPHA][-1] == eur(sum(a_totals[:3]) + A_SHIPPING)
    assert rows[BETA][-1] == eur(sum(b_totals[3:]) + B_SHIPPING)
    assert eur(expected_split) in award.locator("tfoot").inner_text()
    expect(buyer.locator(".state-badge[data-state=awarded]")).to_have_count(1)
    buyer.goto(rfq_url)
    expect(buyer.locator(".state-badge[data-state=awarded]")).to_have_count(1)

    # ---------------------------------------------------------------- 4. the suppliers are told
    for page, won in ((alpha, 3), (beta, 50)):
        page.goto(live_server + "/dashboard")
        assert int(page.get_by_test_id("unread-count").inner_text()) >= 1
        page.get_by_role("link", name=re.compile(r"^Notifications, \d+ unread")).click()
        outcome = page.locator(".list-group-item", has_text=f"You won {won} lines of {reference}")
        expect(outcome).to_have_count(1)
        assert "awarded you" in outcome.inner_text()

    # ---------------------------------------------------------------- 5. purchase orders from the award
    buyer.get_by_role("link", name="Compare quotes").click()
    buyer.get_by_test_id("award").get_by_role("button", name="Create purchase orders").click()
    buyer.locator(".alert", has_text="2 purchase orders are ready as drafts").wait_for()
    orders = buyer.get_by_test_id("orders-table").locator("tbody tr")
    expect(orders).to_have_count(2)
    by_supplier = {r.locator("td").nth(2).inner_text(): r for r in orders.all()}
    assert set(by_supplier) == {ALPHA, BETA}
    for r in orders.all():
        assert re.fullmatch(r"PO-\S+", r.locator("td").first.inner_text().strip())
        expect(r.locator(".state-badge[data-state=draft]")).to_have_count(1)
    orders_by_supplier = {name: live_server + r.get_by_role("link").first.get_attribute("href")
                          for name, r in by_supplier.items()}
    return SimpleNamespace(buyer=buyer, alpha=alpha, beta=beta, reference=reference, rfq_url=rfq_url,
                           order_urls=orders_by_supplier, b_final=b_final)


# ==================================================================================================== helpers

def _set_up_companies(world) -> SimpleNamespace:
    """What the companies already have on file before the journey: VAT numbers, Alpha's bank account, and a
    clerk in Beta's accounts team. Beta has no IBAN yet (the journey shows what happens)."""
    world.supplier_a.iban = "DE89370400440532013000"
    world.supplier_a.vat_number = "DE136695976"
    world.supplier_b.vat_number = "FR40303265045"
    world.buyer.vat_number = "DE811907980"
    accounts_b = factories.user(world.supplier_b, "accounts", email="accounts@beta.test")
    db.session.commit()
    return SimpleNamespace(accounts_b=accounts_b)


def _buyer_sets_an_approval_rule(admin):
    admin.get_by_role("link", name="Orders", exact=True).click()
    admin.get_by_role("link", name="Approval rules").click()
    assert_labelled(admin)
    admin.get_by_label("Orders above").fill(plain(APPROVAL_THRESHOLD))
    admin.get_by_label("Approvals required").fill("1")
    admin.get_by_label("Currency").select_option("EUR")
    admin.get_by_role("button", name="Save rule").click()
    flash(admin, "The approval rule is saved.")
    rules = admin.get_by_test_id("rules").locator("tbody tr")
    expect(rules).to_have_count(1)
    assert rules.locator("td").first.inner_text() == eur(APPROVAL_THRESHOLD)


def _supplier_sets_a_default_credit_limit(acc, limit: Decimal):
    acc.get_by_role("link", name="Credit", exact=True).click()
    expect(acc.get_by_test_id("default-account")).to_contain_text("No default set")
    acc.get_by_role("link", name="Set a default").click()
    assert_labelled(acc)
    acc.get_by_label("Credit limit").fill(plain(limit))
    acc.get_by_label("Currency").select_option("EUR")
    acc.get_by_label("Payment terms (days)").fill("30")
    acc.get_by_role("button", name="Save").click()
    flash(acc, "Credit terms for buyers without their own account saved.")
    expect(acc.get_by_test_id("default-account")).to_contain_text(f"{eur(limit)} · net 30 days")


def _ship_in_parts(sales, order_url: str, shipments: list) -> list[str]:
    """Record each shipment on the order's ship page; returns the shipment numbers as the order page lists them."""
    sales.goto(order_url)
    for n, shipment in enumerate(shipments, start=1):
        sales.get_by_role("link", name="Record a shipment").click()
        sales.wait_for_url(re.compile(r".*/ship$"))
        assert_labelled(sales)
        if shipment == "all open":  # the page fills in every open quantity
            sales.get_by_role("link", name="Fill in every open quantity").click()
            sales.wait_for_url(re.compile(r".*/ship\?fill=open$"))
        else:
            for pos, qty in shipment.items():
                sales.get_by_label(f"Quantity to ship for line {pos}", exact=True).fill(plain(qty))
        sales.get_by_label("Carrier").fill("DHL Freight")
        sales.get_by_label("Tracking reference").fill(f"TRK-{n}")
        sales.get_by_role("button", name="Record shipment").click()
        flash(sales, "recorded; the delivery note is being produced")
        header_state(sales, "partially_shipped" if n < len(shipments) else "shipped")
    # The delivery notes are rendered by the worker; each shipment then links its PDF.
    reload_until(sales, "[data-testid^=shipment-] a:has-text('Delivery note')", count=len(shipments))
    numbers = [s.locator("strong").first.inner_text() for s in sales.locator("[data-testid^=shipment-]").all()]
    assert len(set(numbers)) == len(shipments) and all(n.startswith("DN-") for n in numbers)
    return numbers


def _order_column(page, index: int) -> list[str]:
    return [r.locator("td").nth(index).inner_text()
            for r in page.get_by_test_id("order-lines").locator("tbody tr").all()]


def _receive_all(buyer, order_url: str, numbers: list[str]):
    buyer.goto(order_url)
    header_state(buyer, "shipped")
    for number in numbers:
        buyer.get_by_test_id("actions").get_by_role("link", name=f"Record goods receipt for {number}").click()
        buyer.wait_for_url(re.compile(r".*/receive$"))
        expect(buyer.locator("h1")).to_contain_text(number)
        assert_labelled(buyer)
        buyer.get_by_role("button", name="Record goods receipt").click()
        flash(buyer, f"Goods receipt for {number} recorded")
    header_state(buyer, "received")


def _issue_and_download(acc, tmp_path, name: str) -> tuple[str, str]:
    """Issue the draft on the page; wait for the worker's PDF (progress bar to 100 %) and download it."""
    acc.get_by_role("button", name="Issue invoice").click()
    flash(acc, "Issued as INV-")
    number = number_in(acc.locator("h1").inner_text(), "INV-")
    expect(acc.locator(".page-header .state-badge[data-state=issued]")).to_have_count(1)
    job = acc.locator("[data-job-url]")
    job.locator(".job-result:not(.d-none) a").wait_for(timeout=30000)  # updates without a reload
    assert job.locator(".progress-bar").inner_text().strip() == "100%"
    with acc.expect_download() as dl:
        job.locator(".job-result a").click()
    path = tmp_path / f"{name}.pdf"
    dl.value.save_as(path)
    assert path.read_bytes()[:4] == b"%PDF"
    return number, acc.url


def _record_payment(acc, invoice_url: str, amount: Decimal, reference: str):
    acc.goto(invoice_url)
    assert_labelled(acc)
    pay = acc.get_by_test_id("payment-form")
    pay.get_by_label("Amount received").fill(plain(amount))
    pay.get_by_label("Bank reference").fill(reference)
    pay.get_by_role("button", name="Record payment").click()
    flash(acc, "Payment recorded")


# ==================================================================================================== the journey

def test_the_whole_journey_from_rfq_to_payment(world, signed_in, live_server, tmp_path):
    people = _set_up_companies(world)

    # ------------------------------------------------------------ 0. the companies' own rules, set by their people
    _buyer_sets_an_approval_rule(signed_in(world.buyer_admin))
    acc_a = signed_in(world.accounts_a)
    acc_a.on("dialog", lambda d: d.accept())
    _supplier_sets_a_default_credit_limit(acc_a, Decimal("50000"))

    # ------------------------------------------------------------ 1-5. sourcing, award, purchase orders
    src = _source_and_award(world, signed_in, live_server, tmp_path)
    buyer, alpha, beta = src.buyer, src.alpha, src.beta
    a_url, b_url = src.order_urls[ALPHA], src.order_urls[BETA]
    a_totals, b_totals = _line_totals(A_PRICES)[:3], _line_totals(src.b_final)[3:]
    # each order costs what the award showed for its supplier: the awarded lines plus the quoted shipping
    a_order, b_order = sum(a_totals) + A_SHIPPING, sum(b_totals) + B_SHIPPING
    assert a_order <= APPROVAL_THRESHOLD < b_order  # the rule catches Beta's order only

    # ------------------------------------------------------------ 6. procurement submits both orders
    assert panel_count(buyer, live_server, "Drafts to submit") == 2
    buyer.goto(a_url)
    header_state(buyer, "draft")
    assert_labelled(buyer)
    assert buyer.get_by_test_id("order-total").inner_text() == eur(a_order)
    assert buyer.get_by_test_id("order-shipping").inner_text() == eur(A_SHIPPING)
    assert _order_column(buyer, 1)[0].startswith("HB-M8-40")
    buyer.get_by_role("button", name="Submit order").click()
    flash(buyer, "credit check runs now")
    reload_until(buyer, ".page-header .state-badge[data-state=placed]")  # Alpha's default limit covers it
    credit = buyer.get_by_test_id("credit-check")
    expect(credit.locator(".state-badge", has_text="Passed")).to_have_count(1)
    assert eur(a_order) in credit.inner_text()
    assert "assigned" not in buyer.get_by_test_id("so-number").inner_text()

    buyer.goto(b_url)
    assert buyer.get_by_test_id("order-total").inner_text() == eur(b_order)
    po_b = buyer.get_by_test_id("po-number").inner_text().strip()
    buyer.get_by_role("button", name="Submit order").click()
    flash(buyer, "The order needs approval first")
    header_state(buyer, "awaiting_approval")

    # ------------------------------------------------------------ 7. the approver approves Beta's order
    approver = signed_in(world.approver)
    assert panel_count(approver, live_server, "Approvals waiting for me") == 1
    approver.get_by_test_id("panel-approvals-waiting-for-me").get_by_role("link", name="Approval queue").click()
    queue = approver.get_by_test_id("approval-queue").locator("tbody tr")
    expect(queue).to_have_count(1)
    assert po_b in queue.inner_text() and eur(b_order) in queue.inner_text()
    assert_labelled(approver)
    queue.get_by_label(f"Comment on {po_b}").fill("Within the line 4 budget.")
    queue.get_by_role("button", name="Approve").click()
    flash(approver, "You approved the order.")

    # ------------------------------------------------------------ 8. Beta has no credit limit: hold, then release
    buyer.goto(b_url)
    reload_until(buyer, ".page-header .state-badge[data-state=credit_hold]")
    acc_b = signed_in(people.accounts_b)
    acc_b.on("dialog", lambda d: d.accept())
    assert panel_count(acc_b, live_server, "Orders on credit hold") == 1
    acc_b.get_by_test_id("panel-orders-on-credit-hold").get_by_role("link", name="Open the hold queue").click()
    hold = acc_b.locator("[data-testid^=hold-]")
    expect(hold).to_have_count(1)
    expect(hold).to_contain_text("has set no credit limit")
    assert_labelled(acc_b)
    hold.get_by_label("Comment").fill("New customer; first order released by hand.")
    hold.get_by_role("button", name="Release and place").click()
    flash(acc_b, f"Order {po_b} released from credit hold and placed.")
    buyer.goto(b_url)
    header_state(buyer, "placed")

    # ------------------------------------------------------------ 9. acknowledgements (Alpha proposes a date)
    new_date = date.today() + timedelta(days=21)
    assert panel_count(alpha, live_server, "Placed orders to acknowledge") == 1
    alpha.goto(a_url)
    alpha.get_by_role("link", name="Acknowledge order").click()
    alpha.wait_for_url(re.compile(r".*/acknowledge$"))
    assert_labelled(alpha)
    alpha.get_by_label("Answer for line 2").select_option(label="Propose change")
    alpha.get_by_label("Proposed date for line 2").fill(new_date.isoformat())
    alpha.get_by_label("Note for line 2").fill("Washers are on back order; three weeks.")
    alpha.get_by_role("button", name="Send acknowledgement").click()
    flash(alpha, "proposed changes went to the buyer")
    header_state(alpha, "change_proposed")

    assert panel_count(beta, live_server, "Placed orders to acknowledge") == 1
    beta.goto(b_url)
    beta.get_by_role("link", name="Acknowledge order").click()
    beta.get_by_role("button", name="Send acknowledgement").click()  # every line accepted as ordered
    flash(beta, "The order is acknowledged.")
    header_state(beta, "acknowledged")

    assert panel_count(buyer, live_server, "Change proposals to decide") == 1
    buyer.goto(a_url)
    rows = buyer.get_by_test_id("order-lines").locator("tbody tr")
    expect(rows.nth(1)).to_contain_text("Change proposed")
    buyer.get_by_role("button", name="Accept changes").click()
    flash(buyer, "the order is acknowledged")
    header_state(buyer, "acknowledged")
    assert _order_column(buyer, 6)[1] == format_date(new_date, "short", locale="en_GB")

    # ------------------------------------------------------------ 10. each supplier ships in two parts
    a_shipments = _ship_in_parts(alpha, a_url, A_SHIPMENTS)
    assert _order_column(alpha, 8) == ["100", "250", "12.5"]
    with alpha.expect_download() as dl:
        alpha.locator("[data-testid^=shipment-]").first.get_by_role("link", name="Delivery note").click()
    assert open(dl.value.path(), "rb").read(4) == b"%PDF"
    b_shipments = _ship_in_parts(beta, b_url, B_SHIPMENTS)
    assert _order_column(beta, 8) == [plain(q) for _, q, _, _ in IMPORTED]

    # ------------------------------------------------------------ 11. procurement receives all four shipments
    assert panel_count(buyer, live_server, "Shipments to receive") == 4
    _receive_all(buyer, a_url, a_shipments)
    assert _order_column(buyer, 9) == ["100", "250", "12.5"]
    _receive_all(buyer, b_url, b_shipments)
    assert panel_count(buyer, live_server, "Shipments to receive") == 0

    # ------------------------------------------------------------ 12. Alpha's accounts invoices its first shipment
    first = A_SHIPMENTS[0]
    # the first invoice of the order also bills the quoted shipping, once
    a_net = sum((q * A_PRICES[p - 1]).quantize(CENT, ROUND_HALF_UP) for p, q in first.items()) + A_SHIPPING
    a_tax = (a_net * VAT / 100).quantize(CENT, ROUND_HALF_UP)
    a_gross = a_net + a_tax
    assert panel_count(acc_a, live_server, "Shipments to invoice") == 2
    acc_a.get_by_test_id("panel-shipments-to-invoice").get_by_role(
        "link", name=re.compile("^" + re.escape(a_shipments[0]))).click()
    acc_a.wait_for_url(re.compile(r".*/invoices/new\?shipment_id=\d+$"))
    assert_labelled(acc_a)
    form = acc_a.get_by_test_id("new-invoice")
    for pos, qty in first.items():
        assert Decimal(form.get_by_label(f"Quantity of line {pos}").input_value()) == qty
        assert Decimal(form.get_by_label(f"VAT rate of line {pos}").input_value()) == VAT
    expect(form.get_by_test_id("shipping-row")).to_contain_text(eur(A_SHIPPING))
    assert form.get_by_label("Quantity of the shipping charge").input_value() == "1"
    form.get_by_role("button", name="Save draft").click()
    flash(acc_a, "Draft invoice saved")
    assert acc_a.get_by_test_id("total-gross").inner_text() == eur(a_gross)
    a_number, a_invoice_url = _issue_and_download(acc_a, tmp_path, "alpha-by-supplier")
    assert acc_a.get_by_test_id("total-net").inner_text() == eur(a_net)
    assert acc_a.get_by_test_id("total-tax").inner_text() == eur(a_tax)

    # ------------------------------------------------------------ 13. Beta invoices the whole order: reverse charge
    acc_b.goto(b_url)
    acc_b.get_by_role("link", name="Invoice the shipped quantities").click()
    form = acc_b.get_by_test_id("new-invoice")
    expect(form.locator("tbody tr:not([data-testid=shipping-row])")).to_have_count(50)
    expect(form.get_by_test_id("shipping-row")).to_contain_text(eur(B_SHIPPING))
    vat_cell = form.get_by_label("VAT rate of line 7")
    assert Decimal(vat_cell.input_value()) == 0 and vat_cell.get_attribute("readonly") is not None
    form.get_by_role("button", name="Save draft").click()
    flash(acc_b, "Draft invoice saved")
    expect(acc_b.locator(".page-header").get_by_text("Reverse charge")).to_be_visible()
    assert acc_b.get_by_test_id("total-net").inner_text() == eur(b_order)
    assert acc_b.get_by_test_id("total-tax").inner_text() == eur(Decimal("0"))
    assert acc_b.get_by_test_id("total-gross").inner_text() == eur(b_order)
    acc_b.get_by_role("button", name="Issue invoice").click()  # refused: no IBAN on file
    flash(acc_b, "Your company has no valid IBAN")
    expect(acc_b.locator(".page-header .state-badge[data-state=draft]")).to_have_count(1)
    draft_url = acc_b.url

    admin_b = signed_in(world.admin_b)
    admin_b.goto(live_server + "/company/")
    assert_labelled(admin_b)
    admin_b.get_by_label("IBAN").fill("FR14 2004 1010 0505 0001 3M02 606")
    admin_b.get_by_role("button", name="Save").click()
    flash(admin_b, "Company profile saved.")

    acc_b.goto(draft_url)
    b_number, b_invoice_url = _issue_and_download(acc_b, tmp_path, "beta-by-supplier")
    assert a_number == b_number == f"INV-{date.today().year}-000001"  # each supplier's own gapless series

    # ------------------------------------------------------------ 14. buyer's accounts: match, approve, download
    bacc = signed_in(world.buyer_accounts)
    assert panel_count(bacc, live_server, "Invoices to check and approve") == 2
    bacc.get_by_role("link", name="Invoices", exact=True).first.click()
    rows = {}
    for supplier, number, gross in ((ALPHA, a_number, a_gross), (BETA, b_number, b_order)):
        rows[supplier] = bacc.locator("tbody tr", has=bacc.get_by_role("link", name=number)).filter(has_text=supplier)
        expect(rows[supplier]).to_have_count(1)
        expect(rows[supplier].locator(".state-badge[data-state=issued]")).to_have_count(1)
        assert eur(gross) in rows[supplier].inner_text()

    rows[ALPHA].get_by_role("link", name=a_number).click()
    expect(bacc.get_by_test_id("match").locator(".badge", has_text="OK")).to_have_count(3)  # 2 lines + shipping
    assert_labelled(bacc)
    bacc.get_by_test_id("approve-form").get_by_role("button", name="Approve for payment").click()
    flash(bacc, "approved")
    with bacc.expect_download() as dl:
        bacc.get_by_role("link", name="Download PDF").click()
    dl.value.save_as(tmp_path / "alpha.pdf")
    text = pdf_text(tmp_path / "alpha.pdf")
    assert a_number in text and eur(a_gross) in text and "DE89" in text.replace(" ", "")

    bacc.get_by_role("link", name="Invoices", exact=True).first.click()
    rows[BETA].get_by_role("link", name=b_number).click()
    expect(bacc.get_by_test_id("match").locator(".badge", has_text="OK")).to_have_count(51)
    with bacc.expect_download() as dl:
        bacc.get_by_role("link", name="Download PDF").click()
    dl.value.save_as(tmp_path / "beta.pdf")
    text = pdf_text(tmp_path / "beta.pdf")
    assert b_number in text and eur(b_order) in text and "Reverse charge" in text

    # ------------------------------------------------------------ 15. payments: Alpha in full, Beta in part
    _record_payment(acc_a, a_invoice_url, a_gross, "SEPA 2026-0001")
    expect(acc_a.locator(".page-header .state-badge[data-state=paid]")).to_have_count(1)
    assert acc_a.get_by_test_id("open-amount").inner_text() == eur(Decimal("0"))
    expect(acc_a.get_by_test_id("payment-form")).to_have_count(0)
    _record_payment(acc_b, b_invoice_url, B_PART_PAYMENT, "VIR 4711")
    expect(acc_b.locator(".page-header .state-badge[data-state=partially_paid]")).to_have_count(1)
    assert acc_b.get_by_test_id("open-amount").inner_text() == eur(b_order - B_PART_PAYMENT)

    # ------------------------------------------------------------ 16. every dashboard
    assert panel_count(acc_a, live_server, "Shipments to invoice") == 1  # Alpha's second shipment
    assert panel_count(acc_a, live_server, "Draft invoices") == 0
    assert panel_count(acc_a, live_server, "Overdue receivables") == 0
    assert panel_count(acc_b, live_server, "Shipments to invoice") == 0  # the order invoice covers both
    assert panel_count(acc_b, live_server, "Orders on credit hold") == 0
    for sales in (alpha, beta):
        assert panel_count(sales, live_server, "Placed orders to acknowledge") == 0
        assert panel_count(sales, live_server, "Acknowledged orders to ship") == 0
    assert panel_count(bacc, live_server, "Invoices to check and approve") == 1  # Beta's, not yet approved
    assert panel_count(bacc, live_server, "Overdue payables") == 0
    for title in ("Drafts to submit", "Orders awaiting approval", "Change proposals to decide",
                  "Shipments to receive"):
        assert panel_count(buyer, live_server, title) == 0, title
    assert panel_count(approver, live_server, "Approvals waiting for me") == 0
