"""Dunning: levels on the supplier's schedule, once each, never for disputed invoices; letters rendered by the
documents queue; late-payment interest on the letter only; the history on the invoice page and the API."""
from __future__ import annotations

import subprocess
from datetime import date, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from portal.db import db, utcnow
from portal.errors import DomainError, Forbidden, ValidationFailed
from portal.invoices.models import DocumentKind, Invoice, InvoiceSettings
from portal.invoices.states import InvoiceStatus
from portal.notifications.models import Notification
from portal.receivables import dunning, interest
from portal.receivables.models import DunningNotice, DunningSettings
from tests.receivables.conftest import move_due, open_invoice, set_days

D = Decimal


def _notices(inv=None):
    db.session.expire_all()
    q = sa.select(DunningNotice).order_by(DunningNotice.invoice_id, DunningNotice.level)
    if inv is not None:
        q = q.where(DunningNotice.invoice_id == inv.id)
    return db.session.scalars(q).all()


def _interest_on(supplier, rate="2.15", since=date(2026, 7, 1)):
    db.session.add(DunningSettings(supplier_company_id=supplier.id, charge_interest=True,
                                   reference_rate=D(rate), reference_rate_date=since))
    db.session.commit()


# --------------------------------------------------------------------------------------------- levels

def test_levels_follow_the_schedule_once_each(rw):
    set_days(rw.supplier_a, "3,14,30")
    today = utcnow().date()
    inv = open_invoice(rw, "1190.00", days_late=2)
    assert dunning.run_dunning(today) == 0  # 2 days late: no level yet
    move_due(inv, today - timedelta(days=3))
    assert dunning.run_dunning(today) == 1
    assert dunning.run_dunning(today) == 0  # once per level
    assert [(n.level, n.days_late, n.title) for n in _notices(inv)] == [(1, 3, "Payment reminder")]
    assert dunning.run_dunning(today + timedelta(days=10)) == 0  # 13 days: still level 1
    assert dunning.run_dunning(today + timedelta(days=11)) == 1  # 14 days: first dunning
    assert dunning.run_dunning(today + timedelta(days=27)) == 1  # 30 days: final notice
    assert dunning.run_dunning(today + timedelta(days=200)) == 0  # nothing after the final notice
    assert [n.level for n in _notices(inv)] == [1, 2, 3]
    letter = _notices(inv)[2].snapshot
    assert [e["title"] for e in letter["earlier"]] == ["Payment reminder", "First dunning notice"]
    assert letter["title"] == "Final notice" and letter["days_late"] == 30


def test_an_invoice_found_late_gets_the_level_it_reached_not_all(rw):
    set_days(rw.supplier_a, "3,14,30")
    inv = open_invoice(rw, "100.00", days_late=40)
    assert dunning.run_dunning() == 1
    assert [n.level for n in _notices(inv)] == [3]


def test_fewer_levels_and_no_levels(rw):
    set_days(rw.supplier_a, "7")
    inv = open_invoice(rw, "100.00", days_late=60)
    assert dunning.run_dunning() == 1 and [n.level for n in _notices(inv)] == [1]
    assert dunning.run_dunning() == 0
    set_days(rw.supplier_a, "")
    open_invoice(rw, "100.00", days_late=60)
    assert dunning.run_dunning() == 0


def test_default_schedule_without_settings(rw):
    assert db.session.get(InvoiceSettings, rw.supplier_a.id) is None
    inv = open_invoice(rw, "100.00", days_late=15)
    assert dunning.run_dunning() == 1 and [n.level for n in _notices(inv)] == [2]  # 3,14,30


def test_disputed_invoices_are_never_dunned(rw):
    set_days(rw.supplier_a, "3,14,30")
    inv = open_invoice(rw, "100.00", days_late=20, disputed=True)
    assert dunning.run_dunning() == 0 and _notices(inv) == []
    # the dispute is resolved (the buyer withdraws it): dunning resumes at the level reached
    db.session.execute(sa.update(Invoice).where(Invoice.id == inv.id).values(disputed_at=None))
    db.session.commit()
    assert dunning.run_dunning() == 1 and [n.level for n in _notices(inv)] == [2]
    # disputed again: no further level
    db.session.execute(sa.update(Invoice).where(Invoice.id == inv.id).values(disputed_at=utcnow()))
    db.session.commit()
    assert dunning.run_dunning(utcnow().date() + timedelta(days=30)) == 0


