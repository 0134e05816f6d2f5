"""Application-wide behaviour: security headers and cookies, CSRF, error pages as sentences, configuration."""
from __future__ import annotations

import pytest

from portal.config import ConfigError, load_config
from tests import factories
from tests.accounts.helpers import _isolated_requests  # noqa: F401  (one app context per request)
from tests.accounts.helpers import csrf_token, fresh, location_path, text

# ------------------------------------------------------------------------------------------- headers


@pytest.mark.parametrize("url", ["/signin", "/no-such-page"])
def test_security_headers_on_every_response(client, url):
    resp = client.get(url)
    csp = resp.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "object-src 'none'" in csp
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    assert resp.headers["X-Frame-Options"] == "DENY"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Referrer-Policy"] == "same-origin"
    assert "Strict-Transport-Security" not in resp.headers  # only in production


def test_signed_in_pages_are_not_cached(world, login, client):
    assert login(world.procurement).get("/dashboard").headers["Cache-Control"] == "private, no-store"
    assert "no-store" not in client.get("/signin").headers.get("Cache-Control", "")


def test_session_cookie_is_httponly_and_samesite_lax(world, client):
    resp = client.post("/signin", data={"email": world.procurement.email, "password": factories.PASSWORD})
    assert resp.status_code == 302
    cookies = [c for c in resp.headers.getlist("Set-Cookie") if c.startswith("session=")]
    assert len(cookies) == 1
    assert "HttpOnly" in cookies[0]
    assert "SameSite=Lax" in cookies[0]


def test_production_sets_secure_cookies_and_hsts(monkeypatch, tmp_path):
    monkeypatch.setenv("PORTAL_SECRET_KEY", "x" * 64)
    cfg = load_config(str(tmp_path), {"PORTAL_ENV": "production"})
    assert cfg["SESSION_COOKIE_SECURE"] is True
    assert cfg["REMEMBER_COOKIE_SECURE"] is True
    assert cfg["SESSION_COOKIE_HTTPONLY"] is True and cfg["REMEMBER_COOKIE_HTTPONLY"] is True


# ------------------------------------------------------------------------------------------- CSRF

def test_post_without_csrf_token_is_refused_with_a_sentence(app, world, client, monkeypatch):
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    resp = client.post("/signin", data={"email": world.procurement.email, "password": factories.PASSWORD})
    assert resp.status_code == 400
    body = text(resp)
    assert "Request refused" in body
    assert "Your session ended; sign in again and submit once more." in body
    # the person's input is kept (not the password)
    assert f'name="email" value="{world.procurement.email}"' in body
    assert factories.PASSWORD not in body
    assert location_path(client.get("/dashboard")) == "/signin"  # not signed in


def test_post_with_wrong_csrf_token_is_refused(app, world, client, monkeypatch):
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    client.get("/signin")
    resp = client.post("/signin", data={"email": world.procurement.email, "password": factories.PASSWORD,
                                        "csrf_token": "forged"})
    assert resp.status_code == 400
    assert "Your session ended; sign in again and submit once more." in text(resp)


def test_post_with_csrf_token_from_the_form_is_accepted(app, world, client, monkeypatch):
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    token = csrf_token(client, "/signin")
    resp = client.post("/signin", data={"email": world.procurement.email, "password": factories.PASSWORD,
                                        "csrf_token": token})
    assert resp.status_code == 302
    assert location_path(resp) == "/dashboard"


def test_signed_in_post_buttons_need_the_token_too(app, world, login, monkeypatch):
    c = login(world.buyer_admin)
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    resp = c.post(f"/company/members/{world.procurement.id}/deactivate")
    assert resp.status_code == 400
    assert "security token" in text(resp)
    assert fresh(world.procurement).active


def test_a_refused_form_comes_back_with_the_input_and_a_fresh_token(app, world, login, monkeypatch):
    c = login(world.buyer_admin)
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    resp = c.post("/company/members", data={"name": "Ada Lovelace", "email": "ada@acme.test",
                                                   "csrf_token": "expired"})
    assert resp.status_code == 400
    body = text(resp)
    assert "Your input is kept below: submit once more." in body
    assert 'name="name" value="Ada Lovelace"' in body and 'name="email" value="ada@acme.test"' in body
    assert 'action="/company/members"' in body
    assert 'name="csrf_token" value="expired"' not in body  # a fresh token
    assert "Submit once more" in body


# ------------------------------------------------------------------------------------------- errors

def test_too_large_request_gets_413_with_a_sentence(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 1024 * 1024)
    resp = client.post("/signin", data={"email": "a@example.com", "password": "x" * (1024 * 1024 + 10)})
    assert resp.status_code == 413
    body = text(resp)
    assert "Upload too large" in body
    assert "The upload is too large. The limit is 1 MB per request." in body


def test_too_large_file_upload_gets_413(app, world, login, monkeypatch):
    import io

    c = login(world.buyer_admin)
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 1024 * 1024)
    big = (io.BytesIO(b"0" * (2 * 1024 * 1024)), "big.csv")
    resp = c.post("/company/", data={"legal_name": "Acme", "file": big}, content_type="multipart/form-data")
    assert resp.status_code == 413
    assert "The upload is too large. The limit is 1 MB per request." in text(resp)


