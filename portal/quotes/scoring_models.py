"""Weighted bid scoring: the criteria an RFQ is judged by, the team's 1–5 scores on free criteria, and the
buyer's stored rating of a supplier. The arithmetic lives in portal/quotes/scoring.py."""
from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db import UTCDateTime, db, utcnow

WEIGHT = sa.Numeric(5, 2, asdecimal=True)


class CriterionKind(str, enum.Enum):
    price = "price"
    lead_time = "lead_time"
    payment_terms = "payment_terms"
    rating = "rating"
    custom = "custom"  # scored 1–5 by the buyer's team


class ScoringCriterion(db.Model):
    __tablename__ = "scoring_criteria"

    id: Mapped[int] = mapped_column(primary_key=True)
    rfq_id: Mapped[int] = mapped_column(sa.ForeignKey("rfqs.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column()
    kind: Mapped[CriterionKind] = mapped_column(
        sa.Enum(CriterionKind, native_enum=False, length=16, validate_strings=True))
    name: Mapped[str] = mapped_column(sa.String(120))
    weight: Mapped[Decimal] = mapped_column(WEIGHT)  # percent; the RFQ's weights sum to 100

    scores: Mapped[list["QuoteScore"]] = relationship(back_populates="criterion", cascade="all, delete-orphan")

    __table_args__ = (
        sa.CheckConstraint("weight > 0 AND weight <= 100", name="weight_range"),
        sa.UniqueConstraint("rfq_id", "position", name="uq_scoring_criteria_position"),
    )


class QuoteScore(db.Model):
    """One team member's 1–5 score of one quote on one free criterion (the criterion uses the mean)."""

    __tablename__ = "quote_scores"

    id: Mapped[int] = mapped_column(primary_key=True)
    criterion_id: Mapped[int] = mapped_column(sa.ForeignKey("scoring_criteria.id", ondelete="CASCADE"), index=True)
    quote_id: Mapped[int] = mapped_column(sa.ForeignKey("quotes.id", ondelete="CASCADE"), index=True)
    scored_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    score: Mapped[int] = mapped_column()
    scored_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    criterion: Mapped[ScoringCriterion] = relationship(back_populates="scores")

    __table_args__ = (
        sa.CheckConstraint("score BETWEEN 1 AND 5", name="score_range"),
        sa.UniqueConstraint("criterion_id", "quote_id", "scored_by_id", name="uq_quote_scores_one_per_person"),
    )


class SupplierRating(db.Model):
    """A buyer's stored rating (1–5) of a supplier; used by the rating criterion before the supplier's history."""

    __tablename__ = "supplier_ratings"

    id: Mapped[int] = mapped_column(primary_key=True)
    buyer_company_id: Mapped[int] = mapped_column(sa.ForeignKey("companies.id"))
    supplier_company_id: Mapped[int] = mapped_column(sa.ForeignKey("companies.id"))
    rating: Mapped[Decimal] = mapped_column(sa.Numeric(3, 2, asdecimal=True))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    __table_args__ = (
        sa.CheckConstraint("rating >= 1 AND rating <= 5", name="rating_range"),
        sa.UniqueConstraint("buyer_company_id", "supplier_company_id", name="uq_supplier_ratings_pair"),
    )
