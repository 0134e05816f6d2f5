"""Lists and dashboards of a busy supplier and buyer at growing history (prints figures; not a test).

  .venv/bin/python bench/bench_dashboards.py [--sizes 1000,10000] [--explain]

For each size a throwaway PostgreSQL database with one supplier and one buyer, filled by bulk SQL (not the
services, so 10,000 orders take seconds): SIZE acknowledged orders of 5 lines, each shipped in two shipments; 80 %
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
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_invoices import make_db, world  # noqa: E402  (same throwaway database and companies)


def build(s, b, u, n_orders: int, verify_kept: bool = False) -> dict:
    from portal.db import db, utcnow
    from portal.invoices.models import Invoice, InvoiceLine
    from portal.orders.models import OrderLine, PurchaseOrder, Shipment, ShipmentLine

    now = utcnow()
    orders = [dict(buyer_company_id=b.id, supplier_company_id=s.id, po_number=f"PO-B-{i:06d}",
                   supplier_order_number=f"SO-B-{i:06d}", source="catalog", currency="EUR", status="shipped",
                   total_net=Decimal("500"), created_by_id=u.id, payment_terms_days=30, lock_version=1,
                   created_at=now, updated_at=now, sent_at=now) for i in range(n_orders)]
    order_ids = list(db.session.scalars(sa.insert(PurchaseOrder).returning(PurchaseOrder.id), orders))
    lines = [dict(order_id=o, position=p, description=f"Item {p}", unit="pcs", quantity=Decimal(10),
                  unit_price=Decimal(10), line_total=Decimal(100), shipped_quantity=Decimal(10), ack="accepted")
             for o in order_ids for p in range(1, 6)]
    line_ids = list(db.session.scalars(sa.insert(OrderLine).returning(OrderLine.id), lines))
    by_order = {o: line_ids[k * 5:(k + 1) * 5] for k, o in enumerate(order_ids)}
    # 80 % of shipments invoiced per shipment, the orders of the last 10 % invoiced per order: the kept "invoiced"
    # figures are written with the rows (what the services keep; --verify-kept recomputes them from scratch)
    per_order = set(order_ids[-n_orders // 10:])

    def invoiced(k: int) -> bool:
        return order_ids[k // 2] in per_order or k % 10 < 8

    ships = [dict(order_id=o, supplier_company_id=s.id, buyer_company_id=b.id, number=f"DN-B-{k:07d}",
                  shipped_at=now - timedelta(days=k % 300), created_by_id=u.id, to_invoice=not invoiced(k))
             for k, o in enumerate(o for o in order_ids for _ in range(2))]
    ship_ids = list(db.session.scalars(sa.insert(Shipment).returning(Shipment.id), ships))
    sl_rows = []
    for k, sid in enumerate(ship_ids):
        for olid in by_order[order_ids[k // 2]]:
            sl_rows.append(dict(shipment_id=sid, order_line_id=olid, quantity=Decimal(5),
                                invoiced_quantity=Decimal(5 if invoiced(k) else 0)))
    sl_ids = list(db.session.scalars(sa.insert(ShipmentLine).returning(ShipmentLine.id), sl_rows))
    # 80 % of shipments invoiced per shipment, the orders of the last 10 % invoiced per order
    inv_rows, inv_lines, seq = [], [], 0
    plan = []
    for k, sid in enumerate(ship_ids):
        order_id = order_ids[k // 2]
        if order_id in per_order or k % 10 >= 8:
            continue
        plan.append(("shipment", sid, sl_ids[k * 5:(k + 1) * 5], order_id))
    for order_id in per_order:
        plan.append(("order", None, by_order[order_id], order_id))
    for kind, sid, ref_ids, order_id in plan:
        seq += 1
        inv_rows.append(dict(kind="invoice", supplier_company_id=s.id, buyer_company_id=b.id, series="INV", year=2026,
                             sequence=seq, number=f"INV-2026-{seq:06d}", status="issued", currency="EUR",
                             issue_date=now.date(), supply_date=now.date(), due_date=now.date() + timedelta(days=30),
                             payment_terms_days=30, order_id=order_id, shipment_id=sid, buyer_reference="PO",
                             reverse_charge=False, total_net=250, total_tax=47.5, total_gross=297.5, paid_amount=0,
                             credited_amount=0, notes="", created_by_id=u.id, lock_version=1, created_at=now,
                             updated_at=now))
    inv_ids = list(db.session.scalars(sa.insert(Invoice).returning(Invoice.id), inv_rows))
    for inv_id, (kind, sid, ref_ids, order_id) in zip(inv_ids, plan):
        for p, ref in enumerate(ref_ids, 1):
            inv_lines.append(dict(invoice_id=inv_id, position=p, description=f"Item {p}", unit="pcs",
                                  quantity=Decimal(5 if kind == "shipment" else 10), unit_price=Decimal(10),
                                  discount_percent=0, tax_rate=Decimal(19), net_amount=Decimal(50),
                                  shipment_line_id=ref if kind == "shipment" else None,
                                  order_line_id=by_order[order_id][p - 1]))
    db.session.execute(sa.insert(InvoiceLine), inv_lines)
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
    return {"orders": n_orders, "shipments": len(ship_ids), "shipment_lines": len(sl_ids), "invoices": len(inv_ids),
            "waiting": len(ship_ids) - sum(1 for k in plan if k[0] == "shipment") - 2 * len(per_order)}


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
            print(f"\n{n_orders:,} orders ({built:.0f} s to build): {sizes['shipments']:,} shipments "
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
                    help="orders per run, comma-separated (100000 takes a few minutes to build)")
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
