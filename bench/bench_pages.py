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
import statistics
import sys
import time
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
# --baseline runs this script again with the portal of another revision first on the path
sys.path.insert(0, str(ROOT))
if os.environ.get("BENCH_PORTAL_ROOT"):
    sys.path.insert(0, os.environ["BENCH_PORTAL_ROOT"])
sys.path.insert(0, str(ROOT / "bench"))

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


def measure(engine, client, path: str, runs: int) -> tuple[int, float, float, int, str]:
    """(statements, p50 ms, p50 CPU ms of this process, status, body) of ``path`` over ``runs`` real requests
    (after one warm-up request). The CPU time is the portal's own work (Python: views, queries built and read,
    templates); the wall time adds the database and, on a shared machine, the wait for a core."""
    client.get(path)
    counts, walls, cpus, resp = [], [], [], None
    for _ in range(runs):
        stmts = []

        def before(conn, cursor, statement, *args):
            stmts.append(statement)

        sa.event.listen(engine, "before_cursor_execute", before)
        c0, t0 = time.process_time(), time.perf_counter()
        resp = client.get(path)
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
        sa.event.remove(engine, "before_cursor_execute", before)
        counts.append(len(stmts))
    return (counts[-1], statistics.median(walls) * 1000, statistics.median(cpus) * 1000, resp.status_code,
            resp.get_data(as_text=True))


def baseline(rev: str, database: str, runs: int) -> dict:
    """The same pages measured with the portal of git revision ``rev`` (exported to a temporary folder) on the
    same database, in a process of its own: {(path, person): (statements, p50, cpu)}."""
    import json
    import subprocess
    import tempfile

    tree = tempfile.mkdtemp(prefix="bench-pages-base-")
    subprocess.run(f"git -C {ROOT} archive {rev} portal templates static | tar -x -C {tree}", shell=True,
                   check=True)
    out = Path(tree) / "results.json"
    env = dict(os.environ, BENCH_PORTAL_ROOT=tree)
    subprocess.run([sys.executable, __file__, "--reuse", database, "--runs", str(runs), "--json", str(out),
                    "--quiet"], env=env, check=True)
    return {(r["path"], r["person"]): (r["statements"], r["p50"], r["cpu"]) for r in json.loads(out.read_text())}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--reuse", metavar="DATABASE", help="an already seeded database (from --keep): no seeding")
    ap.add_argument("--keep", action="store_true", help="keep the seeded database and print its name")
    ap.add_argument("--baseline", metavar="REV", help="also measure the portal of this git revision (same data)")
    ap.add_argument("--json", help="write the results to this file")
    ap.add_argument("--quiet", action="store_true", help="no table (with --json)")
    a, _ = ap.parse_known_args()
    from flask_migrate import upgrade

    admin, name, app = bench_app("bench-pages-", database=a.reuse)
    results = []
    try:
        with app.app_context():
            from portal import demo
            from portal.db import db

            if not a.reuse:
                upgrade()
                t0 = time.perf_counter()
                print(demo.seed(), f"({time.perf_counter() - t0:.0f} s)", flush=True)
                from portal.jobs.queue import wait_for_inline_jobs

                wait_for_inline_jobs(120)
            engine = db.engine
            db.session.remove()
        before = baseline(a.baseline, name, a.runs) if a.baseline else {}
        for email, pages in PEOPLE.items():
            client = FreshContextClient(app)
            r = client.post("/signin", data={"email": email, "password": demo.DEMO_PASSWORD})
            assert r.status_code == 302, (email, r.status_code)
            for spec in pages:
                path, _, detail = spec.partition("#")
                n, ms, cpu, status, body = measure(engine, client, path, a.runs)
                results.append((ms, n, cpu, status, path, email))
                m = re.search(f'href="({detail})"', body) if detail else None
                if m:
                    n, ms, cpu, status, _ = measure(engine, client, m.group(1), a.runs)
                    results.append((ms, n, cpu, status, re.sub(r"\d+", "<id>", m.group(1)), email))
    finally:
        with app.app_context():
            from portal.db import db

            db.engine.dispose()
        if a.keep or a.reuse:
            print(f"database kept: {name} (--reuse {name})")
        else:
            with admin.connect() as c:
                c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    if a.json:
        import json

        Path(a.json).write_text(json.dumps([dict(path=p, person=e.split("@")[0], statements=n, p50=ms, cpu=cpu,
                                                 status=st) for ms, n, cpu, st, p, e in results]))
    if a.quiet:
        return 0
    print(f"\nload average {os.getloadavg()[0]:.1f} at the end\n")
    if before:
        print(f"| page | person | statements before → after | p50 before → after | CPU p50 before → after |")
        print("|---|---|---|---|---|")
    else:
        print("| page | person | status | statements | p50 | CPU p50 |")
        print("|---|---|---|---|---|---|")
    for ms, n, cpu, status, path, email in sorted(results, reverse=True):
        who = email.split("@")[0]
        over = " (over 50 ms)" if ms > 50 else ""
        if before:
            bn, bms, bcpu = before.get((path, who), (None, float("nan"), float("nan")))
            print(f"| {path} | {who} | {bn} → {n} | {bms:.0f} → {ms:.0f} ms{over} | {bcpu:.0f} → {cpu:.0f} ms |")
        else:
            print(f"| {path} | {who} | {status} | {n} | {ms:.0f} ms{over} | {cpu:.0f} ms |")
    print(f"\n{sum(1 for r in results if r[0] > 50)} of {len(results)} pages over 50 ms p50 "
          f"({sum(1 for r in results if r[2] > 50)} over 50 ms of CPU)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
