"""Bearer-token authentication for /api/v1 (no cookies, no CSRF), tokens and idempotent writes."""
from __future__ import annotations

import functools
import hashlib
import json
import re
import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import Response, g, make_response, request

from portal.accounts.models import User
from portal.api.models import ApiToken, IdempotencyRecord
from portal.db import db, utcnow
from portal.errors import Conflict, DomainError, Forbidden, NotFound, ValidationFailed
from portal.i18n import _l

TOKEN_PREFIX = "ppt_"


class Unauthorized(DomainError):
    status = 401
    title = "Authentication required"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(user: User, name: str, expires_at: datetime | None = None,
                 api_version: str | None = None) -> tuple[ApiToken, str]:
    """A new token for ``user``; it records ``api_version`` (default: the current API version)."""
    from portal.api import versions

    name = (name or "").strip()
    if not name:
        raise ValidationFailed(_l("Give the token a name, e.g. the system that will use it."),
                               errors={"name": _l("Required.")})
    if len(name) > 100:
        raise ValidationFailed(_l("The name is too long."), errors={"name": _l("At most 100 characters.")})
    if expires_at is not None and expires_at <= utcnow():
        raise ValidationFailed(_l("The expiry must be in the future."),
                               errors={"expires_at": _l("Choose a future date.")})
    if not user.active:
        raise Forbidden(_l("A deactivated user cannot create tokens."))
    try:
        api_version = versions.check(api_version or versions.CURRENT)
    except versions.UnknownVersion:
        raise ValidationFailed(_l("There is no API version %(api_version)s; the versions are %(versions)s."),
                               api_version=repr(api_version), versions=', '.join(versions.VERSIONS),
                               errors={"api_version": _l("Unknown version.")}) from None
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    tok = ApiToken(user_id=user.id, name=name, prefix=raw[:12], token_hash=_hash(raw), expires_at=expires_at,
                   api_version=api_version)
    db.session.add(tok)
    db.session.commit()
    return tok, raw


def revoke_token(user: User, token_id: int) -> None:
    tok = db.session.get(ApiToken, token_id)
    if tok is None or tok.user_id != user.id:
        raise NotFound(_l("No such token."))
    if tok.revoked_at is None:
        tok.revoked_at = utcnow()
    db.session.commit()


def tokens_of(user: User) -> list[ApiToken]:
    return list(db.session.scalars(sa.select(ApiToken).where(ApiToken.user_id == user.id)
                                   .order_by(ApiToken.id.desc())))


def authenticate_request() -> User:
    header = request.headers.get("Authorization", "")
    scheme, _, raw = header.partition(" ")
    if scheme.lower() != "bearer" or not raw.strip():
        raise Unauthorized(_l("Send a personal API token as 'Authorization: Bearer <token>'."))
    tok = db.session.scalar(sa.select(ApiToken).where(ApiToken.token_hash == _hash(raw.strip())))
    if tok is None or tok.state != "active":
        raise Unauthorized(_l("The API token is unknown, revoked or expired."))
    if not tok.user.active:
        raise Unauthorized(_l("The token's user has been deactivated."))
    now = utcnow()
    if tok.last_used_at is None or (now - tok.last_used_at).total_seconds() > 60:
        db.session.execute(sa.update(ApiToken).where(ApiToken.id == tok.id).values(last_used_at=now))
        db.session.commit()
    g.api_token_id = tok.id
    g.api_user = tok.user
    g.api_version = _requested_version(tok)
    return tok.user


def _requested_version(tok: ApiToken) -> str:
    """The Portal-Version header if the request names one, else the version the token recorded."""
    from portal.api import versions

    asked = request.headers.get(versions.HEADER)
    if asked is None:
        return tok.api_version or versions.LEGACY
    try:
        return versions.check(asked)
    except versions.UnknownVersion:
        raise MalformedRequest(_l("There is no API version %(asked)s; send %(header)s as one of: %(versions)s."),
                               asked=repr(asked.strip()[:40]), header=versions.HEADER, versions=', '.join(versions.VERSIONS),
                               errors={versions.HEADER: _l("Unknown version.")}) \
            from None


def rate_limit_key() -> str:
    tok_id = getattr(g, "api_token_id", None)
    if tok_id is None:
        return "api-anon:" + (request.remote_addr or "?")
    return f"api-token:{tok_id}"


IDEMPOTENCY_KEY_RE = re.compile(r"^[!-~]{1,200}$")
IDEMPOTENCY_TTL = timedelta(hours=24)
REPLAYED_HEADERS = ("Location",)


class MalformedRequest(DomainError):
    status = 400
    title = "Malformed request"


