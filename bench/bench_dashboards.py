"""Accounts dashboards of a busy supplier and buyer (prints figures; not part of the test suite).

  .venv/bin/python bench/bench_dashboards.py [--orders 10000]

A throwaway PostgreSQL database with one supplier and one buyer: ``--orders`` acknowledged orders of 5 lines,
each shipped in two shipments (so 2 × orders shipments and 5 × 2 × orders shipment lines); 80 % of the
shipments invoiced per shipment, 10 % of the orders invoiced per order, the rest waiting. Then the supplier's
and the buyer's accounts people load /dashboard (panels: shipments to invoice, drafts, overdue, to approve) and
the New invoice page (the list of waiting shipments). Prints statements per request and median times of 7 runs,
plus the "shipments to invoice" count query alone.
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


def build(s, b, u, n_orders: int) -> dict:
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
    ships = [dict(order_id=o, supplier_company_id=s.id, buyer_company_id=b.id, number=f"DN-B-{k:07d}",
                  shipped_at=now - timedelta(days=k % 300), created_by_id=u.id)
             for k, o in enumerate(o for o in order_ids for _ in range(2))]
    ship_ids = list(db.session.scalars(sa.insert(Shipment).returning(Shipment.id), ships))
    sl_rows = []
    for k, sid in enumerate(ship_ids):
        for olid in by_order[order_ids[k // 2]]:
            sl_rows.append(dict(shipment_id=sid, order_line_id=olid, quantity=Decimal(5)))
    sl_ids = list(db.session.scalars(sa.insert(ShipmentLine).returning(ShipmentLine.id), sl_rows))
    # 80 % of shipments invoiced per shipment, the orders of the last 10 % invoiced per order
    inv_rows, inv_lines, seq = [], [], 0
    per_order = set(order_ids[-n_orders // 10:])
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
    with db.engine.begin() as c:
        for t in ("purchase_orders", "order_lines", "shipments", "shipment_lines", "invoices", "invoice_lines"):
            c.execute(sa.text(f"ANALYZE {t}"))
    return {"orders": n_orders, "shipments": len(ship_ids), "shipment_lines": len(sl_ids), "invoices": len(inv_ids),
            "waiting": len(ship_ids) - sum(1 for k in plan if k[0] == "shipment") - 2 * len(per_order)}


def measure(app, client, path: str) -> tuple[int, float]:
    from portal.db import db

    counts, times = [], []
    for _ in range(7):
        stmts = []

        def before(conn, cursor, statement, *args):
            stmts.append(statement)

        sa.event.listen(db.engine, "before_cursor_execute", before)
        t0 = time.perf_counter()
        r = client.get(path)
        times.append(time.perf_counter() - t0)
        sa.event.remove(db.engine, "before_cursor_execute", before)
        assert r.status_code == 200, (path, r.status_code)
        counts.append(len(stmts))
    return counts[-1], statistics.median(times) * 1000


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--orders", type=int, default=10_000)
    ap.add_argument("--explain", action="store_true", help="print the query plan of the count")
    a = ap.parse_args()
    admin, name, url = make_db()
    tmp = tempfile.mkdtemp(prefix="bench-dash-")
    os.environ.update(PORTAL_DATABASE_URL=url, PORTAL_JOBS_MODE="inline", PORTAL_INSTANCE_PATH=tmp)
    from flask_migrate import upgrade

    from portal import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "JOBS_MODE": "inline", "WTF_CSRF_ENABLED": False,
                      "LOGIN_RATE_LIMIT": "1000 per minute"})
    try:
        with app.app_context():
            from portal.accounts.models import User
            from portal.accounts.services import hash_password
            from portal.db import db
            from portal.invoices import services

            upgrade()
            s, b, u = world()
            t0 = time.perf_counter()
            sizes = build(s, b, u, a.orders)
            built = time.perf_counter() - t0
            buyer_acc = User(company_id=b.id, email="acc@buyer.bench.test", name="Buyer accounts", password_hash="x")
            buyer_acc.set_roles(["accounts"])
            db.session.add(buyer_acc)
            u.password_hash = buyer_acc.password_hash = hash_password("bench-password-123")
            db.session.commit()
            print(f"Data ({built:.0f} s to build): {sizes['orders']:,} orders, {sizes['shipments']:,} shipments "
                  f"({sizes['shipment_lines']:,} lines), {sizes['invoices']:,} issued invoices; "
                  f"{sizes['waiting']:,} shipments waiting for an invoice")
            times = []
            for _ in range(7):
                t1 = time.perf_counter()
                waiting = services.uninvoiced_shipments_count(s.id)
                times.append(time.perf_counter() - t1)
            assert waiting == sizes["waiting"], (waiting, sizes["waiting"])
            print(f"  'shipments to invoice' count alone: {waiting:,}, median {statistics.median(times) * 1000:.1f} ms")
            if a.explain:
                stmt = sa.select(sa.func.count()).select_from(sa.select(1).where(
                    *services._uninvoiced_shipments_where(s.id)).subquery())
                sql = str(stmt.compile(db.engine, compile_kwargs={"literal_binds": True}))
                for row in db.session.execute(sa.text("EXPLAIN ANALYZE " + sql)):
                    print("    " + row[0])
            for who, email in (("supplier accounts", u.email), ("buyer accounts", buyer_acc.email)):
                client = app.test_client()
                client.post("/signin", data={"email": email, "password": "bench-password-123"})
                n, ms = measure(app, client, "/dashboard")
                print(f"  /dashboard, {who:17}: {n} statements, median {ms:6.1f} ms")
                if who == "supplier accounts":
                    n, ms = measure(app, client, "/invoices/new")
                    print(f"  /invoices/new (waiting list, 200 rows): {n} statements, median {ms:6.1f} ms")
    finally:
        from portal.db import db

        with app.app_context():
            db.engine.dispose()
        with admin.connect() as c:
            c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
