"""Every main page on the demo data, per role, for one person at a time (prints figures; not a test).

  .venv/bin/python bench/bench_pages.py [--runs 7]

A throwaway PostgreSQL database (``BENCH_PG``, as bench_dashboards.py) migrated and seeded with the demo data
(`flask demo seed`: the services, not bulk SQL). Each demo person signs in through the real form; then each page of
their role (lists, and the first detail page each list links to) is requested ``--runs`` times, every request in
its own application context (as gunicorn serves it). Prints the median (p50) server time and the statement count
per page, slowest first, and which pages miss the 50 ms goal of issue 20. Times on a shared machine are upper
bounds: say the load next to them.
"""
from __future__ import annotations

import argparse
import os
import re
import sys
import time
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_aging import measure as timed  # noqa: E402
from bench_dashboards import FreshContextClient, bench_app  # noqa: E402

# (person, the pages of their role); "<list>#<detail pattern>" also measures the first detail page the list links to
PEOPLE = {
    "jonas.weber@hartmann.example": ["/dashboard", "/rfqs/#/rfqs/(\\d+)", "/orders/#/orders/(\\d+)",
                                     "/catalog/suppliers", "/notifications/"],
    "lukas.fischer@hartmann.example": ["/dashboard", "/invoices/#/invoices/(\\d+)"],
    "anna.keller@hartmann.example": ["/dashboard", "/orders/approvals", "/company/members"],
    "mia.schulz@nordstahl.example": ["/dashboard", "/rfqs/#/rfqs/(\\d+)", "/quotes", "/orders/#/orders/(\\d+)"],
    "tobias.wolf@nordstahl.example": ["/dashboard", "/invoices/#/invoices/(\\d+)", "/invoices/new",
                                      "/credit/accounts", "/credit/holds", "/receivables/aging"],
}


def measure(engine, client, path: str, runs: int) -> tuple[int, float, int, str]:
    """(statements, p50 ms, status, body) of ``path``: bench_aging's timer around real requests."""
    responses = []
    n, ms = timed(engine, lambda: responses.append(client.get(path)), runs)
    return n, ms, responses[-1].status_code, responses[-1].get_data(as_text=True)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=7)
    a, _ = ap.parse_known_args()
    from flask_migrate import upgrade

    admin, name, app = bench_app("bench-pages-")
    results = []
    try:
        with app.app_context():
            from portal import demo
            from portal.db import db

            upgrade()
            t0 = time.perf_counter()
            print(demo.seed(), f"({time.perf_counter() - t0:.0f} s)", flush=True)
            from portal.jobs.queue import wait_for_inline_jobs

            wait_for_inline_jobs(120)
            engine = db.engine
            db.session.remove()
        for email, pages in PEOPLE.items():
            client = FreshContextClient(app)
            r = client.post("/signin", data={"email": email, "password": demo.DEMO_PASSWORD})
            assert r.status_code == 302, (email, r.status_code)
            for spec in pages:
                path, _, detail = spec.partition("#")
                n, ms, status, body = measure(engine, client, path, a.runs)
                results.append((ms, n, status, path, email))
                m = re.search(f'href="({detail})"', body) if detail else None
                if m:
                    n, ms, status, _ = measure(engine, client, m.group(1), a.runs)
                    results.append((ms, n, status, re.sub(r"\d+", "<id>", m.group(1)), email))
    finally:
        with app.app_context():
            from portal.db import db

            db.engine.dispose()
        with admin.connect() as c:
            c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    print(f"\nload average {os.getloadavg()[0]:.1f} at the end\n")
    print("| page | person | status | statements | p50 |")
    print("|---|---|---|---|---|")
    for ms, n, status, path, email in sorted(results, reverse=True):
        print(f"| {path} | {email.split('@')[0]} | {status} | {n} | {ms:.0f} ms{' (over 50 ms)' if ms > 50 else ''} |")
    print(f"\n{sum(1 for r in results if r[0] > 50)} of {len(results)} pages over 50 ms p50")
    return 0


if __name__ == "__main__":
    sys.exit(main())
