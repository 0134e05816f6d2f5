"""Stored files: uploads, generated PDFs and exports. Bytes live on disk, named by their SHA-256."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import UTCDateTime, db, utcnow


class StoredFile(db.Model):
    __tablename__ = "stored_files"
    __label__ = "file"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_company_id: Mapped[int] = mapped_column(sa.ForeignKey("companies.id"), index=True)
    # The other party allowed to download (e.g. the buyer of an invoice); None = owner only.
    party_company_id: Mapped[int | None] = mapped_column(sa.ForeignKey("companies.id"), index=True)
    filename: Mapped[str] = mapped_column(sa.String(255))
    content_type: Mapped[str] = mapped_column(sa.String(100))
    size: Mapped[int] = mapped_column()
    sha256: Mapped[str] = mapped_column(sa.String(64))
    path: Mapped[str] = mapped_column(sa.String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    @classmethod
    def visible_to(cls, company_id):
        return sa.or_(cls.owner_company_id == company_id, cls.party_company_id == company_id)
