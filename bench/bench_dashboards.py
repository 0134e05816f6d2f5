"""Lists and dashboards of a busy supplier and buyer at growing history (prints figures; not a test).

  .venv/bin/python bench/bench_dashboards.py [--sizes 1000,10000] [--explain]

For each size a throwaway PostgreSQL database with one supplier and one buyer, filled by bulk SQL (not the
services; PostgreSQL generates the rows, one INSERT … SELECT per table, so 100,000 orders take about half a minute):
SIZE acknowledged orders of 5 lines, each shipped in two shipments; 80 %
of the shipments invoiced per shipment, 10 % of the orders invoiced per order, the rest waiting. Then each page is
requested 7 times as its person, each request in a fresh application and request context with the session cookie
the real sign-in form gave (as gunicorn serves it: nothing kept between requests), and the median server time and
the statements are printed, then the growth factor from the smallest to the largest size. The portal's
PostgreSQL connections use custom plans (``plan_cache_mode=force_custom_plan``, portal/config.py): without it,
after a few executions a prepared count statement can switch to a generic plan that is orders of magnitude slower
for a company with most of the rows.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_invoices import make_db, world  # noqa: E402  (same throwaway database and companies)


def build(s, b, u, n_orders: int, verify_kept: bool = False) -> dict:
    """SIZE orders seeded by PostgreSQL itself: one ``INSERT … SELECT … generate_series`` per table, each joined to
    the rows inserted just before it (numbered by id), so no row passes through Python. Every column the ORM would
    fill from a Python-side default is given explicitly. The rows are the ones the former Python build made (same
    ids, values and kept figures, compared row by row at 15, 1,000 and 1,003 orders): order i has number
    PO-B-{i:06d}, five lines of 10 shipped in two shipments of 5 per line (shipment k of order k // 2, DN-B-{k:07d},
    shipped ``now - (k % 300)`` days); an invoice per shipment for the shipments with k % 10 < 8 outside the last
    10 % of orders, then one invoice per order for those last 10 %, numbered INV-2026-000001 on in that order."""
    from portal.db import db, utcnow

    now = utcnow()
    # the orders of the last 10 % (from this index on) are invoiced per order: order_ids[-n_orders // 10:]
    per_order_from = n_orders - len(range(n_orders)[-n_orders // 10:])
    p = {"s": s.id, "b": b.id, "u": u.id, "n": n_orders, "now": now, "today": now.date(),
         "due": now.date() + timedelta(days=30), "per_from": per_order_from}
    # the rows already inserted, numbered in id order: order i (0-based), shipment k (order k // 2)
    orders = ("o AS (SELECT id, row_number() OVER (ORDER BY id) - 1 AS i FROM purchase_orders"
              " WHERE supplier_company_id = :s)")
    ships = ("sh AS (SELECT id, order_id, row_number() OVER (ORDER BY id) - 1 AS k FROM shipments"
             " WHERE supplier_company_id = :s)")
    # 80 % of shipments invoiced per shipment, the orders of the last 10 % invoiced per order: the kept "invoiced"
    # figures are written with the rows (what the services keep; --verify-kept recomputes them from scratch)
    invoiced = "(k / 2 >= :per_from OR k % 10 < 8)"
    run = lambda sql: db.session.execute(sa.text(sql), p).rowcount  # noqa: E731
    # for this transaction only: the portal's connections force custom plans (portal/config.py), which makes every
    # foreign-key check (a cached plan run once per inserted row) plan itself again: 4 to 5 times slower; and sorts of
    # up to a million rows in memory rather than in temporary files
    run("SET LOCAL plan_cache_mode = auto")
    run("SET LOCAL work_mem = '64MB'")
    # the six tables' foreign keys are dropped for the load and added back (each checked by one join over all the
    # rows, as pg_restore does) before the commit: not one check per inserted row, half the time of the load
    fks = db.session.execute(sa.text(
        "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE contype = 'f'"
        " AND conrelid::regclass::text IN ('purchase_orders', 'order_lines', 'shipments', 'shipment_lines',"
        " 'invoices', 'invoice_lines') ORDER BY oid")).all()
    for table, fk, _ in fks:
        run(f'ALTER TABLE {table} DROP CONSTRAINT "{fk}"')
    run("""
        INSERT INTO purchase_orders (buyer_company_id, supplier_company_id, po_number, supplier_order_number, source,
          currency, delivery_address, payment_terms_days, notes, status, shipping_amount, total_net, created_by_id,
          sent_at, internal_notes, revision, lock_version, created_at, updated_at)
        SELECT :b, :s, 'PO-B-' || lpad(g::text, 6, '0'), 'SO-B-' || lpad(g::text, 6, '0'), 'catalog', 'EUR', '', 30,
          '', 'shipped', 0, 500, :u, :now, '', 1, 1, :now, :now
        FROM generate_series(0, :n - 1) g ORDER BY g""")
    run(f"""
        WITH {orders}
        INSERT INTO order_lines (order_id, position, description, unit, quantity, unit_price, line_total, ack,
          cost_reference, short_closed_quantity, shipped_quantity, accepted_quantity, rejected_quantity)
        SELECT o.id, pos, 'Item ' || pos, 'pcs', 10, 10, 100, 'accepted', '', 0, 10, 0, 0
        FROM o CROSS JOIN generate_series(1, 5) pos ORDER BY o.id, pos""")
    n_ships = run(f"""
        WITH {orders}
        INSERT INTO shipments (order_id, supplier_company_id, buyer_company_id, number, carrier, tracking, shipped_at,
          created_by_id, to_invoice)
        SELECT o.id, :s, :b, 'DN-B-' || lpad(k::text, 7, '0'), '', '', :now - (k % 300) * interval '24 hours', :u,
          NOT {invoiced}
        FROM o CROSS JOIN LATERAL (SELECT 2 * o.i + h AS k FROM generate_series(0, 1) h) x ORDER BY k""")
    n_lines = run(f"""
        WITH {ships}
        INSERT INTO shipment_lines (shipment_id, order_line_id, quantity, invoiced_quantity)
        SELECT sh.id, ol.id, 5, CASE WHEN {invoiced} THEN 5 ELSE 0 END
        FROM sh JOIN order_lines ol ON ol.order_id = sh.order_id ORDER BY sh.id, ol.id""")
    # numbered 1, 2, … : first the shipments invoiced per shipment (in shipment order), then the per-order orders
    run(f"""
        WITH {orders}, {ships},
        plan AS (SELECT sh.id AS shipment_id, sh.order_id, 0 AS grp, sh.id AS rank FROM sh
                   WHERE k / 2 < :per_from AND k % 10 < 8
                 UNION ALL
                 SELECT NULL, o.id, 1, o.id FROM o WHERE i >= :per_from),
        numbered AS (SELECT plan.*, row_number() OVER (ORDER BY grp, rank) AS seq FROM plan)
        INSERT INTO invoices (kind, supplier_company_id, buyer_company_id, series, year, sequence, number, status,
          currency, issue_date, supply_date, due_date, payment_terms_days, order_id, shipment_id, buyer_reference,
          reverse_charge, total_net, total_tax, total_gross, paid_amount, credited_amount, notes, created_by_id,
          lock_version, created_at, updated_at)
        SELECT 'invoice', :s, :b, 'INV', 2026, seq, 'INV-2026-' || lpad(seq::text, 6, '0'), 'issued', 'EUR', :today,
          :today, :due, 30, order_id, shipment_id, 'PO', false, 250, 47.5, 297.5, 0, 0, '', :u, 1, :now, :now
        FROM numbered ORDER BY seq""")
    # five lines each: a shipment's lines (5 each), or an order's lines (10 each, no shipment line)
    run("""
        INSERT INTO invoice_lines (invoice_id, position, description, unit, quantity, unit_price, discount_percent,
          tax_rate, net_amount, shipment_line_id, order_line_id)
        SELECT inv.id, ol.position, 'Item ' || ol.position, 'pcs', CASE WHEN inv.shipment_id IS NULL THEN 10 ELSE 5 END,
          10, 0, 19, 50, sl.id, ol.id
        FROM invoices inv JOIN order_lines ol ON ol.order_id = inv.order_id
        LEFT JOIN shipment_lines sl ON sl.shipment_id = inv.shipment_id AND sl.order_line_id = ol.id
        WHERE inv.supplier_company_id = :s ORDER BY inv.id, ol.position""")
    for table, fk, definition in fks:
        run(f'ALTER TABLE {table} ADD CONSTRAINT "{fk}" {definition}')
    n_invoices, n_per_shipment = db.session.execute(sa.text(
        "SELECT count(*), count(shipment_id) FROM invoices WHERE supplier_company_id = :s"), p).one()
    db.session.commit()
    if verify_kept:  # the kept figures written above against a from-scratch recomputation (what the migration does)
        from portal.invoices.quantities import rebuild

        t0 = time.perf_counter()
        changed = rebuild(s.id)
        db.session.commit()
        print(f"  kept invoiced quantities recomputed from scratch in {time.perf_counter() - t0:.1f} s: "
              f"{changed} lines differed", flush=True)
        assert changed == 0, changed
    with db.engine.begin() as c:
        for t in ("purchase_orders", "order_lines", "shipments", "shipment_lines", "invoices", "invoice_lines"):
            c.execute(sa.text(f"ANALYZE {t}"))
    return {"orders": n_orders, "shipments": n_ships, "shipment_lines": n_lines, "invoices": n_invoices,
            "waiting": n_ships - n_per_shipment - 2 * (n_orders - per_order_from)}


class FreshContextClient:
    """Each request in an application context of its own, as under gunicorn: Flask-Login's per-context user cache
    (g._login_user) never carries one person's identity into the next request."""

    def __init__(self, app):
        self.app = app
        self.client = app.test_client()

    def post(self, *a, **kw):
        with self.app.app_context():
            return self.client.post(*a, **kw)

    def get(self, *a, **kw):
        with self.app.app_context():
            return self.client.get(*a, **kw)


