"""Fault tests: the real app under gunicorn, real `flask jobs worker` processes, a private redis-server that the
test stops and starts (append-only file, as `make run` keeps it), a private SMTP sink that counts what was sent,
and the test run's PostgreSQL database. Each test starts its own stack (a few seconds)."""
from __future__ import annotations

import os
import re
import signal
import socketserver
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.e2e.conftest import _free_port, _kill, _wait_port

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
HEARTBEAT_TTL = 3  # seconds: a dead worker's job is detectable this quickly in the tests


def wait_for(predicate, timeout=60.0, interval=0.2, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


class RedisProc:
    def __init__(self, workdir: Path):
        self.port = _free_port()
        self.dir = workdir
        self.proc = None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self):
        self.proc = subprocess.Popen(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                                      "--save", "", "--appendonly", "yes", "--dir", str(self.dir)],
                                     stdout=subprocess.DEVNULL, start_new_session=True)
        from redis import Redis

        wait_for(lambda: _pings(Redis.from_url(self.url, socket_connect_timeout=0.2)), 10, 0.05, "redis")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def client(self):
        from redis import Redis

        return Redis.from_url(self.url)


def _pings(r) -> bool:
    try:
        return bool(r.ping())
    except Exception:  # noqa: BLE001
        return False


class _SmtpHandler(socketserver.StreamRequestHandler):
    def handle(self):
        sink = self.server.sink
        self.wfile.write(b"220 sink\r\n")
        rcpts, in_data, data = [], False, []
        for raw in self.rfile:
            line = raw.decode("utf-8", "replace")
            if in_data:
                if line in (".\r\n", ".\n"):
                    in_data = False
                    body = "".join(data)
                    m = re.search(r"^Subject: (.*)$", body, re.M)
                    with sink.lock:
                        for r in rcpts:
                            sink.messages.append((r, (m.group(1).strip() if m else "")))
                    rcpts, data = [], []
                    self.wfile.write(b"250 ok\r\n")
                else:
                    data.append(line)
                continue
            cmd = line[:4].upper()
            if cmd == "EHLO" or cmd == "HELO":
                self.wfile.write(b"250 sink\r\n")
            elif cmd == "RCPT":
                rcpts.append(line.split(":", 1)[1].strip().strip("<>"))
                self.wfile.write(b"250 ok\r\n")
            elif cmd == "DATA":
                in_data = True
                self.wfile.write(b"354 go\r\n")
            elif cmd == "QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            else:
                self.wfile.write(b"250 ok\r\n")


class SmtpSink:
    """Counts every message delivered to it: (recipient, subject)."""

    def __init__(self):
        self.messages: list[tuple[str, str]] = []
        self.lock = threading.Lock()
        socketserver.ThreadingTCPServer.allow_reuse_address = True
        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _SmtpHandler)
        self.server.daemon_threads = True
        self.server.sink = self
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class Stack:
    def __init__(self, app, database_url, tmp: Path):
        self.tmp = tmp
        self.redis = RedisProc(tmp)
        self.smtp = SmtpSink()
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = dict(os.environ, FLASK_APP="wsgi.py", PORTAL_DATABASE_URL=database_url, REDIS_URL=self.redis.url,
                        PORTAL_SECRET_KEY="faults-secret", PORTAL_INSTANCE_PATH=str(tmp),
                        PORTAL_UPLOAD_FOLDER=app.config["UPLOAD_FOLDER"], PORTAL_JOBS_MODE="rq",
                        PORTAL_LOGIN_RATE_LIMIT="1000 per minute", SMTP_HOST="127.0.0.1",
                        SMTP_PORT=str(self.smtp.port), SMTP_STARTTLS="0",
                        PORTAL_JOB_HEARTBEAT_TTL=str(HEARTBEAT_TTL))
        self.log = open(tmp / "stack.log", "w")
        self.procs: list[subprocess.Popen] = []
        self.server = None

    def start(self):
        self.redis.start()
        self.server = self._spawn([str(BIN / "gunicorn"), "--bind", f"127.0.0.1:{self.port}", "--workers", "1",
                                   "--threads", "4", "wsgi:app"])
        _wait_port(self.port, self.server)
        return self

    def _spawn(self, argv) -> subprocess.Popen:
        p = subprocess.Popen(argv, cwd=ROOT, env=self.env, stdout=self.log, stderr=self.log, start_new_session=True)
        self.procs.append(p)
        return p

    def worker(self, *queues) -> subprocess.Popen:
        argv = [str(BIN / "flask"), "jobs", "worker"]
        for q in queues:
            argv += ["-q", q]
        p = self._spawn(argv)
        r = self.redis.client()
        wait_for(lambda: r.keys("rq:worker:*") or p.poll() is not None, 30, 0.1, "the worker to register")
        assert p.poll() is None, self.logs()
        return p

    def flask(self, *args) -> subprocess.CompletedProcess:
        return subprocess.run([str(BIN / "flask"), *args], cwd=ROOT, env=self.env, capture_output=True, text=True,
                              timeout=60)

    def kill9(self, p: subprocess.Popen):
        os.killpg(p.pid, signal.SIGKILL)
        p.wait(10)

    def logs(self) -> str:
        self.log.flush()
        return (self.tmp / "stack.log").read_text()[-4000:]

    def stop(self):
        _kill(*self.procs)  # at once: a graceful stop waited up to 10 s per process
        self.redis.stop()
        self.smtp.close()
        self.log.close()


@pytest.fixture
def stack(app, database_url, tmp_path):
    s = Stack(app, database_url, tmp_path)
    try:
        yield s.start()
    finally:
        s.stop()


class Session:
    """A signed-in person speaking HTTP to the live server, with the CSRF token a page would carry."""

    def __init__(self, base: str):
        import requests

        self.base = base
        self.http = requests.Session()
        self.token = None

    def signin(self, user, password=None):
        from tests.factories import PASSWORD

        page = self.http.get(self.base + "/signin")
        self.token = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page.text).group(1)
        r = self.post("/signin", {"email": user.email, "password": password or PASSWORD})
        assert r.status_code == 302, r.text[:500]
        return self

    def post(self, path: str, data: dict, **kw):
        return self.http.post(self.base + path, data={"csrf_token": self.token, **data}, allow_redirects=False,
                              timeout=30, **kw)

    def get(self, path: str):
        return self.http.get(self.base + path, timeout=30)