def test_a_dispute_opened_after_the_sweep_picked_the_invoice_wins(rw):
    set_days(rw.supplier_a, "3")
    inv = open_invoice(rw, "100.00", days_late=5)
    db.session.execute(sa.update(Invoice).where(Invoice.id == inv.id).values(disputed_at=utcnow()))
    db.session.commit()
    assert dunning.dun(inv.id, 1, utcnow().date()) is None  # re-checked under the row lock
    assert _notices(inv) == []


def test_paid_credited_draft_credit_notes_and_not_due_are_not_dunned(rw):
    set_days(rw.supplier_a, "1")
    open_invoice(rw, "100.00", days_late=10, paid="100.00", status=InvoiceStatus.paid)
    open_invoice(rw, "100.00", days_late=10, paid="60.00", credited="40.00")
    open_invoice(rw, "100.00", days_late=10, status=InvoiceStatus.draft)
    open_invoice(rw, "100.00", days_late=10, kind=DocumentKind.credit_note)
    open_invoice(rw, "100.00", days_late=0)
    open_invoice(rw, "100.00", due_in=5)
    assert dunning.run_dunning() == 0 and _notices() == []
    part = open_invoice(rw, "100.00", days_late=10, paid="30.00")
    assert dunning.run_dunning() == 1
    assert _notices(part)[0].open_amount == D("70.00")


def test_both_accounts_teams_are_told(rw):
    set_days(rw.supplier_a, "3")
    inv = open_invoice(rw, "1190.00", days_late=4)
    before = db.session.scalar(sa.select(sa.func.count(Notification.id)))
    assert dunning.run_dunning() == 1
    notes = db.session.scalars(sa.select(Notification).where(Notification.kind == "invoice-reminder")).all()
    assert {n.user_id for n in notes} == {rw.buyer_accounts.id, rw.accounts_a.id}
    assert db.session.scalar(sa.select(sa.func.count(Notification.id))) == before + 2
    buyer_note = next(n for n in notes if n.user_id == rw.buyer_accounts.id)
    assert "Payment reminder" in buyer_note.title and inv.number in buyer_note.title
    assert "€1,190.00" in buyer_note.body and buyer_note.link == f"/invoices/{inv.id}"


# --------------------------------------------------------------------------------------------- interest

def test_interest_formula_and_rounding():
    assert interest.annual_rate(D("2.15")) == D("10.15")
    assert interest.annual_rate(D("-9")) == D("0")  # never negative
    # 1,190.00 × 10.15 % × 45 / 365 = 14.8913… -> 14.89
    assert interest.late_interest(D("1190.00"), D("10.15"), 45, "EUR") == D("14.89")
    # half up at the cent: 1000 × 7.3 % × 1 / 365 = 0.2 exactly; 1825 × 10 % × 1/365 = 0.5 -> 0.50
    assert interest.late_interest(D("1825.00"), D("10"), 1, "EUR") == D("0.50")
    assert interest.late_interest(D("100.05"), D("10"), 73, "EUR") == D("2.00")  # 2.001 -> 2.00
    assert interest.late_interest(D("1000000"), D("10.15"), 45, "JPY") == D("12514")  # 12513.69… -> 12514
    assert interest.late_interest(D("0"), D("10"), 10, "EUR") == D("0.00")
    assert interest.late_interest(D("10"), D("10"), 0, "EUR") == D("0.00")


def test_interest_is_on_the_notice_and_never_on_the_invoice(rw):
    set_days(rw.supplier_a, "3,14,30")
    _interest_on(rw.supplier_a, "2.15")
    inv = open_invoice(rw, "1190.00", days_late=45)
    before = (inv.total_gross, inv.total_net, inv.paid_amount, inv.credited_amount, inv.lock_version)
    assert dunning.run_dunning() == 1
    n = _notices(inv)[0]
    assert (n.level, n.interest_rate, n.interest_amount) == (3, D("10.150"), D("14.89"))
    inv = db.session.get(Invoice, inv.id)
    assert (inv.total_gross, inv.total_net, inv.paid_amount, inv.credited_amount, inv.lock_version) == before
    assert inv.open_amount == D("1190.00")
    snap = n.snapshot
    assert snap["interest"]["amount"] == "14.89" and snap["interest"]["reference_rate"] == "2.15"
    assert snap["interest"]["reference_rate_date"] == "2026-07-01" and snap["total_due"] == "1204.89"


