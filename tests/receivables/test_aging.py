"""Aging: open receivables per customer and currency in buckets of days past due, computed in SQL."""
from __future__ import annotations

import csv
import io
import subprocess
from datetime import date
from decimal import Decimal

import pytest

from portal.db import db, utcnow
from portal.invoices.models import DocumentKind
from portal.invoices.states import InvoiceStatus
from portal.receivables import aging
from tests.receivables.conftest import open_invoice

D = Decimal
AS_OF = date(2026, 6, 30)


def _row(data, buyer, currency="EUR"):
    rows = [r for r in data["customers"] if r["buyer_company_id"] == buyer.id and r["currency"] == currency]
    assert len(rows) == 1, rows
    return rows[0]


def test_bucket_edges_are_days_past_due(rw):
    # days past due -> bucket: 0 and future are not due; 1..30, 31..60, 61..90, 91.. as named
    cases = {-5: "not_due", 0: "not_due", 1: "d1_30", 30: "d1_30", 31: "d31_60", 60: "d31_60", 61: "d61_90",
             90: "d61_90", 91: "d90_plus", 400: "d90_plus"}
    for late, _ in cases.items():
        open_invoice(rw, f"{100 + late}.00", days_late=late, today=AS_OF)
    r = _row(aging.aging(rw.supplier_a.id, AS_OF), rw.buyer)
    expected = {k: D(0) for k in aging.BUCKET_KEYS}
    for late, bucket in cases.items():
        expected[bucket] += D(100 + late)
        assert aging.bucket_of(late) == bucket
    assert {k: r[k] for k in aging.BUCKET_KEYS} == expected
    assert r["total"] == sum(expected.values()) and r["count"] == len(cases)


def test_open_amount_counts_and_everything_else_stays_out(rw):
    open_invoice(rw, "1190.00", days_late=10, paid="190.00", credited="100.00", today=AS_OF)  # 900 open
    open_invoice(rw, "500.00", days_late=10, paid="500.00", status=InvoiceStatus.paid, today=AS_OF)
    open_invoice(rw, "70.00", days_late=10, status=InvoiceStatus.draft, today=AS_OF)
    open_invoice(rw, "80.00", days_late=10, kind=DocumentKind.credit_note, today=AS_OF)
    open_invoice(rw, "90.00", days_late=10, supplier=rw.supplier_b, today=AS_OF)  # another supplier's
    open_invoice(rw, "40.00", days_late=10, paid="30.00", credited="10.00", today=AS_OF)  # nothing open
    data = aging.aging(rw.supplier_a.id, AS_OF)
    assert len(data["customers"]) == 1
    r = _row(data, rw.buyer)
    assert r["d1_30"] == D("900.00") and r["total"] == D("900.00") and r["count"] == 1
    assert aging.aging(rw.supplier_b.id, AS_OF)["totals"][0]["total"] == D("90.00")


def test_totals_per_currency_customers_apart_and_disputed_shown(rw):
    open_invoice(rw, "100.00", days_late=5, today=AS_OF)
    open_invoice(rw, "200.00", days_late=45, today=AS_OF, disputed=True)
    open_invoice(rw, "300.00", due_in=10, buyer=rw.buyer2, today=AS_OF)
    open_invoice(rw, "1000", days_late=100, currency="JPY", today=AS_OF)
    open_invoice(rw, "12.345", days_late=100, currency="USD", buyer=rw.buyer2, today=AS_OF)
    data = aging.aging(rw.supplier_a.id, AS_OF)
    eur = {t["currency"]: t for t in data["totals"]}
    assert set(eur) == {"EUR", "JPY", "USD"}
    assert eur["EUR"]["total"] == D("600.00") and eur["EUR"]["not_due"] == D("300.00")
    assert eur["EUR"]["d31_60"] == D("200.00") and eur["EUR"]["disputed"] == D("200.00")
    assert eur["JPY"]["d90_plus"] == D("1000") and str(eur["JPY"]["total"]) == "1000"
    assert str(eur["USD"]["total"]) == "12.35"  # quantized by portal.money (ROUND_HALF_UP)
    assert _row(data, rw.buyer)["total"] == D("300.00") and _row(data, rw.buyer2)["total"] == D("300.00")
    assert _row(data, rw.buyer)["disputed"] == D("200.00")
    names = [r["name"] for r in data["customers"]]
    assert names == sorted(names)


def test_statements_do_not_grow_with_invoices(rw, count_queries):
    supplier_id = rw.supplier_a.id
    for i in range(3):
        open_invoice(rw, "10.00", days_late=i * 20, today=AS_OF)
    db.session.expire_all()
    with count_queries() as q:
        aging.aging(supplier_id, AS_OF)
    few = [s for s in q.statements if s.lstrip().upper().startswith("SELECT")]
    for i in range(40):
        open_invoice(rw, "10.00", days_late=i * 3, buyer=rw.buyer2 if i % 2 else rw.buyer, today=AS_OF)
    db.session.expire_all()
    with count_queries() as q:
        data = aging.aging(supplier_id, AS_OF)
    many = [s for s in q.statements if s.lstrip().upper().startswith("SELECT")]
    assert len(many) == len(few) == 1 and q.count <= 2  # one SELECT (+ BEGIN), whatever the number of invoices
    assert sum(t["count"] for t in data["totals"]) == 43