def request_fingerprint() -> str:
    """SHA-256 of what the request asks for beyond its method and path: the query and the body. A JSON body is
    compared by meaning (key order and whitespace do not matter); any other body byte for byte."""
    if request.mimetype in ("multipart/form-data", "application/x-www-form-urlencoded"):
        # the form was parsed already (the input filter reads it): hash its fields and files instead of the stream
        digest = hashlib.sha256()
        for key, value in sorted(request.form.items(multi=True)):
            digest.update(json.dumps([key, value]).encode())
        for key, storage in sorted(request.files.items(multi=True), key=lambda kv: kv[0]):
            digest.update(json.dumps([key, storage.filename or "", storage.mimetype or ""]).encode())
            pos = storage.stream.tell()
            digest.update(storage.stream.read())
            storage.stream.seek(pos)
        raw = digest.hexdigest().encode()
    else:
        raw = request.get_data(cache=True) or b""
    body: bytes = raw
    if raw and request.is_json:
        try:
            body = json.dumps(json.loads(raw), sort_keys=True, separators=(",", ":"),
                              ensure_ascii=False).encode()
        except (ValueError, RecursionError):
            body = raw
    query = json.dumps(sorted(request.args.items(multi=True))).encode()
    return hashlib.sha256(query + b"\n" + body).hexdigest()


def idempotent(view):
    """Writes accept an Idempotency-Key (scoped to the token, the method and the path): a retry with the same key
    and the same request (JSON compared by meaning) replays the first answer — status, body, content type and
    Location — and changes nothing; the same key with another request is 422.

    Like Stripe, an answer is stored only once the operation started executing: this wrapper sits inside the
    token check, the request checks and outside the argument parsing, so a 400/401/403/415/429 or a schema
    validation 422 stores nothing and the key stays free; a DomainError raised by the operation (404, 409, 422
    of the business rules) is stored and replayed. A server error stores nothing (the retry runs again)."""

    if getattr(view, "_idempotent", False):
        return view

    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        key = request.headers.get("Idempotency-Key")
        if key is None:
            return view(*args, **kwargs)
        if not IDEMPOTENCY_KEY_RE.match(key):
            raise MalformedRequest(_l("The Idempotency-Key must be 1 to 200 visible ASCII characters (no spaces)."),
                                   errors={"Idempotency-Key": _l("1-200 visible ASCII characters.")})
        user, token_id = g.api_user, g.api_token_id
        fingerprint = request_fingerprint()
        scope = (IdempotencyRecord.token_id == token_id, IdempotencyRecord.method == request.method,
                 IdempotencyRecord.path == request.path[:300], IdempotencyRecord.key == key)
        existing = db.session.scalar(sa.select(IdempotencyRecord).where(*scope))
        if existing is not None and existing.created_at is not None and \
                existing.created_at < utcnow() - IDEMPOTENCY_TTL and existing.status_code is not None:
            db.session.delete(existing)  # expired: the key may be used afresh
            db.session.commit()
            existing = None
        if existing is not None:
            if existing.body_hash != fingerprint:
                raise ValidationFailed(_l("This Idempotency-Key was already used with a different request body."),
                                       errors={"Idempotency-Key": _l("Reused with a different body.")})
            if existing.status_code is None:
                raise Conflict(_l("A request with this Idempotency-Key is still being processed."))
            headers = {"Idempotent-Replayed": "true"}
            stored = json.loads(existing.response_headers or "{}")
            headers.update({k: v for k, v in stored.items() if k in REPLAYED_HEADERS})
            return Response(existing.response_body, status=existing.status_code,
                            content_type=existing.content_type or "application/json", headers=headers)
        rec = IdempotencyRecord(user_id=user.id, token_id=token_id, key=key, method=request.method,
                                path=request.path[:300], body_hash=fingerprint)
        db.session.add(rec)
        try:
            db.session.commit()
        except sa.exc.IntegrityError:
            db.session.rollback()
            raise Conflict(_l("A request with this Idempotency-Key is still being processed.")) from None
        rec_id = rec.id
        try:
            resp = view(*args, **kwargs)
        except DomainError as exc:
            db.session.rollback()
            stored = problem_response(exc)
            _store(rec_id, stored.status_code, stored.get_data(as_text=True), stored.content_type, {})
            raise
        except Exception:
            db.session.rollback()
            db.session.execute(sa.delete(IdempotencyRecord).where(IdempotencyRecord.id == rec_id))
            db.session.commit()
            raise
        resp = make_response(resp)
        if resp.status_code >= 500:
            db.session.execute(sa.delete(IdempotencyRecord).where(IdempotencyRecord.id == rec_id))
            db.session.commit()
            return resp
        _store(rec_id, resp.status_code, resp.get_data(as_text=True), resp.content_type,
               {k: resp.headers[k] for k in REPLAYED_HEADERS if k in resp.headers})
        return resp

    wrapped._idempotent = True
    return wrapped


def _store(rec_id: int, status: int, body: str, content_type: str, headers: dict) -> None:
    db.session.execute(sa.update(IdempotencyRecord).where(IdempotencyRecord.id == rec_id)
                       .values(status_code=status, response_body=body, content_type=(content_type or "")[:100],
                               response_headers=json.dumps(headers)))
    db.session.commit()


def problem_response(exc: DomainError):
    """The problem+json answer to a DomainError (the API's error handler and the idempotency store share it, so
    a replay is byte for byte the first answer)."""
    from flask import jsonify

    resp = jsonify(problem_body(exc))
    resp.status_code = exc.status
    resp.mimetype = "application/problem+json"
    return resp


def problem_body(exc: DomainError) -> dict:
    return {"type": f"https://portal.example/problems/{type(exc).__name__.lower()}", "title": exc.title,
            "status": exc.status, "detail": exc.message,
            "errors": exc.errors.copy() if exc.errors else {}}
