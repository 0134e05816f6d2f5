"""Supplier quotes (versioned) and the buyer's award.

A Quote is one supplier's answer to one RFQ. Its content lives in QuoteVersions: the draft being edited
(``draft_version_id``) and the submitted ones, numbered 1..n; ``current_version_id`` is the latest submitted
version, which is what counts (comparison, award). Every submitted version is kept with its time and author.
"""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship, synonym

from portal.db import MONEY, QUANTITY, TimestampMixin, UTCDateTime, db, utcnow
from portal.quotes.states import QuoteStatus
from portal.rfq.models import Rfq


class Quote(TimestampMixin, db.Model):
    __tablename__ = "quotes"
    __label__ = "quote"

    id: Mapped[int] = mapped_column(primary_key=True)
    rfq_id: Mapped[int] = mapped_column(sa.ForeignKey("rfqs.id", ondelete="CASCADE"))
    supplier_company_id: Mapped[int] = mapped_column(sa.ForeignKey("companies.id"), index=True)
    status: Mapped[QuoteStatus] = mapped_column(
        sa.Enum(QuoteStatus, native_enum=False, length=16, validate_strings=True), default=QuoteStatus.draft
    )
    current_version_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("quote_versions.id", use_alter=True, name="fk_quotes_current_version_id_quote_versions"))
    draft_version_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("quote_versions.id", use_alter=True, name="fk_quotes_draft_version_id_quote_versions"))
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Set when the buyer amends the RFQ after this quote was submitted; cleared by resubmitting/confirming.
    needs_reconfirmation: Mapped[bool] = mapped_column(default=False)
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    lock_version: Mapped[int] = mapped_column(default=1)

    rfq: Mapped[Rfq] = relationship(lazy="joined")
    supplier = relationship("Company", lazy="joined")
    current_version: Mapped["QuoteVersion | None"] = relationship(foreign_keys=[current_version_id],
                                                                 post_update=True)
    draft_version: Mapped["QuoteVersion | None"] = relationship(foreign_keys=[draft_version_id],
                                                               post_update=True)
    versions: Mapped[list["QuoteVersion"]] = relationship(
        back_populates="quote", foreign_keys="QuoteVersion.quote_id", order_by="QuoteVersion.id",
        cascade="all, delete-orphan")

    __mapper_args__ = {"version_id_col": lock_version}
    __table_args__ = (
        sa.UniqueConstraint("rfq_id", "supplier_company_id", name="uq_quotes_rfq_supplier"),
    )

    @classmethod
    def visible_to(cls, company_id):
        """The supplier always; the RFQ's buyer once the quote has been submitted at least once."""
        buyer_of_rfq = sa.select(Rfq.id).where(Rfq.id == cls.rfq_id, Rfq.buyer_company_id == company_id).exists()
        return sa.or_(cls.supplier_company_id == company_id,
                      sa.and_(cls.current_version_id.is_not(None), buyer_of_rfq))

    @property
    def version_number(self) -> int:
        return self.current_version.number if self.current_version else 0

    @property
    def expired(self) -> bool:
        v = self.current_version
        return bool(v and v.valid_until and v.valid_until < utcnow().date())


class QuoteVersion(db.Model):
    __tablename__ = "quote_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    quote_id: Mapped[int] = mapped_column(sa.ForeignKey("quotes.id", ondelete="CASCADE"), index=True)
    # 1..n for submitted versions; a draft carries the number it will get when submitted.
    number: Mapped[int] = mapped_column()
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    submitted_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    valid_until: Mapped[date | None] = mapped_column(sa.Date)
    delivery_terms: Mapped[str] = mapped_column(sa.String(200), default="")
    shipping_cost: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0"))
    notes: Mapped[str] = mapped_column(sa.Text, default="")
    # The RFQ amendment number this version answered (re-confirmation after amendments).
    rfq_amendment_no: Mapped[int] = mapped_column(default=0)

    quote: Mapped[Quote] = relationship(back_populates="versions", foreign_keys=[quote_id])
    submitted_by = relationship("User", foreign_keys=[submitted_by_id])
    lines: Mapped[list["QuoteLine"]] = relationship(back_populates="version", cascade="all, delete-orphan",
                                                    order_by="QuoteLine.rfq_line_id")

    __table_args__ = (
        sa.UniqueConstraint("quote_id", "number", name="uq_quote_versions_number"),
        sa.CheckConstraint("shipping_cost >= 0", name="shipping_nonneg"),
    )