def measure(engine, client, path: str, expect: str | None = None, headers=None) -> tuple[int, float]:
    counts, times = [], []
    for _ in range(7):
        stmts = []

        def before(conn, cursor, statement, *args):
            stmts.append(statement)

        sa.event.listen(engine, "before_cursor_execute", before)
        t0 = time.perf_counter()
        r = client.get(path, headers=headers or {})
        times.append(time.perf_counter() - t0)
        sa.event.remove(engine, "before_cursor_execute", before)
        assert r.status_code == 200, (path, r.status_code)
        if expect is not None:  # the right person: a text only that person's page shows
            assert expect in r.get_data(as_text=True), (path, expect)
        counts.append(len(stmts))
    return counts[-1], statistics.median(times) * 1000


PASSWORD = "bench-password-123"


def _label(path: str) -> str:
    """The same row name at every size: cursor ids differ, what they point at does not."""
    import re

    path = re.sub(r"after=\d+", "after=<near the oldest>", path) if "api" not in path else re.sub(
        r"after=\d+", "after=<60 before the newest>", path)
    return path.replace("page=100000", "page=<last>").replace("before=0", "before=0 (oldest)")


def bench_app(prefix: str, database: str | None = None):
    """(admin engine, database name, app) on a throwaway PostgreSQL database (or the existing ``database``), inline
    jobs, with the engine options production uses (portal/config.py)."""
    if database:
        from bench_aging import PG

        admin = sa.create_engine(PG, isolation_level="AUTOCOMMIT")
        name, url = database, sa.engine.make_url(PG).set(database=database).render_as_string(hide_password=False)
    else:
        admin, name, url = make_db()
    tmp = tempfile.mkdtemp(prefix=prefix)
    os.environ.update(PORTAL_DATABASE_URL=url, PORTAL_JOBS_MODE="inline", PORTAL_INSTANCE_PATH=tmp)
    from portal import create_app
    from portal.config import load_config

    opts = load_config(tmp)["SQLALCHEMY_ENGINE_OPTIONS"]
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "JOBS_MODE": "inline", "WTF_CSRF_ENABLED": False,
                      "LOGIN_RATE_LIMIT": "1000 per minute", "SQLALCHEMY_ENGINE_OPTIONS": opts})
    return admin, name, app


