"""The change feed: one row per company and happening, with the resource as it was then (a snapshot).

The row is written in the transaction of the business change (an outbox): an event exists exactly when the change
committed. Webhook deliveries are created beside it (portal.webhooks.models) and sent by jobs after commit.
"""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import UTCDateTime, db, utcnow


class Event(db.Model):
    __tablename__ = "events"

    id: Mapped[int] = mapped_column(primary_key=True)  # the cursor of GET /api/v1/events?after=
    company_id: Mapped[int] = mapped_column(sa.ForeignKey("companies.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(sa.String(64))
    resource_type: Mapped[str] = mapped_column(sa.String(32))
    resource_id: Mapped[int] = mapped_column()
    data: Mapped[dict] = mapped_column(sa.JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)

    __table_args__ = (sa.Index("ix_events_company_id_id", "company_id", "id"),)

    @property
    def public_id(self) -> str:
        """The Standard Webhooks message id: the same for every attempt and redelivery of this event."""
        return f"evt_{self.id}"

    @classmethod
    def visible_to(cls, company_id: int):
        return cls.company_id == company_id
