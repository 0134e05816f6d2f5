"""The documents worker against WeasyPrint alone, and its memory (prints figures; not part of the test suite).

  .venv/bin/python bench/bench_documents.py              # quick: 200 jobs (RSS after 100 and after 200)
  .venv/bin/python bench/bench_documents.py --jobs 1000  # the issue's figure: RSS after 100 and 1,000 jobs
  .venv/bin/python bench/bench_documents.py --no-recycle # the same worker with --max-jobs 0 --max-rss-mb 0

In one run, on the same invoice HTML (a 20-line invoice issued through the services):
1. WeasyPrint alone: ``portal.invoices.pdf.html_to_pdf`` on that HTML in a loop in this process (half of the
   renders before the worker runs, half after, so drift on a shared machine falls on both sides).
2. The real worker: ``flask jobs worker -q documents`` (a subprocess, its own app, a private redis-server, a
   throwaway PostgreSQL database with the server's default durability) works N ``invoice_pdf_job`` jobs of N
   issued invoices carrying that snapshot, enqueued with their JobRecords as ``issue`` enqueues them. Jobs/s is
   N over the time from the first job's start to the last job's finish (JobRecord timestamps), so the worker's
   start-up is not counted; its RSS (/proc/<pid>/status, the same pid across a restart) is sampled every 0.1 s.
3. One 1,000-line invoice as a job: its time against WeasyPrint alone on its HTML, the worker's peak RSS and its
   RSS once it is idle again.
"""
from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
PG = os.environ.get("BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def cpu_s(pid: int) -> float | None:
    """User + system CPU seconds of a process (kept across exec) and of its children it has waited for (the
    forked children that render the documents)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return sum(int(x) for x in fields[11:15]) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def commits() -> int:
    from portal.db import db

    db.session.rollback()
    return db.session.scalar(sa.text("SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--jobs", type=int, default=200, help="invoice PDF jobs through the worker (default 200)")
    ap.add_argument("--alone", type=int, default=60, help="renders of WeasyPrint alone (half before, half after)")
    ap.add_argument("--lines", type=int, default=20)
    ap.add_argument("--big-lines", type=int, default=1000, help="lines of the large invoice; 0: skip it")
    ap.add_argument("--no-recycle", action="store_true", help="run the worker with --max-jobs 0 --max-rss-mb 0")
    ap.add_argument("--save-html", metavar="FILE", help="also write the invoice HTML to FILE (for profiling)")
    ap.add_argument("--worker-args", default="", help="extra arguments for `flask jobs worker`")
    a = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="bench-docs-"))
    port = free_port()
    redis = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                              "--appendonly", "no"], stdout=subprocess.DEVNULL)
    redis_url = f"redis://127.0.0.1:{port}/0"
    name = f"portal_bench_docs_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(PG, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.engine.make_url(PG).set(database=name).render_as_string(hide_password=False)
    env = dict(os.environ, PORTAL_DATABASE_URL=url, REDIS_URL=redis_url, PORTAL_JOBS_MODE="rq",
               PORTAL_INSTANCE_PATH=str(tmp), PORTAL_UPLOAD_FOLDER=str(tmp / "files"), FLASK_APP="wsgi.py",
               PORTAL_LOG_LEVEL="WARNING")
    os.environ.update(env)
    worker = None
    app = None
    try:
        from redis import Redis

        for _ in range(100):
            try:
                Redis.from_url(redis_url).ping()
                break
            except Exception:  # noqa: BLE001
                time.sleep(0.05)
        from flask_migrate import upgrade

        from portal import create_app

        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": redis_url, "JOBS_MODE": "rq",
                          "UPLOAD_FOLDER": str(tmp / "files")})
        with app.app_context():
            upgrade()
            worker = run(app, a, env)
    finally:
        if worker is not None and worker.poll() is None:
            worker.terminate()
            try:
                worker.wait(20)
            except subprocess.TimeoutExpired:
                worker.kill()
        if app is not None:
            from portal.db import db

            with app.app_context():
                db.engine.dispose()
        with admin.connect() as c:
            c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        redis.terminate()
        redis.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)


def issued(n_lines: int):
    """One invoice of ``n_lines`` lines issued through the services (its snapshot frozen as in production)."""
    from bench_invoices import drafts, world

    from portal.db import db
    from portal.invoices import services
    from portal.invoices.models import Invoice

    found = db.session.scalar(sa.select(Invoice).limit(1))
    if found is None:
        s, b, u = world()
    else:
        from portal.accounts.models import Company, User

        s = db.session.get(Company, found.supplier_company_id)
        b = db.session.get(Company, found.buyer_company_id)
        u = db.session.scalar(sa.select(User).where(User.company_id == s.id))
    (inv_id,) = drafts(s, b, u, 1, n_lines)
    inv = db.session.get(Invoice, inv_id)
    services.compute_totals(inv)
    db.session.commit()
    services.issue(inv, u, inv.lock_version)
    db.session.expire_all()
    return db.session.get(Invoice, inv_id)


def clone(inv, n: int) -> list[int]:
    """``n`` issued invoices with ``inv``'s snapshot (numbers of their own, no PDF yet), by one INSERT … SELECT."""
    from portal.db import db
    from portal.invoices.models import Invoice

    t = Invoice.__table__
    top = db.session.scalar(sa.select(sa.func.max(t.c.sequence)).where(t.c.supplier_company_id
                                                                        == inv.supplier_company_id))
    g = sa.func.generate_series(1, n).table_valued("value", name="g").render_derived()
    cols = [c for c in t.c if c.name not in ("id", "pdf_file_id", "pdf_job_id")]
    values = []
    for c in cols:
        if c.name == "sequence":
            values.append((top + g.c.value).label("sequence"))
        elif c.name == "number":
            values.append(sa.func.concat("BENCH-", top + g.c.value).label("number"))
        else:
            values.append(c)
    sel = sa.select(*values).select_from(t.join(g, sa.true())).where(t.c.id == inv.id)
    ids = list(db.session.scalars(t.insert().from_select([c.name for c in cols], sel).returning(t.c.id)))
    db.session.commit()
    return ids


def enqueue(inv_ids: list[int], company_id: int, user_id: int) -> list[int]:
    """A JobRecord and an RQ job per invoice, as ``start_tracked`` makes them after ``issue`` commits."""
    from portal.db import db
    from portal.invoices.services import PDF_JOB
    from portal.jobs.models import JobRecord, JobStatus
    from portal.jobs.queue import enqueue_rq, redis_connection

    recs = [JobRecord(kind="invoice-pdf", title=f"PDF of invoice {i}", func=PDF_JOB, args=[i], queue="documents",
                      company_id=company_id, user_id=user_id, status=JobStatus.queued) for i in inv_ids]
    db.session.add_all(recs)
    db.session.flush()
    for r in recs:
        r.rq_job_id = f"invoice-pdf-{r.id}"
    db.session.commit()
    conn = redis_connection()
    for i, r in zip(inv_ids, recs):
        enqueue_rq(conn, PDF_JOB, [i, r.id], queue="documents", job_id=r.rq_job_id)
    return [r.id for r in recs]


def finished_registry(conn) -> int:
    from rq import Queue

    q = Queue("documents", connection=conn)
    return q.finished_job_registry.count + q.failed_job_registry.count


def worker_idle(conn) -> bool:
    from rq import Worker

    return any(w.get_state() == "idle" for w in Worker.all(connection=conn))


def run(app, a, env):
    from portal.invoices import pdf
    from portal.jobs.queue import redis_connection

    conn = redis_connection()
    t0 = time.perf_counter()
    small = issued(a.lines)
    big = issued(a.big_lines) if a.big_lines else None
    ids = clone(small, a.jobs)
    conn.flushdb()  # the issue's own PDF and matching jobs: not measured here
    rec_ids = enqueue(ids, small.supplier_company_id, small.created_by_id)
    print(f"set-up: {a.jobs} issued invoices of {a.lines} lines enqueued in {time.perf_counter() - t0:.1f} s",
          flush=True)

    # --- WeasyPrint alone, first half
    pdf.preload()
    html = pdf.invoice_html(small.snapshot, None)
    if a.save_html:
        Path(a.save_html).write_text(html)
    size = len(pdf.html_to_pdf(html))
    alone: list[float] = []
    alone_cpu: list[float] = []

    def alone_loop(k):
        for _ in range(k):
            t, c = time.perf_counter(), time.process_time()
            pdf.html_to_pdf(html)
            alone.append(time.perf_counter() - t)
            alone_cpu.append(time.process_time() - c)

    alone_loop(max(1, a.alone // 2))

    # --- the real worker
    time.sleep(1.0)
    commits_before = commits()
    args = [str(ROOT / ".venv/bin/flask"), "jobs", "worker", "-q", "documents", *a.worker_args.split()]
    if a.no_recycle:
        args += ["--max-jobs", "0", "--max-rss-mb", "0"]
    log = open(Path(env["PORTAL_INSTANCE_PATH"]) / "worker.log", "w+")  # a pipe nobody reads would fill up
    worker = subprocess.Popen(args, env=env, cwd=str(ROOT), stdout=log, stderr=subprocess.STDOUT)
    samples: list[tuple[float, int, float, float]] = []  # (time, jobs finished, RSS MB, worker CPU s)
    marks = sorted({m for m in (100, 200, 500, a.jobs) if m <= a.jobs})
    at: dict[int, float] = {}
    peak = 0.0
    deadline = time.time() + 120 + a.jobs * statistics.mean(alone) * 5  # a stuck worker ends the bench
    while time.time() < deadline:
        n = finished_registry(conn)
        r = rss_mb(worker.pid) or 0.0
        peak = max(peak, r)
        samples.append((time.perf_counter(), n, r, cpu_s(worker.pid) or 0.0))
        for m in marks:
            if m not in at and n >= m:
                at[m] = r
        if n >= a.jobs:
            break
        if worker.poll() is not None:
            log.seek(0)
            print("the worker stopped:", log.read()[-2000:])
            return worker
        time.sleep(0.1)
    # idle again (after a restart the worker's RSS is its start-up size)
    while not worker_idle(conn) and time.time() < deadline:
        time.sleep(0.1)
    idle_after = rss_mb(worker.pid)
    first_done = next(x for x in samples if x[1] >= 1)
    cpu_per_job = (samples[-1][3] - first_done[3]) / max(1, samples[-1][1] - first_done[1])
    time.sleep(1.5)  # PostgreSQL publishes its statistics about once a second
    commits_per_job = (commits() - commits_before - 1) / max(1, samples[-1][1])

    first, last, n_ok = _records(rec_ids)
    job_seconds = (last - first).total_seconds()

    alone_loop(a.alone - a.alone // 2)
    rate_alone = 1 / statistics.mean(alone)
    rate_job = n_ok / job_seconds
    print(f"Invoice PDF, {a.lines} lines ({size / 1024:.0f} KB): the same HTML")
    print(f"  WeasyPrint alone, this process : {rate_alone:6.2f} PDFs/s  (mean {statistics.mean(alone) * 1000:.0f} ms,"
          f" median {statistics.median(alone) * 1000:.0f} ms of {len(alone)})")
    print(f"  documents worker, {n_ok:>4} jobs     : {rate_job:6.2f} jobs/s  ({job_seconds:.1f} s first start "
          f"to last finish; {job_seconds / n_ok * 1000:.0f} ms per job)")
    print(f"  ratio worker / WeasyPrint alone : {rate_job / rate_alone:6.1%}  "
          f"(overhead {(job_seconds / n_ok - statistics.mean(alone)) * 1000:+.0f} ms per job)")
    print(f"  CPU per PDF: WeasyPrint alone {statistics.mean(alone_cpu) * 1000:.0f} ms, worker per job "
          f"{cpu_per_job * 1000:.0f} ms (ratio {statistics.mean(alone_cpu) / cpu_per_job:.1%}); "
          f"{commits_per_job:.1f} database transactions per job")
    print("  worker RSS after " + ", ".join(f"{m} jobs {at.get(m, float('nan')):.0f} MB" for m in marks)
          + f"; peak {peak:.0f} MB; idle after the last {idle_after or 0:.0f} MB")
    if 100 in at and a.jobs in at:
        print(f"  growth from job 100 to job {a.jobs}: {at[a.jobs] - at[100]:+.0f} MB")

    if big is not None:
        big_html = pdf.invoice_html(big.snapshot, None)
        t = time.perf_counter()
        pdf.html_to_pdf(big_html)
        big_alone = time.perf_counter() - t
        before = finished_registry(conn)
        enqueue([big.id], big.supplier_company_id, big.created_by_id)
        t = time.perf_counter()
        peak_big = 0.0
        give_up = time.time() + 120 + big_alone * 5
        while finished_registry(conn) <= before and time.time() < give_up:
            peak_big = max(peak_big, rss_mb(worker.pid) or 0.0)
            time.sleep(0.1)
        big_job = time.perf_counter() - t
        t_idle = time.perf_counter()
        time.sleep(0.3)
        while not worker_idle(conn) and time.perf_counter() - t_idle < 60:
            time.sleep(0.1)
        after_big = rss_mb(worker.pid) or 0.0
        print(f"Invoice PDF, {a.big_lines} lines: WeasyPrint alone {big_alone:.1f} s, as a job {big_job:.1f} s "
              f"(enqueue to done); worker RSS peak {peak_big:.0f} MB, idle again after "
              f"{time.perf_counter() - t_idle:.1f} s at {after_big:.0f} MB")
    return worker


def _records(rec_ids: list[int]):
    """First start, last finish and successes of the bench's JobRecords."""
    from portal.db import db
    from portal.jobs.models import JobRecord, JobStatus

    db.session.rollback()
    return db.session.execute(
        sa.select(sa.func.min(JobRecord.started_at), sa.func.max(JobRecord.finished_at),
                  sa.func.count().filter(JobRecord.status == JobStatus.succeeded))
        .where(JobRecord.id.in_(rec_ids))).one()


if __name__ == "__main__":
    main()
