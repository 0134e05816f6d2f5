"""The sourcing journey in the browser: a buyer builds an RFQ (typed lines + CSV import), invites two
suppliers and publishes it sealed; both suppliers quote (one revises); the buyer sees who submitted but no
prices, closes early, compares, splits the award; the suppliers are told; the buyer creates purchase orders.

Everything is done through the pages a person uses and asserted on what they see. Expected totals are computed
here with Decimal from the prices typed, independently of the portal's pricing code.
"""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e

ALPHA, BETA = "Supplier Alpha GmbH", "Supplier Beta SAS"
CENT = Decimal("0.01")

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


def _eur(amount: Decimal) -> str:
    """How en_GB shows euros: €1,234.50."""
    return f"€{amount.quantize(CENT, ROUND_HALF_UP):,.2f}"


def _plain(d: Decimal) -> str:
    return format(d.normalize(), "f")


def _line_totals(prices) -> list[Decimal]:
    return [(qty * p).quantize(CENT, ROUND_HALF_UP) for (_, qty, _, _), p in zip(LINES, prices)]


def _fill_quote(page, prices, shipping: Decimal, valid_until: date):
    page.get_by_label("Valid until").fill(valid_until.isoformat())
    page.get_by_label("Shipping cost").fill(_plain(shipping))
    page.get_by_label("Delivery terms").fill("DAP Stuttgart, 2 weeks after order")
    for n, price in enumerate(prices, start=1):
        page.get_by_label(f"Line {n} unit price", exact=True).fill(_plain(price))


UNLABELLED_JS = """() => Array.from(document.querySelectorAll('input, select, textarea'))
  .filter(el => !['hidden', 'submit', 'button'].includes(el.type))
  .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                && !el.getAttribute('aria-labelledby') && !el.title)
  .map(el => el.outerHTML.slice(0, 120))"""


def _assert_labelled(page):
    """Every form control on the page has an accessible name (a <label>, aria-label or aria-labelledby)."""
    missing = page.evaluate(UNLABELLED_JS)
    assert not missing, f"form controls without a label on {page.url}: {missing}"


def test_buyer_sources_from_two_suppliers_and_splits_the_award(world, signed_in, live_server, tmp_path):
    # ---------------------------------------------------------------- 1. the buyer builds and publishes
    buyer = signed_in(world.procurement)
    buyer.on("dialog", lambda d: d.accept())
    buyer.get_by_role("link", name="RFQs", exact=True).click()
    buyer.get_by_role("link", name="New RFQ").first.click()  # header button (the empty list offers one too)
    buyer.wait_for_url("**/rfqs/new")
    _assert_labelled(buyer)
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

    _assert_labelled(buyer)
    buyer.get_by_test_id("rfq-actions").get_by_role("link", name="Edit lines").click()
    buyer.wait_for_url(re.compile(r".*/lines$"))
    _assert_labelled(buyer)
    add = buyer.locator("#add-line")
    for description, qty, unit, part in TYPED:
        add.get_by_label("Description", exact=True).fill(description)
        add.get_by_label("Your part number").fill(part)
        add.get_by_label("Quantity").fill(_plain(qty))
        add.get_by_label("Unit", exact=True).fill(unit)
        add.get_by_role("button", name="Add line").click()
        buyer.locator(".alert", has_text="added").wait_for()
    expect(buyer.get_by_test_id("line-editor").locator("tbody tr")).to_have_count(3)

    csv_file = tmp_path / "lines.csv"
    csv_file.write_text("description,quantity,unit,part_number\n"
                        + "".join(f"{d},{_plain(q)},{u},{p}\n" for d, q, u, p in IMPORTED), encoding="utf-8")
    buyer.get_by_role("link", name="Import from CSV").click()
    buyer.wait_for_url(re.compile(r".*/lines/import$"))
    _assert_labelled(buyer)
    buyer.get_by_label("Upload a CSV file").set_input_files(str(csv_file))
    buyer.get_by_role("button", name="Preview").click()
    preview = buyer.get_by_test_id("import-preview")
    assert "All 50 rows are fine" in preview.inner_text()
    preview.get_by_role("button", name="Append 50 lines").click()
    buyer.locator(".alert", has_text="50 lines appended").wait_for()
    expect(buyer.get_by_test_id("line-editor").locator("tbody tr")).to_have_count(53)

    buyer.goto(rfq_url)
    buyer.get_by_role("link", name="Invite suppliers").click()
    buyer.get_by_label("Name").fill("Supplier")
    buyer.get_by_role("button", name="Search").click()
    buyer.wait_for_url(re.compile(r".*q=Supplier.*"))
    _assert_labelled(buyer)
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
    _assert_labelled(alpha)
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
    price_cell.fill(_plain(B_REVISED_PRICE))
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
    sealed_secrets = [_plain(A_PRICES[0]), _eur(a_totals[0]), _eur(a_total), _eur(b_total),
                      _plain(B_REVISED_PRICE)]

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
    assert _eur(a_total) in buyer.get_by_test_id("quote-panel").inner_text()  # prices open now

    buyer.get_by_role("link", name="Compare quotes").click()
    best = [min(a, b) for a, b in zip(a_totals, b_totals)]
    assert best[:3] == a_totals[:3] and best[3:] == b_totals[3:]  # A wins 1-3, B wins 4-53
    expected_complete = min(a_total, b_total)
    expected_split = sum(best) + A_SHIPPING + B_SHIPPING
    assert buyer.get_by_test_id("cheapest-complete").inner_text() == _eur(expected_complete)
    assert buyer.get_by_test_id("cheapest-split").inner_text() == _eur(expected_split)
    assert expected_split < expected_complete  # the prices are chosen so the split saves money
    assert buyer.get_by_test_id("saving").inner_text() == _eur(expected_complete - expected_split)

    _assert_labelled(buyer)
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
    assert rows[ALPHA][-1] == _eur(sum(a_totals[:3]) + A_SHIPPING)
    assert rows[BETA][-1] == _eur(sum(b_totals[3:]) + B_SHIPPING)
    assert _eur(expected_split) in award.locator("tfoot").inner_text()
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
