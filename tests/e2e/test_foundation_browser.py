"""A person signs in, invites a colleague, exports the member list in the background and downloads it."""
from __future__ import annotations

import re

import pytest

from tests import factories

pytestmark = pytest.mark.e2e


def test_admin_invites_colleague_and_exports_members_in_the_worker(world, signed_in, live_server):
    page = signed_in(world.buyer_admin)
    assert page.locator("h1").count() == 1
    page.get_by_role("link", name="Company").click()
    form = page.locator("form", has=page.get_by_role("button", name="Create invitation"))
    form.get_by_label("Email").fill("new.colleague@acme.test")
    form.get_by_label("Name").fill("New Colleague")
    form.get_by_label("Procurement").check()
    form.get_by_role("button", name="Create invitation").click()
    link = page.get_by_test_id("invitation-link").locator("code").inner_text()
    assert "/invitations/" in link

    # The invited person accepts in a fresh browser context.
    ctx = page.context.browser.new_context()
    other = ctx.new_page()
    other.goto(link.replace("http://portal.test", live_server) if link.startswith("http://portal.test") else link)
    other.get_by_label("Choose a password").fill("a-good-long-password")
    other.get_by_label("Repeat password").fill("a-good-long-password")
    other.get_by_role("button", name=re.compile("Join")).click()
    other.wait_for_url("**/dashboard")
    assert "New Colleague" in other.content() or "Colleague" in other.content()
    ctx.close()

    # Export runs in the real RQ worker; the progress bar updates without reload and the link appears.
    page.goto(live_server + "/company/members")
    page.get_by_role("button", name="Export CSV").click()
    page.wait_for_url(re.compile(r".*/jobs/\d+$"))
    page.locator(".job-result:not(.d-none) a").wait_for(timeout=20000)
    # The link is shown only once the job has succeeded (the badge says so in words).
    assert page.locator(".state-badge[data-state=succeeded]").count() == 1
    assert page.locator(".progress-bar").inner_text().strip() == "100%"
    with page.expect_download() as dl:
        page.locator(".job-result a").click()
    content = open(dl.value.path(), encoding="utf-8-sig").read()
    assert "new.colleague@acme.test" in content and world.buyer_admin.email in content


def test_deactivated_user_is_signed_out_in_the_browser(world, signed_in, live_server):
    from portal.accounts.services import set_member_active

    page = signed_in(world.procurement)
    set_member_active(world.buyer_admin, world.procurement.id, False)
    page.goto(live_server + "/dashboard")
    assert "/signin" in page.url
    page.get_by_label("Email").fill(world.procurement.email)
    page.get_by_label("Password").fill(factories.PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.locator(".alert", has_text="deactivated").wait_for()
    assert "/signin" in page.url
