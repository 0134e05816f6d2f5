"""The payables pages: settings, the invoice's match and dispute, the dispute conversation, a payment run built,
approved by someone else, exported (downloadable SEPA file), executed, and the remittance reconciled — in the
browser's terms (forms, flashes, redirects), and other companies' ids answer 404."""
from __future__ import annotations

import re

from lxml import etree

from portal.db import db, utcnow
from portal.payables import sepa
from portal.payables.models import Dispute, PaymentRun, RemittanceAdvice


def _csrf(page: str) -> str:
    m = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page) or \
        re.search(r'name="csrf_token" value="([^"]+)"', page)
    return m.group(1)


def _lock(page: str) -> str:
    m = re.search(r'name="lock_version" type="hidden" value="([^"]*)"', page) or \
        re.search(r'id="lock_version" name="lock_version" type="hidden" value="([^"]*)"', page)
    return m.group(1) if m else ""


def test_settings_page_saves_and_refuses_absurd_values(pw, login):
    c = login(pw.buyer_accounts)
    page = c.get("/payables/settings").get_data(as_text=True)
    assert "Matching tolerances" in page
    data = {"csrf_token": _csrf(page), "lock_version": "0", "price_tolerance_percent": "2",
            "price_tolerance_amount": "50", "quantity_tolerance_percent": "0", "total_tolerance_percent": "2",
            "total_tolerance_amount": "100", "auto_approve": "y", "submit": "y"}
    r = c.post("/payables/settings", data=data)
    assert r.status_code == 302
    page = c.get("/payables/settings").get_data(as_text=True)
    assert "Tolerances saved" in page
    bad = dict(data, csrf_token=_csrf(page), lock_version=_lock(page), price_tolerance_percent="-5")
    r = c.post("/payables/settings", data=bad)
    assert r.status_code == 422 and "cannot be negative" in r.get_data(as_text=True)
    d = {"csrf_token": _csrf(page), "d-supplier_id": str(pw.supplier_a.id), "d-discount_percent": "2",
         "d-discount_days": "10", "d-submit": "y"}
    assert c.post("/payables/settings", data=d).status_code == 302
    assert "2 % if paid within 10 days" in c.get("/payables/settings").get_data(as_text=True)
    assert login(pw.accounts_a).get("/payables/settings").status_code == 404  # suppliers have none


def test_dispute_journey_in_pages(pw, make_invoice, login):
    inv = make_invoice(prices={2: "12.50"})
    buyer = login(pw.buyer_accounts)
    page = buyer.get(f"/payables/invoices/{inv.id}").get_data(as_text=True)
    assert "dispute-form" in page
    r = buyer.post(f"/payables/invoices/{inv.id}/dispute", data={
        "csrf_token": _csrf(page), "lock_version": str(inv.lock_version), "invoice_line_id": str(inv.lines[1].id),
        "reason": "12.50 instead of 12.00"})
    assert r.status_code == 302
    d = db.session.query(Dispute).one()
    assert "Disputed" in buyer.get(f"/invoices/{inv.id}").get_data(as_text=True)
    supplier = login(pw.accounts_a)
    page = supplier.get(f"/payables/disputes/{d.id}").get_data(as_text=True)
    assert "answer-form" in page and "12.50 instead of 12.00" in page
    r = supplier.post(f"/payables/disputes/{d.id}/answer", data={"csrf_token": _csrf(page),
                                                                 "lock_version": str(d.lock_version),
                                                                 "text": "Checking"})
    assert r.status_code == 302
    page = buyer.get(f"/payables/disputes/{d.id}").get_data(as_text=True)
    assert "Checking" in page and "withdraw-form" in page
    db.session.expire_all()
    d = db.session.get(Dispute, d.id)
    r = buyer.post(f"/payables/disputes/{d.id}/withdraw", data={"csrf_token": _csrf(page),
                                                                "lock_version": str(d.lock_version), "text": ""})
    assert r.status_code == 302
    assert "Withdrawn" in buyer.get(f"/payables/disputes/{d.id}").get_data(as_text=True)
    # other companies' ids do not exist
    other = login(pw.accounts_b)
    assert other.get(f"/payables/disputes/{d.id}").status_code == 404
    assert other.get(f"/payables/invoices/{inv.id}").status_code == 404


