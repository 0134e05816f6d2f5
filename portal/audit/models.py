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
    # The detail as a message id with its figures ([msgid, params], portal/notifications/messages.py), worded when
    # shown in the reader's language and format; ``detail`` then holds the English text (API, search). Rows from
    # before (and plain-text details) have none and show ``detail`` as stored.
    message: Mapped[list | None] = mapped_column(sa.JSON)
    # Some events are only for the owning side (e.g. the buyer's internal notes); None = both parties.
    visible_to_company_id: Mapped[int | None] = mapped_column(sa.ForeignKey("companies.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    actor = relationship("User", lazy="joined")

    __table_args__ = (sa.Index("ix_audit_events_entity", "entity_type", "entity_id", "id"),)

    def text(self, locale: str = "en_GB", tz: str = "UTC") -> str:
        """The detail for the person reading now (see ``message``)."""
        if self.message:
            from portal.notifications.messages import render

            return render(self.message, locale=locale, tz=tz)
        return self.detail or ""
