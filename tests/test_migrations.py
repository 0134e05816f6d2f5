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
