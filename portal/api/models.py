"""Personal API tokens and the idempotency record of API writes."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db import UTCDateTime, db, utcnow


class ApiToken(db.Model):
    """A personal token: shown once, stored as its SHA-256, acting as its user with the user's roles."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    prefix: Mapped[str] = mapped_column(sa.String(16))  # shown in lists so people can tell tokens apart
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The API version (portal.api.versions) current when the token was created: its requests are answered in it
    # unless they name another. Tokens created before versioning existed record the first version.
    api_version: Mapped[str] = mapped_column(sa.String(10), server_default="2026-11-01")

    user = relationship("User", lazy="joined")

    @property
    def state(self) -> str:
        if self.revoked_at:
            return "revoked"
        if self.expires_at and self.expires_at <= utcnow():
            return "expired"
        return "active"


class IdempotencyRecord(db.Model):
    """The first answer to a write with an Idempotency-Key, replayed for retries with the same request. A key
    belongs to a token, a method and a path."""

    __tablename__ = "idempotency_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    token_id: Mapped[int | None] = mapped_column(sa.ForeignKey("api_tokens.id"), index=True)
    key: Mapped[str] = mapped_column(sa.String(200))
    method: Mapped[str] = mapped_column(sa.String(8))
    path: Mapped[str] = mapped_column(sa.String(300))
    body_hash: Mapped[str] = mapped_column(sa.String(64))
    status_code: Mapped[int | None] = mapped_column()
    response_body: Mapped[str | None] = mapped_column(sa.Text)
    content_type: Mapped[str | None] = mapped_column(sa.String(100))
    response_headers: Mapped[str | None] = mapped_column(sa.Text)  # JSON: the replayed headers (Location)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (sa.UniqueConstraint("token_id", "method", "path", "key",
                                          name="uq_idempotency_records_token_method_path_key"),)
