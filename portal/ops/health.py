"""/healthz (the process answers) and /readyz (database, Redis, document storage reachable, schema at the
migrations' head). Both are cheap, set no cookie and are never rate limited; /readyz answers 503 naming every
part that failed, so a load balancer takes the instance out and a person sees why."""
from __future__ import annotations

import time

import sqlalchemy as sa
from flask import Blueprint, Flask, current_app, jsonify

bp = Blueprint("ops", __name__)
TIMEOUT = 1.0  # seconds per check (Redis socket, S3 connect)


@bp.get("/healthz")
def healthz():
    return _plain(jsonify(status="ok"), 200)


@bp.get("/readyz")
def readyz():
    app = current_app._get_current_object()
    checks: dict[str, dict] = {}
    for name, check in (("database", _database), ("migrations", _migrations), ("redis", _redis),
                        ("storage", _storage)):
        t0 = time.perf_counter()
        try:
            detail = check(app)
            checks[name] = {"ok": True, **({"detail": detail} if detail else {})}
        except Exception as exc:  # noqa: BLE001 - every failure is a "not ready" with its sentence
            checks[name] = {"ok": False, "error": _sentence(exc)}
        checks[name]["ms"] = round((time.perf_counter() - t0) * 1000, 1)
    failed = [n for n, c in checks.items() if not c["ok"]]
    body = {"status": "ready" if not failed else "not ready", "failed": failed, "checks": checks}
    return _plain(jsonify(body), 503 if failed else 200)


def _plain(resp, status):
    resp.status_code = status
    resp.headers["Cache-Control"] = "no-store"
    return resp


def _sentence(exc: Exception) -> str:
    msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return f"{type(exc).__name__}: {msg}"[:300]


def _database(app: Flask) -> None:
    from portal.db import db

    with db.engine.connect() as conn:
        conn.execute(sa.text("SELECT 1"))


def _heads(app: Flask) -> set[str]:
    heads = app.extensions.get("portal_migration_heads")
    if heads is None:
        from alembic.script import ScriptDirectory

        directory = app.extensions["migrate"].directory
        heads = set(ScriptDirectory(directory).get_heads())
        app.extensions["portal_migration_heads"] = heads
    return heads


def _migrations(app: Flask) -> str:
    from portal.db import db

    with db.engine.connect() as conn:
        try:
            current = {r[0] for r in conn.execute(sa.text("SELECT version_num FROM alembic_version"))}
        except sa.exc.DBAPIError as exc:
            raise RuntimeError("the database has no schema yet; run `flask db upgrade`") from exc
    heads = _heads(app)
    if current != heads:
        raise RuntimeError(f"schema at {', '.join(sorted(current)) or 'nothing'}, code expects "
                           f"{', '.join(sorted(heads))}; run `flask db upgrade`")
    return ",".join(sorted(current))


def _redis(app: Flask) -> str | None:
    url = app.config.get("REDIS_URL")
    if not url:
        return "not configured (jobs run in-process)"
    client = app.extensions.get("portal_ready_redis")
    if client is None:
        from portal.jobs.queue import connect

        client = connect(url, socket_connect_timeout=TIMEOUT, socket_timeout=TIMEOUT)
        app.extensions["portal_ready_redis"] = client
    client.ping()
    return None


def _storage(app: Flask) -> str:
    from portal.storage import get_storage

    s = get_storage(app)
    s.check()
    return s.name


def init_app(app: Flask) -> None:
    from portal.extensions import limiter

    limiter.exempt(bp)
    app.register_blueprint(bp)
