"""One audit trail for every business object: who did what, when, from which state to which."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db import UTCDateTime, db, utcnow


class AuditEvent(db.Model):
    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    entity_type: Mapped[str] = mapped_column(sa.String(40))
    entity_id: Mapped[int] = mapped_column()
    company_id: Mapped[int | None] = mapped_column(sa.ForeignKey("companies.id"))
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(sa.String(60))
    from_state: Mapped[str | None] = mapped_column(sa.String(32))
    to_state: Mapped[str | None] = mapped_column(sa.String(32))
    detail: Mapped[str] = mapped_column(sa.Text, default="")
    # Some events are only for the owning side (e.g. the buyer's internal notes); None = both parties.
    visible_to_company_id: Mapped[int | None] = mapped_column(sa.ForeignKey("companies.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    actor = relationship("User", lazy="joined")

    __table_args__ = (sa.Index("ix_audit_events_entity", "entity_type", "entity_id", "id"),)