def test_drill_down_lists_one_cell(rw):
    from portal.receivables.models import DunningNotice

    a = open_invoice(rw, "100.00", days_late=40, today=AS_OF)
    open_invoice(rw, "50.00", days_late=35, today=AS_OF, disputed=True)
    open_invoice(rw, "20.00", days_late=5, today=AS_OF)
    open_invoice(rw, "30.00", days_late=40, buyer=rw.buyer2, today=AS_OF)
    db.session.add(DunningNotice(invoice_id=a.id, supplier_company_id=a.supplier_company_id,
                                 buyer_company_id=a.buyer_company_id, level=2, days_late=14, sent_on=AS_OF,
                                 currency="EUR", open_amount=D("100.00")))
    db.session.commit()
    rows = aging.items(rw.supplier_a.id, rw.buyer.id, AS_OF, bucket="d31_60")
    assert [(r["number"], r["open"], r["days_late"], r["dunning_level"], r["disputed"]) for r in rows] == [
        (a.number, D("100.00"), 40, 2, False), (rows[1]["number"], D("50.00"), 35, None, True)]
    assert len(aging.items(rw.supplier_a.id, rw.buyer.id, AS_OF)) == 3
    with pytest.raises(Exception) as exc:
        aging.items(rw.supplier_a.id, rw.buyer.id, AS_OF, bucket="d5_10")
    assert getattr(exc.value, "status", None) == 422


# --------------------------------------------------------------------------------------------- pages

def test_aging_page_csv_and_drill_down(rw, login):
    today = utcnow().date()
    open_invoice(rw, "119.00", days_late=3)
    open_invoice(rw, "238.00", days_late=95)
    c = login(rw.accounts_a)
    page = c.get("/receivables/aging").get_data(as_text=True)
    assert "Receivables aging" in page and rw.buyer.display_name in page
    assert "357.00" in page and "119.00" in page and "238.00" in page
    r = c.get(f"/receivables/aging/{rw.buyer.id}?currency=EUR&bucket=d90_plus")
    assert r.status_code == 200
    body = r.get_data(as_text=True)
    assert "238.00" in body and "119.00" not in body
    assert c.get(f"/receivables/aging/{rw.buyer.id}?bucket=nonsense").status_code == 200  # a sentence, no 500
    csv_resp = c.get("/receivables/aging.csv")
    assert csv_resp.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(csv_resp.get_data(as_text=True))))
    assert rows[0][:4] == ["customer", "customer_id", "currency", "invoices"]
    data = {r[0]: r for r in rows[1:]}
    head = rows[0]
    assert data[rw.buyer.display_name][head.index("d1_30")] == "119.00"
    assert data[rw.buyer.display_name][head.index("d90_plus")] == "238.00"
    assert data["TOTAL"][head.index("total")] == "357.00"
    assert today.isoformat() in csv_resp.headers["Content-Disposition"]


def test_aging_is_the_suppliers_and_drill_down_only_for_customers(rw, login):
    open_invoice(rw, "100.00", days_late=3)
    open_invoice(rw, "55.00", days_late=3, supplier=rw.supplier_b, buyer=rw.buyer2)
    # a buyer company has no receivables pages
    assert login(rw.buyer_accounts).get("/receivables/aging").status_code == 404
    # sales people are not accounts
    assert login(rw.sales_a).get("/receivables/aging").status_code == 403
    c = login(rw.accounts_a)
    assert c.get(f"/receivables/aging/{rw.buyer2.id}").status_code == 404  # not Alpha's customer
    assert c.get(f"/receivables/aging/{rw.supplier_b.id}").status_code == 404
    page = login(rw.accounts_b).get("/receivables/aging").get_data(as_text=True)
    assert "55.00" in page and "100.00" not in page


def test_aging_pdf_through_the_documents_queue(rw, login, run_jobs, tmp_path):
    from portal.documents.models import StoredFile
    from portal.documents.store import read_bytes
    from portal.jobs.models import JobRecord

    open_invoice(rw, "1234.56", days_late=45)
    c = login(rw.accounts_a)
    r = c.post("/receivables/aging/pdf")
    assert r.status_code == 302 and "/jobs/" in r.headers["Location"]
    rec = db.session.scalars(db.select(JobRecord).where(JobRecord.kind == "aging-pdf")).one()
    assert rec.queue == "documents"
    run_jobs()
    db.session.expire_all()
    rec = db.session.get(JobRecord, rec.id)
    assert rec.result_file_id, rec.error
    f = db.session.get(StoredFile, rec.result_file_id)
    assert f.owner_company_id == rw.supplier_a.id and f.party_company_id is None
    pdf = tmp_path / "aging.pdf"
    pdf.write_bytes(read_bytes(f))
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True).stdout
    assert "Receivables aging" in text and rw.buyer.display_name in text and "1,234.56" in text
    assert "31–60" in text
