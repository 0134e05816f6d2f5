"""Requisitions in the browser: an engineer requests three items on a cost centre, the cost centre's owner sees
the budget impact and approves, procurement turns the requisition into an RFQ. With REQ_SCREENSHOTS=<dir> the
pages are also saved as PNGs."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.pages import flash
from tests.requisitions.conftest import rw  # noqa: F401  (fixture)

pytestmark = [pytest.mark.e2e, pytest.mark.one_run("sqlite")]  # browser tests split between the runs: README "Tests"

SHOTS = os.environ.get("REQ_SCREENSHOTS")


def shot(page, name):
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


def _warm_up(live_server):
    """A loaded machine: let both gunicorn workers build the app before the browser's 15 s timeouts start."""
    import urllib.request

    for _ in range(4):
        urllib.request.urlopen(live_server + "/signin", timeout=180).read()


def test_request_approve_and_source_in_the_browser(live_server, signed_in, rw):  # noqa: F811
    _warm_up(live_server)
    eng = signed_in(rw.engineer)
    eng.set_default_timeout(45000)
    expect(eng.get_by_role("link", name="Requisitions").first).to_be_visible()
    eng.goto(live_server + "/requisitions/new", timeout=60000)
    eng.get_by_label("Title").fill("Spares for press line 3")
    eng.get_by_label("Justification").fill("The press stands still.")
    items = [("Deep groove ball bearing 6205", "20", "6.80"), ("V-belt SPZ 1250", "4", "12.50"),
             ("Hydraulic hose DN12 1.5 m", "2", "38.00")]
    for n, (desc, qty, price) in enumerate(items, 1):
        eng.get_by_label(f"Line {n} description").fill(desc)
        eng.get_by_label(f"Line {n} quantity").fill(qty)
        eng.get_by_label(f"Line {n} estimated unit price").fill(price)
        eng.get_by_label(f"Line {n} cost centre").select_option(label="CC-100 Maintenance")
    shot(eng, "01-requisition-form")
    eng.get_by_role("button", name="Submit for approval").click()
    flash(eng, "submitted for approval")
    expect(eng.get_by_test_id("requisition-lines")).to_contain_text("Hydraulic hose")
    expect(eng.get_by_test_id("waiting-for")).to_contain_text(rw.owner.name)
    number = eng.locator("h1").inner_text().split(" ")[0]

    owner = signed_in(rw.owner)
    owner.set_default_timeout(45000)
    owner.goto(live_server + "/requisitions/")
    owner.get_by_test_id("to-approve").get_by_role("link", name=number).click()
    impact = owner.get_by_test_id("budget-impact")
    expect(impact).to_contain_text("CC-100")
    expect(impact.get_by_test_id("available-after")).to_contain_text("738.00")  # 1,000 − 262
    shot(owner, "02-owner-approval-budget-impact")
    owner.get_by_role("button", name="Approve").click()
    flash(owner, "Approved")

    buyer = signed_in(rw.procurement)
    buyer.set_default_timeout(45000)
    buyer.goto(live_server + "/requisitions/queue")
    expect(buyer.get_by_test_id("queue")).to_contain_text(number)
    buyer.get_by_label(f"Choose {number}").check()
    shot(buyer, "03-procurement-queue")
    buyer.get_by_role("button", name="Turn into an RFQ").click()
    flash(buyer, "made from the requisitions")
    expect(buyer.locator("body")).to_contain_text("V-belt SPZ 1250")
    shot(buyer, "04-rfq-from-requisition")
    eng.reload()
    expect(eng.locator(".page-header")).to_contain_text("Sourcing")
    budget = signed_in(rw.procurement)
    budget.goto(live_server + "/budgets/")
    expect(budget.get_by_test_id("budgets").get_by_test_id("committed")).to_contain_text("262.00")
    shot(budget, "05-budgets")
