"""Every list page and list endpoint (UI and API) sends the same number of SQL statements whatever the number of
documents it shows: counted for each route at two data sizes (each document with lines, invitations, quotes,
shipments, payments, notifications). A per-row lazy load (N+1) makes the second count larger and fails here."""
from __future__ import annotations

import pytest

from portal.db import db, utcnow
from tests import factories
from tests.invoices.conftest import IBAN, ship

# (who, path): who is a person of tests.factories.World
UI_ROUTES = [
    ("procurement", "/rfqs/"),
    ("sales_a", "/rfqs/"),
    ("sales_a", "/quotes"),
    ("procurement", "/orders/"),
    ("sales_a", "/orders/"),
    ("approver", "/orders/approvals"),
    ("buyer_accounts", "/invoices/"),
    ("accounts_a", "/invoices/"),
    ("accounts_a", "/invoices/?kind=credit_note"),
    ("procurement", "/notifications/"),
    ("buyer_admin", "/jobs/"),
    ("accounts_a", "/credit/accounts"),
    ("accounts_a", "/credit/holds"),
    ("procurement", "/dashboard"),
    ("sales_a", "/dashboard"),
    ("buyer_accounts", "/dashboard"),
    ("accounts_a", "/dashboard"),
    # keyset pages (oldest first), totals on request, and the other pages that list the grown documents
    ("procurement", "/rfqs/?before=0"),
    ("procurement", "/orders/?before=0"),
    ("buyer_accounts", "/invoices/?before=0"),
    ("accounts_a", "/invoices/?totals=1"),
    ("accounts_a", "/invoices/?status=overdue"),
    ("accounts_a", "/receivables/aging"),
    ("buyer_accounts", "/payables/"),
    ("sales_a", "/suppliers/my-buyers"),
    ("procurement", "/catalog/suppliers"),
]
API_ROUTES = [
    ("procurement", "/api/v1/rfqs"),
    ("sales_a", "/api/v1/rfqs"),
    ("procurement", "/api/v1/orders"),
    ("sales_a", "/api/v1/orders"),
    ("buyer_accounts", "/api/v1/invoices"),
    ("accounts_a", "/api/v1/invoices"),
    ("accounts_a", "/api/v1/credit-notes"),
    ("procurement", "/api/v1/notifications"),
    ("procurement", "/api/v1/companies"),
    ("accounts_a", "/api/v1/aging"),
    ("accounts_a", "/api/v1/credit-holds"),
    ("accounts_a", "/api/v1/credit-accounts"),
    ("buyer_admin", "/api/v1/jobs"),
    ("procurement", "/api/v1/events"),
    ("accounts_a", "/api/v1/events"),
]


def _grow(w, n: int) -> None:
    """Add n of each kind of document the lists show, each with its children."""
    from portal.invoices import services as invoices
    from portal.jobs.models import JobRecord, JobStatus
    from portal.notifications.services import notify

    for _ in range(n):
        r = factories.rfq(w.buyer, w.procurement, lines=3, suppliers=[w.supplier_a, w.supplier_b])
        factories.quote(r, w.supplier_a, w.sales_a)
        factories.order(w.buyer, w.supplier_a, w.procurement, status="awaiting_approval")
        factories.order(w.buyer, w.supplier_a, w.procurement, status="credit_hold")
        o = factories.order(w.buyer, w.supplier_a, w.procurement, status="acknowledged",
                            lines=[("10", "2.50"), ("4", "12.00"), ("1", "99.00")])
        sh = ship(o, {1: "10", 2: "4", 3: "1"}, creator=w.sales_a, days_ago=40)
        inv = invoices.create_draft(w.accounts_a, shipment_id=sh.id)
        inv = invoices.issue(inv, w.accounts_a, inv.lock_version)
        invoices.record_payment(inv, w.accounts_a, inv.lock_version, amount="10.00",
                                paid_on=utcnow().date().isoformat(), reference="part")
        db.session.refresh(inv)
        invoices.create_credit_note(inv, w.accounts_a, inv.lock_version, amount="1.00", tax_rate="19",
                                    reason="goodwill", reason_kind="other")
        notify([w.procurement, w.buyer_accounts], kind="rfq", title=f"Note {r.id}", body="b", link="/rfqs/")
        db.session.add(JobRecord(kind="members-csv", title="Member list", func="x", args=[], queue="default",
                                 company_id=w.buyer.id, user_id=w.buyer_admin.id, status=JobStatus.succeeded))
        db.session.commit()


@pytest.fixture
def lw(world):
    world.supplier_a.iban = IBAN
    world.supplier_a.vat_number = "DE136695976"
    world.buyer.vat_number = "DE129273398"
    db.session.commit()
    return world


def _counts(routes, get, count_queries):
    out = {}
    for who, path in routes:
        with count_queries() as q:
            resp = get(who, path)
        assert resp.status_code == 200, (who, path, resp.status_code, resp.get_data(as_text=True)[:300])
        out[(who, path)] = q.count
    return out


def test_every_list_sends_the_same_statements_for_2_and_6_documents(lw, login, count_queries, app):
    from portal.api.auth import create_token

    clients = {}
    headers = {}

    def get(who, path):
        if path.startswith("/api/"):
            if who not in headers:
                headers[who] = {"Authorization": f"Bearer {create_token(getattr(lw, who), 'lists')[1]}"}
            return app.test_client().get(path, headers=headers[who])
        if who not in clients:
            clients[who] = login(getattr(lw, who))
        return clients[who].get(path)

    routes = UI_ROUTES + API_ROUTES
    _grow(lw, 2)
    _counts(routes, get, count_queries)  # warm-up: caches, first-request work
    small = _counts(routes, get, count_queries)
    _grow(lw, 4)
    large = _counts(routes, get, count_queries)
    grew = {k: (small[k], large[k]) for k in small if large[k] != small[k]}
    assert not grew, f"statements grew with the data (2 -> 6 documents of each kind): {grew}"


def test_postgresql_connections_plan_each_statement_for_its_parameters(tmp_path, monkeypatch, app):
    """No generic plans (bench/bench_dashboards.py: a prepared count switched to a 22-second generic plan)."""
    import sqlalchemy as sa

    from portal.config import load_config

    monkeypatch.setenv("PORTAL_DATABASE_URL", "postgresql://postgres@db.example.com/portal")
    opts = load_config(str(tmp_path))["SQLALCHEMY_ENGINE_OPTIONS"]
    assert opts["connect_args"] == {"options": "-c plan_cache_mode=force_custom_plan", "connect_timeout": 5}
    monkeypatch.setenv("PORTAL_DATABASE_URL", f"sqlite:///{tmp_path / 'x.db'}")
    assert "connect_args" not in load_config(str(tmp_path))["SQLALCHEMY_ENGINE_OPTIONS"]

    url = app.config["SQLALCHEMY_DATABASE_URI"]
    if url.startswith("postgresql"):  # and the server takes it
        engine = sa.create_engine(url, connect_args=opts["connect_args"])
        with engine.connect() as conn:
            assert conn.execute(sa.text("SHOW plan_cache_mode")).scalar() == "force_custom_plan"
        engine.dispose()
