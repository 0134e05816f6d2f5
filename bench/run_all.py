"""Run every benchmark in turn (they print their figures; none is part of the pass/fail suite).

    .venv/bin/python bench/run_all.py            # SQLite
    BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/run_all.py
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

if __name__ == "__main__":
    status = 0
    for script in ("bench_sourcing.py", "bench_orders.py", "bench_invoices.py", "bench_dashboards.py",
                   "bench_aging.py", "bench_pages.py", "bench_documents.py"):
        print(f"\n=== {script} ===", flush=True)
        status |= subprocess.call([sys.executable, str(HERE / script), *sys.argv[1:]])
    sys.exit(status)
