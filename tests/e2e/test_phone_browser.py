"""Phones: every main page of each kind of person at 390 × 844 (an iPhone 12-14) fits the screen: the page does
not scroll sideways (tables scroll inside their own box with the first column fixed, or stack). Screenshots of
each page are saved to look at: under the test's temporary folder, or under docs/screenshots/phone/ (the
tour's pictures) with PORTAL_PHONE_SHOTS=docs/screenshots/phone."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.e2e.phone_pages import main_pages, open_signed_in

pytestmark = [pytest.mark.e2e, pytest.mark.one_run("sqlite")]  # browser tests split between the runs: README "Tests"

ROOT = Path(__file__).resolve().parents[2]
PHONE = {"width": 390, "height": 844}
WIDTHS = "() => [document.documentElement.scrollWidth, window.innerWidth]"
# the elements sticking out on the right (not inside a box that scrolls): named in the failure message
WIDE = """
() => {
  const out = [];
  for (const el of document.querySelectorAll('*')) {
    const cs = getComputedStyle(el);
    if (el.scrollWidth > el.clientWidth + 1 && cs.overflowX === 'visible')
      out.push(`${el.tagName.toLowerCase()}.${[...el.classList].join('.')} sw=${el.scrollWidth} cw=${el.clientWidth} ${cs.position}`);
  }
  return out.slice(-8);
}
"""


@pytest.fixture
def on_phone(browser, live_server):
    """on_phone(user) -> a Playwright page at 390 × 844, signed in as that user."""
    contexts = []
    yield lambda user: open_signed_in(browser, live_server, user, PHONE, contexts)
    for c in contexts:
        c.close()


def test_main_pages_fit_a_phone(world, on_phone, live_server, tmp_path):
    shots = os.environ.get("PORTAL_PHONE_SHOTS")
    folder = ROOT / shots if shots else tmp_path  # a test run leaves the committed pictures alone
    folder.mkdir(parents=True, exist_ok=True)
    too_wide = {}
    for user, pages in main_pages(world):
        page = on_phone(user)
        role = user.email.split("@")[0] + "-" + user.email.split("@")[1].split(".")[0]
        for name, path in pages:
            page.goto(live_server + path)
            assert page.url.startswith(live_server + path.split("?")[0]), (path, page.url)
            scroll, inner = page.evaluate(WIDTHS)
            if scroll > inner or scroll > PHONE["width"]:
                too_wide[f"{user.email} {path}"] = (scroll, page.evaluate(WIDE))
            page.screenshot(path=str(folder / f"{role}-{name}.png"), full_page=True)
    assert not too_wide, too_wide


def test_the_bell_has_a_label_in_the_collapsed_menu(world, on_phone, live_server):
    page = on_phone(world.procurement)
    page.goto(live_server + "/dashboard")
    page.get_by_role("button", name="Toggle navigation").click()
    bell = page.get_by_test_id("nav-notifications")
    bell.wait_for(state="visible")
    assert "Notifications" in bell.inner_text()
