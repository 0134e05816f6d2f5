"""Screenshot every main page at 1366x768 into docs/screenshots/ from a seeded run.

Usage: .venv/bin/python scripts/screenshots.py [--base-url URL] [--out DIR]
Without --base-url it builds a fresh SQLite database with the demo data, serves it with the Flask dev server
on a free port, and shoots. Uses Debian's Chromium (/usr/bin/chromium) through Playwright.
"""
from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")

# (file name, user email, path) — paths may contain {placeholders} resolved at run time.
PAGES = [
    ("01-signin", None, "/signin"),
    ("02-dashboard-procurement", "jonas.weber@hartmann.example", "/dashboard"),
    ("03-rfq-list-buyer", "jonas.weber@hartmann.example", "/rfqs/"),
    ("04-rfq-detail-buyer", "jonas.weber@hartmann.example", "{rfq_open}"),
    ("05-comparison", "jonas.weber@hartmann.example", "{comparison}"),
    ("06-dashboard-sales", "mia.schulz@nordstahl.example", "/dashboard"),
    ("07-rfq-list-supplier", "mia.schulz@nordstahl.example", "/rfqs/"),
    ("08-members", "anna.keller@hartmann.example", "/company/members"),
    ("09-notifications", "jonas.weber@hartmann.example", "/notifications/"),
    ("10-dashboard-accounts", "lukas.fischer@hartmann.example", "/dashboard"),
    ("11-quote-form-supplier", "mia.schulz@nordstahl.example", "{quote_form}"),
    ("12-orders-buyer", "jonas.weber@hartmann.example", "/orders/"),
    ("13-order-detail", "jonas.weber@hartmann.example", "{order}"),
    ("14-approvals", "petra.braun@hartmann.example", "/orders/approvals"),
    ("15-catalog-buyer", "jonas.weber@hartmann.example", "{catalog}"),
    ("16-invoices-supplier", "tobias.wolf@nordstahl.example", "/invoices/"),
    ("17-invoice-detail", "tobias.wolf@nordstahl.example", "{invoice}"),
    ("18-credit-accounts", "tobias.wolf@nordstahl.example", "/credit/accounts"),
    ("19-invoices-buyer", "lukas.fischer@hartmann.example", "/invoices/"),
    ("20-dashboard-sales-accounts", "tobias.wolf@nordstahl.example", "/dashboard"),
    ("21-spend-buyer", "jonas.weber@hartmann.example", "/analytics/spend"),
    ("22-sales-supplier", "mia.schulz@nordstahl.example", "/analytics/sales"),
    ("23-credit-holds", "tobias.wolf@nordstahl.example", "/credit/holds"),
    ("24-statement", "tobias.wolf@nordstahl.example", "/invoices/statement?company_id={hartmann}"),
    ("25-ship-form", "mia.schulz@nordstahl.example", "{order}/ship"),
    ("26-aging", "tobias.wolf@nordstahl.example", "/receivables/aging"),
    ("27-dunning-on-invoice-buyer", "lukas.fischer@hartmann.example", "{dunned}"),
    ("28-change-view", "jonas.weber@hartmann.example", "{change}"),
    ("29-order-revisions", "jonas.weber@hartmann.example", "{changed_order}#revisions"),
    ("30-suppliers-directory", "jonas.weber@hartmann.example", "/suppliers/"),
    ("31-supplier-status", "jonas.weber@hartmann.example", "/suppliers/{nordstahl}"),
    ("32-supplier-customers", "mia.schulz@nordstahl.example", "/suppliers/my-buyers"),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def resolve_paths(env) -> dict:
    code = (
        "import sqlalchemy as sa\n"
        "from portal import create_app\nfrom portal.db import db\n"
        "from portal.rfq.models import Rfq\nfrom portal.orders.models import PurchaseOrder\n"
        "from portal.invoices.models import Invoice\nfrom portal.accounts.models import Company\n"
        "app = create_app()\n"
        "with app.app_context():\n"
        "    q = lambda stmt: db.session.scalar(stmt) or ''\n"
        "    print(q(sa.select(Rfq.id).where(Rfq.title=='Fasteners for assembly line 4')),\n"
        "          q(sa.select(Rfq.id).where(Rfq.title=='Hydraulic fittings framework 2027')),\n"
        "          q(sa.select(PurchaseOrder.id).where(PurchaseOrder.shipments.any()).order_by(PurchaseOrder.id)),\n"
        "          q(sa.select(Company.id).where(Company.display_name=='Nordstahl Fasteners')),\n"
        "          q(sa.select(Invoice.id).where(Invoice.number.is_not(None)).order_by(Invoice.id.desc())),\n"
        "          q(sa.select(Company.id).where(Company.display_name=='Hartmann Maschinenbau')))\n"
        "    from portal.receivables.models import DunningNotice\n"
        "    print(q(sa.select(DunningNotice.invoice_id).order_by(DunningNotice.id)))\n"
        "    from portal.orders.demo import CHANGED_NOTE\n"
        "    from portal.orders.models import OrderChange\n"
        "    changed = q(sa.select(PurchaseOrder.id).where(PurchaseOrder.notes==CHANGED_NOTE))\n"
        "    print(changed, q(sa.select(OrderChange.id).where(OrderChange.order_id==(changed or 0))\n"
        "                     .order_by(OrderChange.number)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=ROOT)
    parts = (out.stdout.strip().split() + [""] * 9)[:9]
    rfq_open, rfq_closed, order, nordstahl, invoice, hartmann, dunned, changed, change = parts
    return {"rfq_open": f"/rfqs/{rfq_open}" if rfq_open else "/rfqs/",
            "quote_form": f"/rfqs/{rfq_open}/quote" if rfq_open else "/rfqs/",
            "comparison": f"/rfqs/{rfq_closed}/comparison" if rfq_closed else "/rfqs/",
            "order": f"/orders/{order}" if order else "/orders/",
            "catalog": f"/catalog/suppliers/{nordstahl}" if nordstahl else "/catalog/",
            "invoice": f"/invoices/{invoice}" if invoice else "/invoices/",
            "hartmann": hartmann, "nordstahl": nordstahl, "dunned": f"/invoices/{dunned}" if dunned else "/invoices/",
            "changed_order": f"/orders/{changed}" if changed else "/orders/",
            "change": f"/orders/{changed}/changes/{change}" if changed and change else "/orders/"}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--base-url")
    ap.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, FLASK_APP="wsgi.py")
    server = None
    if not args.base_url:
        tmp = Path(tempfile.mkdtemp(prefix="portal-shots-"))
        env.update(PORTAL_DATABASE_URL=f"sqlite:///{tmp / 'shots.db'}", PORTAL_INSTANCE_PATH=str(tmp),
                   PORTAL_JOBS_MODE="inline")
        env.pop("REDIS_URL", None)
        flask = str(Path(sys.executable).parent / "flask")
        subprocess.run([flask, "db", "upgrade"], env=env, cwd=ROOT, check=True, capture_output=True)
        subprocess.run([flask, "demo", "seed"], env=env, cwd=ROOT, check=True, capture_output=True)
        port = free_port()
        server = subprocess.Popen([flask, "run", "-p", str(port)], env=env, cwd=ROOT,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        args.base_url = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
    paths = resolve_paths(env)
    from playwright.sync_api import sync_playwright

    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                        args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                                              "--disable-component-update", "--no-first-run"])
            contexts = {}
            for name, email, path in PAGES:
                path = path.format(**paths)
                ctx = contexts.get(email)
                if ctx is None:
                    ctx = browser.new_context(viewport={"width": 1366, "height": 768})
                    if email:
                        page = ctx.new_page()
                        page.goto(args.base_url + "/signin")
                        page.fill("input[name=email]", email)
                        page.fill("input[name=password]", "portal-demo")
                        page.click("button[type=submit]")
                        page.wait_for_load_state()
                        page.close()
                    contexts[email] = ctx
                page = ctx.new_page()
                page.goto(args.base_url + path)
                page.wait_for_load_state("networkidle")
                page.screenshot(path=str(out / f"{name}.png"), full_page=False)
                page.close()
                print(f"{name}: {path}")
            browser.close()
    finally:
        if server:
            server.terminate()
    return 0


if __name__ == "__main__":
    sys.exit(main())
