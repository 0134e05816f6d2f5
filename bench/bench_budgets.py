"""Budget view benchmark (prints figures; not part of the test suite).

  .venv/bin/python bench/bench_budgets.py [--lines 100000] [--centres 20] [--usd-every 5]

A buyer with ``--lines`` purchase-order lines (10 per order, every order sent and acknowledged) spread over
``--centres`` cost centres, a fifth of the lines billed on approved invoices and a year budget per cost centre,
bulk-inserted with INSERT … SELECT generate_series on a
throwaway PostgreSQL database. Every ``--usd-every``-th order (and its invoices) is in USD, converted by the
buyer's twelve monthly USD rates (0: all in EUR). Prints, for the figures service, the budget page, its CSV and the API: the statements
sent and the median of 7 runs. The statement counts must not grow with the data; times are upper bounds on a
shared 2-core machine.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.bench_aging import make_db, measure


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", type=int, default=100_000)
    ap.add_argument("--centres", type=int, default=20)
    ap.add_argument("--usd-every", type=int, default=5)
    a = ap.parse_args()
    admin, name, url = make_db()
    tmp = tempfile.mkdtemp(prefix="bench-budgets-")
    os.environ.update(PORTAL_DATABASE_URL=url, PORTAL_JOBS_MODE="inline", PORTAL_INSTANCE_PATH=tmp,
                      PORTAL_UPLOAD_FOLDER=os.path.join(tmp, "files"))
    from flask_migrate import upgrade

    from portal import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "JOBS_MODE": "inline", "REDIS_URL": "",
                      "UPLOAD_FOLDER": os.path.join(tmp, "files")})
    try:
        with app.app_context():
            upgrade()
            run(app, a)
    finally:
        from portal.db import db

        with app.app_context():
            db.engine.dispose()
        with admin.connect() as c:
            c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def run(app, a):
    from datetime import date

    from portal.accounts.models import Company, CompanyKind, User
    from portal.accounts.services import hash_password
    from portal.budgets.figures import figures_for
    from portal.budgets.models import Budget, CostCentre, GlAccount, PeriodKind
    from portal.budgets.services import budgets_of
    from portal.db import db

    buyer = Company(legal_name="Bench Buyer GmbH", display_name="Bench Buyer", country="DE", kind=CompanyKind.buyer,
                    address_line1="Industriestraße 14", postcode="70565", city="Stuttgart")
    supplier = Company(legal_name="Bench Supplier GmbH", display_name="Bench Supplier", country="DE",
                       kind=CompanyKind.supplier, address_line1="Hafenstraße 1", postcode="44147", city="Dortmund")
    db.session.add_all([buyer, supplier])
    db.session.flush()
    u = User(company_id=buyer.id, email="admin@bench.test", name="Admin", password_hash=hash_password("bench-pw-123"))
    u.set_roles(["admin", "procurement"])
    db.session.add(u)
    db.session.flush()
    centres = [CostCentre(company_id=buyer.id, code=f"CC-{i:03d}", name=f"Centre {i}", owner_id=u.id)
               for i in range(a.centres)]
    gl = GlAccount(company_id=buyer.id, code="6300", name="Parts")
    db.session.add_all([*centres, gl])
    db.session.flush()
    year = db.session.scalar(sa.select(sa.func.extract("year", sa.func.current_date())))
    year = int(year)
    for c in centres:
        db.session.add(Budget(company_id=buyer.id, cost_centre_id=c.id, period_kind=PeriodKind.year,
                              period_start=date(year, 1, 1), period_end=date(year, 12, 31), amount=1_000_000,
                              currency="EUR"))
    db.session.commit()
    cc0 = min(c.id for c in centres)
    orders = a.lines // 10
    eng = db.engine
    t0 = time.perf_counter()
    with eng.begin() as c:
        c.execute(sa.text("""
            INSERT INTO purchase_orders (buyer_company_id, supplier_company_id, po_number, source, currency,
              delivery_address, payment_terms_days, notes, status, shipping_amount, total_net, created_by_id,
              internal_notes, revision, lock_version, sent_at, created_at, updated_at)
            SELECT :b, :s, 'PO-B-' || lpad(g::text, 7, '0'), 'catalog',
              CASE WHEN :every > 0 AND g % :every = 0 THEN 'USD' ELSE 'EUR' END, 'x', 30, '', 'acknowledged', 0,
              1000, :u, '', 1, 1, make_date(:y, 1 + g % 12, 1 + g % 28)::timestamptz, now(), now()
            FROM generate_series(1, :n) g"""), {"b": buyer.id, "s": supplier.id, "u": u.id, "y": year, "n": orders,
                                                "every": a.usd_every})
        c.execute(sa.text("""
            INSERT INTO exchange_rates (company_id, currency, rate, valid_from, created_at, updated_at)
            SELECT :b, 'USD', 0.9 + m / 1000.0, make_date(:y, m, 1), now(), now() FROM generate_series(1, 12) m"""),
            {"b": buyer.id, "y": year})
        c.execute(sa.text("""
            INSERT INTO order_lines (order_id, position, description, unit, quantity, unit_price, line_total, ack,
              cost_reference, short_closed_quantity, shipped_quantity, accepted_quantity, rejected_quantity,
              cost_centre_id, gl_account_id)
            SELECT o.id, p, 'Part ' || p, 'pcs', 10, 10, 100, 'accepted', '', 0, 0, 0, 0,
              :cc0 + ((o.id * 10 + p) % :nc), :gl
            FROM purchase_orders o CROSS JOIN generate_series(1, 10) p WHERE o.buyer_company_id = :b"""),
            {"b": buyer.id, "cc0": cc0, "nc": a.centres, "gl": gl.id})
        # a fifth of the lines billed: one approved invoice per line
        c.execute(sa.text("""
            INSERT INTO invoices (kind, supplier_company_id, buyer_company_id, series, year, sequence, number, status,
              order_id, currency, issue_date, supply_date, due_date, payment_terms_days, buyer_reference,
              reverse_charge, total_net, total_tax, total_gross, paid_amount, credited_amount, notes, created_by_id,
              lock_version, approved_for_payment_at, created_at, updated_at)
            SELECT 'invoice', :s, :b, 'INV', :y, ol.id, 'INV-B-' || ol.id, 'issued', ol.order_id, o.currency,
              make_date(:y, 1 + ol.id % 12, 1 + ol.id % 28), NULL, NULL, 30, '', false, 60, 0, 60, 0, 0, '', :u, 1,
              now(), now(), now()
            FROM order_lines ol JOIN purchase_orders o ON o.id = ol.order_id
            WHERE ol.id % 5 = 0"""), {"b": buyer.id, "s": supplier.id, "u": u.id, "y": year})
        c.execute(sa.text("""
            INSERT INTO invoice_lines (invoice_id, position, order_line_id, description, quantity, unit, unit_price,
              discount_percent, tax_rate, net_amount, cost_centre_id, gl_account_id)
            SELECT i.id, 1, i.sequence, 'Part', 6, 'pcs', 10, 0, 0, 60, ol.cost_centre_id, ol.gl_account_id
            FROM invoices i JOIN order_lines ol ON ol.id = i.sequence WHERE i.buyer_company_id = :b"""),
            {"b": buyer.id})
        for t in ("purchase_orders", "order_lines", "invoices", "invoice_lines", "exchange_rates"):
            c.execute(sa.text(f"ANALYZE {t}"))
    n_lines = db.session.scalar(sa.text("SELECT count(*) FROM order_lines"))
    print(f"Budgets: {n_lines:,} purchase-order lines on {orders:,} sent orders, {a.centres} cost centres, "
          f"{n_lines // 5:,} approved invoice lines; inserted in {time.perf_counter() - t0:.1f} s; "
          + (f"every {a.usd_every}th order and its invoices in USD" if a.usd_every else "all in EUR"))
    rows = budgets_of(buyer.id)
    figs = figures_for(buyer.id, "EUR", rows)
    total = sum((f.committed for f in figs.values()), 0)
    actual = sum((f.actual for f in figs.values()), 0)
    print(f"  {len(rows)} budgets; committed {total:,.2f} EUR, actual {actual:,.2f} EUR")
    n, ms = measure(eng, lambda: figures_for(buyer.id, "EUR", budgets_of(buyer.id)))
    print(f"  figures service         : {n} statements, median {ms:7.1f} ms")
    app.config["WTF_CSRF_ENABLED"] = False
    client = app.test_client()
    client.post("/signin", data={"email": u.email, "password": "bench-pw-123"})
    for label, path in (("budget page", "/budgets/"), ("budget CSV", "/budgets/export.csv")):
        def get(path=path):
            r = client.get(path)
            assert r.status_code == 200, (path, r.status_code)
            r.get_data()

        n, ms = measure(eng, get)
        print(f"  {label:<24}: {n} statements, median {ms:7.1f} ms (whole request)")
    from portal.api.auth import create_token

    _, raw = create_token(u, "bench")
    db.session.commit()

    def api():
        r = client.get("/api/v1/budgets", headers={"Authorization": f"Bearer {raw}"})
        assert r.status_code == 200, r.status_code

    n, ms = measure(eng, api)
    print(f"  {'API GET /api/v1/budgets':<24}: {n} statements, median {ms:7.1f} ms (whole request)")
    if a.usd_every:
        compare_currencies(eng, buyer.id, lambda: figures_for(buyer.id, "EUR", budgets_of(buyer.id)))


def compare_currencies(eng, buyer_id, figures):
    """The cost of the conversion, measured in one session on the same rows: the figures with the USD documents
    as they are, then with the same documents relabelled EUR (no rate looked up), interleaved three times."""
    def relabel(to, frm):
        with eng.begin() as c:
            for table in ("purchase_orders", "invoices"):
                c.execute(sa.text(f"UPDATE {table} SET currency = :to WHERE buyer_company_id = :b AND currency = :frm"
                                  ), {"to": to, "frm": frm, "b": buyer_id})
        with eng.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            for table in ("purchase_orders", "invoices"):
                c.execute(sa.text(f"VACUUM ANALYZE {table}"))

    usd_ms, eur_ms = [], []
    for _ in range(3):
        usd_ms.append(measure(eng, figures)[1])
        relabel("EUR", "USD")
        eur_ms.append(measure(eng, figures)[1])
        relabel("USD", "EUR")
    print(f"  conversion cost, same rows, interleaved: figures {sorted(usd_ms)[1]:.1f} ms with the USD documents "
          f"converted vs {sorted(eur_ms)[1]:.1f} ms with them in EUR (x{sorted(usd_ms)[1] / sorted(eur_ms)[1]:.2f})")


if __name__ == "__main__":
    main()
