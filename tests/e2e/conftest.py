"""Browser tests: the real app under gunicorn on a free loopback port, a real RQ worker and Redis, and Debian's
Chromium driven by Playwright. The server and worker share the test run's database (tables are emptied after
each test, like every other test) and use a Redis database of their own.

One server, one worker and one Chromium serve the whole of tests/e2e (package scope: started by the first
browser test, stopped after the last, before any other test runs); each module still starts with an empty
Redis apart from the worker's own queue keys (sign-in limits and the like start afresh, as with a server per
module). Starting them per module cost ~20 starts of two gunicorn workers, a worker and Chromium per run.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_port(port: int, proc, timeout=30.0) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("server did not start")


@contextmanager
def serving(app, database_url, redis_url, inst: Path, redis_db: str | None = None):
    """gunicorn (2 workers) and an RQ worker on ``database_url`` with a Redis database of their own; yields the
    server's base URL and that Redis URL, once the sign-in page answers; kills both at the end."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium not installed at {CHROMIUM} (.ci/run installs it)")
    pytest.importorskip("playwright.sync_api")
    from redis import Redis

    db_no = redis_db or ("15" if "postgres" in database_url else "14")
    e2e_redis = redis_url.rsplit("/", 1)[0] + "/" + db_no
    Redis.from_url(e2e_redis).flushdb()
    env = dict(os.environ, FLASK_APP="wsgi.py", PORTAL_DATABASE_URL=database_url, REDIS_URL=e2e_redis,
               PORTAL_SECRET_KEY="e2e-secret", PORTAL_INSTANCE_PATH=str(inst),
               PORTAL_UPLOAD_FOLDER=app.config["UPLOAD_FOLDER"], PORTAL_JOBS_MODE="rq",
               PORTAL_LOGIN_RATE_LIMIT="1000 per minute")
    port = _free_port()
    log = open(inst / "server.log", "w")
    server = subprocess.Popen([str(BIN / "gunicorn"), "--bind", f"127.0.0.1:{port}", "--workers", "2",
                               "--threads", "2", "wsgi:app"], cwd=ROOT, env=env, stdout=log, stderr=log,
                              start_new_session=True)
    worker = subprocess.Popen([str(BIN / "flask"), "jobs", "worker"], cwd=ROOT, env=env, stdout=log, stderr=log,
                              start_new_session=True)
    try:
        _wait_port(port, server)
        _warm_up(f"http://127.0.0.1:{port}", server)
        yield f"http://127.0.0.1:{port}", e2e_redis
    finally:
        _kill(server, worker)
        log.close()


@pytest.fixture(scope="package")
def _live_stack(app, database_url, redis_url, tmp_path_factory, request):
    if any("demo_live_server" in getattr(item, "fixturenames", ()) for item in request.session.items):
        # The demo template is a copy of the run's database, which must have no open connections then: seed it
        # before the shared server and worker connect (PostgreSQL's CREATE DATABASE … TEMPLATE).
        request.getfixturevalue("_demo_template")
    with serving(app, database_url, redis_url, tmp_path_factory.mktemp("e2e-instance")) as stack:
        yield stack


def _kill(*procs) -> None:
    """Stop test servers at once (SIGKILL to each process group): nothing of a finished test needs a graceful
    shutdown, and the graceful ones waited here ~20 s per stop (gunicorn's workers did not exit within 10 s of
    SIGTERM, and an idle `flask jobs worker` starts its loop again after SIGTERM)."""
    for p in procs:
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    for p in procs:
        p.wait(timeout=30)


def _warm_up(url: str, server, timeout: float = 180.0) -> None:
    """Wait until the sign-in page answers a few times: gunicorn binds the port before its workers have built the
    app, which on a loaded machine outlasts a page's timeout (the first test would fail)."""
    import urllib.request

    deadline = time.time() + timeout
    answered = 0
    while answered < 4:
        if server.poll() is not None:
            raise RuntimeError(f"server exited with {server.returncode}")
        if time.time() > deadline:
            raise RuntimeError(f"{url}/signin did not answer within {timeout:.0f} s")
        try:
            with urllib.request.urlopen(url + "/signin", timeout=60) as r:
                answered += r.status == 200
        except OSError:
            time.sleep(0.2)


