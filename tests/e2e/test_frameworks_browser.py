"""Weighted scoring and framework agreements in the browser: the buyer sets weights, scores the quotes, sees the
ranking, awards and makes a framework agreement, places a call-off (warned at 80 %); the supplier reads the
agreement. With FRAMEWORK_SCREENSHOTS=<dir> the pages are also saved as PNGs."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.pages import assert_labelled, flash
from tests.frameworks.helpers import closed_with_quotes

pytestmark = [pytest.mark.e2e, pytest.mark.one_run("sqlite")]  # browser tests split between the runs: README "Tests"

SHOTS = os.environ.get("FRAMEWORK_SCREENSHOTS")


def shot(page, name):
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


def _warm(live_server):
    """The first requests of fresh gunicorn workers are slow on a loaded machine; wait for them once."""
    import urllib.request

    for _ in range(4):
        urllib.request.urlopen(live_server + "/signin", timeout=120).read()


def test_score_award_framework_and_call_off(live_server, signed_in, world):
    r, qa, qb = closed_with_quotes(world)
    _warm(live_server)
    buyer = signed_in(world.procurement)
    buyer.set_default_timeout(45000)  # a loaded 2-core machine
    buyer.on("dialog", lambda d: d.accept())
    buyer.goto(f"{live_server}/rfqs/{r.id}/comparison")
    scoring = buyer.get_by_test_id("scoring")
    expect(scoring).to_contain_text("No scoring criteria yet")
    assert_labelled(buyer)
    form = buyer.get_by_test_id("criteria-form")
    form.get_by_test_id("weight-price").fill("50")
    form.get_by_test_id("weight-lead_time").fill("20")
    form.get_by_label("Free criterion name").first.fill("Quality")
    form.get_by_test_id("weight-custom-4").fill("20")
    form.get_by_role("button", name="Save criteria").click()
    flash(buyer, "they must add up to exactly 100 %")  # 90 %: refused with a sentence
    form = buyer.get_by_test_id("criteria-form")
    form.get_by_test_id("weight-price").fill("60")
    form.get_by_label("Free criterion name").first.fill("Quality")
    form.get_by_test_id("weight-custom-4").fill("20")
    form.get_by_test_id("weight-lead_time").fill("20")
    form.get_by_role("button", name="Save criteria").click()
    flash(buyer, "Scoring criteria saved.")
    scores = buyer.get_by_test_id("scores-form")
    scores.get_by_label("Quality: Supplier Alpha GmbH").select_option("5")
    scores.get_by_label("Quality: Supplier Beta SAS").select_option("2")
    scores.get_by_role("button", name="Save my scores").click()
    flash(buyer, "Your scores are saved")
    ranking = buyer.get_by_test_id("ranking")
    # A: 60 x 1350/1440 + 20 + 20 = 96.25; B: 60 + 20 x 10/20 + 20 x 2/5 = 78.00
    expect(ranking.locator("tbody tr").first).to_contain_text("Supplier Alpha GmbH")
    expect(buyer.get_by_test_id(f"score-{qa.id}")).to_have_text("96.25")
    expect(buyer.get_by_test_id(f"score-{qb.id}")).to_have_text("78.00")
    shot(buyer, "frm-01-comparison-scoring")

    buyer.get_by_role("button", name="Award all to Supplier Alpha GmbH").click()
    flash(buyer, "is awarded")
    fa_form = buyer.get_by_test_id("framework-form")
    fa_form.get_by_label("Maximum value (EUR, optional)").fill("1000")
    shot(buyer, "frm-02-award-framework-form")
    fa_form.get_by_role("button", name="Make framework agreement").click()
    flash(buyer, "made from the award")
    expect(buyer.get_by_test_id("items")).to_contain_text("Item 1")
    assert_labelled(buyer)
    buyer.get_by_label("Quantity of Item 1").fill("101")
    buyer.get_by_role("button", name="Place call-off").click()
    expect(buyer.get_by_test_id("call-off-error")).to_contain_text("would exceed the agreed 100 pcs")
    buyer.get_by_label("Quantity of Item 1").fill("85")
    buyer.get_by_role("button", name="Place call-off").click()
    flash(buyer, "created as a draft purchase order")
    flash(buyer, "85 % of the agreed quantity is now used")
    shot(buyer, "frm-03-call-off-order")
    buyer.get_by_role("link", name="Frameworks").click()
    expect(buyer.get_by_test_id("agreements")).to_contain_text("85 %")
    buyer.get_by_test_id("agreements").get_by_role("link").first.click()
    expect(buyer.get_by_test_id("usage-warning")).to_contain_text("85 %")
    expect(buyer.get_by_test_id("consumed-value")).to_have_text("€85.00")
    shot(buyer, "frm-04-agreement-buyer")

    supplier = signed_in(world.sales_a)
    supplier.set_default_timeout(45000)
    supplier.goto(f"{live_server}/frameworks/")
    supplier.get_by_test_id("agreements").get_by_role("link").first.click()
    expect(supplier.get_by_test_id("items")).to_contain_text("Item 1")
    expect(supplier.get_by_role("button", name="Place call-off")).to_have_count(0)
    shot(supplier, "frm-05-agreement-supplier")
