"""Settings read from the environment, in one place.

Every variable is documented in README.md ("Configuration").
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path


class ConfigError(RuntimeError):
    """The environment does not describe a runnable portal."""


def _bool(value: str | None, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a whole number, not {raw!r}") from exc


def _secret_key(instance_path: Path, production: bool) -> str:
    key = os.environ.get("PORTAL_SECRET_KEY") or os.environ.get("SECRET_KEY")
    if key:
        return key
    if production:
        raise ConfigError(
            "PORTAL_SECRET_KEY is not set. In production (PORTAL_ENV=production) the portal "
            "refuses to start without a secret key; generate one with "
            "`python -c 'import secrets; print(secrets.token_hex(32))'`."
        )
    key_file = instance_path / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    key_file.write_text(key)
    key_file.chmod(0o600)
    return key


def _pg_connect_args(db_url: str) -> dict:
    """PostgreSQL: always plan each statement for its parameters. psycopg prepares a statement on its fifth
    execution and PostgreSQL may then switch it to a generic plan, which for a company holding most of the rows
    (one big supplier) was measured at 22 s instead of 60 ms for a list count (bench/bench_dashboards.py)."""
    if not db_url.startswith("postgresql"):
        return {}
    return {"connect_args": {"options": "-c plan_cache_mode=force_custom_plan",
                             "connect_timeout": _int("PORTAL_DB_CONNECT_TIMEOUT", 5)}}


def load_config(instance_path: str, overrides: dict | None = None) -> dict:
    """Build the Flask config mapping from the environment (and test overrides)."""
    overrides = dict(overrides or {})
    inst = Path(instance_path)
    env = overrides.get("PORTAL_ENV") or os.environ.get("PORTAL_ENV", "development")
    production = env == "production"
    db_url = os.environ.get("PORTAL_DATABASE_URL") or f"sqlite:///{inst / 'portal.db'}"
    if db_url.startswith("postgres://"):
        db_url = "postgresql+psycopg://" + db_url[len("postgres://"):]
    elif db_url.startswith("postgresql://"):
        db_url = "postgresql+psycopg://" + db_url[len("postgresql://"):]
    redis_url = os.environ.get("REDIS_URL", "")
    cfg = {
        "PORTAL_ENV": env,
        "SQLALCHEMY_DATABASE_URI": db_url,
        # A database host that does not answer fails a connection (and /readyz) after this many seconds, not minutes
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True, **_pg_connect_args(db_url)},
        "REDIS_URL": redis_url,
        # Jobs: "rq" when Redis answers, else "inline" (run after commit in-process, with a warning)
        "JOBS_MODE": os.environ.get("PORTAL_JOBS_MODE", "auto"),
        # Prefix of RQ job ids (portal.jobs.queue.namespace); unset: derived from the database setting
        "JOBS_NAMESPACE": os.environ.get("PORTAL_JOBS_NAMESPACE"),
        "MAIL_SERVER": os.environ.get("SMTP_HOST", ""),
        "MAIL_PORT": _int("SMTP_PORT", 587),
        "MAIL_USERNAME": os.environ.get("SMTP_USER", ""),
        "MAIL_PASSWORD": os.environ.get("SMTP_PASSWORD", ""),
        "MAIL_USE_TLS": _bool(os.environ.get("SMTP_STARTTLS"), True),
        "MAIL_FROM": os.environ.get("MAIL_FROM", "Procurement Portal <no-reply@portal.local>"),
        "MAX_CONTENT_LENGTH": _int("PORTAL_MAX_UPLOAD_MB", 10) * 1024 * 1024,
        "UPLOAD_FOLDER": os.environ.get("PORTAL_UPLOAD_FOLDER", str(inst / "files")),
        "BASE_URL": os.environ.get("PORTAL_BASE_URL", ""),
        # Document storage (portal/storage): "local" (UPLOAD_FOLDER) or "s3" (any S3-compatible store)
        "STORAGE_BACKEND": os.environ.get("PORTAL_STORAGE", "local"),
        "S3_BUCKET": os.environ.get("PORTAL_S3_BUCKET", ""),
        "S3_PREFIX": os.environ.get("PORTAL_S3_PREFIX", ""),
        "S3_ENDPOINT_URL": os.environ.get("PORTAL_S3_ENDPOINT_URL", ""),
        "S3_REGION": os.environ.get("PORTAL_S3_REGION", ""),
        "S3_ACCESS_KEY_ID": os.environ.get("PORTAL_S3_ACCESS_KEY_ID", ""),
        "S3_SECRET_ACCESS_KEY": os.environ.get("PORTAL_S3_SECRET_ACCESS_KEY", ""),
        "S3_ADDRESSING_STYLE": os.environ.get("PORTAL_S3_ADDRESSING_STYLE", "auto"),
        "S3_PRESIGNED_DOWNLOADS": _bool(os.environ.get("PORTAL_S3_PRESIGNED_DOWNLOADS"), False),
        # Operations (portal/ops): log format, metrics endpoint
        "LOG_FORMAT": os.environ.get("PORTAL_LOG_FORMAT", "json" if production else "text"),
        "LOG_LEVEL": os.environ.get("PORTAL_LOG_LEVEL", "INFO"),
        "METRICS_TOKEN": os.environ.get("PORTAL_METRICS_TOKEN", ""),
        "INVITATION_TTL_HOURS": _int("PORTAL_INVITATION_TTL_HOURS", 72),
        # Sign-in limits (portal/accounts/throttle.py). Failed sign-ins count per account-and-address pair
        # (LOGIN_RATE_LIMIT); an address that fails for many accounts is refused (LOGIN_ADDRESS_LIMIT: clear
        # abuse, set high enough for an office behind one address); an account failing from many addresses is
        # slowed down, never locked: a browser the person never signed in with waits LOGIN_SLOWDOWN_SECONDS
        # between tries once LOGIN_ACCOUNT_SLOWDOWN failures are reached.
        "LOGIN_RATE_LIMIT": os.environ.get("PORTAL_LOGIN_RATE_LIMIT", "10 per 5 minutes"),
        "LOGIN_ADDRESS_LIMIT": os.environ.get("PORTAL_LOGIN_ADDRESS_LIMIT", "100 per 5 minutes"),
        "LOGIN_ACCOUNT_SLOWDOWN": os.environ.get("PORTAL_LOGIN_ACCOUNT_SLOWDOWN", "10 per 5 minutes"),
        "LOGIN_SLOWDOWN_SECONDS": _int("PORTAL_LOGIN_SLOWDOWN_SECONDS", 30),
        # Failed API authentications (unknown, revoked, expired tokens) per address before 429.
        "API_AUTH_FAILURE_LIMIT": os.environ.get("PORTAL_API_AUTH_FAILURE_LIMIT", "20 per minute"),
        # How many reverse proxies in front of the portal may be believed about the client's address and scheme
        # (X-Forwarded-For / X-Forwarded-Proto). 0: none; the headers are ignored and cannot be spoofed.
        "TRUSTED_PROXIES": _int("PORTAL_TRUSTED_PROXIES", 0),
        # Request bodies: JSON nesting deeper than this is refused before it is parsed.
        "MAX_JSON_DEPTH": _int("PORTAL_MAX_JSON_DEPTH", 32),
        "CREDIT_PROVIDER": os.environ.get("PORTAL_CREDIT_PROVIDER", "builtin"),
        "CREDIT_HTTP_URL": os.environ.get("PORTAL_CREDIT_HTTP_URL", ""),
        "CREDIT_HTTP_TIMEOUT": float(os.environ.get("PORTAL_CREDIT_HTTP_TIMEOUT", "5") or 5),
        "CREDIT_HTTP_RETRIES": _int("PORTAL_CREDIT_HTTP_RETRIES", 2),
        "API_RATE_LIMIT": os.environ.get("PORTAL_API_RATE_LIMIT", "600 per minute"),
        # Webhooks: loopback/private receivers only when allowed (development, tests); short timeouts
        "WEBHOOK_ALLOW_PRIVATE_URLS": _bool(os.environ.get("PORTAL_WEBHOOK_ALLOW_PRIVATE_URLS")),
        "WEBHOOK_CONNECT_TIMEOUT": float(os.environ.get("PORTAL_WEBHOOK_CONNECT_TIMEOUT", "3") or 3),
        "WEBHOOK_READ_TIMEOUT": float(os.environ.get("PORTAL_WEBHOOK_READ_TIMEOUT", "10") or 10),
        # The change feed keeps events at least this many days (never fewer than 30)
        "EVENT_RETENTION_DAYS": max(30, _int("PORTAL_EVENT_RETENTION_DAYS", 90)),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": production,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": production,
        "REMEMBER_COOKIE_DURATION": 14 * 24 * 3600,
        "WTF_CSRF_TIME_LIMIT": None,
        "BOOTSTRAP_SERVE_LOCAL": True,
        "BOOTSTRAP_BTN_SIZE": "sm",
        "RATELIMIT_HEADERS_ENABLED": True,
        # Redis down: count in this process's memory (and say so in the log) rather than answer 500
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
    }
    if redis_url:
        cfg["RATELIMIT_STORAGE_URI"] = redis_url
    else:
        cfg["RATELIMIT_STORAGE_URI"] = "memory://"
    cfg.update(overrides)
    if cfg["STORAGE_BACKEND"] not in ("local", "s3"):
        raise ConfigError(f"PORTAL_STORAGE must be local or s3, not {cfg['STORAGE_BACKEND']!r}")
    if cfg["STORAGE_BACKEND"] == "s3" and not cfg["S3_BUCKET"]:
        raise ConfigError("PORTAL_STORAGE=s3 needs PORTAL_S3_BUCKET (and PORTAL_S3_ENDPOINT_URL for MinIO/Ceph).")
    if cfg["LOG_FORMAT"] not in ("json", "text"):
        raise ConfigError(f"PORTAL_LOG_FORMAT must be json or text, not {cfg['LOG_FORMAT']!r}")
    if "SECRET_KEY" not in cfg:
        cfg["SECRET_KEY"] = _secret_key(inst, production)
    return cfg