def test_no_interest_unless_the_supplier_charges_it(rw):
    set_days(rw.supplier_a, "3")
    db.session.add(DunningSettings(supplier_company_id=rw.supplier_a.id, charge_interest=False,
                                   reference_rate=D("2.15"), reference_rate_date=date(2026, 7, 1)))
    db.session.commit()
    inv = open_invoice(rw, "1190.00", days_late=45)
    assert dunning.run_dunning() == 1
    n = _notices(inv)[0]
    assert n.interest_rate is None and n.interest_amount is None and n.snapshot["interest"] is None
    assert n.snapshot["total_due"] == "1190.00"


# --------------------------------------------------------------------------------------------- settings

def _save(user, **kw):
    args = dict(level1="3", level2="14", level3="30", charge_interest=False, reference_rate="",
                reference_rate_date="", today=date(2026, 12, 6))
    args.update(kw)
    return dunning.save_settings(user, **args)


def test_settings_are_saved(rw):
    out = _save(rw.accounts_a, level1="5", level2="20", level3="", charge_interest=True, reference_rate="2.15",
                reference_rate_date="2026-07-01")
    assert out["days"] == [5, 20] and out["charge_interest"] and out["reference_rate"] == D("2.150")
    assert db.session.get(InvoiceSettings, rw.supplier_a.id).reminder_days == "5,20"


@pytest.mark.parametrize("kw, field", [
    (dict(level1="x"), "level1"),
    (dict(level1="-1"), "level1"),
    (dict(level3="400"), "level3"),
    (dict(level1="", level2="14"), "level1"),
    (dict(level1="14", level2="14"), "level2"),
    (dict(level1="20", level2="10", level3=""), "level2"),
    (dict(reference_rate="abc"), None),
    (dict(reference_rate="75"), "reference_rate"),
    (dict(reference_rate="NaN"), None),
    (dict(reference_rate="2.15", reference_rate_date="2027-01-01"), "reference_rate_date"),
    (dict(reference_rate="2.15", reference_rate_date="1.7.2026"), "reference_rate_date"),
    (dict(reference_rate="2.15", reference_rate_date="1990-01-01"), "reference_rate_date"),
    (dict(charge_interest=True), "reference_rate"),
    (dict(charge_interest=True, reference_rate="2.15"), "reference_rate"),
])
def test_bad_settings_are_refused_and_nothing_is_saved(rw, kw, field):
    _save(rw.accounts_a, level1="5", level2="20", level3="40")
    with pytest.raises(ValidationFailed) as exc:
        _save(rw.accounts_a, **kw)
    assert exc.value.message
    if field:
        assert field in exc.value.errors
    db.session.expire_all()
    assert db.session.get(InvoiceSettings, rw.supplier_a.id).reminder_days == "5,20,40"
    assert not db.session.get(DunningSettings, rw.supplier_a.id).charge_interest


def test_settings_are_the_supplier_accounts_teams(rw):
    with pytest.raises(Forbidden):
        _save(rw.sales_a)
    with pytest.raises(Forbidden):
        _save(rw.buyer_accounts)


def test_settings_page(rw, login):
    c = login(rw.accounts_a)
    assert "Final notice" in c.get("/receivables/settings").get_data(as_text=True)
    r = c.post("/receivables/settings", data={"level1": "30", "level2": "10", "level3": ""})
    assert r.status_code == 422 and "later than the one before" in r.get_data(as_text=True)
    r = c.post("/receivables/settings", data={"level1": "3", "level2": "10", "level3": "", "charge_interest": "y",
                                              "reference_rate": "2.15", "reference_rate_date": "2026-07-01"})
    assert r.status_code == 302
    assert db.session.get(InvoiceSettings, rw.supplier_a.id).reminder_days == "3,10"
    assert login(rw.buyer_accounts).get("/receivables/settings").status_code == 404


# --------------------------------------------------------------------------------------------- letters

def _pdf_text(tmp_path, data: bytes) -> str:
    p = tmp_path / "letter.pdf"
    p.write_bytes(data)
    return subprocess.run(["pdftotext", "-layout", str(p), "-"], capture_output=True, text=True).stdout


