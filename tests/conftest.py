"""Fixtures: one app per run on a real database (SQLite or a throwaway PostgreSQL database) and a real Redis.

PORTAL_TEST_DATABASE_URL selects the database: "sqlite" (default) or a PostgreSQL server URL; for PostgreSQL a
database named portal_test_<random> is created for the run and dropped afterwards. The schema is built with the
migrations (``flask db upgrade``), so every run also proves the migrations work. Each test starts from empty
tables (truncated after each test) and an empty Redis database.
"""
from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import time
import uuid

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from tests import factories

DB_SPEC = os.environ.get("PORTAL_TEST_DATABASE_URL", "sqlite")
IS_PG = DB_SPEC.startswith("postgres")


def pytest_addoption(parser):
    parser.addoption(
        "--split-dialects", action="store_true", default=False,
        help="make test's two side-by-side runs share the tests that do not depend on the database dialect: tests "
             "marked dialect_free run only in the SQLite run, tests marked one_run(\"sqlite\"|\"postgres\") "
             "only in that run, other browser tests (marker e2e) only in the PostgreSQL run (the others are "
             "deselected, and the summary says how many and where they run).")
    parser.addoption("--part", type=int, choices=(1, 2), default=None,
                     help="run one of two parts of the suite (scripts/test.sh runs the PostgreSQL run in two "
                          "processes): 1 = tests/{e2e,api,faults,ops,model,concurrency,jobs}, 2 = the rest.")


THIS_RUN = "postgres" if IS_PG else "sqlite"
# `--part 1|2` (scripts/test.sh): the PostgreSQL run in two processes side by side, each with its database, Redis and
# servers of its own. Part 1 takes these folders of tests/ (the ones that start servers and processes), part 2 the rest.
PART_ONE = {"e2e", "api", "faults", "ops", "model", "concurrency", "jobs"}


def _part(item) -> int:
    rel = os.path.relpath(str(item.path), os.path.dirname(__file__)).split(os.sep)
    return 1 if len(rel) > 1 and rel[0] in PART_ONE else 2


def _home_run(item) -> str | None:
    """The one run a test belongs to under --split-dialects, or None for a test that runs in both."""
    if IS_PG and item.get_closest_marker("postgres"):
        return "postgres"  # a PostgreSQL-only test stays in the PostgreSQL run whatever its other markers
    one = item.get_closest_marker("one_run")
    if one is not None:
        return one.args[0]
    if item.get_closest_marker("e2e"):
        return "postgres"
    if item.get_closest_marker("dialect_free"):
        return "sqlite"
    return None


