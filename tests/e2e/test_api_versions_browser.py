"""A buyer admin creates an API token on the tokens page, her ERP sets an approval rule through the API with a
Money threshold (the token answers in the current API version), and the rule is on the approval-rules page; the
browsable docs show the approval-rule operations and the versioning paragraph."""
from __future__ import annotations

import os

import pytest

pytestmark = pytest.mark.e2e

SHOTS = os.environ.get("PORTAL_SCREENSHOTS")  # a folder: keep screenshots to look at


@pytest.fixture(autouse=True)
def _warm(live_server):
    """The first answer of each gunicorn worker loads the app's lazy parts; on a busy machine that can take
    longer than a page load may (15 s): ask twice up front with patience."""
    import urllib.request

    for _ in range(2):
        urllib.request.urlopen(live_server + "/signin", timeout=120).read()


def _shot(page, name):
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, f"{name}.png"), full_page=True)


def test_a_token_made_in_the_browser_sets_an_approval_rule_with_money(world, signed_in, live_server):
    page = signed_in(world.buyer_admin)
    page.goto(live_server + "/account/tokens/")
    page.get_by_label("Token name").fill("ERP connector")
    page.get_by_role("button", name="Create token").click()
    token = page.get_by_test_id("new-token").locator("code.user-select-all").inner_text().strip()
    assert token.startswith("ppt_")

    api = page.context.request
    headers = {"Authorization": f"Bearer {token}"}
    resp = api.post(live_server + "/api/v1/approval-rules", headers=headers,
                    data={"threshold": {"amount": "12500.00", "currency": "EUR"}, "approvals_required": 1})
    assert resp.status == 201, resp.text()
    assert resp.headers["portal-version"] == "2026-12-06"
    assert resp.json()["threshold"] == {"amount": "12500.00", "currency": "EUR"}
    # a bare decimal string is the old version's shape: refused with a sentence in this one
    old = api.post(live_server + "/api/v1/approval-rules", headers=headers,
                   data={"threshold": "20000", "approvals_required": 1})
    assert old.status == 422 and "2026-11-01" in old.json()["detail"]

    page.goto(live_server + "/orders/approval-rules")
    row = page.locator("tr", has_text="12,500.00")
    assert row.count() == 1 and row.locator("td").nth(1).inner_text().strip() == "1"
    _shot(page, "approval-rules-page")

    page.goto(live_server + "/api/v1/docs")
    page.locator('[data-path="/api/v1/approval-rules"]').first.wait_for(timeout=20000)
    assert page.locator("#swagger-ui", has_text="Portal-Version").count() == 1
    _shot(page, "api-docs")
