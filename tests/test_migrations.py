"""Migrations are code: the upgraded database matches the models, and the chain is linear and reversible."""
from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from portal.db import db
from tests.accounts.helpers import _isolated_requests  # noqa: F401  (one app context per request)
from tests.conftest import IS_PG


def _diff(connection, metadata, app):
    # the same comparison settings `flask db migrate` uses (Flask-Migrate's configure_args)
    opts = dict(app.extensions["migrate"].configure_args)
    wanted = ("compare_type", "compare_server_default", "render_as_batch")
    opts = {k: v for k, v in opts.items() if k in wanted}
    ctx = MigrationContext.configure(connection, opts=opts)
    return compare_metadata(ctx, metadata)


def test_migrations_match_the_models(app):
    assert app.extensions["migrate"].configure_args.get("compare_type") is True
    with db.engine.connect() as conn:
        diff = _diff(conn, db.metadata, app)
    assert diff == [], ("models and migrations disagree; run `flask db migrate`:\n"
                        + "\n".join(map(repr, diff)))


def test_the_comparison_would_notice_a_missing_migration(app):
    """Guard for the test above: a model change without a migration shows up in the diff."""
    md = sa.MetaData()
    for table in db.metadata.sorted_tables:
        table.to_metadata(md)
    sa.Table("widgets", md, sa.Column("id", sa.Integer, primary_key=True))
    md.tables["companies"].append_column(sa.Column("nickname", sa.String(40)))
    md.tables["users"].c.name.type = sa.String(300)
    with db.engine.connect() as conn:
        diff = _diff(conn, md, app)
    ops = [d for d in diff if isinstance(d, tuple)]
    modify = [m for d in diff if isinstance(d, list) for m in d]
    assert any(d[0] == "add_table" and d[1].name == "widgets" for d in ops), diff
    assert any(d[0] == "add_column" and d[2] == "companies" and d[3].name == "nickname" for d in ops), diff
    assert any(m[0] == "modify_type" and m[2:4] == ("users", "name") for m in modify), diff
    assert len(diff) == 3, diff


def test_the_database_is_at_the_single_head(app):
    script = ScriptDirectory.from_config(app.extensions["migrate"].migrate.get_config())
    heads = script.get_heads()
    assert len(heads) == 1, f"more than one migration head: {heads}"
    with db.engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_revision() == heads[0]


def test_migration_files_do_not_import_the_app(app):
    script = ScriptDirectory.from_config(app.extensions["migrate"].migrate.get_config())
    for rev in script.walk_revisions():
        source = open(rev.path, encoding="utf-8").read()
        assert "from portal" not in source and "import portal" not in source, rev.path


@pytest.fixture
def scratch_database_url(database_url):
    """An empty database of the same kind as the suite's."""
    if not IS_PG:
        import tempfile

        with tempfile.TemporaryDirectory() as d:
            yield f"sqlite:///{d}/scratch.db"
        return
    url = sa.engine.make_url(database_url)
    name = f"portal_scratch_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    yield url.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_migrations_downgrade_to_base_and_upgrade_again(app, scratch_database_url, redis_url):
    from flask_migrate import downgrade, upgrade

    from portal import create_app

    scratch = create_app({
        "TESTING": True, "SECRET_KEY": "scratch", "SQLALCHEMY_DATABASE_URI": scratch_database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True}, "REDIS_URL": "", "JOBS_MODE": "inline",
        "RATELIMIT_STORAGE_URI": redis_url, "UPLOAD_FOLDER": app.config["UPLOAD_FOLDER"],
    })
    with scratch.app_context():
        try:
            upgrade()
            downgrade(revision="base")
            leftover = set(sa.inspect(db.engine).get_table_names()) - {"alembic_version"}
            assert leftover == set(), f"downgrade left tables behind: {leftover}"
            upgrade()
            with db.engine.connect() as conn:
                assert _diff(conn, db.metadata, scratch) == []
        finally:
            db.engine.dispose()


# ------------------------------------------------------------------------------------------- lazy Flask-Migrate
# create_app does not import Flask-Migrate (it loads Alembic, ~11 MB in every worker; issue 20): `flask db ...` and
# flask_migrate.upgrade() set it up on first use.

