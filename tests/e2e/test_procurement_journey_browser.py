"""From requisition to invoice, in one continuous browser journey (issue 18 "Done when").

An engineer requests three items on cost centre CC-100; the cost centre's owner approves and sees the budget
impact; procurement turns the requisition into an RFQ, invites Supplier Alpha from the directory and a new
supplier by e-mail (the invitee follows the mailed link read from the outbox, registers its company and quotes);
Alpha quotes too. Procurement closes the RFQ, sets scoring weights, scores, reads the ranking, awards Alpha and
makes a framework agreement; two call-off orders consume it (consumed and remaining shown); the first call-off
carries CC-100, is sent, released from credit hold, acknowledged, shipped, invoiced, and the invoice approved;
the budget page then shows committed and actual as computed here with Decimal.

With JOURNEY_SCREENSHOTS=<dir> the key pages are saved as PNGs (docs/screenshots/jr-*.png come from here).
"""
from __future__ import annotations

import os
import re
from decimal import ROUND_HALF_UP, Decimal

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from portal.db import db
from portal.notifications.models import OutboxMail
from tests.e2e.pages import (
    CENT,
    eur,
    flash,
    header_state,
    plain,
    reload_until,
    save_shot,
    warm_up,
)
from tests.requisitions.conftest import rw  # noqa: F401  (fixture)

pytestmark = pytest.mark.e2e

SHOTS = os.environ.get("JOURNEY_SCREENSHOTS")
ALPHA = "Supplier Alpha GmbH"
NEW_EMAIL = "nora.lang@neuland-metall.test"
BUDGET = Decimal("1000.00")  # the rw fixture's CC-100 budget for this year
# (description, quantity, the engineer's estimate, Alpha's price, the new supplier's price)
ITEMS = [("Deep groove ball bearing 6205", Decimal("20"), Decimal("6.80"), Decimal("6.50"), Decimal("6.00")),
         ("V-belt SPZ 1250", Decimal("4"), Decimal("12.50"), Decimal("12.00"), Decimal("13.50")),
         ("Hydraulic hose DN12 1.5 m", Decimal("2"), Decimal("38.00"), Decimal("36.00"), Decimal("40.00"))]
CALL_OFFS = [{0: Decimal("10"), 1: Decimal("2")}, {0: Decimal("5"), 2: Decimal("1")}]  # item index: quantity


def money(d: Decimal) -> Decimal:
    return d.quantize(CENT, ROUND_HALF_UP)


def shot(page, name):
    save_shot(page, SHOTS, name)


def _link_from_outbox() -> str:
    db.session.expire_all()
    mail = db.session.scalar(sa.select(OutboxMail).where(OutboxMail.to_address == NEW_EMAIL))
    assert mail is not None, "no invitation in the outbox"
    return re.search(r"(/supplier-invitations/\S+)", mail.body).group(1)


def _quote(page, prices):
    from datetime import date, timedelta

    page.get_by_label("Valid until").fill((date.today() + timedelta(days=60)).isoformat())
    page.get_by_label("Shipping cost").fill("0")
    page.get_by_label("Delivery terms").fill("DAP Kassel")
    for n, price in enumerate(prices, start=1):
        page.get_by_label(f"Line {n} unit price", exact=True).fill(plain(price))
    page.get_by_test_id("submit-quote").click()
    flash(page, "Quote submitted (version 1)")