def pytest_collection_modifyitems(config, items):
    part = config.getoption("--part")
    if part:
        other = [item for item in items if _part(item) != part]
        if other:
            config.hook.pytest_deselected(items=other)
            items[:] = [item for item in items if _part(item) == part]
    for item in items:
        one = item.get_closest_marker("one_run")
        if one is not None and (len(one.args) != 1 or one.args[0] not in ("sqlite", "postgres")):
            raise pytest.UsageError(f"{item.nodeid}: one_run takes \"sqlite\" or \"postgres\", not {one.args}")
    if config.getoption("--split-dialects"):
        moved = [item for item in items if _home_run(item) not in (None, THIS_RUN)]
        if moved:
            config.hook.pytest_deselected(items=moved)
            items[:] = [item for item in items if _home_run(item) in (None, THIS_RUN)]
            config._portal_split = (len(moved), "SQLite" if IS_PG else "PostgreSQL")
        if not IS_PG:  # the SQLite run's browser tests last: the PostgreSQL run's come early (tests/e2e), and two
            # gunicorns, workers and Chromiums at once on two cores made a server wait 45 s to answer
            items.sort(key=lambda item: bool(item.get_closest_marker("e2e")))
    if IS_PG:
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (PORTAL_TEST_DATABASE_URL=postgresql://...)")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


def pytest_sessionfinish(session, exitstatus):
    if exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED and (getattr(session.config, "_portal_split", None)
                                                             or session.config.getoption("--part")):
        session.exitstatus = pytest.ExitCode.OK  # all of them run in the other run (e.g. PYTEST_ARGS=tests/e2e)


def pytest_terminal_summary(terminalreporter, config):
    split = getattr(config, "_portal_split", None)
    if split:
        terminalreporter.write_line(f"--split-dialects: {split[0]} tests deselected here (dialect_free, one_run or "
                                    f"e2e); they run in the {split[1]} run.")


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(fixturedef, request):
    if fixturedef.scope not in ("function", "module"):  # the run's app, databases and servers are shared
        return (yield)
    return (yield from _without_sql(request.node, f"the setup of fixture {fixturedef.argname!r}"))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    return (yield from _without_sql(item, "the test"))


def _without_sql(item, phase):
    """A test marked dialect_free runs in one of make test's two runs only, so it must not touch the database:
    a statement sent by the test or by its function- or module-scoped fixtures fails it, on either database."""
    if not item.get_closest_marker("dialect_free"):
        return (yield)
    sent: list[str] = []

    def seen(conn, cursor, statement, *args):
        sent.append(statement)

    sa.event.listen(sa.engine.Engine, "before_cursor_execute", seen)
    try:
        result = yield
    finally:
        sa.event.remove(sa.engine.Engine, "before_cursor_execute", seen)
    if sent:
        pytest.fail(f"{item.nodeid} is marked dialect_free but sent {len(sent)} SQL statement(s) in {phase} "
                    f"(first: {sent[0][:160]!r}): drop the marker so that it runs on both databases", pytrace=False)
    return result


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def redis_url():
    """A real Redis of this run's own: a throwaway redis-server on a free port when one is installed (so
    concurrent runs never flush each other), else PORTAL_TEST_REDIS_URL or a database of 127.0.0.1:6379."""
    from redis import Redis

    proc = None
    exe = shutil.which("redis-server")
    if exe and not os.environ.get("PORTAL_TEST_REDIS_URL"):
        port = _free_port()
        proc = subprocess.Popen([exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                 "--appendonly", "no"], stdout=subprocess.DEVNULL)
        url = f"redis://127.0.0.1:{port}/0"
        for _ in range(100):
            try:
                Redis.from_url(url).ping()
                break
            except Exception:
                time.sleep(0.05)
    else:
        url = os.environ.get("PORTAL_TEST_REDIS_URL", f"redis://127.0.0.1:6379/{11 if IS_PG else 10}")
        try:
            Redis.from_url(url, socket_connect_timeout=1).ping()
        except Exception:
            pytest.exit(f"No Redis at {url} and redis-server is not installed: the suite needs a real Redis.")
    Redis.from_url(url).flushdb()
    yield url
    if proc:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    if not IS_PG:
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
        return
    server = sa.engine.make_url(DB_SPEC.replace("postgresql://", "postgresql+psycopg://", 1)
                                if DB_SPEC.startswith("postgresql://") else DB_SPEC)
    name = f"portal_test_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(server.set(database=server.database or "postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        # A throwaway database needs no durable commits: without waiting for the WAL flush each commit is
        # ~10x cheaper on a busy machine (the suite commits some 100,000 times). Locking, isolation and
        # crash-free behaviour are unchanged.
        conn.execute(sa.text(f'ALTER DATABASE "{name}" SET synchronous_commit = off'))
    yield server.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def s3_server():
    """moto in server mode on a free port (started on first use, once per run)."""
    from tests.s3server import MotoServer

    server = MotoServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def s3_settings(s3_server):
    """App config entries that put documents into a fresh bucket of the run's S3 server."""
    bucket = f"portal-test-{uuid.uuid4().hex[:8]}"
    s3_server.create_bucket(bucket)
    return s3_server.config(bucket)


# PORTAL_TEST_STORAGE=s3 runs the whole suite with documents in the S3 backend (moto server).
STORAGE_SPEC = os.environ.get("PORTAL_TEST_STORAGE", "local")


@pytest.fixture(scope="session")
def app(database_url, redis_url, tmp_path_factory, request):
    from flask_migrate import upgrade

    from portal import create_app

    storage = request.getfixturevalue("s3_settings") if STORAGE_SPEC == "s3" else {}
    files = tmp_path_factory.mktemp("files")
    os.environ["PORTAL_INSTANCE_PATH"] = str(tmp_path_factory.mktemp("instance"))
    app = create_app({
        "TESTING": True,
        "SECRET_KEY": secrets.token_hex(16),
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True, **({"pool_size": 20} if IS_PG else {})},
        "REDIS_URL": redis_url,
        "RATELIMIT_STORAGE_URI": redis_url,
        "JOBS_MODE": "rq",
        "WTF_CSRF_ENABLED": False,
        "UPLOAD_FOLDER": str(files),
        "MAIL_SERVER": "",
        "SERVER_NAME": "portal.test",
        **storage,
    })
    @app.before_request
    def _fresh_login_state():
        # Tests keep one app context open, which every test-client request reuses (and so shares `g`).
        # Flask-Login caches the user in g._login_user: without this, a second client would act as the first.
        from flask import g

        g.pop("_login_user", None)

    with app.app_context():
        from portal.db import db

        if not IS_PG:
            _fast_sqlite(db.engine)
        upgrade()
    yield app
    with app.app_context():
        from portal.db import db

        db.engine.dispose()


