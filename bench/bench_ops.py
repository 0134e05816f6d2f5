"""Operations benchmarks (prints figures; not part of the test suite).

  .venv/bin/python bench/bench_ops.py [--downloads 300] [--probes 300] [--requests 300]

1. Download throughput of a 100 KB PDF through the portal (GET /files/<id>, streamed, hash-checked) with the
   local-folder backend and with the S3 backend (a moto server on this machine): downloads/s, MB/s, ratio.
2. /readyz latency (database, migrations, Redis, storage checked), local and S3 storage: median and p95.
3. The request middleware (request id, JSON log line, metrics): the same requests with and without it, on a
   signed-in dashboard page and on /healthz: median per request and the overhead ratio.
Each figure is the median of its requests, taken after a warm-up; a throwaway SQLite database, a private
redis-server and a private moto server; nothing else is touched.
"""
from __future__ import annotations

import argparse
import logging
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def timed(fn, n: int) -> list[float]:
    for _ in range(min(20, n)):
        fn()
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def p95(xs):
    return sorted(xs)[int(len(xs) * 0.95) - 1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--downloads", type=int, default=300)
    ap.add_argument("--probes", type=int, default=300)
    ap.add_argument("--requests", type=int, default=300)
    a = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-ops-"))
    redis_port = free_port()
    redis = subprocess.Popen(["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "",
                              "--appendonly", "no"], stdout=subprocess.DEVNULL)
    from tests.s3server import MotoServer

    moto = MotoServer().start()
    os.environ["PORTAL_INSTANCE_PATH"] = str(tmp)
    try:
        run(a, tmp, f"redis://127.0.0.1:{redis_port}/0", moto)
    finally:
        moto.stop()
        redis.terminate()
        shutil.rmtree(tmp, ignore_errors=True)


def run(a, tmp: Path, redis_url: str, moto):
    from flask_migrate import upgrade

    from portal import create_app
    from portal.db import db

    time.sleep(0.3)
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp / 'bench.db'}", "REDIS_URL": redis_url,
                      "RATELIMIT_STORAGE_URI": redis_url, "JOBS_MODE": "rq", "SECRET_KEY": "bench",
                      "UPLOAD_FOLDER": str(tmp / "files"), "WTF_CSRF_ENABLED": False, "MAIL_SERVER": "",
                      "LOG_FORMAT": "json", "METRICS_TOKEN": "bench"})
    logging.getLogger().handlers[-1].stream = open(os.devnull, "w")  # log lines are written, to nowhere
    with app.app_context():
        upgrade()
    for name in ("portal.request", "portal.job"):
        logging.getLogger(name).disabled = False  # (alembic's fileConfig disabled them)
    moto.create_bucket("bench-documents")
    s3 = moto.config("bench-documents")
    with app.app_context():
        from portal.documents import store
        from tests import factories

        w = factories.World.build()
        pdf = b"%PDF-1.7\n" + os.urandom(100 * 1024 - 9)
        results = {}
        for backend in ("local", "s3"):
            app.config.update(s3 if backend == "s3" else {"STORAGE_BACKEND": "local"})
            app.extensions.pop("portal_storage", None)
            f = store.save_bytes(pdf, filename="bench.pdf", content_type="application/pdf",
                                 owner_company_id=w.buyer.id)
            db.session.commit()
            c = app.test_client()
            c.post("/signin", data={"email": w.procurement.email, "password": factories.PASSWORD})

            def download(fid=f.id):
                r = c.get(f"/files/{fid}")
                assert r.status_code == 200 and len(r.data) == len(pdf)

            t = timed(download, a.downloads)
            probe = app.test_client()
            r = timed(lambda: probe.get("/readyz").status_code == 200 or sys.exit("not ready"), a.probes)
            results[backend] = (statistics.median(t), statistics.median(r), p95(r))
        print("1. 100 KB PDF download through GET /files/<id> (streamed, SHA-256 checked), median of "
              f"{a.downloads}:")
        for backend, (t, _, _) in results.items():
            print(f"   {backend:<5} {t * 1000:7.2f} ms   {1 / t:7.1f} downloads/s   {len(pdf) / t / 1e6:6.1f} MB/s")
        print(f"   S3 / local time ratio: {results['s3'][0] / results['local'][0]:.2f}")
        print(f"2. /readyz (database, migrations, Redis, storage), {a.probes} probes:")
        for backend, (_, med, tail) in results.items():
            print(f"   storage {backend:<5} median {med * 1000:6.2f} ms   p95 {tail * 1000:6.2f} ms")

        app.config.update({"STORAGE_BACKEND": "local"})
        app.extensions.pop("portal_storage", None)
        c = app.test_client()
        c.post("/signin", data={"email": w.procurement.email, "password": factories.PASSWORD})
        hooks = _ops_hooks(app)
        print(f"3. Request middleware (request id, JSON log line, metrics), median of {a.requests} requests:")
        assert c.get("/dashboard").status_code == 200
        for label, path in (("dashboard (signed in)", "/dashboard"), ("/healthz", "/healthz")):
            for _ in range(20):
                c.get(path)
            on_t, off_t = [], []
            for i in range(2 * a.requests):  # interleaved: drift of a busy machine hits both sides alike
                on = i % 2 == 0
                _set_hooks(app, hooks, on=on)
                t0 = time.perf_counter()
                c.get(path)
                (on_t if on else off_t).append(time.perf_counter() - t0)
            _set_hooks(app, hooks, on=True)
            on, off = statistics.median(on_t), statistics.median(off_t)
            print(f"   {label:<22} with {on * 1000:6.2f} ms   without {off * 1000:6.2f} ms   "
                  f"overhead {100 * (on - off) / off:+5.1f} %")


def _ops_hooks(app):
    before = [f for f in app.before_request_funcs[None] if f.__module__ == "portal.ops.middleware"]
    after = [f for f in app.after_request_funcs[None] if f.__module__ == "portal.ops.middleware"]
    return before, after


def _set_hooks(app, hooks, on: bool):
    before, after = hooks
    b = [f for f in app.before_request_funcs[None] if f not in before]
    af = [f for f in app.after_request_funcs[None] if f not in after]
    if on:
        b = before + b
        af = after + af
    app.before_request_funcs[None] = b
    app.after_request_funcs[None] = af


if __name__ == "__main__":
    main()
