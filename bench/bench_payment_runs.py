"""Payment run benchmark (prints figures; not part of the test suite).

  .venv/bin/python bench/bench_payment_runs.py [--invoices 10000] [--suppliers 500] [--repeat 3]
  BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/postgres  (default: a throwaway SQLite file)

A buyer with --invoices approved, open, due invoices from --suppliers suppliers (each with a valid IBAN), bulk
inserted. Measures: building the run by due date (rows locked, discounts computed, items written), the number of
SQL statements per build (must not grow with the invoices: the script also builds a run of a tenth of them and
compares), approval (re-check under lock), and export (the pain.001.001.09 file built with sepaxml and validated
against its XSD, then stored). The supplier side's aging report is another engineer's benchmark.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def de_iban(n: int) -> str:
    bban = f"37040044{n:010d}"
    check = 98 - int(bban + "131400") % 97
    return f"DE{check:02d}{bban}"


def make_db():
    pg = os.environ.get("BENCH_DATABASE_URL")
    if not pg:
        tmp = tempfile.mkdtemp(prefix="bench-pr-")
        return None, None, f"sqlite:///{tmp}/bench.db", tmp
    pg = pg.replace("postgresql://", "postgresql+psycopg://", 1)
    name = f"portal_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(pg, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(sa.text(f'CREATE DATABASE "{name}"'))
    return admin, name, sa.engine.make_url(pg).set(database=name).render_as_string(hide_password=False), \
        tempfile.mkdtemp(prefix="bench-pr-")


def populate(n_invoices: int, n_suppliers: int):
    from portal.accounts.models import Company, CompanyKind, User
    from portal.accounts.services import hash_password
    from portal.db import db, utcnow
    from portal.invoices.models import Invoice

    buyer = Company(legal_name="Bench Buyer GmbH", display_name="Bench Buyer", country="DE", kind=CompanyKind.buyer,
                    iban=de_iban(999_999), bic="COBADEFFXXX", vat_number="DE000000001")
    db.session.add(buyer)
    db.session.flush()
    pw = hash_password("bench-password-1")
    builder = User(company_id=buyer.id, email="builder@bench.test", name="Builder", password_hash=pw)
    builder.set_roles(["accounts"])
    approver = User(company_id=buyer.id, email="approver@bench.test", name="Approver", password_hash=pw)
    approver.set_roles(["approver"])
    db.session.add_all([builder, approver])
    db.session.flush()
    now = utcnow()
    db.session.execute(sa.insert(Company), [
        {"legal_name": f"Supplier {i} GmbH", "display_name": f"Supplier {i}", "country": "DE", "kind": "supplier",
         "iban": de_iban(i), "bic": "COBADEFFXXX", "created_at": now, "updated_at": now, "default_currency": "EUR",
         "categories": "", "address_line1": "", "address_line2": "", "postcode": "", "city": "",
         "approval_escalation_days": 3} for i in range(1, n_suppliers + 1)])
    sup_ids = list(db.session.scalars(sa.select(Company.id).where(Company.kind == CompanyKind.supplier)
                                      .order_by(Company.id)))
    today = now.date()
    rows = []
    for k in range(n_invoices):
        sid = sup_ids[k % len(sup_ids)]
        seq = k // len(sup_ids) + 1
        net = Decimal(100 + k % 900) + Decimal(k % 100) / 100
        tax = (net * Decimal("0.19")).quantize(Decimal("0.01"))
        rows.append({"kind": "invoice", "supplier_company_id": sid, "buyer_company_id": buyer.id, "series": "INV",
                     "year": today.year, "sequence": seq, "number": f"INV-{today.year}-{seq:06d}", "status": "issued",
                     "currency": "EUR", "issue_date": today - timedelta(days=35), "supply_date": today - timedelta(days=35),
                     "due_date": today - timedelta(days=5), "payment_terms_days": 30, "buyer_reference": "",
                     "reverse_charge": False, "total_net": net, "total_tax": tax, "total_gross": net + tax,
                     "paid_amount": Decimal(0), "credited_amount": Decimal(0), "notes": "",
                     "created_by_id": builder.id, "issued_at": now, "approved_for_payment_at": now,
                     "lock_version": 1, "created_at": now, "updated_at": now})
    for i in range(0, len(rows), 2000):
        db.session.execute(sa.insert(Invoice), rows[i:i + 2000])
    db.session.commit()
    return buyer.id, builder.id, approver.id


def counted(engine):
    class C:
        n = 0

    c = C()

    def before(*_a, **_k):
        c.n += 1

    sa.event.listen(engine, "before_cursor_execute", before)
    return c, lambda: sa.event.remove(engine, "before_cursor_execute", before)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--invoices", type=int, default=10_000)
    ap.add_argument("--suppliers", type=int, default=500)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    admin, name, url, tmp = make_db()
    os.environ.update(PORTAL_DATABASE_URL=url, PORTAL_JOBS_MODE="inline", PORTAL_INSTANCE_PATH=tmp,
                      PORTAL_UPLOAD_FOLDER=os.path.join(tmp, "files"))
    from flask_migrate import upgrade

    from portal import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "JOBS_MODE": "inline",
                      "UPLOAD_FOLDER": os.path.join(tmp, "files")})
    try:
        with app.app_context():
            upgrade()
            run(a)
    finally:
        if admin is not None:
            from portal.db import db

            with app.app_context():
                db.engine.dispose()
            with admin.connect() as c:
                c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def run(a):
    from portal.accounts.models import User
    from portal.db import db, utcnow
    from portal.invoices.models import Invoice
    from portal.payables import runs

    t0 = time.perf_counter()
    buyer_id, builder_id, approver_id = populate(a.invoices, a.suppliers)
    print(f"database: {db.engine.dialect.name}; {a.invoices:,} approved invoices of {a.suppliers} suppliers "
          f"inserted in {time.perf_counter() - t0:.1f} s")
    due_by = utcnow().date()
    builds, counts = [], []
    for _ in range(a.repeat):
        db.session.expire_all()
        c, stop = counted(db.engine)
        t = time.perf_counter()
        r = runs.build_run(db.session.get(User, builder_id), due_by=due_by)
        builds.append(time.perf_counter() - t)
        stop()
        counts.append(c.n)
        assert len(r.included) == a.invoices
        runs.cancel_run(r, db.session.get(User, approver_id))
    print(f"build a run of {a.invoices:,} invoices (by due date): median {statistics.median(builds):.2f} s "
          f"of {a.repeat}; {counts[-1]} SQL statements")
    # the same with a tenth of the invoices, by id: statements must not grow with the invoices
    ids = list(db.session.scalars(sa.select(Invoice.id).order_by(Invoice.id).limit(a.invoices // 10)))
    db.session.expire_all()
    c, stop = counted(db.engine)
    small = runs.build_run(db.session.get(User, builder_id), invoice_ids=ids)
    stop()
    print(f"build a run of {len(ids):,} invoices (by id): {c.n} SQL statements")
    runs.cancel_run(small, db.session.get(User, approver_id))
    r = runs.build_run(db.session.get(User, builder_id), due_by=due_by)
    db.session.expire_all()
    c, stop = counted(db.engine)
    t = time.perf_counter()
    r, _ = runs.approve_run(db.session.get(type(r), r.id), db.session.get(User, approver_id))
    ta = time.perf_counter() - t
    stop()
    print(f"approve (re-check {a.invoices:,} invoices under lock): {ta:.2f} s; {c.n} SQL statements")
    db.session.expire_all()
    c, stop = counted(db.engine)
    t = time.perf_counter()
    r, _ = runs.export_run(db.session.get(type(r), r.id), db.session.get(User, approver_id))
    te = time.perf_counter() - t
    stop()
    data = runs.sepa_bytes(r)
    print(f"export: SEPA file of {a.suppliers} transfers ({len(data) / 1024:.0f} KB), built with sepaxml, validated "
          f"against the pain.001.001.09 XSD and stored: {te:.2f} s; {c.n} SQL statements; total "
          f"{r.total_amount} {r.currency}")


if __name__ == "__main__":
    main()