def _fast_sqlite(engine) -> None:
    """A throwaway SQLite file needs no fsync per commit (PRAGMA synchronous=OFF; same SQL, same locking)."""

    @sa.event.listens_for(engine, "connect")
    def _pragma(dbapi_conn, _record):
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA synchronous=OFF")
        cur.close()

    engine.dispose()  # connections opened before the listener get it too


# ---------------------------------------------------------------------------------------------------
# Demo data: seeded once per run into a template database, copied for each test that asks for it
# ---------------------------------------------------------------------------------------------------

class _SeedResult:
    def __init__(self, exit_code: int, output: str):
        self.exit_code, self.output = exit_code, output


def _engine_for(app, url: str):
    opts = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    if not IS_PG:
        opts.pop("pool_size", None)
    engine = sa.create_engine(url, **opts)
    if not IS_PG:
        _fast_sqlite(engine)
    return engine


class _SwappedDatabase:
    """Point the app's default engine at another database for a while (Flask-SQLAlchemy keeps one engine per
    app and binds every session to it at query time)."""

    def __init__(self, app, url: str):
        from portal.db import db

        self.app, self.url = app, url
        self.engines = db._app_engines[app]
        self.original = self.engines[None]

    def __enter__(self):
        from portal.db import db

        db.session.remove()
        self.engine = _engine_for(self.app, self.url)
        self.engines[None] = self.engine
        return self

    def __exit__(self, *exc):
        from portal.db import db

        db.session.remove()
        self.engines[None] = self.original
        self.engine.dispose()


def _pg_admin(database_url):
    url = sa.engine.make_url(database_url)
    return url, sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")


def _copy_database(app, database_url: str, source: str | None, target: str) -> str:
    """A new database named/located ``target``: a copy of ``source`` (None: of the run's migrated, empty test
    database). PostgreSQL: CREATE DATABASE … TEMPLATE (a file-level copy, no SQL replayed); SQLite: a file copy."""
    from portal.db import db

    if IS_PG:
        url, admin = _pg_admin(database_url)
        src = source or url.database
        if source is None:
            db.session.remove()
            db.engine.dispose()  # a template must have no open connections
        try:
            with admin.connect() as conn:
                conn.execute(sa.text(f'CREATE DATABASE "{target}" TEMPLATE "{src}"'))
        finally:
            admin.dispose()
        return url.set(database=target).render_as_string(hide_password=False)
    src = source or sa.engine.make_url(database_url).database
    if source is None:
        db.session.remove()
        db.engine.dispose()
    shutil.copyfile(src, target)
    return f"sqlite:///{target}"


def _drop_database(database_url: str, url: str) -> None:
    if IS_PG:
        _, admin = _pg_admin(database_url)
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{sa.engine.make_url(url).database}" WITH (FORCE)'))
        admin.dispose()
    else:
        path = sa.engine.make_url(url).database
        if path and os.path.exists(path):
            os.remove(path)


@pytest.fixture(scope="session")
def _demo_template(app, database_url, redis_url, tmp_path_factory):
    """The demo world (`flask demo seed`: six companies, their people, eleven months of history through the
    services) built once per run, on first use, into a template database of its own. ~10-30 s per seed, so the
    tests that need it copy this instead of seeding again."""
    name = (f"{sa.engine.make_url(database_url).database}_demo" if IS_PG
            else str(tmp_path_factory.mktemp("demo") / "demo-template.db"))
    with app.app_context():
        url = _copy_database(app, database_url, None, name)
    with app.app_context(), _SwappedDatabase(app, url):
        result = app.test_cli_runner().invoke(args=["demo", "seed"])
        assert result.exit_code == 0, result.output
    with app.app_context():
        app.extensions["portal_redis"].flushdb()  # the seed's queued jobs belong to the template, not to a test
    yield _SeedResult(result.exit_code, result.output), name, url
    _drop_database(database_url, url)


@pytest.fixture
def demo_db(app, database_url, _demo_template, tmp_path):
    """The demo data for this test alone: a fresh copy of the seeded template (PostgreSQL CREATE DATABASE …
    TEMPLATE, a file copy for SQLite), put in place of the test database for the test and dropped after it.
    ``demo_db.seed_result`` is the template's `flask demo seed` result (exit code and output)."""
    import uuid as _uuid

    from portal.db import db

    result, template, _ = _demo_template
    target = (f"{sa.engine.make_url(database_url).database}_d{_uuid.uuid4().hex[:6]}" if IS_PG
              else str(tmp_path / "demo.db"))
    url = _copy_database(app, database_url, template, target)
    swap = _SwappedDatabase(app, url)
    swap.seed_result = result
    with swap:
        yield swap
    db.session.remove()
    _drop_database(database_url, url)