@pytest.fixture(scope="module")
def live_server(_live_stack):
    """The shared server's address; each module starts with that server's Redis emptied of everything but the
    worker's RQ keys (rate-limit windows, caches), as if the server were its own."""
    from redis import Redis

    url, e2e_redis = _live_stack
    r = Redis.from_url(e2e_redis)
    stale = [k for k in r.scan_iter(count=1000) if not k.startswith(b"rq:")]
    if stale:
        r.delete(*stale)
    return url


def forget_finished_jobs(redis_url: str) -> None:
    """Delete the finished and failed jobs an earlier test left in a shared server's Redis. Job ids name their
    record (`credit-check-<order id>`) and on SQLite ids start again at 1 after each test's cleanup, so a kept
    `credit-check-1` made the next test's order 1 "already queued or done": never checked."""
    from redis import Redis

    r = Redis.from_url(redis_url)
    done = [k for k in r.scan_iter(match="rq:job:*", count=1000)
            if r.type(k) == b"hash" and r.hget(k, "status") in (b"finished", b"failed", b"canceled", b"stopped")]
    if done:
        r.delete(*done)


@pytest.fixture(autouse=True)
def _fresh_job_ids(request):
    if "live_server" in request.fixturenames and "demo_live_server" not in request.fixturenames:
        forget_finished_jobs(request.getfixturevalue("_live_stack")[1])


@pytest.fixture(scope="module")
def demo_live_server(app, database_url, redis_url, _demo_template, tmp_path_factory):
    """A server and worker of the module's own on a copy of the seeded demo (`flask demo seed`, the run's template
    database), with this process's database session on the same copy for the whole module, and a Redis database
    apart from the shared stack's (its worker must not take the shared server's jobs). A module that walks the
    demo data overrides ``live_server`` with it."""
    import uuid

    import sqlalchemy as sa

    from tests.conftest import IS_PG, _copy_database, _drop_database, _SwappedDatabase

    _, template, _ = _demo_template
    target = (f"{sa.engine.make_url(database_url).database}_e{uuid.uuid4().hex[:6]}" if IS_PG
              else str(tmp_path_factory.mktemp("e2e-demo") / "demo.db"))
    with app.app_context():
        url = _copy_database(app, database_url, template, target)
    try:
        with app.app_context(), _SwappedDatabase(app, url), \
                serving(app, url, redis_url, tmp_path_factory.mktemp("e2e-instance"),
                        redis_db="13" if IS_PG else "12") as (base, _redis):
            yield base
    finally:
        _drop_database(database_url, url)


@pytest.fixture(scope="package")
def _chromium(_live_stack):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                              args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                                    "--disable-component-update", "--no-first-run", "--disable-sync"])
        yield b
        b.close()


@pytest.fixture(scope="module")
def browser(_chromium, live_server):
    return _chromium


def sign_in(browser, live_server, user, contexts, *, password=None, viewport=None, timeout=15000, **context_args):
    """A new browser context (appended to ``contexts`` for closing) and a page signed in as ``user``."""
    from tests.factories import PASSWORD

    ctx = browser.new_context(viewport=viewport or {"width": 1366, "height": 768}, accept_downloads=True,
                              **context_args)
    contexts.append(ctx)
    page = ctx.new_page()
    page.set_default_timeout(timeout)
    page.goto(live_server + "/signin")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(password or PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/dashboard")
    return page


@pytest.fixture
def signed_in(browser, live_server):
    """signed_in(user) -> a Playwright page signed in as that user (password from tests.factories)."""
    from tests.factories import PASSWORD

    contexts = []

    def _open(user, password=PASSWORD):
        return sign_in(browser, live_server, user, contexts, password=password)

    yield _open
    for c in contexts:
        c.close()