def run_size(n_orders: int, explain: bool, verify_kept: bool = False) -> dict:
    from flask_migrate import upgrade

    admin, name, app = bench_app("bench-dash-")
    results: dict[str, tuple[int, float]] = {}
    try:
        with app.app_context():
            from portal.accounts.models import User
            from portal.accounts.services import hash_password
            from portal.api.auth import create_token
            from portal.db import db
            from portal.invoices import services

            upgrade()
            s, b, u = world()
            t0 = time.perf_counter()
            sizes = build(s, b, u, n_orders, verify_kept)
            built = time.perf_counter() - t0
            people = {"supplier accounts": u}
            for key, company, roles in (("buyer accounts", b, ["accounts"]),
                                        ("buyer procurement", b, ["procurement"]),
                                        ("supplier sales", s, ["sales"])):
                person = User(company_id=company.id, email=f"{roles[0]}@{company.id}.bench.test", name=key.title(),
                              password_hash="x")
                person.set_roles(roles)
                db.session.add(person)
                people[key] = person
            pw = hash_password(PASSWORD)
            for person in people.values():
                person.password_hash = pw
            db.session.commit()
            emails = {k: p.email for k, p in people.items()}
            names = {k: p.name for k, p in people.items()}
            token = {"Authorization": f"Bearer {create_token(people['buyer accounts'], 'bench')[1]}"}
            engine = db.engine
            print(f"\n{n_orders:,} orders ({built:.1f} s to build): {sizes['shipments']:,} shipments "
                  f"({sizes['shipment_lines']:,} lines), {sizes['invoices']:,} issued invoices; "
                  f"{sizes['waiting']:,} shipments waiting for an invoice", flush=True)
            times = []
            for _ in range(7):
                t1 = time.perf_counter()
                waiting = services.uninvoiced_shipments_count(s.id)
                times.append(time.perf_counter() - t1)
            assert waiting == sizes["waiting"], (waiting, sizes["waiting"])
            results["'shipments to invoice' count alone"] = (1, statistics.median(times) * 1000)
            if explain:
                stmt = sa.select(sa.func.count()).select_from(sa.select(1).where(
                    *services._uninvoiced_shipments_where(s.id)).subquery())
                sql = str(stmt.compile(db.engine, compile_kwargs={"literal_binds": True}))
                for row in db.session.execute(sa.text("EXPLAIN ANALYZE " + sql)):
                    print("    " + row[0])
            from portal.invoices.models import Invoice
            from portal.orders.models import PurchaseOrder

            inv_ids = list(db.session.scalars(sa.select(Invoice.id).order_by(Invoice.id)))
            order_ids = list(db.session.scalars(sa.select(PurchaseOrder.id).order_by(PurchaseOrder.id)))
            deep_inv, deep_order = inv_ids[40], order_ids[60]  # a cursor near the oldest end: the "last" pages
            # EXPLAIN: the keyset pages must walk an index, not sort the company's documents
            plans = {
                "invoice list, buyer, keyset page": sa.select(Invoice).where(
                    *services.list_filter(b.id), Invoice.id < deep_inv).order_by(Invoice.id.desc()).limit(26),
                "invoice list, supplier, keyset page": sa.select(Invoice).where(
                    *services.list_filter(s.id), Invoice.id < deep_inv).order_by(Invoice.id.desc()).limit(26),
                "invoice list, supplier, status=issued, keyset page": sa.select(Invoice).where(
                    *services.list_filter(s.id, status="issued"), Invoice.id < deep_inv)
                .order_by(Invoice.id.desc()).limit(26),
                "order list, buyer, keyset page": sa.select(PurchaseOrder).where(
                    PurchaseOrder.buyer_company_id == b.id, PurchaseOrder.id < deep_order)
                .order_by(PurchaseOrder.id.desc()).limit(51),
                # the dashboard tiles' bounded look-ups (portal/dashboard/counting.py, migration perfpages_0001)
                "buyer tile, invoices to approve (capped count)": sa.select(Invoice.id).where(
                    Invoice.buyer_company_id == b.id, Invoice.kind == "invoice",
                    Invoice.status.in_(services.OPEN_STATUSES), Invoice.approved_for_payment_at.is_(None)).limit(100),
                "buyer tile, overdue payables": sa.select(Invoice.id).where(
                    Invoice.buyer_company_id == b.id, services._overdue_clause()).limit(100),
                "supplier tile, overdue receivables": sa.select(Invoice.id).where(
                    Invoice.supplier_company_id == s.id, services._overdue_clause()).limit(100),
            }
            for label, stmt in plans.items():
                sql = str(stmt.compile(db.engine, compile_kwargs={"literal_binds": True}))
                plan = [r[0] for r in db.session.execute(sa.text("EXPLAIN " + sql))]
                uses = [ln.strip() for ln in plan if "Index" in ln]
                seq = [ln.strip() for ln in plan if "Seq Scan" in ln]
                print(f"  EXPLAIN {label}: {'index' if uses and not seq else 'NO INDEX'}: "
                      f"{(uses or seq or plan)[0][:110]}", flush=True)
            db.session.remove()
        # no application context from here on: every request makes its own
        pages = [
            ("supplier accounts", "/dashboard"), ("buyer accounts", "/dashboard"),
            ("buyer procurement", "/dashboard"), ("supplier sales", "/dashboard"),
            ("supplier accounts", "/invoices/new"),
            ("buyer accounts", "/invoices/"), ("buyer accounts", "/invoices/?before=0"),
            ("supplier accounts", "/invoices/"), ("supplier accounts", "/invoices/?before=0"),
            ("supplier accounts", "/invoices/?totals=1"),
            ("buyer accounts", f"/invoices/?after={deep_inv}"), ("supplier accounts", f"/invoices/?after={deep_inv}"),
            ("buyer procurement", "/orders/"), ("buyer procurement", "/orders/?page=100000"),
            ("buyer procurement", f"/orders/?after={deep_order}"), ("buyer procurement", "/orders/?before=0"),
            ("supplier sales", "/orders/"),
        ]
        clients = {}
        for who, path in pages:
            if who not in clients:
                clients[who] = FreshContextClient(app)
                r = clients[who].post("/signin", data={"email": emails[who], "password": PASSWORD})
                assert r.status_code == 302, (who, r.status_code)
            n, ms = measure(engine, clients[who], path, expect=names[who])
            results[f"{_label(path)} ({who})"] = (n, ms)
            print(f"  {path:28} {who:18}: {n:3} statements, median {ms:7.1f} ms", flush=True)
        api = FreshContextClient(app)
        for path in ("/api/v1/invoices", f"/api/v1/invoices?starting_after={inv_ids[-60]}", "/api/v1/orders",
                     f"/api/v1/orders?starting_after={order_ids[-60]}"):
            n, ms = measure(engine, api, path, headers=token)
            results[f"GET {_label(path)} (buyer accounts)"] = (n, ms)
            print(f"  GET {path:24} {'buyer accounts':18}: {n:3} statements, median {ms:7.1f} ms", flush=True)
    finally:
        from portal.db import db

        with app.app_context():
            db.engine.dispose()
        with admin.connect() as c:
            c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    return results


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default=os.environ.get("BENCH_DASHBOARD_SIZES", "1000,10000"),
                    help="orders per run, comma-separated (100000 take well under a minute to build)")
    ap.add_argument("--explain", action="store_true", help="print the query plan of the waiting-shipments count")
    ap.add_argument("--verify-kept", action="store_true",
                    help="recompute the kept invoiced figures from scratch after the bulk load and check them")
    a, _ = ap.parse_known_args()
    sizes = [int(x) for x in a.sizes.split(",") if x.strip()]
    runs = {n: run_size(n, a.explain, a.verify_kept) for n in sizes}
    if len(sizes) > 1:
        lo, hi = sizes[0], sizes[-1]
        print(f"\n| page (person) | statements | {lo:,} orders | {hi:,} orders | growth |")
        print("|---|---|---|---|---|")
        for key in runs[lo]:
            (n1, t1), (n2, t2) = runs[lo][key], runs[hi][key]
            stm = f"{n1}" if n1 == n2 else f"{n1} -> {n2}"
            print(f"| {key} | {stm} | {t1:.0f} ms | {t2:.0f} ms | {t2 / t1:.2f} |")


if __name__ == "__main__":
    main()
