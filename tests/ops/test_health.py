"""/healthz and /readyz: cheap, no session cookie, 503 naming the part that failed."""
from __future__ import annotations

import pytest

from tests.conftest import IS_PG


def test_healthz_answers_without_a_session(client):
    resp = client.get("/healthz")
    assert resp.status_code == 200 and resp.get_json() == {"status": "ok"}
    assert "Set-Cookie" not in resp.headers


def test_readyz_checks_every_part(client):
    resp = client.get("/readyz")
    body = resp.get_json()
    assert resp.status_code == 200, body
    assert body["status"] == "ready" and body["failed"] == []
    assert set(body["checks"]) == {"database", "migrations", "redis", "storage"}
    assert all(c["ok"] for c in body["checks"].values())
    assert "Set-Cookie" not in resp.headers and resp.headers["Cache-Control"] == "no-store"


@pytest.fixture
def restore(app):
    saved = dict(app.config)
    yield app
    app.config.update(saved)
    for key in ("portal_ready_redis", "portal_storage", "portal_migration_heads"):
        app.extensions.pop(key, None)


def test_readyz_names_a_stopped_redis(client, restore):
    restore.config["REDIS_URL"] = "redis://127.0.0.1:1/0"
    restore.extensions.pop("portal_ready_redis", None)
    resp = client.get("/readyz")
    body = resp.get_json()
    assert resp.status_code == 503 and body["failed"] == ["redis"] and body["status"] == "not ready"
    assert "ConnectionError" in body["checks"]["redis"]["error"]
    assert body["checks"]["database"]["ok"] and body["checks"]["storage"]["ok"]


def test_readyz_names_unusable_storage(client, restore, tmp_path):
    restore.config.update({"STORAGE_BACKEND": "local", "UPLOAD_FOLDER": str(tmp_path / "gone")})
    restore.extensions.pop("portal_storage", None)
    body = client.get("/readyz").get_json()
    assert body["failed"] == ["storage"] and "does not exist" in body["checks"]["storage"]["error"]


def test_readyz_names_an_unreachable_s3(client, restore, s3_server):
    restore.config.update(s3_server.config("bucket-that-is-not-there"))
    restore.extensions.pop("portal_storage", None)
    resp = client.get("/readyz")
    assert resp.status_code == 503 and resp.get_json()["failed"] == ["storage"]


def test_readyz_names_a_schema_behind_the_code(client, restore):
    restore.extensions["portal_migration_heads"] = {"ops_9999"}
    body = client.get("/readyz").get_json()
    assert body["failed"] == ["migrations"]
    assert "code expects ops_9999; run `flask db upgrade`" in body["checks"]["migrations"]["error"]


def test_readyz_names_an_unreachable_database(app, redis_url, tmp_path):
    from portal import create_app

    url = ("postgresql+psycopg://postgres@127.0.0.1:1/nothing" if IS_PG
           else f"sqlite:///{tmp_path}/missing-dir/x.db")
    other = create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": url,
                        "REDIS_URL": redis_url, "RATELIMIT_STORAGE_URI": redis_url,
                        "UPLOAD_FOLDER": app.config["UPLOAD_FOLDER"], "JOBS_MODE": "rq"})
    with other.app_context():
        body = other.test_client().get("/readyz").get_json()
    assert {"database", "migrations"} <= set(body["failed"]) and "redis" not in body["failed"]