def test_unknown_page_is_404_sentence(client):
    resp = client.get("/no-such-page")
    assert resp.status_code == 404
    assert "We could not find that page." in text(resp)


def test_api_style_clients_get_problem_json(client):
    resp = client.get("/no-such-page", headers={"Accept": "application/json"})
    assert resp.status_code == 404
    assert resp.mimetype == "application/problem+json"
    assert resp.get_json() == {"type": "about:blank", "title": "Not found", "status": 404,
                               "detail": "We could not find that page.", "errors": {}}


def test_wrong_method_is_a_sentence_not_a_crash(world, login):
    resp = login(world.procurement).get("/notifications/read-all")
    assert resp.status_code == 405
    assert "That action is not available here." in text(resp)


def test_unexpected_error_is_500_sentence(app, world, login, monkeypatch):
    c = login(world.procurement)
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)

    def boom(*args, **kwargs):
        raise RuntimeError("kaputt")

    monkeypatch.setattr("portal.notifications.views.render_template", boom)
    resp = c.get("/notifications/")
    assert resp.status_code == 500
    body = text(resp)
    assert "Something went wrong on our side. It has been logged." in body
    assert "kaputt" not in body and "Traceback" not in body


def test_home_redirects_by_sign_in_state(world, client, login):
    assert location_path(client.get("/")) == "/signin"
    assert location_path(login(world.procurement).get("/")) == "/dashboard"


# ------------------------------------------------------------------------------------------- config

@pytest.fixture
def clean_env(monkeypatch):
    for name in ("PORTAL_SECRET_KEY", "SECRET_KEY", "PORTAL_ENV", "PORTAL_DATABASE_URL",
                 "PORTAL_MAX_UPLOAD_MB", "SMTP_PORT", "REDIS_URL", "PORTAL_LOGIN_RATE_LIMIT"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_production_without_secret_key_refuses_to_start(clean_env, tmp_path):
    clean_env.setenv("PORTAL_ENV", "production")
    with pytest.raises(ConfigError, match="PORTAL_SECRET_KEY is not set"):
        load_config(str(tmp_path))
    assert not (tmp_path / "secret_key").exists()  # no key file invented in production


def test_create_app_in_production_without_secret_key_raises(clean_env, tmp_path):
    from portal import create_app

    clean_env.setenv("PORTAL_ENV", "production")
    clean_env.setenv("PORTAL_INSTANCE_PATH", str(tmp_path))
    with pytest.raises(ConfigError):
        create_app()


def test_development_key_is_generated_once_and_kept(clean_env, tmp_path):
    first = load_config(str(tmp_path))["SECRET_KEY"]
    second = load_config(str(tmp_path))["SECRET_KEY"]
    assert first == second and len(first) == 64
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize("name", ["PORTAL_MAX_UPLOAD_MB", "SMTP_PORT"])
def test_bad_numbers_in_environment_are_config_errors(clean_env, tmp_path, name):
    clean_env.setenv(name, "ten")
    with pytest.raises(ConfigError, match=f"{name} must be a whole number"):
        load_config(str(tmp_path))


def test_environment_is_read(clean_env, tmp_path):
    clean_env.setenv("PORTAL_DATABASE_URL", "postgres://u:p@db.example:5432/portal")
    clean_env.setenv("PORTAL_MAX_UPLOAD_MB", "3")
    clean_env.setenv("PORTAL_LOGIN_RATE_LIMIT", "5 per minute")
    cfg = load_config(str(tmp_path))
    assert cfg["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u:p@db.example:5432/portal"
    assert cfg["MAX_CONTENT_LENGTH"] == 3 * 1024 * 1024
    assert cfg["LOGIN_RATE_LIMIT"] == "5 per minute"
    assert cfg["RATELIMIT_STORAGE_URI"] == "memory://"
    assert cfg["PORTAL_ENV"] == "development"


def test_defaults(clean_env, tmp_path):
    cfg = load_config(str(tmp_path))
    assert cfg["LOGIN_RATE_LIMIT"] == "10 per 5 minutes"
    assert cfg["MAX_CONTENT_LENGTH"] == 10 * 1024 * 1024
    assert cfg["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'portal.db'}"
    assert cfg["SESSION_COOKIE_SAMESITE"] == "Lax" and cfg["SESSION_COOKIE_SECURE"] is False


def test_every_url_and_method_has_exactly_one_view(app):
    """Two modules once both declared POST /api/v1/invoices/{id}/approve; Flask silently routed to the first one
    (which ignored the buyer's tolerances). Every URL rule and method is served by one view only."""
    from collections import Counter

    seen = Counter((rule.rule, method) for rule in app.url_map.iter_rules()
                   for method in rule.methods - {"HEAD", "OPTIONS"})
    assert [key for key, n in seen.items() if n > 1] == []