def _scratch_app(url, redis_url, upload_folder):
    from portal import create_app

    return create_app({
        "TESTING": True, "SECRET_KEY": "scratch", "SQLALCHEMY_DATABASE_URI": url,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True}, "REDIS_URL": "", "JOBS_MODE": "inline",
        "RATELIMIT_STORAGE_URI": redis_url, "UPLOAD_FOLDER": upload_folder,
    })


def test_flask_db_upgrade_and_current_work_through_the_cli(app, scratch_database_url, redis_url, monkeypatch):
    from alembic.config import Config

    from portal.lazy_migrate import LazyMigrate

    printed: list[str] = []  # Alembic prints to the sys.stdout it was imported with, not the runner's
    monkeypatch.setattr(Config, "print_stdout", lambda self, text, *args: printed.append(text % args if args
                                                                                         else text))

    scratch = _scratch_app(scratch_database_url, redis_url, app.config["UPLOAD_FOLDER"])
    assert isinstance(scratch.extensions["migrate"], LazyMigrate)  # nothing loaded yet
    assert scratch.extensions["migrate"].directory.endswith("migrations")
    runner = scratch.test_cli_runner()
    with scratch.app_context():  # the commands run in the current app context (the suite's app has one too)
        try:
            listing = runner.invoke(args=["db", "--help"])
            assert listing.exit_code == 0, listing.output
            for command in ("upgrade", "downgrade", "migrate", "current", "heads", "check", "stamp"):
                assert command in listing.output

            result = runner.invoke(args=["db", "upgrade"])
            assert result.exit_code == 0, result.output
            # the real Flask-Migrate is in place now, with the settings `flask db migrate` compares with
            assert not isinstance(scratch.extensions["migrate"], LazyMigrate)
            args = scratch.extensions["migrate"].configure_args
            assert args["compare_type"] is True and args["render_as_batch"] is True
            config = scratch.extensions["migrate"].migrate.get_config()
            head = ScriptDirectory.from_config(config).get_current_head()
            with db.engine.connect() as conn:
                assert MigrationContext.configure(conn).get_current_revision() == head
                assert _diff(conn, db.metadata, scratch) == []

            current = runner.invoke(args=["db", "-d", scratch.extensions["migrate"].directory, "current"])
            assert current.exit_code == 0, current.output
            assert f"{head} (head)" in printed, printed

            wrong = runner.invoke(args=["db", "-d", "/nonexistent/migrations", "current"])
            assert wrong.exit_code != 0  # the group's own options still reach Flask-Migrate
        finally:
            db.engine.dispose()


def test_flask_migrate_functions_set_up_the_real_migrate_on_first_use(app, scratch_database_url, redis_url):
    from flask_migrate import upgrade

    from portal.lazy_migrate import LazyMigrate

    scratch = _scratch_app(scratch_database_url, redis_url, app.config["UPLOAD_FOLDER"])
    assert isinstance(scratch.extensions["migrate"], LazyMigrate)
    with scratch.app_context():
        try:
            upgrade()  # what conftest, the benches and scripts do
            assert "alembic_version" in sa.inspect(db.engine).get_table_names()
        finally:
            db.engine.dispose()
    assert not isinstance(scratch.extensions["migrate"], LazyMigrate)


def test_create_app_does_not_load_alembic(tmp_path):
    """A fresh process (a documents worker) that builds the app never imports flask_migrate or alembic."""
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    code = """if True:
        import json, sys
        from portal import create_app
        app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "REDIS_URL": "", "JOBS_MODE": "inline"})
        loaded = lambda: sorted(m for m in sys.modules if m.split(".")[0] in ("alembic", "flask_migrate"))
        before = loaded()
        names = sorted(app.cli.list_commands(None))
        args = app.extensions["migrate"].configure_args  # first use: the real Flask-Migrate
        print(json.dumps({"before": before, "after": loaded(), "commands": names, "args": args}))
    """
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")]),
               PORTAL_INSTANCE_PATH=str(tmp_path), PORTAL_UPLOAD_FOLDER=str(tmp_path / "files"),
               PORTAL_LOG_LEVEL="ERROR")
    env.pop("PORTAL_DATABASE_URL", None)
    proc = subprocess.run([sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    seen = json.loads(proc.stdout.strip().splitlines()[-1])
    assert seen["before"] == [], f"create_app imported {seen['before']}"
    assert "db" in seen["commands"]  # `flask db` is still registered
    assert "alembic" in seen["after"] and "flask_migrate" in seen["after"]  # ... and loads it when used
    assert seen["args"] == {"compare_type": True, "render_as_batch": True}
