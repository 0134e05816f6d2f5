"""`flask jobs worker` stops on SIGTERM/SIGINT when idle (a deploy's restart does not wait out the kill timeout)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.one_run("sqlite")  # a process and its signals; the database is a backdrop (README "Tests")
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_an_idle_worker_stops_on_a_signal(app, redis_url, tmp_path, sig):
    env = dict(os.environ, FLASK_APP="wsgi.py", PORTAL_DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
               REDIS_URL=redis_url.rsplit("/", 1)[0] + "/9", PORTAL_SECRET_KEY="x", PORTAL_JOBS_MODE="rq",
               PORTAL_INSTANCE_PATH=str(tmp_path))
    log = open(tmp_path / "worker.log", "w+")
    proc = subprocess.Popen([str(Path(sys.executable).parent / "flask"), "jobs", "worker", "-q", "default"],
                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 120
        while "Listening on" not in (tmp_path / "worker.log").read_text() and "*** Listening" not in \
                (tmp_path / "worker.log").read_text():
            assert proc.poll() is None, (tmp_path / "worker.log").read_text()
            assert time.time() < deadline, "the worker did not start"
            time.sleep(0.2)
        time.sleep(0.5)  # in its idle wait for a job
        proc.send_signal(sig)
        try:
            code = proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            pytest.fail("an idle worker kept running 15 s after " + sig.name + ":\n"
                        + (tmp_path / "worker.log").read_text()[-2000:])
        assert code == 0, (tmp_path / "worker.log").read_text()[-2000:]
        assert "starting again" not in (tmp_path / "worker.log").read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()