class QuoteLine(db.Model):
    __tablename__ = "quote_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(sa.ForeignKey("quote_versions.id", ondelete="CASCADE"))
    rfq_line_id: Mapped[int] = mapped_column(sa.ForeignKey("rfq_lines.id", ondelete="CASCADE"))
    unit_price: Mapped[Decimal | None] = mapped_column(MONEY)
    # Quantity breaks: [{"min_quantity": "500", "unit_price": "0.95"}, ...] as decimal strings, ascending.
    price_breaks: Mapped[list] = mapped_column(sa.JSON, default=list)
    moq: Mapped[Decimal | None] = mapped_column(QUANTITY)
    pack_size: Mapped[Decimal | None] = mapped_column(QUANTITY)
    lead_time_days: Mapped[int | None] = mapped_column()
    declined: Mapped[bool] = mapped_column(default=False)
    decline_reason: Mapped[str | None] = mapped_column(sa.String(500))

    version: Mapped[QuoteVersion] = relationship(back_populates="lines")

    __table_args__ = (
        sa.UniqueConstraint("version_id", "rfq_line_id", name="uq_quote_lines_version_line"),
        sa.CheckConstraint("unit_price IS NULL OR unit_price >= 0", name="unit_price_nonneg"),
        sa.CheckConstraint("moq IS NULL OR moq > 0", name="moq_positive"),
        sa.CheckConstraint("pack_size IS NULL OR pack_size > 0", name="pack_size_positive"),
        sa.CheckConstraint("lead_time_days IS NULL OR lead_time_days >= 0", name="lead_time_nonneg"),
        sa.CheckConstraint("declined OR unit_price IS NOT NULL", name="priced_or_declined"),
    )


class QuoteAttachment(db.Model):
    __tablename__ = "quote_attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    quote_id: Mapped[int] = mapped_column(sa.ForeignKey("quotes.id", ondelete="CASCADE"), index=True)
    file_id: Mapped[int] = mapped_column(sa.ForeignKey("stored_files.id"))
    uploaded_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    file = relationship("StoredFile", lazy="joined")


class Award(db.Model):
    """The buyer's decision on an RFQ. One per RFQ, enforced by a unique constraint (and a row lock)."""

    __tablename__ = "awards"

    id: Mapped[int] = mapped_column(primary_key=True)
    rfq_id: Mapped[int] = mapped_column(sa.ForeignKey("rfqs.id"), unique=True)
    buyer_company_id: Mapped[int] = mapped_column(sa.ForeignKey("companies.id"), index=True)
    mode: Mapped[str] = mapped_column(sa.String(10))  # "whole" | "split"
    note: Mapped[str] = mapped_column(sa.Text, default="")
    awarded_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    awarded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Set by the ordering domain once purchase orders were created from this award.
    orders_created_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    created_at = synonym("awarded_at")  # the change feed's name for when it was made

    rfq: Mapped[Rfq] = relationship()
    lines: Mapped[list["AwardLine"]] = relationship(back_populates="award", cascade="all, delete-orphan",
                                                    order_by="AwardLine.rfq_line_id")
    awarded_by = relationship("User")

    __table_args__ = (sa.CheckConstraint("mode IN ('whole', 'split')", name="mode_known"),)

    @classmethod
    def visible_to(cls, company_id):
        """The buyer's decision: its suppliers learn their outcome from the RFQ, not the award."""
        return cls.buyer_company_id == company_id


class AwardLine(db.Model):
    __tablename__ = "award_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    award_id: Mapped[int] = mapped_column(sa.ForeignKey("awards.id", ondelete="CASCADE"), index=True)
    rfq_line_id: Mapped[int] = mapped_column(sa.ForeignKey("rfq_lines.id"), unique=True)
    quote_id: Mapped[int] = mapped_column(sa.ForeignKey("quotes.id"))
    quote_line_id: Mapped[int] = mapped_column(sa.ForeignKey("quote_lines.id"))
    supplier_company_id: Mapped[int] = mapped_column(sa.ForeignKey("companies.id"), index=True)
    quantity: Mapped[Decimal] = mapped_column(QUANTITY)  # after MOQ / pack-size rounding
    unit_price: Mapped[Decimal] = mapped_column(MONEY)  # the tier price at that quantity
    line_total: Mapped[Decimal] = mapped_column(MONEY)

    award: Mapped[Award] = relationship(back_populates="lines")
    rfq_line = relationship("RfqLine")
    quote_line = relationship("QuoteLine")

    __table_args__ = (
        sa.CheckConstraint("quantity > 0", name="quantity_positive"),
        sa.CheckConstraint("unit_price >= 0", name="unit_price_nonneg"),
    )
