"""Accessibility basics on the main pages, in a real browser, for each kind of person:
one h1, every form field labelled, every button and link named, state shown in words (not colour alone),
and the page's primary action reachable with the keyboard."""
from __future__ import annotations

import pytest

from tests import factories

pytestmark = [pytest.mark.e2e, pytest.mark.one_run("sqlite")]  # browser tests split between the runs: README "Tests"

AUDIT_JS = """
() => {
  const visible = el => !!(el.offsetWidth || el.offsetHeight || el.getClientRects().length);
  const name = el => (el.getAttribute('aria-label') || el.innerText || el.textContent || el.value || el.title ||
                      (el.querySelector('img[alt]') || {}).alt || '').trim();
  const problems = [];
  const h1 = [...document.querySelectorAll('h1')].filter(visible);
  if (h1.length !== 1) problems.push(`${h1.length} h1 elements`);
  for (const el of document.querySelectorAll('input, select, textarea')) {
    if (['hidden', 'submit', 'button'].includes(el.type) || !visible(el)) continue;
    const labelled = el.getAttribute('aria-label') || el.getAttribute('aria-labelledby') ||
      (el.id && document.querySelector(`label[for="${el.id}"]`)) || el.closest('label');
    if (!labelled) problems.push(`unlabelled ${el.tagName.toLowerCase()} name=${el.name}`);
  }
  for (const el of document.querySelectorAll('button, a[href]')) {
    if (!visible(el)) continue;
    if (!name(el)) problems.push(`unnamed ${el.tagName.toLowerCase()} ${el.outerHTML.slice(0, 80)}`);
  }
  for (const b of document.querySelectorAll('.badge')) {
    if (visible(b) && !b.innerText.trim() && !b.getAttribute('aria-label')) problems.push('badge without text');
  }
  return problems;
}
"""


def _pages(world):
    r = factories.rfq(world.buyer, world.procurement, suppliers=[world.supplier_a, world.supplier_b])
    factories.quote(r, world.supplier_a, world.sales_a)
    o = factories.order(world.buyer, world.supplier_a, world.procurement, status="placed")
    return [
        (world.procurement, ["/dashboard", "/rfqs/", "/rfqs/new", f"/rfqs/{r.id}", "/orders/", f"/orders/{o.id}",
                             "/catalog/suppliers", "/notifications/", "/account", "/account/tokens/"]),
        (world.sales_a, ["/dashboard", "/rfqs/", f"/rfqs/{r.id}", f"/rfqs/{r.id}/quote", f"/orders/{o.id}",
                         "/catalog/"]),
        (world.accounts_a, ["/dashboard", "/invoices/", "/credit/accounts", "/credit/holds", "/receivables/aging",
                            "/receivables/settings", "/receivables/letters"]),
        (world.buyer_admin, ["/company/members", "/company/"]),
    ]


def test_main_pages_meet_the_basics(world, signed_in, live_server):
    failures = {}
    for user, paths in _pages(world):
        page = signed_in(user)
        for path in paths:
            page.goto(live_server + path)
            assert page.url.startswith(live_server), path
            problems = page.evaluate(AUDIT_JS)
            if problems:
                failures[f"{user.email} {path}"] = problems
    assert not failures, failures


def test_primary_actions_are_reachable_by_keyboard(world, signed_in, live_server):
    """Tab from the top of the page reaches the sign-in button, and on the RFQ list the 'New RFQ' action."""
    page = signed_in(world.procurement)
    page.goto(live_server + "/rfqs/")
    reached = set()
    for _ in range(40):
        page.keyboard.press("Tab")
        reached.add(page.evaluate("() => (document.activeElement.innerText || '').trim()"))
        if any("New RFQ" in t for t in reached):
            break
    assert any("New RFQ" in t for t in reached), sorted(reached)
    page.keyboard.press("Enter")
    page.wait_for_url("**/rfqs/new")
    assert page.locator("h1").inner_text().strip()
