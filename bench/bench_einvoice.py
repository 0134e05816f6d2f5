"""E-invoicing benchmarks (prints figures; not part of the test suite).

  .venv/bin/python bench/bench_einvoice.py [--pdfs 20] [--xml 500] [--imports 1000]

1. Factur-X next to the plain PDF: the same 20-line invoice snapshot rendered N times by the functions the
   documents worker runs (portal.invoices.pdf.render_invoice for the plain PDF; portal.einvoice.facturx.build for
   PDF/A-3b + CII + XSD check + embedding), in this process after the fonts are loaded. Prints PDFs/s and the
   ratio (the cost of Factur-X over the plain PDF).
2. CII and UBL generation from a snapshot: documents per second (20 lines).
3. Import of N UBL invoices (one line each, distinct numbers) against one shipped order on a throwaway PostgreSQL
   database: parse, XSD, EN 16931 checks, matching, save — invoices per second.
"""
from __future__ import annotations

import argparse
import os
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
REDIS = "redis://127.0.0.1:6379/14"


def rate(n, seconds):
    return n / seconds if seconds else float("inf")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pdfs", type=int, default=20)
    ap.add_argument("--xml", type=int, default=500)
    ap.add_argument("--imports", type=int, default=1000)
    a = ap.parse_args()
    name = f"portal_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(PG, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.engine.make_url(PG).set(database=name).render_as_string(hide_password=False)
    tmp = tempfile.mkdtemp(prefix="bench-einv-")
    # The PDF jobs of the imported invoices are queued on a private Redis database (no worker runs them here).
    os.environ.update(PORTAL_DATABASE_URL=url, PORTAL_INSTANCE_PATH=tmp, PORTAL_JOBS_MODE="rq", REDIS_URL=REDIS)
    from redis import Redis

    Redis.from_url(REDIS).flushdb()
    from flask_migrate import upgrade

    from portal import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "JOBS_MODE": "rq", "REDIS_URL": REDIS,
                      "UPLOAD_FOLDER": os.path.join(tmp, "files")})
    try:
        with app.app_context():
            upgrade()
            run(a)
    finally:
        with app.app_context():
            from portal.db import db

            db.session.remove()
            db.engine.dispose()
        with admin.connect() as c:
            c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        Redis.from_url(REDIS).flushdb()


def run(a):
    from portal.einvoice import cii, facturx, ubl
    from portal.einvoice.document import from_snapshot
    from portal.invoices import pdf
    from tests.einvoice.conftest import make_snapshot

    snap = make_snapshot([(str(10 + i), f"{1 + i * 0.37:.2f}", "0" if i % 3 else "5", "19") for i in range(20)])
    pdf.preload()
    pdf.render_invoice(snap, None), facturx.build(snap)  # warm-up
    t = time.perf_counter()
    for _ in range(a.pdfs):
        pdf.render_invoice(snap, None)
    plain = time.perf_counter() - t
    t = time.perf_counter()
    for _ in range(a.pdfs):
        facturx.build(snap)
    fx = time.perf_counter() - t
    print(f"PDF, 20 lines, {a.pdfs} each: plain {rate(a.pdfs, plain):.1f}/s, Factur-X {rate(a.pdfs, fx):.1f}/s, "
          f"Factur-X costs {fx / plain:.2f}x the plain PDF")
    base, doc = facturx.render_pdfa3(snap), from_snapshot(snap)
    xml = cii.to_xml(doc)
    t = time.perf_counter()
    for _ in range(a.pdfs * 5):
        facturx.embed(base, xml, doc)
    emb = (time.perf_counter() - t) / (a.pdfs * 5)
    print(f"Factur-X embedding alone (XSD check, attachment, XMP): {emb * 1000:.0f} ms per PDF, "
          f"{emb / (plain / a.pdfs) * 100:.0f} % of a plain PDF's rendering time")
    for label, fn in (("CII", cii.to_xml), ("UBL", ubl.to_xml)):
        t = time.perf_counter()
        for _ in range(a.xml):
            fn(from_snapshot(snap))
        print(f"{label} from snapshot, 20 lines: {rate(a.xml, time.perf_counter() - t):.0f}/s")
    imports(a.imports)


def imports(n):
    if n <= 0:
        return
    from portal.db import db
    from portal.einvoice import importing
    from tests import factories
    from tests.einvoice.test_import import FIXTURE
    from tests.invoices.conftest import ship

    buyer = factories.company("buyer", name="Bench Buyer GmbH", vat_number="DE129273398")
    supplier = factories.company("supplier", name="Bench Supplier GmbH", vat_number="DE136695976",
                                 iban="DE89370400440532013000")
    proc = factories.user(buyer, "procurement", email="p@bench.test")
    acc = factories.user(supplier, "accounts", email="a@bench.test")
    order = factories.order(buyer, supplier, proc, status="acknowledged", lines=[(str(n), "2.50"), ("1", "12.00")])
    ship(order, {1: str(n)}, creator=acc)
    template = FIXTURE.read_text(encoding="utf-8")
    # one line per invoice: drop the second line and set the totals for 1 × 2.50 + 19 % VAT
    head, _, rest = template.partition("  <cac:InvoiceLine>\n    <cbc:ID>20</cbc:ID>")
    template = head + "</Invoice>\n"
    template = (template.replace("970.00", "2.50").replace(">250.00<", ">2.50<")
                .replace("{tax}", "0.48").replace("{gross}", "2.98").replace("{qty1}", "1"))
    files = [template.replace("{number}", f"B-{i:05d}").replace("{po}", order.po_number)
             .replace("{seller_vat}", supplier.vat_number).replace("{buyer_vat}", buyer.vat_number)
             .replace("{sku2}", "SKU-002").encode() for i in range(n)]
    t = time.perf_counter()
    for i, data in enumerate(files):
        importing.import_file(acc, data, f"b{i}.xml")
    took = time.perf_counter() - t
    total = db.session.scalar(sa.text("SELECT sum(total_gross) FROM invoices"))
    assert Decimal(total) == Decimal("2.98") * n, total
    print(f"Import of {n} UBL invoices (parse, XSD, EN 16931 checks, match, save; PostgreSQL): {took:.1f} s, "
          f"{rate(n, took):.1f}/s")


if __name__ == "__main__":
    main()