def test_letter_is_rendered_by_the_documents_queue_with_the_interest_line(rw, run_jobs, login, tmp_path):
    from portal.jobs.models import JobRecord

    set_days(rw.supplier_a, "3,14,30")
    _interest_on(rw.supplier_a, "2.15")
    inv = open_invoice(rw, "1190.00", days_late=45)
    assert dunning.run_dunning() == 1
    n = _notices(inv)[0]
    rec = db.session.get(JobRecord, n.pdf_job_id)
    assert rec.queue == "documents" and rec.rq_job_id == f"dunning-letter-{n.id}"
    run_jobs()
    n = _notices(inv)[0]
    assert n.pdf_file_id, db.session.get(JobRecord, n.pdf_job_id).error
    for user in (rw.accounts_a, rw.buyer_accounts):  # both parties download the same letter
        r = login(user).get(f"/receivables/letters/{n.id}/pdf")
        assert r.status_code == 200 and r.mimetype == "application/pdf"
    text = _pdf_text(tmp_path, r.data)
    assert "Final notice" in text and inv.number in text and "1,190.00" in text
    assert "Late-payment interest" in text and "10.15 %" in text and "14.89" in text and "1,204.89" in text
    assert "Reference rate 2.15 %" in text and "Directive 2011/7/EU" in text
    assert "IBAN DE89370400440532013000" in text
    # another buyer, another supplier: 404
    assert login(rw.buyer2_accounts).get(f"/receivables/letters/{n.id}/pdf").status_code == 404
    assert login(rw.accounts_b).get(f"/receivables/letters/{n.id}/pdf").status_code == 404


def test_history_on_the_invoice_page_for_both_sides(rw, login):
    set_days(rw.supplier_a, "3,14")
    inv = open_invoice(rw, "100.00", days_late=5)
    dunning.run_dunning()
    dunning.run_dunning(utcnow().date() + timedelta(days=10))
    for user in (rw.accounts_a, rw.buyer_accounts):
        page = login(user).get(f"/invoices/{inv.id}").get_data(as_text=True)
        assert 'data-testid="dunning-history"' in page
        assert "Payment reminder" in page and "First dunning notice" in page
    other = open_invoice(rw, "100.00", days_late=5, disputed=True)
    page = login(rw.accounts_a).get(f"/invoices/{other.id}").get_data(as_text=True)
    assert "no dunning while the dispute is open" in page and "No reminders sent." in page
    assert login(rw.buyer2_accounts).get(f"/invoices/{inv.id}").status_code == 404


def test_letters_page_lists_the_suppliers_letters(rw, login):
    set_days(rw.supplier_a, "3")
    inv = open_invoice(rw, "100.00", days_late=5)
    dunning.run_dunning()
    page = login(rw.accounts_a).get("/receivables/letters").get_data(as_text=True)
    assert inv.number in page and "Payment reminder" in page
    assert inv.number not in login(rw.accounts_b).get("/receivables/letters").get_data(as_text=True)


def test_a_sweep_error_on_one_invoice_does_not_stop_the_others(rw, monkeypatch):
    set_days(rw.supplier_a, "3")
    bad = open_invoice(rw, "100.00", days_late=5)
    good = open_invoice(rw, "100.00", days_late=5)
    real = dunning.letter_snapshot

    def boom(inv, notice, terms):
        if inv.id == bad.id:
            raise DomainError("broken")
        return real(inv, notice, terms)

    monkeypatch.setattr(dunning, "letter_snapshot", boom)
    assert dunning.run_dunning() == 1
    assert _notices(bad) == [] and [n.level for n in _notices(good)] == [1]


def test_settings_saved_twice_at_once_answer_a_sentence(rw, monkeypatch):
    from sqlalchemy.orm.exc import StaleDataError

    from portal.errors import Conflict

    _save(rw.accounts_a, level1="5", level2="20", level3="40")

    def stale():
        raise StaleDataError("UPDATE statement on table 'dunning_settings' expected to update 1 row(s); 0 matched")

    monkeypatch.setattr(db.session, "commit", stale)
    with pytest.raises(Conflict, match="at the same moment"):
        _save(rw.accounts_a, level1="7")
    monkeypatch.undo()
    db.session.expire_all()
    assert db.session.get(InvoiceSettings, rw.supplier_a.id).reminder_days == "5,20,40"


def test_a_sweep_sends_at_most_its_limit_and_the_next_one_the_rest(rw):
    set_days(rw.supplier_a, "3")
    invs = [open_invoice(rw, "10.00", days_late=5) for _ in range(5)]
    assert dunning.run_dunning(limit=3) == 3
    assert dunning.run_dunning(limit=3) == 2
    assert dunning.run_dunning(limit=3) == 0
    assert sorted(n.invoice_id for n in _notices()) == sorted(i.id for i in invs)
