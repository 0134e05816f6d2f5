"""Invoice rendering and list benchmarks (prints figures; not part of the test suite).

  .venv/bin/python bench/bench_invoices.py [--invoices 200] [--list-size 100000]

1. PDF throughput: 200 typical invoices (20 lines) and one of 1,000 lines rendered through the documents queue
   by two RQ SimpleWorker subprocesses (Redis DB 13, a throwaway PostgreSQL database), against WeasyPrint alone
   rendering the same HTML in a loop in this process. Prints invoices/s and the ratio per worker.
2. The invoice list of a supplier with 100,000 invoices (bulk insert): statements and median time for pages
   1, 100 and the last.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PG = os.environ.get("BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
REDIS = "redis://127.0.0.1:6379/13"


def make_db():
    name = f"portal_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(PG, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(sa.text(f'CREATE DATABASE "{name}"'))
    return admin, name, sa.engine.make_url(PG).set(database=name).render_as_string(hide_password=False)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--invoices", type=int, default=200)
    ap.add_argument("--list-size", type=int, default=100_000)
    ap.add_argument("--workers", type=int, default=2)
    a = ap.parse_args()
    admin, name, url = make_db()
    tmp = tempfile.mkdtemp(prefix="bench-inv-")
    env = dict(os.environ, PORTAL_DATABASE_URL=url, REDIS_URL=REDIS, PORTAL_JOBS_MODE="rq",
               PORTAL_INSTANCE_PATH=tmp, PORTAL_UPLOAD_FOLDER=os.path.join(tmp, "files"))
    os.environ.update(env)
    from redis import Redis

    Redis.from_url(REDIS).flushdb()
    from flask_migrate import upgrade

    from portal import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": REDIS, "JOBS_MODE": "rq",
                      "UPLOAD_FOLDER": os.path.join(tmp, "files")})
    procs = []
    try:
        with app.app_context():
            upgrade()
            run(app, a, env, procs, url)
    finally:
        for p in procs:
            p.terminate()
        from portal.db import db

        with app.app_context():
            db.engine.dispose()
        with admin.connect() as c:
            c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        Redis.from_url(REDIS).flushdb()


def world():
    from portal.accounts.models import Company, CompanyKind, User
    from portal.db import db

    s = Company(legal_name="Bench Supplier GmbH", display_name="Bench Supplier", country="DE", kind=CompanyKind.supplier,
                vat_number="DE136695976", iban="DE89370400440532013000", address_line1="Hafenstraße 1",
                postcode="44147", city="Dortmund")
    b = Company(legal_name="Bench Buyer GmbH", display_name="Bench Buyer", country="DE", kind=CompanyKind.buyer,
                vat_number="DE129273398", address_line1="Industriestraße 14", postcode="70565", city="Stuttgart")
    db.session.add_all([s, b])
    db.session.flush()
    u = User(company_id=s.id, email="acc@bench.test", name="Accounts", password_hash="x")
    u.set_roles(["accounts"])
    db.session.add(u)
    db.session.commit()
    return s, b, u


def drafts(s, b, u, n, lines):
    from portal.db import db, utcnow
    from portal.invoices.models import Invoice, InvoiceLine

    rows = [dict(kind="invoice", supplier_company_id=s.id, buyer_company_id=b.id, series="INV", status="draft",
                 currency="EUR", payment_terms_days=30, buyer_reference=f"PO-{i}", reverse_charge=False,
                 total_net=0, total_tax=0, total_gross=0, paid_amount=0, credited_amount=0, notes="",
                 created_by_id=u.id, lock_version=1, created_at=utcnow(), updated_at=utcnow()) for i in range(n)]
    ids = list(db.session.scalars(sa.insert(Invoice).returning(Invoice.id), rows))
    db.session.execute(sa.insert(InvoiceLine), [
        dict(invoice_id=i, position=p, sku=f"NS-{p:04d}", description=f"Hex bolt M{8 + p % 8}×{40 + p} DIN 933 8.8 zinc",
             quantity=Decimal(100 + p), unit="pcs", unit_price=Decimal("0.1840"), discount_percent=0,
             tax_rate=Decimal("19"), net_amount=0) for i in ids for p in range(1, lines + 1)])
    db.session.commit()
    return ids


def run(app, a, env, procs, url):
    from portal.db import db
    from portal.invoices import pdf, services
    from portal.invoices.models import Invoice

    s, b, u = world()
    ids = drafts(s, b, u, a.invoices, 20) + drafts(s, b, u, 1, 1000)
    for i in ids:  # issue each (snapshot + PDF job enqueued after commit to the documents queue)
        inv = db.session.get(Invoice, i)
        services.compute_totals(inv)
        db.session.commit()
        services.issue(inv, u, inv.lock_version)
    snaps = [db.session.get(Invoice, i).snapshot for i in ids]

    # --- WeasyPrint alone, same HTML, one process (fonts and stylesheets cached the same way)
    pdf.preload()
    htmls = [pdf.invoice_html(sn, None) for sn in snaps]
    t0 = time.perf_counter()
    for h in htmls:
        pdf.html_to_pdf(h)
    alone = time.perf_counter() - t0

    # --- the documents queue with N SimpleWorker subprocesses
    code = ("import sys; sys.path.insert(0, %r)\n"
            "from portal import create_app; from portal.invoices import pdf\n"
            "app = create_app()\n"
            "import portal.jobs.queue as q; q._worker_app = app\n"
            "with app.app_context(): pdf.preload()\n"
            "from rq import SimpleWorker; from redis import Redis\n"
            "w = SimpleWorker(['documents'], connection=Redis.from_url(%r))\n"
            "w.work(burst=True, logging_level='WARNING', with_scheduler=False)\n") % (str(ROOT), REDIS)
    t0 = time.perf_counter()
    for _ in range(a.workers):
        procs.append(subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL))
    for p in procs:
        p.wait()
    queued = time.perf_counter() - t0
    db.session.expire_all()
    done = db.session.scalar(sa.select(sa.func.count(Invoice.id)).where(Invoice.pdf_file_id.is_not(None)))
    n = len(ids)
    rate_alone = n / alone
    rate_q = done / queued
    print(f"PDF: {n} invoices ({a.invoices} × 20 lines + 1 × 1,000 lines)")
    print(f"  WeasyPrint alone, 1 process : {alone:7.2f} s  {rate_alone:6.2f} invoices/s")
    print(f"  documents queue, {a.workers} workers  : {queued:7.2f} s  {rate_q:6.2f} invoices/s "
          f"({done} rendered; includes worker start-up)")
    print(f"  per worker: {rate_q / a.workers:6.2f} invoices/s = {rate_q / a.workers / rate_alone:5.0%} of WeasyPrint alone")

    # --- the list of a supplier with many invoices
    today = db.session.scalar(sa.select(sa.func.current_date()))
    eng = db.engine
    with eng.begin() as c:
        c.execute(sa.text("""
            INSERT INTO invoices (kind, supplier_company_id, buyer_company_id, series, year, sequence, number, status,
              currency, issue_date, supply_date, due_date, payment_terms_days, buyer_reference, reverse_charge,
              total_net, total_tax, total_gross, paid_amount, credited_amount, notes, created_by_id, lock_version,
              created_at, updated_at)
            SELECT 'invoice', :s, :b, 'INV', 2020, g, 'INV-2020-' || lpad(g::text, 6, '0'),
              CASE WHEN g % 3 = 0 THEN 'paid' ELSE 'issued' END, 'EUR', :d - (g % 400), :d - (g % 400),
              :d - (g % 400) + 30, 30, 'PO-' || g, false, 100, 19, 119,
              CASE WHEN g % 3 = 0 THEN 119 ELSE 0 END, 0, '', :u, 1, now(), now()
            FROM generate_series(1, :n) g"""), {"s": s.id, "b": b.id, "u": u.id, "d": today, "n": a.list_size})
        c.execute(sa.text("ANALYZE invoices"))
    client = app.test_client()
    with app.test_request_context():
        pass

    app.config["LOGIN_DISABLED"] = False
    from portal.accounts.services import hash_password

    u.password_hash = hash_password("bench-password-123")
    db.session.commit()
    app.config["WTF_CSRF_ENABLED"] = False
    client.post("/signin", data={"email": u.email, "password": "bench-password-123"})
    total = db.session.scalar(sa.select(sa.func.count(Invoice.id)).where(Invoice.supplier_company_id == s.id))
    last = -(-total // services.PAGE_SIZE)
    print(f"List: supplier with {total:,} invoices, {services.PAGE_SIZE} per page")
    for page in (1, 100, last):
        counts, times = [], []
        for _ in range(7):
            stmts = []

            def before(conn, cursor, statement, *args):
                stmts.append(statement)

            sa.event.listen(eng, "before_cursor_execute", before)
            t0 = time.perf_counter()
            r = client.get(f"/invoices/?page={page}")
            times.append(time.perf_counter() - t0)
            sa.event.remove(eng, "before_cursor_execute", before)
            counts.append(len(stmts))
            assert r.status_code == 200, r.status_code
        print(f"  page {page:>5}: {counts[-1]} statements, median {statistics.median(times) * 1000:6.1f} ms")


if __name__ == "__main__":
    main()
