"""Receivables aging benchmark (prints figures; not part of the test suite).

  .venv/bin/python bench/bench_aging.py [--items 100000] [--customers 500]

A supplier with ``--items`` open invoices (bulk-inserted with one INSERT … SELECT generate_series on a throwaway
PostgreSQL database) spread over ``--customers`` customers, three currencies and due dates from 60 days ahead to
400 days back, plus as many paid invoices that the aging must skip. Prints, for the aging service, the aging
page, its CSV, the API and one customer's drill-down: the statements sent and the median of 7 runs. The
statement counts are the figures that matter (they must not grow with the data); times are upper bounds on a
shared 2-core machine.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PG = os.environ.get("BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def make_db():
    name = f"portal_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(PG, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(sa.text(f'CREATE DATABASE "{name}"'))
    return admin, name, sa.engine.make_url(PG).set(database=name).render_as_string(hide_password=False)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--items", type=int, default=100_000)
    ap.add_argument("--customers", type=int, default=500)
    a = ap.parse_args()
    admin, name, url = make_db()
    tmp = tempfile.mkdtemp(prefix="bench-aging-")
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


def measure(eng, fn, runs: int = 7):
    counts, times = [], []
    for _ in range(runs):
        stmts = []

        def before(conn, cursor, statement, *args):
            stmts.append(statement)

        sa.event.listen(eng, "before_cursor_execute", before)
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
        sa.event.remove(eng, "before_cursor_execute", before)
        counts.append(len(stmts))
    return counts[-1], statistics.median(times) * 1000


def run(app, a):
    from portal.accounts.models import Company, CompanyKind, User
    from portal.accounts.services import hash_password
    from portal.db import db
    from portal.receivables import aging

    s = Company(legal_name="Bench Supplier GmbH", display_name="Bench Supplier", country="DE",
                kind=CompanyKind.supplier, vat_number="DE136695976", iban="DE89370400440532013000",
                address_line1="Hafenstraße 1", postcode="44147", city="Dortmund")
    db.session.add(s)
    db.session.flush()
    buyers = [Company(legal_name=f"Bench Customer {i:03d} GmbH", display_name=f"Customer {i:03d}", country="DE",
                      kind=CompanyKind.buyer, address_line1="Industriestraße 14", postcode="70565", city="Stuttgart")
              for i in range(a.customers)]
    db.session.add_all(buyers)
    u = User(company_id=s.id, email="acc@bench.test", name="Accounts", password_hash=hash_password("bench-pw-123"))
    u.set_roles(["accounts"])
    db.session.add(u)
    db.session.commit()
    first_buyer = min(b.id for b in buyers)
    today = db.session.scalar(sa.select(sa.func.current_date()))
    eng = db.engine
    t0 = time.perf_counter()
    with eng.begin() as c:
        # g odd: open (issued or part-paid); g even: paid (must be skipped). Due dates from +60 to -400 days.
        c.execute(sa.text("""
            INSERT INTO invoices (kind, supplier_company_id, buyer_company_id, series, year, sequence, number, status,
              currency, issue_date, supply_date, due_date, payment_terms_days, buyer_reference, reverse_charge,
              total_net, total_tax, total_gross, paid_amount, credited_amount, notes, created_by_id, lock_version,
              created_at, updated_at)
            SELECT 'invoice', :s, :b0 + ((g / 2) % :nb), 'INV', 2020, g, 'INV-2020-' || lpad(g::text, 7, '0'),
              CASE WHEN g % 2 = 0 THEN 'paid' WHEN g % 7 = 0 THEN 'partially_paid' ELSE 'issued' END,
              CASE WHEN (g / 2) % 10 = 0 THEN 'USD' WHEN (g / 2) % 10 = 5 THEN 'CHF' ELSE 'EUR' END,
              :d + 30 - (g % 461) - 30, :d - (g % 461), :d + 60 - (g % 461), 30, 'PO-' || g, false,
              100 + (g % 97), 19, 119 + (g % 97),
              CASE WHEN g % 2 = 0 THEN 119 + (g % 97) WHEN g % 7 = 0 THEN 50 ELSE 0 END, 0, '', :u, 1, now(), now()
            FROM generate_series(1, :n) g"""),
            {"s": s.id, "b0": first_buyer, "nb": a.customers, "u": u.id, "d": today, "n": a.items * 2})
        c.execute(sa.text("ANALYZE invoices"))
    print(f"Aging: {a.items:,} open items (+ {a.items:,} paid) of {a.customers} customers in 3 currencies, "
          f"inserted in {time.perf_counter() - t0:.1f} s")
    data = aging.aging(s.id)
    print(f"  {len(data['customers'])} customer rows; open items counted: "
          f"{sum(t['count'] for t in data['totals']):,}; totals: "
          + ", ".join(f"{t['currency']} {t['total']:,}" for t in data["totals"]))

    n, ms = measure(eng, lambda: aging.aging(s.id))
    print(f"  aging service           : {n} statements, median {ms:7.1f} ms")
    app.config["WTF_CSRF_ENABLED"] = False
    client = app.test_client()
    client.post("/signin", data={"email": u.email, "password": "bench-pw-123"})
    for label, path in (("aging page", "/receivables/aging"), ("aging CSV", "/receivables/aging.csv"),
                        ("drill-down (1 customer)", f"/receivables/aging/{first_buyer + 1}?currency=EUR"),
                        ("drill-down (>90 bucket)", f"/receivables/aging/{first_buyer + 1}?bucket=d90_plus")):
        def get(path=path):
            r = client.get(path)
            assert r.status_code == 200, (path, r.status_code)

        n, ms = measure(eng, get)
        print(f"  {label:<24}: {n} statements, median {ms:7.1f} ms (whole request)")
    from portal.api.auth import create_token

    _, raw = create_token(u, "bench")
    db.session.commit()

    def api():
        r = client.get("/api/v1/aging", headers={"Authorization": f"Bearer {raw}"})
        assert r.status_code == 200, r.status_code

    n, ms = measure(eng, api)
    print(f"  {'API GET /api/v1/aging':<24}: {n} statements, median {ms:7.1f} ms (whole request)")
    from portal.receivables.dunning import _candidates

    n, ms = measure(eng, lambda: _candidates(today), runs=3)
    print(f"  dunning sweep candidates: {n} statements, median {ms:7.1f} ms")


if __name__ == "__main__":
    main()
