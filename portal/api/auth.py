"""Bearer-token authentication for /api/v1 (no cookies, no CSRF), tokens and idempotent writes."""
from __future__ import annotations

import functools
import hashlib
import json
import secrets
from datetime import datetime

import sqlalchemy as sa
from flask import Response, g, request

from portal.accounts.models import User
from portal.api.models import ApiToken, IdempotencyRecord
from portal.db import db, utcnow
from portal.errors import DomainError, Forbidden, NotFound, ValidationFailed

TOKEN_PREFIX = "ppt_"


class Unauthorized(DomainError):
    status = 401
    title = "Authentication required"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(user: User, name: str, expires_at: datetime | None = None) -> tuple[ApiToken, str]:
    name = (name or "").strip()
    if not name:
        raise ValidationFailed("Give the token a name, e.g. the system that will use it.",
                               errors={"name": "Required."})
    if len(name) > 100:
        raise ValidationFailed("The name is too long.", errors={"name": "At most 100 characters."})
    if expires_at is not None and expires_at <= utcnow():
        raise ValidationFailed("The expiry must be in the future.", errors={"expires_at": "Choose a future date."})
    if not user.active:
        raise Forbidden("A deactivated user cannot create tokens.")
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    tok = ApiToken(user_id=user.id, name=name, prefix=raw[:12], token_hash=_hash(raw), expires_at=expires_at)
    db.session.add(tok)
    db.session.commit()
    return tok, raw


def revoke_token(user: User, token_id: int) -> None:
    tok = db.session.get(ApiToken, token_id)
    if tok is None or tok.user_id != user.id:
        raise NotFound("No such token.")
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
        raise Unauthorized("Send a personal API token as 'Authorization: Bearer <token>'.")
    tok = db.session.scalar(sa.select(ApiToken).where(ApiToken.token_hash == _hash(raw.strip())))
    if tok is None or tok.state != "active":
        raise Unauthorized("The API token is unknown, revoked or expired.")
    if not tok.user.active:
        raise Unauthorized("The token's user has been deactivated.")
    now = utcnow()
    if tok.last_used_at is None or (now - tok.last_used_at).total_seconds() > 60:
        db.session.execute(sa.update(ApiToken).where(ApiToken.id == tok.id).values(last_used_at=now))
        db.session.commit()
    g.api_token_id = tok.id
    g.api_user = tok.user
    return tok.user


def rate_limit_key() -> str:
    tok_id = getattr(g, "api_token_id", None)
    if tok_id is None:
        return "api-anon:" + (request.remote_addr or "?")
    return f"api-token:{tok_id}"


def idempotent(view):
    """POSTs that create things accept an Idempotency-Key: a retry with the same key and body returns the
    first response and creates nothing new; the same key with a different body is 422."""

    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        key = request.headers.get("Idempotency-Key")
        if not key:
            return view(*args, **kwargs)
        if len(key) > 200:
            raise ValidationFailed("The Idempotency-Key is longer than 200 characters.")
        user = g.api_user
        body_hash = hashlib.sha256(request.get_data() or b"").hexdigest()
        existing = db.session.scalar(sa.select(IdempotencyRecord).where(
            IdempotencyRecord.user_id == user.id, IdempotencyRecord.key == key))
        if existing is not None:
            if existing.body_hash != body_hash or existing.path != request.path:
                raise ValidationFailed("This Idempotency-Key was already used with a different request body.",
                                       errors={"Idempotency-Key": "Reused with a different body."})
            if existing.status_code is None:
                from portal.errors import Conflict

                raise Conflict("A request with this Idempotency-Key is still being processed.")
            return Response(existing.response_body, status=existing.status_code,
                            mimetype="application/json", headers={"Idempotent-Replayed": "true"})
        rec = IdempotencyRecord(user_id=user.id, key=key, method=request.method, path=request.path,
                                body_hash=body_hash)
        db.session.add(rec)
        try:
            db.session.commit()
        except sa.exc.IntegrityError:
            db.session.rollback()
            from portal.errors import Conflict

            raise Conflict("A request with this Idempotency-Key is still being processed.")
        rec_id = rec.id
        try:
            resp = view(*args, **kwargs)
        except DomainError as exc:
            db.session.rollback()
            _store(rec_id, exc.status, json.dumps(problem_body(exc)))
            raise
        except Exception:
            db.session.rollback()
            db.session.execute(sa.delete(IdempotencyRecord).where(IdempotencyRecord.id == rec_id))
            db.session.commit()
            raise
        from flask import make_response

        resp = make_response(resp)
        _store(rec_id, resp.status_code, resp.get_data(as_text=True))
        return resp

    return wrapped


def _store(rec_id: int, status: int, body: str) -> None:
    db.session.execute(sa.update(IdempotencyRecord).where(IdempotencyRecord.id == rec_id)
                       .values(status_code=status, response_body=body))
    db.session.commit()


def problem_body(exc: DomainError) -> dict:
    return {"type": f"https://portal.example/problems/{type(exc).__name__.lower()}", "title": exc.title,
            "status": exc.status, "detail": exc.message, "errors": exc.errors or {}}
