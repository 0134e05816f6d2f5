"""The portal under gunicorn with gunicorn.conf.py and two worker processes: /metrics adds up both workers
(prometheus_client's multiprocess mode), request lines are JSON, /healthz and /readyz answer."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.s3server import free_port

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
TOKEN = "two-workers-token"


def _get(url, headers=None):
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=20) as r:
            return r.status, r.read(), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read(), dict(e.headers)


def _wait(port, proc, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        assert proc.poll() is None, "gunicorn exited"
        try:
            if _get(f"http://127.0.0.1:{port}/healthz")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError("gunicorn did not answer")


@pytest.mark.one_run("postgres")  # gunicorn's processes and their metrics; the database is a backdrop
def test_metrics_add_up_both_gunicorn_workers(app, database_url, redis_url, tmp_path):
    port = free_port()
    metrics_dir = tmp_path / "metrics"
    env = dict(os.environ, PORTAL_DATABASE_URL=database_url, REDIS_URL=redis_url, PORTAL_SECRET_KEY="k" * 32,
               PORTAL_INSTANCE_PATH=str(tmp_path), PORTAL_UPLOAD_FOLDER=str(tmp_path / "files"),
               PORTAL_METRICS_TOKEN=TOKEN, PORTAL_LOG_FORMAT="json", WEB_CONCURRENCY="2", GUNICORN_THREADS="2",
               PROMETHEUS_MULTIPROC_DIR=str(metrics_dir), GUNICORN_BIND=f"127.0.0.1:{port}")
    env.pop("PORTAL_TEST_DATABASE_URL", None)
    err = open(tmp_path / "gunicorn.err", "w")
    proc = subprocess.Popen([str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "wsgi:app"], cwd=ROOT, env=env,
                            stdout=err, stderr=err, start_new_session=True)
    try:
        _wait(port, proc)
        base = f"http://127.0.0.1:{port}"
        sent = 1  # the wait's /healthz
        lock = threading.Lock()

        def fire(n):
            nonlocal sent
            for _ in range(n):
                assert _get(base + "/healthz")[0] == 200
                with lock:
                    sent += 1

        # concurrent connections until both workers have served (each writes its own counter file)
        for _ in range(20):
            threads = [threading.Thread(target=fire, args=(10,)) for _ in range(6)]
            [t.start() for t in threads]
            [t.join() for t in threads]
            pids = {p.name.split("_")[1].split(".")[0] for p in metrics_dir.glob("counter_*.db")}
            if len(pids) >= 2:
                break
        assert len(pids) >= 2, f"only worker(s) {pids} answered"
        status, _, _ = _get(base + "/metrics")
        assert status == 401
        status, body, headers = _get(base + "/metrics", {"Authorization": f"Bearer {TOKEN}"})
        assert status == 200 and headers["Content-Type"].startswith("text/plain")
        total = None
        for fam in text_string_to_metric_families(body.decode()):
            for s in fam.samples:
                if s.name == "portal_http_requests_total" and s.labels.get("route") == "/healthz":
                    total = s.value
        assert total == sent, (total, sent)  # every request of both workers, counted once
        assert _get(base + "/readyz")[0] == 200
        status, _, headers = _get(base + "/signin")
        assert status == 200
        rid = headers["X-Request-ID"]
    finally:
        proc.terminate()
        proc.wait(30)
        err.close()
    lines = [json.loads(line) for line in (tmp_path / "gunicorn.err").read_text().splitlines()
             if line.startswith("{")]
    signin = [x for x in lines if x.get("event") == "request" and x.get("request_id") == rid]
    assert signin and signin[0]["route"] == "/signin" and signin[0]["status"] == 200
    assert all("ts" in x and "level" in x for x in lines)
