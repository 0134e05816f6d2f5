"""From requisition to invoice, in one continuous browser journey on the demo data (issue 18 "Done when").

The server runs on a copy of the seeded demo (`flask demo seed`). At Hartmann the engineer Felix Wagner requests
three items on cost centre CC-4100; its owner Petra Braun approves and sees the budget impact; Jonas Weber
(procurement) turns the requisition into an RFQ, invites Nordstahl from the directory and a new supplier by e-mail
(the invitee follows the mailed link read from the outbox, registers its company and quotes); Nordstahl's Mia
Schulz quotes too. Jonas closes the RFQ, sets scoring weights, scores, reads the ranking, awards Nordstahl and
makes a framework agreement; two call-off orders consume it (consumed and remaining shown); the first call-off
carries CC-4100, is sent, put on credit hold (Hartmann has an overdue Nordstahl invoice in the demo) and
released by Tobias Wolf (Nordstahl's accounts), acknowledged, shipped, received, invoiced by Tobias, and Hartmann's
matching approves the invoice for payment (Lukas Fischer reads the match). The budget page then shows committed
and actual: the figures it showed before the journey plus the changes computed here with Decimal. Last, Jonas
rates Nordstahl on its supplier page (a rating of 6 refused with its sentence, 4.75 saved).

With JOURNEY_SCREENSHOTS=<dir> the key pages are saved as PNGs (docs/screenshots/jr-*.png come from here).
"""
from __future__ import annotations

import os
import re
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from portal.accounts.models import Company, User
from portal.budgets.models import CostCentre
from portal.credit import ledger
from portal.db import db
from portal.demo import DEMO_PASSWORD
from portal.notifications.models import OutboxMail
from tests.e2e.pages import CENT, eur, flash, header_state, plain, reload_until, save_shot, warm_up

pytestmark = [pytest.mark.e2e, pytest.mark.one_run("sqlite")]  # browser tests split between the runs: README "Tests"

SHOTS = os.environ.get("JOURNEY_SCREENSHOTS")
SUPPLIER = "Nordstahl Fasteners"  # the demo's Nordstahl Befestigungstechnik GmbH, approved by Hartmann
NEW_EMAIL = "nora.lang@neuland-metall.test"
CENTRE = "CC-4100"  # Maintenance, owned by Petra Braun; a budget for this year
# (description, quantity, the engineer's estimate, Nordstahl's price, the new supplier's price)
ITEMS = [("Deep groove ball bearing 6205", Decimal("20"), Decimal("6.80"), Decimal("6.50"), Decimal("6.00")),
         ("V-belt SPZ 1250", Decimal("4"), Decimal("12.50"), Decimal("12.00"), Decimal("13.50")),
         ("Hydraulic hose DN12 1.5 m", Decimal("2"), Decimal("38.00"), Decimal("36.00"), Decimal("40.00"))]
CALL_OFFS = [{0: Decimal("10"), 1: Decimal("2")}, {0: Decimal("5"), 2: Decimal("1")}]  # item index: quantity


@pytest.fixture(scope="module")
def live_server(demo_live_server):
    """This module walks the demo data: the server (and the test's database session) on a copy of the seed."""
    return demo_live_server


def money(d: Decimal) -> Decimal:
    return d.quantize(CENT, ROUND_HALF_UP)


def amount(text: str) -> Decimal:
    """A figure as an en_GB page shows it (€1,234.50, -€3.00, −€3.00) as a Decimal."""
    m = re.search(r"([-\u2212]?)\s*€?\s*([\d,]+\.\d{2})", text)
    assert m, f"no amount in {text!r}"
    return Decimal(m.group(2).replace(",", "")) * (-1 if m.group(1) else 1)


def shot(page, name):
    save_shot(page, SHOTS, name)


def person(email: str) -> User:
    user = db.session.scalar(sa.select(User).where(User.email == email))
    assert user is not None, f"{email} is not in the demo data"
    return user