def test_run_journey_in_pages(pw, make_invoice, login, run_jobs):
    inv = make_invoice(due_in=-1)
    a1 = login(pw.buyer_accounts)
    page = a1.get("/payables/runs").get_data(as_text=True)
    r = a1.post("/payables/runs", data={"csrf_token": _csrf(page), "due_by": utcnow().date().isoformat(),
                                        "submit": "y"})
    assert r.status_code == 302
    run = db.session.query(PaymentRun).one()
    page = a1.get(f"/payables/runs/{run.id}").get_data(as_text=True)
    assert "someone else approves" in page and inv.number in page
    a1.post(f"/payables/runs/{run.id}/approve", data={"csrf_token": _csrf(page), "lock_version": run.lock_version})
    assert "someone else must approve" in a1.get(f"/payables/runs/{run.id}").get_data(as_text=True)
    a2 = login(pw.accounts2)
    page = a2.get(f"/payables/runs/{run.id}").get_data(as_text=True)
    assert a2.post(f"/payables/runs/{run.id}/approve", data={"csrf_token": _csrf(page),
                                                             "lock_version": _lock(page)}).status_code == 302
    page = a2.get(f"/payables/runs/{run.id}").get_data(as_text=True)
    a2.post(f"/payables/runs/{run.id}/export", data={"csrf_token": _csrf(page), "lock_version": _lock(page)})
    page = a2.get(f"/payables/runs/{run.id}").get_data(as_text=True)
    assert "sepa-download" in page
    r = a2.get(f"/payables/runs/{run.id}/sepa.xml")
    assert r.mimetype == "application/xml"
    etree.XMLSchema(etree.parse(str(sepa.xsd_path()))).assertValid(etree.fromstring(r.data))
    assert "Payment scheduled" in a2.get(f"/payables/invoices/{inv.id}").get_data(as_text=True)
    assert "Payment scheduled · " + run.reference in a2.get(f"/invoices/{inv.id}").get_data(as_text=True)
    # exporting twice is refused with a sentence
    a2.post(f"/payables/runs/{run.id}/export", data={"csrf_token": _csrf(page), "lock_version": _lock(page)})
    assert "exported once" in a2.get(f"/payables/runs/{run.id}").get_data(as_text=True)
    page = a1.get(f"/payables/runs/{run.id}").get_data(as_text=True)
    a1.post(f"/payables/runs/{run.id}/execution", data={"csrf_token": _csrf(page), "lock_version": _lock(page),
                                                        "executed_on": utcnow().date().isoformat()})
    assert "Executed on" in a1.get(f"/payables/runs/{run.id}").get_data(as_text=True)
    adv = db.session.query(RemittanceAdvice).one()
    sup = login(pw.accounts_a)
    assert adv.reference in sup.get("/payables/").get_data(as_text=True)
    page = sup.get(f"/payables/remittances/{adv.id}").get_data(as_text=True)
    assert "reconcile-form" in page
    sup.post(f"/payables/remittances/{adv.id}/reconcile", data={"csrf_token": _csrf(page),
                                                                "lock_version": _lock(page)})
    assert "Reconciled on" in sup.get(f"/payables/remittances/{adv.id}").get_data(as_text=True)
    run_jobs(["documents"])
    r = sup.get(f"/payables/remittances/{adv.id}/pdf")
    assert r.status_code == 200 and r.data.startswith(b"%PDF")
    assert login(pw.accounts_b).get(f"/payables/remittances/{adv.id}").status_code == 404
    assert sup.get(f"/payables/runs/{run.id}").status_code in (403, 404)


def test_overview_lists_exceptions(pw, make_invoice, login):
    from portal.payables import matching

    inv = make_invoice(approve=False, prices={2: "12.50"})
    matching.run_match(inv.id)
    page = login(pw.buyer_accounts).get("/payables/").get_data(as_text=True)
    assert inv.number in page and "12.5 instead of 12" in page


def test_approve_within_tolerance_from_the_match_page(pw, make_invoice, login):
    from portal.invoices.models import Invoice
    from portal.payables import matching

    matching.save_settings(pw.buyer_accounts, price_tolerance_percent="2", price_tolerance_amount="50",
                           total_tolerance_percent="2", total_tolerance_amount="50", auto_approve=False)
    inv = make_invoice(approve=False, prices={1: "2.55"})
    matching.run_match(inv.id)
    c = login(pw.buyer_accounts)
    page = c.get(f"/payables/invoices/{inv.id}").get_data(as_text=True)
    assert "approve-within" in page
    c.post(f"/payables/invoices/{inv.id}/approve", data={"csrf_token": _csrf(page), "lock_version": _lock(page)})
    db.session.expire_all()
    assert db.session.get(Invoice, inv.id).approved_for_payment_at is not None
