"""Issue 12 in the browser: a draft from a quick order is edited (line added, quantity changed, date set) and
submitted; the supplier proposes a date on one line and a quantity on another; the buyer decides per line, seeing
the resulting total first (accepts the date, rejects the quantity); the buyer proposes a change order that crosses
the approval rule, the approver approves it, the supplier accepts it; the order is on rev. 3 with three PDFs; after
a partial shipment the buyer short-closes the rest and the total follows."""
from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from portal.db import db
from tests import factories
from tests.e2e.pages import assert_labelled, eur, flash, header_state, reload_until

pytestmark = [pytest.mark.e2e, pytest.mark.one_run("sqlite")]  # browser tests split between the runs: README "Tests"


def _setup(world):
    from portal.catalog.services import order_from_rows
    from portal.credit.models import CreditAccount
    from portal.orders.models import ApprovalRule

    factories.catalog_item(world.supplier_a, sku="NUT-1", price="1.00", name="Hex nut M8")
    factories.catalog_item(world.supplier_a, sku="CAP-2", price="3.00", name="Cap screw M8x20")
    factories.catalog_item(world.supplier_a, sku="BOLT-3", price="10.00", name="Anchor bolt M12")
    db.session.add(CreditAccount(supplier_company_id=world.supplier_a.id, buyer_company_id=world.buyer.id,
                                 limit_amount=Decimal("100000"), currency="EUR"))
    db.session.add(ApprovalRule(buyer_company_id=world.buyer.id, threshold=Decimal("1000"), currency="EUR",
                                approvals_required=1))
    db.session.commit()
    order, _ = order_from_rows(world.procurement, world.supplier_a.id, [("NUT-1", "100", 1)])
    return order


def test_draft_edit_proposals_change_order_revisions_and_short_close(world, signed_in, live_server):
    order = _setup(world)
    url = f"{live_server}/orders/{order.id}"
    when = date.today() + timedelta(days=30)

    # ------------------------------------------------------------ 1. the buyer edits the draft and submits it
    buyer = signed_in(world.procurement)
    buyer.goto(url)
    buyer.get_by_role("link", name="Edit draft").click()
    buyer.wait_for_url(re.compile(r".*/edit$"))
    assert_labelled(buyer)
    buyer.get_by_label("Quantity of line 1").fill("200")
    buyer.get_by_label("Delivery date of line 1").fill(when.isoformat())
    buyer.get_by_label("SKU of new line 1").fill("CAP-2")
    buyer.get_by_label("Quantity of new line 1").fill("50")
    buyer.get_by_role("button", name="Save draft").click()
    flash(buyer, "The draft is saved.")
    assert buyer.get_by_test_id("order-total").inner_text() == eur(Decimal("350"))  # 200 × 1 + 50 × 3
    buyer.get_by_role("button", name="Submit order").click()
    reload_until(buyer, ".page-header .state-badge[data-state=placed]")

    # ------------------------------------------------------------ 2. the supplier proposes per line
    sales = signed_in(world.sales_a)
    sales.goto(url)
    sales.get_by_role("link", name="Acknowledge order").click()
    later = when + timedelta(days=14)
    sales.get_by_label("Answer for line 1").select_option(label="Propose change")
    sales.get_by_label("Proposed date for line 1").fill(later.isoformat())
    sales.get_by_label("Note for line 1").fill("Next production batch")
    sales.get_by_label("Answer for line 2").select_option(label="Propose change")
    sales.get_by_label("Proposed quantity for line 2").fill("40")
    sales.get_by_label("Note for line 2").fill("Only 40 in stock")
    sales.get_by_role("button", name="Send acknowledgement").click()
    flash(sales, "proposed changes went to the buyer")

    # ------------------------------------------------------------ 3. the buyer decides per line, total first
    buyer.goto(url)
    buyer.get_by_role("link", name="Decide per line (new total first)").click()
    assert_labelled(buyer)
    buyer.locator("label", has_text="Accept").first.click()
    buyer.locator("label", has_text="Reject").nth(1).click()
    buyer.get_by_label("Reason for line 2").fill("We need all 50")
    buyer.get_by_role("button", name="Show the resulting total").click()
    expect(buyer.get_by_test_id("decision-result")).to_contain_text(eur(Decimal("350")))
    buyer.get_by_role("button", name="Confirm decisions").click()
    flash(buyer, "is decided")
    header_state(buyer, "acknowledged")
    expect(buyer.get_by_test_id("order-revision")).to_have_text("rev. 2")

    # ------------------------------------------------------------ 4. a change order that crosses the rule
    buyer.get_by_role("link", name="Propose a change").click()
    assert_labelled(buyer)
    buyer.get_by_label("New quantity of line 1").fill("150")
    buyer.get_by_label("Reason for line 1").fill("Smaller batch")
    buyer.get_by_label("SKU of new line 1").fill("BOLT-3")
    buyer.get_by_label("Quantity of new line 1").fill("100")
    buyer.get_by_role("button", name="Show old → new and the new total").click()
    preview = buyer.get_by_test_id("change-preview")
    expect(buyer.get_by_test_id("change-new-total")).to_have_text(eur(Decimal("1300")))  # 150 + 150 + 1000
    expect(preview).to_contain_text("approval")
    buyer.get_by_test_id("send-change").click()
    flash(buyer, "needs approval first")
    change_url = buyer.url

    approver = signed_in(world.approver)
    approver.goto(change_url)
    approver.get_by_role("button", name="Approve change").click()
    flash(approver, "You approved the change.")

    sales.goto(change_url)
    expect(sales.get_by_test_id("change-lines")).to_contain_text("Anchor bolt M12")
    for label in sales.locator("label", has_text="Accept").all():
        label.click()
    sales.get_by_role("button", name="Confirm decisions").click()
    flash(sales, "is decided")

    # ------------------------------------------------------------ 5. rev. 3 with three PDFs
    buyer.goto(url)
    expect(buyer.get_by_test_id("order-revision")).to_have_text("rev. 3")
    assert buyer.get_by_test_id("order-total").inner_text() == eur(Decimal("1300"))
    reload_until(buyer, "[data-testid^=revision-pdf-]", count=3)

    # ------------------------------------------------------------ 6. part shipped, the rest short-closed
    sales.goto(url)
    sales.get_by_role("link", name="Record a shipment").click()
    sales.get_by_label("Quantity to ship for line 1", exact=True).fill("150")
    sales.get_by_role("button", name="Record shipment").click()
    header_state(sales, "partially_shipped")
    buyer.goto(url)
    buyer.get_by_role("link", name="Close open quantities").click()
    assert_labelled(buyer)
    buyer.get_by_label("Reason").fill("Project finished early")
    buyer.get_by_role("button", name="Close the open quantities").click()
    flash(buyer, "open quantities are closed")
    header_state(buyer, "shipped")
    assert buyer.get_by_test_id("order-total").inner_text() == eur(Decimal("150"))
    expect(buyer.get_by_test_id("order-revision")).to_have_text("rev. 4")
