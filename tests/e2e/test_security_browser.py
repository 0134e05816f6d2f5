"""Sign out everywhere, in real browsers: one click on My account ends the person's other sessions too."""
from __future__ import annotations

import os

import pytest

pytestmark = pytest.mark.e2e

SHOTS = os.environ.get("PORTAL_SCREENSHOTS")  # a folder: save the pages for looking at


def test_sign_out_everywhere_ends_the_other_browsers_session(world, signed_in, live_server):
    laptop = signed_in(world.procurement)
    phone = signed_in(world.procurement)

    laptop.goto(live_server + "/account")
    card = laptop.locator("[data-testid=signout-everywhere]")
    assert card.is_visible()
    if SHOTS:
        laptop.screenshot(path=os.path.join(SHOTS, "account-signout-everywhere.png"), full_page=True)
    laptop.get_by_role("button", name="Sign out everywhere").click()
    laptop.wait_for_url("**/signin")
    assert "You are signed out on every device" in laptop.content()

    phone.goto(live_server + "/dashboard")
    phone.wait_for_url("**/signin**")
    assert phone.get_by_role("button", name="Sign in").is_visible()
