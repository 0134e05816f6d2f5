"""Flask-Migrate, loaded only when something uses it (issue 20).

``import flask_migrate`` pulls in Alembic: ~11 MB of resident memory in every process that builds the app, the
documents worker included, which never migrates anything. ``create_app`` therefore does not import it. Instead:

- ``app.extensions["migrate"]`` is a :class:`LazyMigrate` that stands in for Flask-Migrate's own config object.
  ``directory`` and ``db`` answer without importing anything; any other attribute (``migrate``,
  ``configure_args``, which ``flask_migrate.upgrade()``, ``migrations/env.py`` and the tests use) first sets up
  the real ``Migrate(app, db, ...)``, which replaces the stand-in with its own object, and answers from it.
- ``flask db ...`` is a :class:`LazyDbGroup` that sets up the real ``Migrate`` and hands its arguments to
  ``flask_migrate.cli.db``, so every ``flask db`` command (upgrade, migrate, current, downgrade, ...) and its
  options behave exactly as before.
"""
from __future__ import annotations

import threading

import click
from flask import Flask

COMMAND = "db"
_lock = threading.Lock()


def init_app(app: Flask, db, directory: str, **kwargs) -> None:
    """Register the stand-ins; ``kwargs`` are Flask-Migrate's (``render_as_batch``, ``compare_type``, ...)."""
    app.extensions["migrate"] = LazyMigrate(app, db, directory, kwargs)
    app.cli.add_command(LazyDbGroup(app), name=COMMAND)


def load(app: Flask):
    """The real Flask-Migrate config object of ``app`` (``Migrate.init_app`` is run on first use)."""
    current = app.extensions.get("migrate")
    if not isinstance(current, LazyMigrate):
        return current
    with _lock:
        current = app.extensions.get("migrate")
        if isinstance(current, LazyMigrate):
            from flask_migrate import Migrate

            # sets app.extensions["migrate"] to its _MigrateConfig and app.cli's "db" to flask_migrate.cli.db
            Migrate(app, current.db, directory=current.directory, command=COMMAND, **current.kwargs)
        return app.extensions["migrate"]


class LazyMigrate:
    """Stands in ``app.extensions["migrate"]`` until Flask-Migrate is needed."""

    def __init__(self, app: Flask, db, directory: str, kwargs: dict):
        self.app, self.db, self.directory, self.kwargs = app, db, str(directory), dict(kwargs)

    def __getattr__(self, name: str):  # only called for attributes this object does not have
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(load(self.app), name)


class LazyDbGroup(click.Group):
    """``flask db``: the real ``flask_migrate.cli.db`` group, imported when the command is used."""

    def __init__(self, app: Flask):
        super().__init__(COMMAND, help="Perform database migrations.")
        self.app = app

    def real(self) -> click.Group:
        load(self.app)
        from flask_migrate.cli import db as real

        return real

    def make_context(self, info_name, args, parent=None, **extra):
        # the real group parses its own options (-d, -x) and runs its subcommand
        return self.real().make_context(info_name, args, parent=parent, **extra)

    def list_commands(self, ctx):
        return self.real().list_commands(ctx)

    def get_command(self, ctx, cmd_name):
        return self.real().get_command(ctx, cmd_name)
