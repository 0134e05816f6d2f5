"""A company's trading partners are read by skip scan (portal.db.distinct_values): one index probe per partner,
whatever the number of documents. Same answer as a plain DISTINCT, including the filters (a supplier never learns
of a buyer whose orders to it were never sent); on PostgreSQL the plan walks the pair index."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from portal.db import db, distinct_values
from tests import factories


@pytest.fixture
def trade(world):
    third = factories.company("buyer", name="Gamma Buying AG")
    gamma = factories.user(third, "procurement", email="p@gamma.test")
    for _ in range(3):
        factories.order(world.buyer, world.supplier_a, world.procurement, status="acknowledged")
    factories.order(world.buyer, world.supplier_b, world.procurement, status="placed")
    factories.order(third, world.supplier_a, gamma, status="draft")  # never sent: Alpha must not see Gamma
    factories.order(third, world.supplier_b, gamma, status="acknowledged")
    return world, third


def _plain(column, *criteria):
    return sorted(db.session.scalars(sa.select(column).distinct().where(*criteria, column.is_not(None))))


def test_skip_scan_gives_what_distinct_gives(trade):
    from portal.orders.models import PurchaseOrder as PO

    w, third = trade
    cases = [
        (PO.buyer_company_id, PO.supplier_scope(w.supplier_a.id)),
        (PO.buyer_company_id, PO.supplier_scope(w.supplier_b.id)),
        (PO.supplier_company_id, PO.buyer_company_id == w.buyer.id),
        (PO.supplier_company_id, PO.buyer_company_id == third.id),
        (PO.supplier_company_id, PO.buyer_company_id == 999999),
    ]
    for column, criterion in cases:
        assert list(db.session.scalars(distinct_values(column, criterion))) == _plain(column, criterion)
    assert list(db.session.scalars(distinct_values(PO.buyer_company_id, PO.supplier_scope(w.supplier_a.id)))) \
        == [w.buyer.id]  # Gamma's unsent draft is not a trading relationship Alpha may see
    assert list(db.session.scalars(distinct_values(PO.supplier_company_id, PO.buyer_company_id == third.id))) \
        == sorted([w.supplier_a.id, w.supplier_b.id])


def test_credit_pages_know_the_buyers_by_skip_scan(trade):
    from portal.credit.services import known_buyer_ids, terms_for_buyer

    w, third = trade
    assert known_buyer_ids(w.supplier_a.id) == {w.buyer.id}
    assert known_buyer_ids(w.supplier_b.id) == {w.buyer.id, third.id}
    assert {t["supplier"].id for t in terms_for_buyer(third.id)} == {w.supplier_a.id, w.supplier_b.id}


@pytest.mark.postgres
def test_the_skip_scan_walks_the_pair_index(trade):
    from portal.orders.models import PurchaseOrder as PO

    w, _ = trade
    stmt = distinct_values(PO.buyer_company_id, PO.supplier_scope(w.supplier_a.id))
    sql = str(stmt.compile(db.engine, compile_kwargs={"literal_binds": True}))
    with db.engine.connect() as conn:
        conn.execute(sa.text("SET enable_seqscan = off"))  # a few rows: the planner would rather read the table
        plan = "\n".join(r[0] for r in conn.execute(sa.text("EXPLAIN " + sql)))
    assert "ix_purchase_orders_supplier_buyer_sent" in plan, plan