def test_from_requisition_to_invoice(live_server, signed_in, browser, rw):  # noqa: F811
    warm_up(live_server)
    estimate = sum(money(q * e) for _, q, e, _, _ in ITEMS)  # 136.00 + 50.00 + 76.00 = 262.00

    # ------------------------------------------------------------ 1. the engineer requests three items
    eng = signed_in(rw.engineer)
    eng.set_default_timeout(60000)
    eng.on("dialog", lambda d: d.accept())
    eng.goto(live_server + "/requisitions/new", timeout=90000)
    eng.get_by_label("Title").fill("Spares for press line 3")
    eng.get_by_label("Justification").fill("The press stands still.")
    for n, (desc, qty, est, _, _) in enumerate(ITEMS, 1):
        eng.get_by_label(f"Line {n} description").fill(desc)
        eng.get_by_label(f"Line {n} quantity").fill(plain(qty))
        eng.get_by_label(f"Line {n} estimated unit price").fill(plain(est))
        eng.get_by_label(f"Line {n} cost centre").select_option(label="CC-100 Maintenance")
    eng.get_by_role("button", name="Submit for approval").click()
    flash(eng, "submitted for approval")
    number = eng.locator("h1").inner_text().split(" ")[0]
    shot(eng, "jr-01-requisition-submitted")

    # ------------------------------------------------------------ 2. the owner approves, seeing the impact
    owner = signed_in(rw.owner)
    owner.set_default_timeout(60000)
    owner.on("dialog", lambda d: d.accept())
    owner.goto(live_server + "/requisitions/")
    owner.get_by_test_id("to-approve").get_by_role("link", name=number).click()
    impact = owner.get_by_test_id("budget-impact")
    expect(impact).to_contain_text("CC-100")
    expect(impact.get_by_test_id("available-after")).to_contain_text(f"{BUDGET - estimate:,.2f}")
    shot(owner, "jr-02-owner-budget-impact")
    owner.get_by_role("button", name="Approve").click()
    flash(owner, "Approved")

    # ------------------------------------------------------------ 3. procurement makes the RFQ, invites
    buyer = signed_in(rw.procurement)
    buyer.set_default_timeout(60000)
    buyer.on("dialog", lambda d: d.accept())
    buyer.goto(live_server + "/requisitions/queue")
    buyer.get_by_label(f"Choose {number}").check()
    buyer.get_by_role("button", name="Turn into an RFQ").click()
    flash(buyer, "made from the requisitions")
    rfq_url = re.sub(r"(/rfqs/\d+).*", r"\1", buyer.url)
    assert re.search(r"/rfqs/\d+$", rfq_url), buyer.url
    buyer.goto(rfq_url + "/suppliers?q=Supplier")
    buyer.get_by_label(f"Invite {ALPHA}").check()
    buyer.get_by_role("button", name="Invite selected").click()
    expect(buyer.get_by_test_id("invited-suppliers")).to_contain_text(ALPHA)
    buyer.goto(rfq_url)
    buyer.get_by_role("button", name="Publish").click()
    flash(buyer, "is published")
    buyer.goto(rfq_url + "/suppliers")
    form = buyer.get_by_test_id("invite-by-email")
    form.get_by_label("E-mail").fill(NEW_EMAIL)
    form.get_by_label("Company").fill("Neuland Metallbau GmbH")
    form.get_by_label("Contact name").fill("Nora Lang")
    form.get_by_role("button", name="Send invitation").click()
    flash(buyer, f"Invitation sent to {NEW_EMAIL}")
    shot(buyer, "jr-03-rfq-suppliers-invite-by-email")

    # ------------------------------------------------------------ 4. the new supplier registers and quotes
    ctx = browser.new_context(viewport={"width": 1366, "height": 900})
    try:
        new = ctx.new_page()
        new.set_default_timeout(60000)
        new.on("dialog", lambda d: d.accept())
        new.goto(live_server + _link_from_outbox())
        expect(new.get_by_role("heading", name="Register your company")).to_be_visible()
        for sel, value in (("#legal_name", "Neuland Metallbau GmbH"), ("#display_name", "Neuland Metall"),
                           ("#vat_number", "DE136695976"), ("#address_line1", "Werkstraße 5"),
                           ("#postcode", "34117"), ("#city", "Kassel"), ("#categories", "hydraulics"),
                           ("#iban", "DE89370400440532013000"), ("#bic", "COBADEFFXXX"),
                           ("#contact0_name", "Nora Lang"), ("#contact0_function", "Sales"),
                           ("#contact0_email", NEW_EMAIL), ("#name", "Nora Lang"),
                           ("#password", "Blech-und-Stahl-2026"), ("#confirm", "Blech-und-Stahl-2026")):
            new.fill(sel, value)
        new.select_option("#country", "DE")
        new.get_by_role("button", name="Register and continue").click()
        new.wait_for_url(re.compile(r".*/rfqs/\d+$"))
        flash(new, "Neuland Metall is registered")
        new.get_by_test_id("start-quote").click()
        _quote(new, [i[4] for i in ITEMS])
        shot(new, "jr-04-new-supplier-quoted")
    finally:
        ctx.close()

    alpha = signed_in(rw.sales_a)
    alpha.set_default_timeout(60000)
    alpha.on("dialog", lambda d: d.accept())
    alpha.goto(rfq_url)
    alpha.get_by_test_id("start-quote").click()
    _quote(alpha, [i[3] for i in ITEMS])

    # ------------------------------------------------------------ 5. close, weights, scores, ranking
    buyer.goto(rfq_url)
    buyer.get_by_role("button", name="Close early").click()
    buyer.get_by_role("link", name="Compare quotes").click()
    form = buyer.get_by_test_id("criteria-form")
    form.get_by_test_id("weight-price").fill("70")
    form.get_by_label("Free criterion name").first.fill("Quality")
    form.get_by_test_id("weight-custom-4").fill("30")
    form.get_by_role("button", name="Save criteria").click()
    flash(buyer, "Scoring criteria saved.")
    scores = buyer.get_by_test_id("scores-form")
    scores.get_by_label(f"Quality: {ALPHA}").select_option("5")
    scores.get_by_label("Quality: Neuland Metall").select_option("3")
    scores.get_by_role("button", name="Save my scores").click()
    flash(buyer, "Your scores are saved")
    a_total = sum(money(q * a) for _, q, _, a, _ in ITEMS)  # 250.00
    n_total = sum(money(q * n) for _, q, _, _, n in ITEMS)  # 254.00
    a_score = money(Decimal(70) + Decimal(30))  # the lowest price: full price weight; quality 5 of 5
    n_score = money(Decimal(70) * a_total / n_total + Decimal(30) * 3 / 5)
    ranking = buyer.get_by_test_id("ranking")
    expect(ranking.locator("tbody tr").first).to_contain_text(ALPHA)
    expect(ranking).to_contain_text(f"{a_score:.2f}")
    expect(ranking).to_contain_text(f"{n_score:.2f}")
    shot(buyer, "jr-05-comparison-ranking")

    # ------------------------------------------------------------ 6. award, framework agreement, call-offs
    buyer.get_by_role("button", name=f"Award all to {ALPHA}").click()
    flash(buyer, "is awarded")
    buyer.get_by_test_id("framework-form").get_by_role("button", name="Make framework agreement").click()
    flash(buyer, "made from the award")
    fa_url = buyer.url
    order_urls = []
    for call_off in CALL_OFFS:
        buyer.goto(fa_url)
        for idx, qty in call_off.items():
            buyer.get_by_label(f"Quantity of {ITEMS[idx][0]}").fill(plain(qty))
        buyer.get_by_role("button", name="Place call-off").click()
        flash(buyer, "created as a draft purchase order")
        order_urls.append(buyer.url)
    values = [sum(money(q * ITEMS[i][3]) for i, q in c.items()) for c in CALL_OFFS]  # 89.00, 68.50
    buyer.goto(fa_url)
    expect(buyer.get_by_test_id("consumed-value")).to_have_text(eur(sum(values)))
    expect(buyer.get_by_test_id("items")).to_contain_text(plain(ITEMS[0][1] - 15))  # bearings: 5 of 20 left
    shot(buyer, "jr-06-framework-consumed")

    # ------------------------------------------------------------ 7. the first call-off: CC-100, sent
    order_url = order_urls[0]
    buyer.goto(order_url)
    header_state(buyer, "draft")
    costs = buyer.get_by_test_id("order-costs")  # the requisition's cost centre came along with the award line
    for n in (1, 2):
        expect(costs.get_by_label(f"Line {n} cost centre")).to_have_value(str(rw.cc.id))
    buyer.get_by_role("button", name="Submit order").click()
    flash(buyer, "credit check runs now")
    reload_until(buyer, ".page-header .state-badge[data-state=credit_hold]", timeout=60)
    acc_a = signed_in(rw.accounts_a)
    acc_a.set_default_timeout(60000)
    acc_a.on("dialog", lambda d: d.accept())
    acc_a.goto(live_server + "/dashboard")
    acc_a.get_by_test_id("panel-orders-on-credit-hold").get_by_role("link", name="Open the hold queue").click()
    hold = acc_a.locator("[data-testid^=hold-]")
    hold.get_by_label("Comment").fill("New framework; released by hand.")
    hold.get_by_role("button", name="Release and place").click()
    flash(acc_a, "released from credit hold and placed")

    # ------------------------------------------------------------ 8. acknowledged, shipped, received, invoiced
    alpha.goto(order_url)
    alpha.get_by_role("link", name="Acknowledge order").click()
    alpha.get_by_role("button", name="Send acknowledgement").click()
    flash(alpha, "The order is acknowledged.")
    alpha.get_by_role("link", name="Record a shipment").click()
    alpha.get_by_role("link", name="Fill in every open quantity").click()
    alpha.get_by_label("Carrier").fill("DHL Freight")
    alpha.get_by_label("Tracking reference").fill("TRK-1")
    alpha.get_by_role("button", name="Record shipment").click()
    flash(alpha, "recorded; the delivery note is being produced")
    header_state(alpha, "shipped")
    buyer.goto(order_url)
    buyer.get_by_test_id("actions").get_by_role("link", name=re.compile("^Record goods receipt for")).click()
    buyer.get_by_role("button", name="Record goods receipt").click()
    flash(buyer, "recorded")
    header_state(buyer, "received")

    acc_a.goto(order_url)
    acc_a.get_by_role("link", name="Invoice the shipped quantities").click()
    acc_a.get_by_test_id("new-invoice").get_by_role("button", name="Save draft").click()
    flash(acc_a, "Draft invoice saved")
    acc_a.get_by_role("button", name="Issue invoice").click()  # refused: Alpha has no IBAN on file yet
    flash(acc_a, "Your company has no valid IBAN")
    draft_url = acc_a.url
    admin_a = signed_in(rw.admin_a)
    admin_a.set_default_timeout(60000)
    admin_a.on("dialog", lambda d: d.accept())
    admin_a.goto(live_server + "/company/")
    admin_a.get_by_label("IBAN").fill("DE89 3704 0044 0532 0130 00")
    admin_a.get_by_role("button", name="Save").click()
    flash(admin_a, "Company profile saved.")
    acc_a.goto(draft_url)
    acc_a.get_by_role("button", name="Issue invoice").click()
    flash(acc_a, "Issued as INV-")
    assert acc_a.get_by_test_id("total-net").inner_text() == eur(values[0])
    invoice_number = acc_a.locator("h1").inner_text()

    bacc = signed_in(rw.buyer_accounts)
    bacc.set_default_timeout(60000)
    bacc.on("dialog", lambda d: d.accept())
    bacc.get_by_role("link", name="Invoices", exact=True).first.click()
    bacc.get_by_role("link", name=re.compile(r"INV-\d{4}-\d+")).first.click()
    bacc.get_by_test_id("approve-form").get_by_role("button", name="Approve for payment").click()
    flash(bacc, "approved")
    shot(bacc, "jr-07-invoice-approved")
    assert invoice_number

    # ------------------------------------------------------------ 9. the budget: committed and actual
    # committed: the requisition lines on no sent order (the hoses: their call-off is still a draft, so the
    # engineer's estimate counts) + the open amount of CC-100's lines on sent orders (the first call-off is
    # fully invoiced: nothing open); actual: the approved invoice's net on CC-100's lines.
    committed = money(ITEMS[2][1] * ITEMS[2][2])  # 2 × 38.00
    actual = values[0]
    buyer.goto(live_server + "/budgets/")
    row = buyer.get_by_test_id("budgets")
    expect(row.get_by_test_id("committed")).to_contain_text(f"{committed:,.2f}")
    expect(row.get_by_test_id("actual")).to_contain_text(f"{actual:,.2f}")
    shot(buyer, "jr-08-budget-committed-actual")
