"""Dashboard tiles cost the same whatever the company's history (issue 20): counts stop at the cap and show
"99+", the overdue amounts are summed only within the cap (above it the tile links to the list's count and totals
on request), and the look-ups read the indexes made for them (EXPLAIN on PostgreSQL)."""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from portal.db import db, utcnow
from tests import factories
from tests.invoices.conftest import issued_for, ship


def _panels(app, user):
    from portal.invoices.panels import panels

    with app.test_request_context():
        return {p["title"]: p for p in panels(db.session.merge(user))}


def _overdue_invoices(iw, n):
    from portal.invoices.models import Invoice

    order = factories.order(iw.buyer, iw.supplier_a, iw.procurement, status="acknowledged",
                            lines=[("1", "10.00")] * n)
    invs = [issued_for(iw, shipment=ship(order, {pos: "1"}, creator=iw.sales_a)) for pos in range(1, n + 1)]
    # issued invoices are immutable through the ORM; time passing is simulated in SQL, as in test_core
    db.session.execute(db.update(Invoice).where(Invoice.id.in_([i.id for i in invs]))
                       .values(due_date=utcnow().date() - timedelta(days=3)))
    db.session.commit()
    return invs


def test_counts_stop_at_the_cap_and_the_sums_are_exact_within_it(app, iw, monkeypatch, login):
    from portal.dashboard import counting

    _overdue_invoices(iw, 3)
    p = _panels(app, iw.buyer_accounts)
    assert p["Overdue payables"]["count"] == 3
    assert p["Overdue payables"]["items"][0][0] == "Owed: €35.70"  # 3 × 10.00 + 19 % VAT, summed exactly
    assert p["Invoices to check and approve"]["count"] == 3
    assert _panels(app, iw.accounts_a)["Overdue receivables"]["items"][0][0] == "Open: €35.70"

    monkeypatch.setattr(counting, "CAP", 2)
    p = _panels(app, iw.buyer_accounts)
    assert p["Overdue payables"]["count"] == 3  # cap + 1: "more than the cap"
    assert p["Overdue payables"]["items"] == [("Show count and totals", "/invoices/?status=overdue&totals=1")]
    assert p["Invoices to check and approve"]["count"] == 3 and len(p["Invoices to check and approve"]["items"]) == 3
    html = login(iw.buyer_accounts).get("/dashboard").get_data(as_text=True)
    assert '<span class="panel-count" data-testid="panel-count">2+</span>' in html
    # the list computes the exact figures on request
    page = login(iw.buyer_accounts).get("/invoices/?status=overdue&totals=1").get_data(as_text=True)
    assert "35.70" in page


def test_the_count_is_the_same_as_an_uncapped_count_below_the_cap(app, iw):
    from portal.dashboard.counting import capped_count
    from portal.invoices.models import Invoice

    _overdue_invoices(iw, 2)
    stmt = sa.select(Invoice.id).where(Invoice.buyer_company_id == iw.buyer.id)
    full = db.session.scalar(sa.select(sa.func.count()).select_from(stmt.subquery()))
    assert capped_count(stmt) == full == 2
    assert capped_count(stmt, cap=1) == 2 and capped_count(stmt, cap=0) == 1


@pytest.mark.postgres
def test_the_tiles_read_their_indexes(app, iw):
    """With sequential scans priced out, each tile's look-up is an index scan that reads the rows in the tile's
    order (the plans the benchmark prints): no sort of every matching invoice, however many share a due date."""
    from portal.credit.ledger import overdue_clause
    from portal.invoices.models import DocumentKind, Invoice
    from portal.invoices.services import OPEN_STATUSES

    to_approve = sa.select(Invoice.id).where(
        Invoice.buyer_company_id == iw.buyer.id, Invoice.kind == DocumentKind.invoice,
        Invoice.status.in_(OPEN_STATUSES), Invoice.approved_for_payment_at.is_(None)
    ).order_by(Invoice.due_date, Invoice.id).limit(5)
    overdue = sa.select(Invoice.id).where(Invoice.buyer_company_id == iw.buyer.id, overdue_clause()).limit(100)
    db.session.execute(sa.text("SET LOCAL enable_seqscan = off"))
    # The overdue look-up has no order: on a table this small the planner may take either index that starts with
    # (buyer, status) depending on the statistics autovacuum has gathered so far (the whole suite's run took
    # (buyer, status, id)); on a large table the due-date range makes (buyer, status, due_date) the cheaper one.
    for stmt, indexes in ((to_approve, ("ix_invoices_buyer_to_approve",)),
                          (overdue, ("ix_invoices_buyer_status_due", "ix_invoices_buyer_status_id"))):
        sql = str(stmt.compile(db.engine, compile_kwargs={"literal_binds": True}))
        plan = "\n".join(r[0] for r in db.session.execute(sa.text("EXPLAIN " + sql)))
        assert any(f"Index Scan using {i} " in plan or f"Index Only Scan using {i} " in plan for i in indexes), plan
        assert "Seq Scan" not in plan and "Sort" not in plan, plan  # read in order: no sort of the matching rows
    db.session.rollback()
