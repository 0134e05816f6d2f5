"""Run every benchmark in turn (they print their figures; none is part of the pass/fail suite).

    .venv/bin/python bench/run_all.py            # SQLite where a script supports it (make bench: PostgreSQL)
    BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/run_all.py
    .venv/bin/python bench/run_all.py --markdown bench/RESULTS.md   # the README's tables, with machine and date
    .venv/bin/python bench/run_all.py --only bench_pages.py,bench_dashboards.py

Each script's output passes through as it runs; with ``--markdown`` the markdown tables every script printed
(lines starting with ``|``, with the line before each table as its caption) are written to one file headed by the
machine (cores, memory, PostgreSQL version), the date, the load average before and after, and each script's wall
time: the README's performance tables are pasted from that file, never typed. The budget of ``make bench`` is
15 minutes (issue 20); the total is printed and compared with it.
"""
from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
BUDGET_S = 15 * 60
# (script, its arguments in `make bench`): sizes cut to the 15-minute budget, keeping 10k and 100k where the issue
# asks for a growth factor (the dashboards)
SCRIPTS = [
    ("bench_sourcing.py", []),
    ("bench_orders.py", ["--orders", "300"]),
    ("bench_invoices.py", []),
    ("bench_dashboards.py", ["--sizes", os.environ.get("BENCH_DASHBOARD_SIZES", "10000,100000")]),
    ("bench_aging.py", []),
    ("bench_pages.py", ["--runs", "7"]),
    ("bench_documents.py", ["--jobs", "1000"]),  # the RSS after 1,000 jobs (issue 20)
]


def machine() -> str:
    cores = os.cpu_count()
    try:
        mem = next(int(ln.split()[1]) for ln in open("/proc/meminfo") if ln.startswith("MemTotal")) / 2**20
        mem_s = f"{mem:.0f} GiB"
    except (OSError, StopIteration):
        mem_s = "? GiB"
    pg = "PostgreSQL ?"
    try:
        import sqlalchemy as sa

        url = os.environ.get("BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
        eng = sa.create_engine(url)
        with eng.connect() as c:
            pg = "PostgreSQL " + c.execute(sa.text("SHOW server_version")).scalar().split()[0]
        eng.dispose()
    except Exception:  # noqa: BLE001 - the report says what it could not find out
        pass
    return f"{platform.node()}: {cores} cores, {mem_s}, Python {platform.python_version()}, {pg}"


def tables(output: str) -> list[str]:
    """The markdown tables of one script's output, each with the non-empty line before it as its caption."""
    out, lines = [], output.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("|") and (i == 0 or not lines[i - 1].startswith("|")):
            caption = next((lines[j] for j in range(i - 1, max(i - 4, -1), -1) if lines[j].strip()), "")
            if caption and not caption.startswith("|"):
                out.append(f"\n{caption.strip()}\n")
            else:
                out.append("")
        if line.startswith("|"):
            out.append(line)
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--markdown", help="write the tables, machine, date and timings to this file")
    ap.add_argument("--only", help="comma-separated script names")
    a, rest = ap.parse_known_args()
    only = {s.strip() for s in a.only.split(",")} if a.only else None
    started = datetime.now(timezone.utc)
    load0 = os.getloadavg()[0]
    status, report, timings = 0, [], []
    t_all = time.perf_counter()
    for script, args in SCRIPTS:
        if only and script not in only:
            continue
        print(f"\n=== {script} {' '.join(args)} ===", flush=True)
        t0 = time.perf_counter()
        proc = subprocess.Popen([sys.executable, str(HERE / script), *args, *rest], stdout=subprocess.PIPE,
                                text=True)
        captured = []
        for line in proc.stdout:
            sys.stdout.write(line)
            sys.stdout.flush()
            captured.append(line)
        rc = proc.wait()
        status |= rc
        secs = time.perf_counter() - t0
        timings.append((script, args, secs, rc))
        report += [f"\n### {script} {' '.join(args)}".rstrip(), *tables("".join(captured))]
    total = time.perf_counter() - t_all
    print("\n| script | wall time | exit |\n|---|---|---|")
    for script, args, secs, rc in timings:
        print(f"| {script} {' '.join(args)} | {secs / 60:.1f} min | {rc} |")
    verdict = "within" if total <= BUDGET_S else "OVER"
    print(f"\nmake bench: {total / 60:.1f} min in total ({verdict} the 15-minute budget); "
          f"load average {load0:.1f} at the start, {os.getloadavg()[0]:.1f} at the end")
    if a.markdown:
        head = [f"Benchmarks run {started:%Y-%m-%d %H:%M} UTC on {machine()}; load average {load0:.1f} at the "
                f"start, {os.getloadavg()[0]:.1f} at the end; {total / 60:.1f} min in total ({verdict} the "
                f"15-minute budget).", "", "| script | wall time | exit |", "|---|---|---|"]
        head += [f"| {s} {' '.join(ar)} | {secs / 60:.1f} min | {rc} |" for s, ar, secs, rc in timings]
        Path(a.markdown).write_text("\n".join(head + report) + "\n")
        print(f"tables written to {a.markdown}")
    return status


if __name__ == "__main__":
    sys.exit(main())
