"""The procurement portal: create_app() builds a configured Flask application."""
from __future__ import annotations

import logging
import os
from pathlib import Path

from flask import Flask

ROOT = Path(__file__).resolve().parent.parent


def create_app(overrides: dict | None = None) -> Flask:
    from portal.config import load_config

    instance_path = os.environ.get("PORTAL_INSTANCE_PATH") or str(ROOT / "instance")
    app = Flask(__name__, instance_path=instance_path, instance_relative_config=False,
                template_folder=str(ROOT / "templates"), static_folder=str(ROOT / "static"))
    app.config.from_mapping(load_config(instance_path, overrides))
    Path(app.config["UPLOAD_FOLDER"]).mkdir(parents=True, exist_ok=True)
    from portal.ops import logs

    logs.configure(app)  # JSON lines in production, readable lines in development (PORTAL_LOG_FORMAT)
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)

    _bound_int_ids(app)
    _trust_proxies(app)
    _register_extensions(app)
    _register_blueprints(app)
    _register_cli(app)

    from portal import web
    from portal.api.setup import init_api

    from portal import ops

    from portal import i18n

    i18n.init_app(app)  # languages (Flask-Babel): the person's setting, else the browser's
    web.init_app(app)
    init_api(app)
    ops.init_app(app)  # request ids, request log lines and metrics, /healthz, /readyz, /metrics
    return app


def _bound_int_ids(app: Flask) -> None:
    """``<int:...>`` in every route accepts 1..2**31-1 only: ids beyond the key range are a plain 404, never a
    database overflow."""
    from werkzeug.routing import IntegerConverter

    class IdConverter(IntegerConverter):
        def __init__(self, url_map, *args, **kwargs):
            kwargs.setdefault("min", 0)
            kwargs.setdefault("max", 2**31 - 1)
            super().__init__(url_map, *args, **kwargs)

    app.url_map.converters["int"] = IdConverter


def _trust_proxies(app: Flask) -> None:
    """Behind TRUSTED_PROXIES reverse proxies, the client's address and scheme come from X-Forwarded-For and
    X-Forwarded-Proto (werkzeug's ProxyFix trusts exactly that many hops, so a client cannot spoof its
    address past them). With 0 (the default) the headers are ignored. Read per request, so a changed setting
    (and the tests) take effect without rebuilding the app."""
    from werkzeug.middleware.proxy_fix import ProxyFix

    inner = app.wsgi_app
    fixes: dict[int, ProxyFix] = {}

    def wsgi_app(environ, start_response):
        hops = int(app.config.get("TRUSTED_PROXIES") or 0)
        if hops <= 0:
            return inner(environ, start_response)
        if hops not in fixes:
            fixes[hops] = ProxyFix(inner, x_for=hops, x_proto=hops)
        return fixes[hops](environ, start_response)

    app.wsgi_app = wsgi_app


def _register_extensions(app: Flask) -> None:
    from portal import lazy_migrate
    from portal.extensions import bootstrap, csrf, db, limiter, login_manager
    from portal.jobs.queue import detect_mode

    import portal.models  # noqa: F401  (every table registered before migrations look)

    db.init_app(app)
    # Flask-Migrate (and Alembic, ~11 MB) load on first use: `flask db ...`, flask_migrate.upgrade(), a worker never
    lazy_migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True, compare_type=True)
    csrf.init_app(app)
    bootstrap.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.signin"
    login_manager.login_message = "Please sign in to continue."
    login_manager.login_message_category = "info"
    login_manager.session_protection = "strong" if app.config["PORTAL_ENV"] == "production" else "basic"

    from portal.accounts.services import load_session_user

    login_manager.user_loader(load_session_user)
    app.extensions["portal_jobs_mode"] = detect_mode(app)


def _register_blueprints(app: Flask) -> None:
    from portal.accounts.views import bp as auth_bp, company_bp, files_bp
    from portal.dashboard.views import bp as dashboard_bp
    from portal.jobs.views import bp as jobs_bp
    from portal.notifications.views import bp as notifications_bp

    for bp in (auth_bp, company_bp, files_bp, dashboard_bp, jobs_bp, notifications_bp):
        app.register_blueprint(bp)
    for module in ("portal.rfq.views", "portal.quotes.views", "portal.quotes.compare_views",
                   "portal.orders.views", "portal.orders.change_views", "portal.catalog.views",
                   "portal.credit.views", "portal.invoices.views", "portal.receivables.views",
                   "portal.einvoice.views", "portal.payables.views", "portal.analytics.views",
                   "portal.webhooks.views",
                   "portal.budgets.views", "portal.requisitions.views",
                   "portal.quotes.scoring_views", "portal.frameworks.views", "portal.suppliers.views"):
        try:
            mod = __import__(module, fromlist=["bp"])
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
            continue
        for name in ("bp", "bp2"):
            if hasattr(mod, name):
                app.register_blueprint(getattr(mod, name))


def _register_cli(app: Flask) -> None:
    from portal.cli import companies_cli, demo_cli, users_cli
    from portal.api.cli import tokens_cli
    from portal.jobs.cli import jobs_cli
    from portal.storage.cli import files_cli

    for group in (companies_cli, users_cli, demo_cli, jobs_cli, tokens_cli, files_cli):
        app.cli.add_command(group)
