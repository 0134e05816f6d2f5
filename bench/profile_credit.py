"""Credit check cost in-process (prints figures; not part of the test suite).

Runs ``portal.credit.jobs.credit_check_job`` directly (the task wrapper, an application context, the check and its
commit; no RQ worker) on N submitted orders of 50 lines and prints statements per check, wall and CPU milliseconds
per check — CPU time is the figure to compare on a loaded machine, wall time includes waiting for the database and
for the CPU. ``--profile`` adds the cProfile tables (cumulative and own time). The set-up is bench_orders.py's.

    .venv/bin/python bench/profile_credit.py [--orders 200] [--profile]   (BENCH_DATABASE_URL for PostgreSQL)
"""
from __future__ import annotations

import argparse
import cProfile
import logging
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")

import bench_orders as bo  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--orders", type=int, default=200)
    ap.add_argument("--lines", type=int, default=50)
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--cpu", action="store_true", help="profile CPU time (time.process_time) instead of wall time")
    ap.add_argument("--statements", action="store_true", help="print the SQL of one check (the first measured)")
    args = ap.parse_args()
    import sqlalchemy as sa
    from redis import Redis

    Redis.from_url(bo.REDIS_URL).flushdb()
    db_url, cleanup = bo.make_database()
    files = tempfile.mkdtemp(prefix="bench-credit-")
    try:
        app = bo.build_app(db_url, files)
        from flask_migrate import upgrade

        logging.disable(logging.CRITICAL)
        with app.app_context():
            upgrade()
            from portal.accounts.models import User
            from portal.db import db
            from portal.orders import services
            from portal.orders.models import PurchaseOrder

            b, s, u = bo.seed_parties(db)
            ids = bo.bulk_orders(db, b, s, u, args.orders, args.lines)
            for oid in ids:
                order = db.session.get(PurchaseOrder, oid)
                services.submit(order, db.session.get(User, u), order.lock_version)
                db.session.remove()
            Redis.from_url(bo.REDIS_URL).flushdb()  # the submitted jobs: run here instead
            engine = db.engine
        import portal.jobs.queue as q
        from portal.credit.jobs import credit_check_job

        q._worker_app = app
        count = {"n": 0}
        shown: list[str] = []

        def counted(conn, cursor, statement, parameters, context, executemany):
            count["n"] += 1
            if shown and shown[0] == "on":
                shown.append(" ".join(statement.split())[:160])

        sa.event.listen(engine, "before_cursor_execute", counted)
        warm = min(20, len(ids) // 4)
        for oid in ids[:warm]:
            credit_check_job(oid)
        if args.statements:
            shown.append("on")
            credit_check_job(ids[warm])
            print(f"statements of one check ({len(shown) - 1}):")
            for i, line in enumerate(shown[1:], 1):
                print(f"  {i:2d}. {line}")
            shown.clear()
            warm += 1
        count["n"] = 0
        prof = (cProfile.Profile(time.process_time) if args.cpu else cProfile.Profile()) if args.profile else None
        w0, c0 = time.perf_counter(), time.process_time()
        if prof:
            prof.enable()
        for oid in ids[warm:]:
            credit_check_job(oid)
        if prof:
            prof.disable()
        n = len(ids) - warm
        wall, cpu = time.perf_counter() - w0, time.process_time() - c0
        print(f"{sa.engine.make_url(db_url).get_backend_name()}: {n} checks of {args.lines} lines: "
              f"{count['n'] / n:.1f} statements/check, wall {wall / n * 1000:.1f} ms/check ({n / wall:.1f}/s), "
              f"CPU {cpu / n * 1000:.1f} ms/check ({n / cpu:.1f}/s CPU-bound); load {os.getloadavg()[0]:.1f}")
        if prof:
            if os.environ.get("PROFILE_OUT"):
                prof.dump_stats(os.environ["PROFILE_OUT"])  # for pstats / snakeviz
            pstats.Stats(prof).sort_stats("cumulative").print_stats(40)
            pstats.Stats(prof).sort_stats("cumulative").print_stats(r"/portal/", 60)
            pstats.Stats(prof).sort_stats("tottime").print_stats(20)
        with app.app_context():
            db.engine.dispose()
    finally:
        Redis.from_url(bo.REDIS_URL).flushdb()
        cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
