"""Receivables: the supplier's dunning settings (late-payment interest) and the dunning notices sent.

The days of each dunning level live in the supplier's invoice settings (``InvoiceSettings.reminder_days``:
"3,14,30" = level 1 three days after the due date, level 2 after 14, level 3 after 30); what was the reminder
schedule is the dunning schedule.
"""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db import CURRENCY, MONEY, UTCDateTime, db, utcnow

LEVELS = {1: "Payment reminder", 2: "First dunning notice", 3: "Final notice"}
MAX_LEVEL = 3
RATE = sa.Numeric(7, 3)


class DunningSettings(db.Model):
    """A supplier's late-payment interest terms (one row per supplier company; none = no interest)."""

    __tablename__ = "dunning_settings"

    supplier_company_id: Mapped[int] = mapped_column(sa.ForeignKey("companies.id"), primary_key=True)
    charge_interest: Mapped[bool] = mapped_column(default=False)
    # The central bank's reference rate (ECB main refinancing rate) in percent and the date it applies from;
    # interest = reference rate + 8 points (Directive 2011/7/EU, Art. 2(6)).
    reference_rate: Mapped[Decimal | None] = mapped_column(RATE)
    reference_rate_date: Mapped[date | None] = mapped_column(sa.Date)
    lock_version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": lock_version}
    __table_args__ = (
        sa.CheckConstraint("reference_rate IS NULL OR (reference_rate >= -10 AND reference_rate <= 50)",
                           name="reference_rate_range"),
        sa.CheckConstraint("NOT charge_interest OR (reference_rate IS NOT NULL AND reference_rate_date IS NOT NULL)",
                           name="interest_needs_rate"),
    )


class DunningNotice(db.Model):
    """One dunning letter: an invoice reached a level (once per level). Interest is printed on the letter only;
    the invoice's totals never change. ``snapshot`` is what the letter prints (frozen when it was sent)."""

    __tablename__ = "dunning_notices"
    __label__ = "dunning letter"

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(sa.ForeignKey("invoices.id"), index=True)
    supplier_company_id: Mapped[int] = mapped_column(sa.ForeignKey("companies.id"))
    buyer_company_id: Mapped[int] = mapped_column(sa.ForeignKey("companies.id"))
    level: Mapped[int] = mapped_column()
    days_late: Mapped[int] = mapped_column()
    sent_on: Mapped[date] = mapped_column(sa.Date)
    currency: Mapped[str] = mapped_column(CURRENCY)
    open_amount: Mapped[Decimal] = mapped_column(MONEY)
    interest_rate: Mapped[Decimal | None] = mapped_column(RATE)  # percent per year; None = no interest charged
    interest_amount: Mapped[Decimal | None] = mapped_column(MONEY)
    snapshot: Mapped[dict | None] = mapped_column(sa.JSON)
    pdf_file_id: Mapped[int | None] = mapped_column(sa.ForeignKey("stored_files.id"))
    pdf_job_id: Mapped[int | None] = mapped_column(sa.ForeignKey("job_records.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    invoice = relationship("Invoice")

    __table_args__ = (
        sa.UniqueConstraint("invoice_id", "level", name="uq_dunning_notices_level"),
        sa.Index("ix_dunning_notices_supplier_id", "supplier_company_id", "id"),
        sa.CheckConstraint("level >= 1 AND level <= 3", name="level_range"),
        sa.CheckConstraint("open_amount >= 0", name="open_nonneg"),
        sa.CheckConstraint("interest_amount IS NULL OR interest_amount >= 0", name="interest_nonneg"),
    )

    @classmethod
    def visible_to(cls, company_id):
        return sa.or_(cls.supplier_company_id == company_id, cls.buyer_company_id == company_id)

    @property
    def title(self) -> str:
        return LEVELS.get(self.level, f"Level {self.level}")