def _link_from_outbox() -> str:
    db.session.expire_all()
    mail = db.session.scalar(sa.select(OutboxMail).where(OutboxMail.to_address == NEW_EMAIL))
    assert mail is not None, "no invitation in the outbox"
    return re.search(r"(/supplier-invitations/\S+)", mail.body).group(1)


def _quote(page, prices):
    page.get_by_label("Valid until").fill((date.today() + timedelta(days=60)).isoformat())
    page.get_by_label("Shipping cost").fill("0")
    page.get_by_label("Delivery terms").fill("DAP Stuttgart")
    for n, price in enumerate(prices, start=1):
        page.get_by_label(f"Line {n} unit price", exact=True).fill(plain(price))
    page.get_by_test_id("submit-quote").click()
    flash(page, "Quote submitted (version 1)")


def _budget_row(page, live_server, year):
    page.goto(live_server + "/budgets/")
    return page.locator(f'[data-testid=budgets] tr[data-budget="{CENTRE}-{year}-01-01"]')


def _figures(row) -> dict[str, Decimal]:
    return {k: amount(row.get_by_test_id(k).inner_text()) for k in ("committed", "actual", "available")}


def test_from_requisition_to_invoice(live_server, signed_in, browser):
    warm_up(live_server)
    felix, petra, jonas = (person(f"{n}@hartmann.example") for n in ("felix.wagner", "petra.braun", "jonas.weber"))
    lukas = person("lukas.fischer@hartmann.example")
    mia, tobias = person("mia.schulz@nordstahl.example"), person("tobias.wolf@nordstahl.example")
    hartmann, nordstahl = db.session.get(Company, felix.company_id), db.session.get(Company, mia.company_id)
    centre = db.session.scalar(sa.select(CostCentre).where(CostCentre.company_id == hartmann.id,
                                                            CostCentre.code == CENTRE))
    assert centre.owner_id == petra.id
    year = date.today().year

    def open_as(user):
        page = signed_in(user, password=DEMO_PASSWORD)
        page.set_default_timeout(60000)
        page.on("dialog", lambda d: d.accept())
        return page

    # ------------------------------------------------------------ 0. what the demo's budget shows before
    buyer = open_as(jonas)
    before = _figures(_budget_row(buyer, live_server, year))
    estimate = sum(money(q * e) for _, q, e, _, _ in ITEMS)  # 136.00 + 50.00 + 76.00 = 262.00

    # ------------------------------------------------------------ 1. the engineer requests three items
    eng = open_as(felix)
    eng.goto(live_server + "/requisitions/new", timeout=90000)
    eng.get_by_label("Title").fill("Spares for press line 3")
    eng.get_by_label("Justification").fill("The press stands still.")
    for n, (desc, qty, est, _, _) in enumerate(ITEMS, 1):
        eng.get_by_label(f"Line {n} description").fill(desc)
        eng.get_by_label(f"Line {n} quantity").fill(plain(qty))
        eng.get_by_label(f"Line {n} estimated unit price").fill(plain(est))
        eng.get_by_label(f"Line {n} cost centre").select_option(label=f"{CENTRE} {centre.name}")
    eng.get_by_role("button", name="Submit for approval").click()
    flash(eng, "submitted for approval")
    number = eng.locator("h1").inner_text().split(" ")[0]
    shot(eng, "jr-01-requisition-submitted")

    # ------------------------------------------------------------ 2. the owner approves, seeing the impact
    owner = open_as(petra)
    owner.goto(live_server + "/requisitions/")
    owner.get_by_test_id("to-approve").get_by_role("link", name=number).click()
    impact = owner.get_by_test_id("budget-impact")
    expect(impact).to_contain_text(CENTRE)
    assert amount(impact.get_by_test_id("available-after").inner_text()) == before["available"] - estimate
    shot(owner, "jr-02-owner-budget-impact")
    owner.get_by_role("button", name="Approve").click()
    flash(owner, "Approved")
    # an approved requisition commits its estimate
    assert _figures(_budget_row(buyer, live_server, year))["committed"] == before["committed"] + estimate

    # ------------------------------------------------------------ 3. procurement makes the RFQ, invites
    buyer.goto(live_server + "/requisitions/queue")
    buyer.get_by_label(f"Choose {number}").check()
    buyer.get_by_role("button", name="Turn into an RFQ").click()
    flash(buyer, "made from the requisitions")
    rfq_url = re.sub(r"(/rfqs/\d+).*", r"\1", buyer.url)
    assert re.search(r"/rfqs/\d+$", rfq_url), buyer.url
    buyer.goto(rfq_url + "/suppliers?q=Nordstahl")
    buyer.get_by_label(f"Invite {SUPPLIER}").check()
    buyer.get_by_role("button", name="Invite selected").click()
    expect(buyer.get_by_test_id("invited-suppliers")).to_contain_text(SUPPLIER)
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

    sales = open_as(mia)
    sales.goto(rfq_url)
    sales.get_by_test_id("start-quote").click()
    _quote(sales, [i[3] for i in ITEMS])

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
    scores.get_by_label(f"Quality: {SUPPLIER}").select_option("5")
    scores.get_by_label("Quality: Neuland Metall").select_option("3")
    scores.get_by_role("button", name="Save my scores").click()
    flash(buyer, "Your scores are saved")
    s_total = sum(money(q * a) for _, q, _, a, _ in ITEMS)  # 250.00
    n_total = sum(money(q * n) for _, q, _, _, n in ITEMS)  # 254.00
    s_score = money(Decimal(70) + Decimal(30))  # the lowest price: full price weight; quality 5 of 5
    n_score = money(Decimal(70) * s_total / n_total + Decimal(30) * 3 / 5)
    ranking = buyer.get_by_test_id("ranking")
    expect(ranking.locator("tbody tr").first).to_contain_text(SUPPLIER)
    expect(ranking).to_contain_text(f"{s_score:.2f}")
    expect(ranking).to_contain_text(f"{n_score:.2f}")
    shot(buyer, "jr-05-comparison-ranking")

    # ------------------------------------------------------------ 6. award, framework agreement, call-offs
    buyer.get_by_role("button", name=f"Award all to {SUPPLIER}").click()
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

    # ------------------------------------------------------------ 7. the first call-off: CC-4100, sent
    order_url = order_urls[0]
    buyer.goto(order_url)
    header_state(buyer, "draft")
    costs = buyer.get_by_test_id("order-costs")  # the requisition's cost centre came along with the award line
    for n in (1, 2):
        expect(costs.get_by_label(f"Line {n} cost centre")).to_have_value(str(centre.id))
    buyer.get_by_role("button", name="Submit order").click()
    flash(buyer, "credit check runs now")
    # Hartmann has an overdue invoice of Nordstahl's in the demo and Nordstahl's terms block on overdue
    # invoices: the background check puts the call-off on credit hold; Nordstahl's accounts team releases it.
    assert ledger.overdue_invoices_count(nordstahl.id, hartmann.id) > 0
    reload_until(buyer, ".page-header .state-badge[data-state=credit_hold]", timeout=60)
    acc = open_as(tobias)
    acc.goto(live_server + "/dashboard")
    acc.get_by_test_id("panel-orders-on-credit-hold").get_by_role("link", name="Open the hold queue").click()
    hold = acc.get_by_test_id("hold-" + re.search(r"/orders/(\d+)", order_url).group(1))
    hold.get_by_label("Comment").fill("Framework call-off; the overdue invoice is being paid.")
    hold.get_by_role("button", name="Release and place").click()
    flash(acc, "released from credit hold and placed")
    buyer.reload()
    header_state(buyer, "placed")

    # ------------------------------------------------------------ 8. acknowledged, shipped, received, invoiced
    sales.goto(order_url)
    sales.get_by_role("link", name="Acknowledge order").click()
    sales.get_by_role("button", name="Send acknowledgement").click()
    flash(sales, "The order is acknowledged.")
    sales.get_by_role("link", name="Record a shipment").click()
    sales.get_by_role("link", name="Fill in every open quantity").click()
    sales.get_by_label("Carrier").fill("DHL Freight")
    sales.get_by_label("Tracking reference").fill("TRK-1")
    sales.get_by_role("button", name="Record shipment").click()
    flash(sales, "recorded; the delivery note is being produced")
    header_state(sales, "shipped")
    buyer.goto(order_url)
    buyer.get_by_test_id("actions").get_by_role("link", name=re.compile("^Record goods receipt for")).click()
    buyer.get_by_role("button", name="Record goods receipt").click()
    flash(buyer, "recorded")
    header_state(buyer, "received")

    acc.goto(order_url)
    acc.get_by_role("link", name="Invoice the shipped quantities").click()
    acc.get_by_test_id("new-invoice").get_by_role("button", name="Save draft").click()
    flash(acc, "Draft invoice saved")
    acc.get_by_role("button", name="Issue invoice").click()
    flash(acc, "Issued as INV-")
    assert acc.get_by_test_id("total-net").inner_text() == eur(values[0])
    invoice_number = re.search(r"INV-\d{4}-\d+", acc.locator("h1").inner_text()).group(0)

    # Hartmann's matching (tolerances with automatic approval in the demo) checks ordered = received = invoiced
    # and approves the invoice for payment; Lukas reads the match on the invoice Nordstahl issued.
    bacc = open_as(lukas)
    bacc.get_by_role("link", name="Invoices", exact=True).first.click()
    bacc.get_by_role("link", name=invoice_number, exact=True).first.click()
    bacc.get_by_test_id("payables-link").click()
    reload_until(bacc, "[data-testid=match-status]:has-text('approved for payment automatically')", timeout=60)
    expect(bacc.get_by_test_id("match-status")).to_contain_text("Matched")
    bacc.get_by_role("link", name="Open the invoice").click()
    expect(bacc.get_by_text("Approved for payment").first).to_be_visible()
    shot(bacc, "jr-07-invoice-approved")

    # ------------------------------------------------------------ 9. the budget: committed and actual
    # committed changes by the requisition lines on no sent order (the hoses: their call-off is still a draft,
    # so the engineer's estimate counts) + the open amount of CC-4100's lines on sent orders (the first call-off
    # is fully invoiced: nothing open); actual by the approved invoice's net on CC-4100's lines.
    after = _figures(_budget_row(buyer, live_server, year))
    assert after["committed"] == before["committed"] + money(ITEMS[2][1] * ITEMS[2][2])  # + 2 × 38.00
    assert after["actual"] == before["actual"] + values[0]  # + 89.00
    assert after["available"] == before["available"] - money(ITEMS[2][1] * ITEMS[2][2]) - values[0]
    buyer.locator(f'tr[data-budget="{CENTRE}-{year}-01-01"]').scroll_into_view_if_needed()
    shot(buyer, "jr-08-budget-committed-actual")

    # ------------------------------------------------------------ 10. Jonas rates Nordstahl after the delivery
    buyer.goto(f"{live_server}/suppliers/{nordstahl.id}")
    expect(buyer.get_by_test_id("rating-source")).to_have_text("stored")  # the demo's 4.5
    expect(buyer.get_by_test_id("rating-effective")).to_contain_text("4.5")
    buyer.get_by_label("Your rating (1 to 5)").fill("6")
    buyer.get_by_test_id("rating-form").get_by_role("button", name="Save rating").click()
    flash(buyer, "A rating is a number from 1 to 5 with at most two decimals")
    expect(buyer.get_by_test_id("rating-effective")).to_contain_text("4.5")  # nothing saved
    buyer.get_by_label("Your rating (1 to 5)").fill("4.75")
    buyer.get_by_test_id("rating-form").get_by_role("button", name="Save rating").click()
    flash(buyer, "Rating saved: 4.75 of 5.")
    expect(buyer.get_by_test_id("rating-changes").locator("li").first).to_contain_text("4.5 → 4.75")
    shot(buyer, "jr-09-supplier-rating")
