"""Credit: per supplier-buyer limits and terms, a reservation ledger, and the record of every check.

Exposure of a buyer at a supplier = unpaid invoices + reserved amounts of placed, not-yet-invoiced orders
+ the order being checked. Checks for one (supplier, buyer) pair serialise on the CreditAccount row
(SELECT ... FOR UPDATE), so two orders submitted at the same moment cannot both pass a limit only one fits.
"""
from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db import CURRENCY, MONEY, TimestampMixin, UTCDateTime, db, utcnow


class CreditAccount(TimestampMixin, db.Model):
    """A supplier's terms for one buyer. ``buyer_company_id`` NULL is the supplier's default for buyers
    without their own account; the first check of a new buyer copies the default into a row of its own."""

    __tablename__ = "credit_accounts"
    __label__ = "credit account"

    id: Mapped[int] = mapped_column(primary_key=True)
    supplier_company_id: Mapped[int] = mapped_column(sa.ForeignKey("companies.id"))
    buyer_company_id: Mapped[int | None] = mapped_column(sa.ForeignKey("companies.id"))
    limit_amount: Mapped[Decimal] = mapped_column(MONEY)
    currency: Mapped[str] = mapped_column(CURRENCY)
    payment_terms_days: Mapped[int] = mapped_column(default=30)
    block_on_overdue: Mapped[bool] = mapped_column(default=True)
    updated_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    buyer = relationship("Company", foreign_keys=[buyer_company_id], lazy="joined")

    __table_args__ = (
        sa.UniqueConstraint("supplier_company_id", "buyer_company_id", name="uq_credit_accounts_pair"),
        sa.Index("uq_credit_accounts_default", "supplier_company_id", unique=True,
                 postgresql_where=sa.text("buyer_company_id IS NULL"),
                 sqlite_where=sa.text("buyer_company_id IS NULL")),
        sa.CheckConstraint("limit_amount >= 0", name="limit_nonneg"),
        sa.CheckConstraint("payment_terms_days >= 0 AND payment_terms_days <= 365", name="terms_range"),
    )

    @classmethod
    def visible_to(cls, company_id):
        # The supplier manages it; the buyer may read its own terms.
        return sa.or_(cls.supplier_company_id == company_id, cls.buyer_company_id == company_id)


class ReservationStatus(str, enum.Enum):
    reserved = "reserved"
    released = "released"  # order cancelled or rejected
    converted = "converted"  # order invoiced: the exposure now sits in unpaid invoices


class CreditReservation(db.Model):
    __tablename__ = "credit_reservations"

    id: Mapped[int] = mapped_column(primary_key=True)
    supplier_company_id: Mapped[int] = mapped_column(sa.ForeignKey("companies.id"))
    buyer_company_id: Mapped[int] = mapped_column(sa.ForeignKey("companies.id"))
    order_id: Mapped[int] = mapped_column(sa.ForeignKey("purchase_orders.id"), unique=True)
    amount: Mapped[Decimal] = mapped_column(MONEY)
    currency: Mapped[str] = mapped_column(CURRENCY)
    status: Mapped[ReservationStatus] = mapped_column(
        sa.Enum(ReservationStatus, native_enum=False, length=16, validate_strings=True),
        default=ReservationStatus.reserved)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        sa.Index("ix_credit_reservations_pair_status", "supplier_company_id", "buyer_company_id", "status"),
        sa.CheckConstraint("amount >= 0", name="amount_nonneg"),
    )


class CreditCheck(db.Model):
    """One decision on one order, with the figures both sides see."""

    __tablename__ = "credit_checks"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(sa.ForeignKey("purchase_orders.id"), index=True)
    provider: Mapped[str] = mapped_column(sa.String(40))
    outcome: Mapped[str] = mapped_column(sa.String(10))  # passed | hold
    reason: Mapped[str] = mapped_column(sa.Text, default="")
    # Every failing (or, for a pass, the deciding) factor with its figures, so pages can say it in words:
    # [{"factor": "overdue_invoices", "figures": {"count": 1}}, {"factor": "over_limit", "figures": {...}}]
    factors: Mapped[list | None] = mapped_column(sa.JSON)
    limit_amount: Mapped[Decimal | None] = mapped_column(MONEY)
    unpaid_invoices: Mapped[Decimal | None] = mapped_column(MONEY)
    reserved_orders: Mapped[Decimal | None] = mapped_column(MONEY)
    order_amount: Mapped[Decimal | None] = mapped_column(MONEY)
    currency: Mapped[str] = mapped_column(CURRENCY)
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Hold resolution by the supplier's accounts team.
    resolution: Mapped[str | None] = mapped_column(sa.String(10))  # released | rejected
    resolution_comment: Mapped[str | None] = mapped_column(sa.Text)
    resolved_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    resolved_by = relationship("User")

    __table_args__ = (sa.CheckConstraint("outcome IN ('passed', 'hold')", name="outcome_known"),)