def _truncate(app):
    """Empty every table the test wrote to (one probe query finds them). On PostgreSQL with DELETE and the
    foreign-key triggers off for the transaction: TRUNCATE of all ~80 tables costs about a second per test; on
    SQLite a DELETE per written table, children first (a DELETE of each of the ~80 tables was ~80 statements
    after every test, most of them on empty tables)."""
    from portal.db import db

    names = [t.name for t in db.metadata.sorted_tables]
    probe = " UNION ALL ".join(f"SELECT '{n}' WHERE EXISTS (SELECT 1 FROM \"{n}\")" for n in names)
    if not IS_PG:
        with db.engine.begin() as conn:
            used = {row[0] for row in conn.execute(sa.text(probe))}
            for t in reversed(names):
                if t in used:
                    conn.execute(sa.text(f'DELETE FROM "{t}"'))
            if conn.execute(sa.text("SELECT 1 FROM sqlite_master WHERE name='sqlite_sequence'")).first():
                conn.execute(sa.text("DELETE FROM sqlite_sequence"))
        return
    with db.engine.connect() as conn:
        used = [row[0] for row in conn.execute(sa.text(probe))]
        conn.rollback()
        if not used:
            return
        try:
            with conn.begin():
                conn.execute(sa.text("SET LOCAL session_replication_role = replica"))
                for n in used:
                    conn.execute(sa.text(f'DELETE FROM "{n}"'))
        except sa.exc.DBAPIError:  # no superuser rights: the slow, always-allowed way
            with conn.begin():
                conn.execute(sa.text("TRUNCATE " + ", ".join(f'"{n}"' for n in used) + " RESTART IDENTITY CASCADE"))


class IsolatedClient(FlaskClient):
    """Every test-client request runs in an app context (and database session) of its own, as in production,
    so requests never share `g` or the session with the test or with another client."""

    def open(self, *args, **kwargs):
        with self.application.app_context():
            return super().open(*args, **kwargs)


@pytest.fixture(autouse=True)
def _isolated_client_by_default(app, monkeypatch):
    monkeypatch.setattr(app, "test_client_class", IsolatedClient)


@pytest.fixture(autouse=True)
def app_ctx(app):
    """A fresh app context (and DB session) per test; empty tables and Redis afterwards."""
    from portal.db import db
    from portal.extensions import limiter

    with app.app_context():
        yield
        db.session.remove()
    with app.app_context():
        _truncate(app)
        app.extensions["portal_redis"].flushdb()
        limiter.reset()


@pytest.fixture(autouse=True)
def no_smtp(monkeypatch):
    """Tests never reach a real SMTP server."""
    import smtplib

    class Refuse:
        def __init__(self, *a, **kw):
            raise AssertionError("a test tried to open a real SMTP connection")

    monkeypatch.setattr(smtplib, "SMTP", Refuse)
    monkeypatch.setattr(smtplib, "SMTP_SSL", Refuse)


@pytest.fixture
def db_session(app):
    from portal.db import db

    return db.session


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def make_client(app):
    return app.test_client


@pytest.fixture
def login(app):
    """login(user) -> a test client signed in as user (through the real sign-in form)."""

    def _login(user, password=factories.PASSWORD):
        c = app.test_client()
        resp = c.post("/signin", data={"email": user.email, "password": password})
        assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
        return c

    return _login


@pytest.fixture
def run_jobs(app):
    """Run every queued RQ job now, in this process (a burst SimpleWorker on all queues)."""
    from rq import SimpleWorker

    from portal.jobs.queue import QUEUES

    def _run(queues=QUEUES, max_jobs=None):
        conn = app.extensions["portal_redis"]
        w = SimpleWorker(list(queues), connection=conn)
        w.work(burst=True, max_jobs=max_jobs, logging_level="WARNING", with_scheduler=False)
        return w

    return _run


@pytest.fixture
def count_queries(app):
    """with count_queries() as q: ...; q.count — statements sent to the database."""
    from contextlib import contextmanager

    from portal.db import db

    @contextmanager
    def _count():
        class Counter:
            count = 0
            statements: list[str] = []

        c = Counter()
        c.statements = []

        def before(conn, cursor, statement, params, context, executemany):
            c.count += 1
            c.statements.append(statement)

        sa.event.listen(db.engine, "before_cursor_execute", before)
        try:
            yield c
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", before)

    return _count


@pytest.fixture
def world():
    """A small two-sided world: a buyer and two suppliers with people of every role."""
    return factories.World.build()
