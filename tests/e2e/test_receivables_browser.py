"""The supplier's receivables in the browser (gunicorn, a real worker, Chromium): the aging with its buckets and
totals (computed here with Decimal), a drill-down, the aging PDF through the documents queue, and a dunning letter
with its interest line downloaded by both accounts teams from the invoice page."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from portal.db import db
from portal.receivables import dunning
from portal.receivables.models import DunningSettings
from tests.e2e.pages import eur, pdf_text
from tests.receivables.conftest import IBAN, open_invoice, set_days

pytestmark = [pytest.mark.e2e, pytest.mark.one_run("sqlite")]  # browser tests split between the runs: README "Tests"
D = Decimal


def test_aging_drill_down_pdf_and_a_dunning_letter(world, signed_in, live_server, run_jobs, tmp_path):
    world.supplier_a.iban = IBAN
    db.session.commit()
    set_days(world.supplier_a, "3,14,30")
    db.session.add(DunningSettings(supplier_company_id=world.supplier_a.id, charge_interest=True,
                                   reference_rate=D("2.15"), reference_rate_date=date(2025, 7, 1)))
    db.session.commit()
    items = {"not_due": [D("480.00")], "d1_30": [D("119.00"), D("59.50")], "d31_60": [D("1190.00")],
             "d61_90": [], "d90_plus": [D("238.00")]}
    invs = [open_invoice(world, "480.00", due_in=10), open_invoice(world, "119.00", days_late=2),
            open_invoice(world, "59.50", days_late=20), open_invoice(world, "1190.00", days_late=45),
            open_invoice(world, "238.00", days_late=120)]
    late = invs[3]

    acc = signed_in(world.accounts_a)
    acc.get_by_role("link", name="Receivables").click()
    row = acc.get_by_test_id(f"aging-row-{world.buyer.id}-EUR")
    for key, amounts in items.items():
        expect(row.locator(f"[data-bucket={key}]")).to_have_text(eur(sum(amounts, D(0))))
    total = sum((a for v in items.values() for a in v), D(0))
    expect(acc.get_by_test_id("aging-total-EUR").locator("td").last).to_have_text(eur(total))

    row.locator("[data-bucket=d31_60] a").click()
    drill = acc.get_by_test_id("drill")
    expect(drill.locator("tbody tr")).to_have_count(1)
    expect(drill).to_contain_text(late.number)
    expect(drill).to_contain_text("45")

    acc.get_by_role("link", name="Back to the aging").click()
    acc.get_by_role("button", name="PDF").click()
    job = acc.locator("[data-job-url]")
    job.locator(".job-result:not(.d-none) a").wait_for(timeout=30000)
    with acc.expect_download() as dl:
        job.locator(".job-result a").click()
    dl.value.save_as(tmp_path / "aging.pdf")
    text = pdf_text(tmp_path / "aging.pdf")
    assert "Receivables aging" in text and eur(total) in text and world.buyer.display_name in text

    # the sweep (the worker's tick in production) sends the levels reached; the letter renders on the queue
    assert dunning.run_dunning() == 3  # 20 days: level 2; 45 and 120 days: final notice; 2 days: nothing yet
    run_jobs()
    interest = (D("1190.00") * D("10.15") / 100 * 45 / 365).quantize(D("0.01"))
    for user in (world.accounts_a, world.buyer_accounts):
        page = acc if user is world.accounts_a else signed_in(user)
        page.goto(f"{live_server}/invoices/{late.id}")
        history = page.get_by_test_id("dunning-history")
        expect(history.get_by_test_id("dunning-level-3")).to_contain_text("Final notice")
        expect(history).to_contain_text(eur(interest))
        with page.expect_download() as dl:
            history.get_by_role("link", name="Letter (PDF)").click()
        path = tmp_path / f"letter-{user.id}.pdf"
        dl.value.save_as(path)
        text = pdf_text(path)
        assert "FINAL NOTICE" in text.upper() and late.number in text and eur(interest) in text
        assert eur(D("1190.00") + interest) in text and "Late-payment interest" in text
