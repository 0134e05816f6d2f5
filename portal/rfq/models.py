"""RFQs: the buyer's request, its lines, the invited suppliers, attachments, amendments and clarifications."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db import CURRENCY, MONEY, QUANTITY, TimestampMixin, UTCDateTime, db, utcnow
from portal.rfq.states import RfqStatus


class Rfq(TimestampMixin, db.Model):
    __tablename__ = "rfqs"
    __label__ = "RFQ"

    id: Mapped[int] = mapped_column(primary_key=True)
    buyer_company_id: Mapped[int] = mapped_column(sa.ForeignKey("companies.id"), index=True)
    reference: Mapped[str] = mapped_column(sa.String(32))
    title: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    currency: Mapped[str] = mapped_column(CURRENCY)
    delivery_address: Mapped[str] = mapped_column(sa.Text, default="")
    delivery_date: Mapped[date | None] = mapped_column(sa.Date)
    incoterm: Mapped[str | None] = mapped_column(sa.String(3))
    payment_terms: Mapped[str | None] = mapped_column(sa.String(100))
    deadline: Mapped[datetime] = mapped_column(UTCDateTime())
    sealed: Mapped[bool] = mapped_column(default=True)
    status: Mapped[RfqStatus] = mapped_column(
        sa.Enum(RfqStatus, native_enum=False, length=16, validate_strings=True), default=RfqStatus.draft
    )
    cancel_reason: Mapped[str | None] = mapped_column(sa.Text)
    amendment_no: Mapped[int] = mapped_column(default=0)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # When sealed quotes were opened (at closing). Unsealed RFQs show prices as they arrive.
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    awarded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    # Optimistic lock: a stale edit form is refused (StaleDataError -> 409) instead of overwriting.
    version: Mapped[int] = mapped_column(default=1)

    buyer = relationship("Company", foreign_keys=[buyer_company_id], lazy="joined")
    created_by = relationship("User", foreign_keys=[created_by_id])
    lines: Mapped[list["RfqLine"]] = relationship(back_populates="rfq", order_by="RfqLine.position",
                                                  cascade="all, delete-orphan")
    invitations: Mapped[list["RfqInvitation"]] = relationship(back_populates="rfq",
                                                              cascade="all, delete-orphan")

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        sa.UniqueConstraint("buyer_company_id", "reference", name="uq_rfqs_buyer_reference"),
        sa.Index("ix_rfqs_buyer_status_id", "buyer_company_id", "status", "id"),
        sa.Index("ix_rfqs_status_deadline", "status", "deadline"),
    )

    @classmethod
    def visible_to(cls, company_id):
        """The buyer always; an invited supplier once the RFQ has been published (a draft — even a cancelled
        one that was never published — stays the buyer's business)."""
        invited = sa.select(RfqInvitation.id).where(
            RfqInvitation.rfq_id == cls.id, RfqInvitation.supplier_company_id == company_id
        ).exists()
        return sa.or_(cls.buyer_company_id == company_id,
                      sa.and_(cls.published_at.is_not(None), invited))

    @property
    def prices_visible_to_buyer(self) -> bool:
        return (not self.sealed) or self.opened_at is not None

    @property
    def accepting_quotes(self) -> bool:
        return self.status == RfqStatus.open and self.deadline > utcnow()


class RfqLine(db.Model):
    __tablename__ = "rfq_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    rfq_id: Mapped[int] = mapped_column(sa.ForeignKey("rfqs.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column()
    description: Mapped[str] = mapped_column(sa.String(500))
    part_number: Mapped[str | None] = mapped_column(sa.String(64))
    quantity: Mapped[Decimal] = mapped_column(QUANTITY)
    unit: Mapped[str] = mapped_column(sa.String(16), default="pcs")
    target_price: Mapped[Decimal | None] = mapped_column(MONEY)
    notes: Mapped[str] = mapped_column(sa.Text, default="")

    rfq: Mapped[Rfq] = relationship(back_populates="lines")

    __table_args__ = (
        sa.CheckConstraint("quantity > 0", name="quantity_positive"),
        sa.CheckConstraint("target_price IS NULL OR target_price >= 0", name="target_price_nonneg"),
        sa.UniqueConstraint("rfq_id", "position", name="uq_rfq_lines_rfq_position"),
    )


class RfqInvitation(db.Model):
    __tablename__ = "rfq_invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    rfq_id: Mapped[int] = mapped_column(sa.ForeignKey("rfqs.id", ondelete="CASCADE"))
    supplier_company_id: Mapped[int] = mapped_column(sa.ForeignKey("companies.id"), index=True)
    invited_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    invited_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))

    rfq: Mapped[Rfq] = relationship(back_populates="invitations")
    supplier = relationship("Company", lazy="joined")

    __table_args__ = (sa.UniqueConstraint("rfq_id", "supplier_company_id", name="uq_rfq_invitations_pair"),)


class RfqAttachment(db.Model):
    __tablename__ = "rfq_attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    rfq_id: Mapped[int] = mapped_column(sa.ForeignKey("rfqs.id", ondelete="CASCADE"), index=True)
    file_id: Mapped[int] = mapped_column(sa.ForeignKey("stored_files.id"))
    uploaded_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    file = relationship("StoredFile", lazy="joined")


class RfqAmendment(db.Model):
    """Every change to a published RFQ (lines, terms, deadline), numbered, with a summary for suppliers."""

    __tablename__ = "rfq_amendments"

    id: Mapped[int] = mapped_column(primary_key=True)
    rfq_id: Mapped[int] = mapped_column(sa.ForeignKey("rfqs.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column()
    summary: Mapped[str] = mapped_column(sa.Text)
    changed_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    changed_by = relationship("User")

    __table_args__ = (sa.UniqueConstraint("rfq_id", "number", name="uq_rfq_amendments_number"),)


class Clarification(db.Model):
    """A supplier's question; the buyer's answer is shown to every invited supplier without the asker."""

    __tablename__ = "rfq_clarifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    rfq_id: Mapped[int] = mapped_column(sa.ForeignKey("rfqs.id", ondelete="CASCADE"), index=True)
    asked_by_company_id: Mapped[int] = mapped_column(sa.ForeignKey("companies.id"))
    asked_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    question: Mapped[str] = mapped_column(sa.Text)
    asked_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    answer: Mapped[str | None] = mapped_column(sa.Text)
    answered_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
