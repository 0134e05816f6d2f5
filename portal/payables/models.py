"""Accounts payable (the buyer's side): tolerance settings, cash discount terms, match results, disputes with
their history, payment runs with their items, and remittance advices.

``Invoice.disputed_at`` (portal.invoices.models) is the one flag of an open dispute that other domains read; the
dispute itself and its history live here.
"""
from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db import CURRENCY, MONEY, TimestampMixin, UTCDateTime, db, utcnow
from portal.payables.states import DisputeStatus, RunStatus

PCT = sa.Numeric(5, 2)


class PayablesSettings(db.Model):
    """A buyer's matching tolerances (one row per buyer company; no row = exact matching, no auto-approval).

    Price: per invoice line, the invoiced unit price (after the line discount) may exceed the order's by at most
    ``price_tolerance_percent`` AND the line's excess may be at most ``price_tolerance_amount`` (in the invoice's
    currency). Quantity: invoiced (net of credit notes) may exceed received-and-accepted by at most
    ``quantity_tolerance_percent``. Total: the invoice's net may exceed what the order prices give for the
    invoiced quantities by at most ``total_tolerance_percent`` AND ``total_tolerance_amount``."""

    __tablename__ = "payables_settings"

    buyer_company_id: Mapped[int] = mapped_column(sa.ForeignKey("companies.id"), primary_key=True)
    price_tolerance_percent: Mapped[Decimal] = mapped_column(PCT, default=Decimal(0))
    price_tolerance_amount: Mapped[Decimal] = mapped_column(MONEY, default=Decimal(0))
    quantity_tolerance_percent: Mapped[Decimal] = mapped_column(PCT, default=Decimal(0))
    total_tolerance_percent: Mapped[Decimal] = mapped_column(PCT, default=Decimal(0))
    total_tolerance_amount: Mapped[Decimal] = mapped_column(MONEY, default=Decimal(0))
    auto_approve: Mapped[bool] = mapped_column(default=False)
    lock_version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": lock_version}
    __table_args__ = (
        sa.CheckConstraint("price_tolerance_percent >= 0 AND price_tolerance_percent <= 50", name="price_pct_range"),
        sa.CheckConstraint("quantity_tolerance_percent >= 0 AND quantity_tolerance_percent <= 50",
                           name="qty_pct_range"),
        sa.CheckConstraint("total_tolerance_percent >= 0 AND total_tolerance_percent <= 50", name="total_pct_range"),
        sa.CheckConstraint("price_tolerance_amount >= 0 AND total_tolerance_amount >= 0", name="amounts_nonneg"),
    )


class CashDiscountTerms(db.Model):
    """The cash discount a supplier grants this buyer: ``discount_percent`` when paid within ``discount_days``
    of the invoice date (e.g. 2 % 10 days, net by the invoice's due date)."""

    __tablename__ = "cash_discount_terms"

    id: Mapped[int] = mapped_column(primary_key=True)
    buyer_company_id: Mapped[int] = mapped_column(sa.ForeignKey("companies.id"))
    supplier_company_id: Mapped[int] = mapped_column(sa.ForeignKey("companies.id"))
    discount_percent: Mapped[Decimal] = mapped_column(PCT)
    discount_days: Mapped[int] = mapped_column()

    supplier = relationship("Company", foreign_keys=[supplier_company_id], lazy="joined")

    __table_args__ = (
        sa.UniqueConstraint("buyer_company_id", "supplier_company_id", name="uq_cash_discount_terms_pair"),
        sa.CheckConstraint("discount_percent > 0 AND discount_percent <= 20", name="discount_range"),
        sa.CheckConstraint("discount_days >= 1 AND discount_days <= 90", name="days_range"),
    )


class MatchStatus(str, enum.Enum):
    matched = "matched"        # every line and the total within tolerance
    exceptions = "exceptions"  # at least one line or the total outside tolerance
    covered = "covered"        # outside tolerance, but credit notes cover the excess

    @property
    def label(self) -> str:
        return {"matched": "Matched", "exceptions": "Exceptions", "covered": "Covered by credit notes"}[self.value]


class InvoiceMatch(db.Model):
    """The latest automatic match of an invoice against its order and receipts (one row per invoice)."""

    __tablename__ = "invoice_matches"

    invoice_id: Mapped[int] = mapped_column(sa.ForeignKey("invoices.id"), primary_key=True)
    buyer_company_id: Mapped[int] = mapped_column(sa.ForeignKey("companies.id"), index=True)
    status: Mapped[MatchStatus] = mapped_column(
        sa.Enum(MatchStatus, native_enum=False, length=16, validate_strings=True))
    # [{"position", "kind": price|quantity|total, "ordered", "received", "invoiced", "order_price",
    #   "invoice_price", "difference", "tolerance", "sentence"}] with numbers as strings
    exceptions: Mapped[list] = mapped_column(sa.JSON, default=list)
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    auto_approved: Mapped[bool] = mapped_column(default=False)


class Dispute(TimestampMixin, db.Model):
    __tablename__ = "disputes"
    __label__ = "dispute"

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(sa.ForeignKey("invoices.id"), index=True)
    buyer_company_id: Mapped[int] = mapped_column(sa.ForeignKey("companies.id"))
    supplier_company_id: Mapped[int] = mapped_column(sa.ForeignKey("companies.id"))
    invoice_line_id: Mapped[int | None] = mapped_column(sa.ForeignKey("invoice_lines.id"))  # None = whole invoice
    status: Mapped[DisputeStatus] = mapped_column(
        sa.Enum(DisputeStatus, native_enum=False, length=16, validate_strings=True), default=DisputeStatus.open)
    reason: Mapped[str] = mapped_column(sa.Text)
    opened_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    credit_note_id: Mapped[int | None] = mapped_column(sa.ForeignKey("invoices.id"))
    lock_version: Mapped[int] = mapped_column(default=1)

    invoice = relationship("Invoice", foreign_keys=[invoice_id])
    credit_note = relationship("Invoice", foreign_keys=[credit_note_id])
    line = relationship("InvoiceLine")
    events: Mapped[list[DisputeEvent]] = relationship(back_populates="dispute", order_by="DisputeEvent.id",
                                                         cascade="all, delete-orphan")

    __mapper_args__ = {"version_id_col": lock_version}
    __table_args__ = (
        sa.Index("ix_disputes_buyer_id", "buyer_company_id", "id"),
        sa.Index("ix_disputes_supplier_id", "supplier_company_id", "id"),
        sa.CheckConstraint("(status IN ('resolved', 'withdrawn')) = (closed_at IS NOT NULL)", name="closed_iff_done"),
        sa.CheckConstraint("status != 'resolved' OR credit_note_id IS NOT NULL", name="resolved_by_credit_note"),
    )

    @classmethod
    def visible_to(cls, company_id):
        return sa.or_(cls.buyer_company_id == company_id, cls.supplier_company_id == company_id)


class DisputeEvent(db.Model):
    """One entry of a dispute's history: opened, answered, replied, resolved, withdrawn."""

    __tablename__ = "dispute_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    dispute_id: Mapped[int] = mapped_column(sa.ForeignKey("disputes.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(16))
    text: Mapped[str] = mapped_column(sa.Text, default="")
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    company_id: Mapped[int] = mapped_column(sa.ForeignKey("companies.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    dispute: Mapped[Dispute] = relationship(back_populates="events")
    actor = relationship("User")


class PaymentRun(TimestampMixin, db.Model):
    __tablename__ = "payment_runs"
    __label__ = "payment run"

    id: Mapped[int] = mapped_column(primary_key=True)
    buyer_company_id: Mapped[int] = mapped_column(sa.ForeignKey("companies.id"))
    reference: Mapped[str] = mapped_column(sa.String(32))
    status: Mapped[RunStatus] = mapped_column(
        sa.Enum(RunStatus, native_enum=False, length=16, validate_strings=True), default=RunStatus.draft)
    currency: Mapped[str] = mapped_column(CURRENCY, default="EUR")  # the SEPA file's currency
    due_by: Mapped[date | None] = mapped_column(sa.Date)
    execution_date: Mapped[date] = mapped_column(sa.Date)  # requested of the bank
    total_amount: Mapped[Decimal] = mapped_column(MONEY, default=Decimal(0))  # what leaves the account
    total_discount: Mapped[Decimal] = mapped_column(MONEY, default=Decimal(0))
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    approved_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    exported_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    exported_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sepa_file_id: Mapped[int | None] = mapped_column(sa.ForeignKey("stored_files.id"))
    message_id: Mapped[str | None] = mapped_column(sa.String(35))
    executed_on: Mapped[date | None] = mapped_column(sa.Date)
    executed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    lock_version: Mapped[int] = mapped_column(default=1)

    items: Mapped[list[PaymentRunItem]] = relationship(back_populates="run", order_by="PaymentRunItem.id",
                                                         cascade="all, delete-orphan")
    created_by = relationship("User", foreign_keys=[created_by_id])
    approved_by = relationship("User", foreign_keys=[approved_by_id])

    __mapper_args__ = {"version_id_col": lock_version}
    __table_args__ = (
        sa.UniqueConstraint("buyer_company_id", "reference", name="uq_payment_runs_reference"),
        sa.Index("ix_payment_runs_buyer_id", "buyer_company_id", "id"),
        sa.CheckConstraint("total_amount >= 0 AND total_discount >= 0", name="totals_nonneg"),
        sa.CheckConstraint("approved_by_id IS NULL OR approved_by_id != created_by_id", name="four_eyes"),
        sa.CheckConstraint("(status IN ('exported', 'executed')) = (sepa_file_id IS NOT NULL)",
                           name="file_iff_exported"),
    )

    @classmethod
    def visible_to(cls, company_id):
        return cls.buyer_company_id == company_id

    @property
    def included(self) -> list[PaymentRunItem]:
        return [i for i in self.items if i.state == ItemState.included]


class ItemState(str, enum.Enum):
    included = "included"  # paid by this run (claims the invoice: one run at a time)
    apart = "apart"        # due, but not in EUR: listed apart, to be paid outside the SEPA file
    dropped = "dropped"    # taken out with a sentence (paid, disputed or changed meanwhile; no bank details)
    released = "released"  # the run was cancelled


class PaymentRunItem(db.Model):
    __tablename__ = "payment_run_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(sa.ForeignKey("payment_runs.id", ondelete="CASCADE"), index=True)
    invoice_id: Mapped[int] = mapped_column(sa.ForeignKey("invoices.id"), index=True)
    supplier_company_id: Mapped[int] = mapped_column(sa.ForeignKey("companies.id"))
    currency: Mapped[str] = mapped_column(CURRENCY)
    open_amount: Mapped[Decimal] = mapped_column(MONEY)      # the invoice's open amount when taken
    discount_amount: Mapped[Decimal] = mapped_column(MONEY, default=Decimal(0))
    pay_amount: Mapped[Decimal] = mapped_column(MONEY)       # open − discount
    discount_percent: Mapped[Decimal] = mapped_column(PCT, default=Decimal(0))
    discount_until: Mapped[date | None] = mapped_column(sa.Date)
    state: Mapped[ItemState] = mapped_column(
        sa.Enum(ItemState, native_enum=False, length=16, validate_strings=True), default=ItemState.included)
    note: Mapped[str] = mapped_column(sa.String(500), default="")

    run: Mapped[PaymentRun] = relationship(back_populates="items")
    invoice = relationship("Invoice", lazy="joined")
    supplier = relationship("Company", lazy="joined")

    __table_args__ = (
        # One run at a time holds an invoice: two runs taking it at once collide here (one wins).
        sa.Index("uq_payment_run_items_claim", "invoice_id", unique=True,
                 sqlite_where=sa.text("state = 'included'"), postgresql_where=sa.text("state = 'included'")),
        sa.CheckConstraint("open_amount >= 0", name="open_nonneg"),
        sa.CheckConstraint("discount_amount >= 0 AND pay_amount >= 0", name="amounts_nonneg"),
        # SQLite keeps NUMERIC as REAL: compare within a hundredth of the smallest stored unit, not with "=".
        sa.CheckConstraint("ABS(discount_amount + pay_amount - open_amount) < 0.00001", name="adds_up"),
    )


class RemittanceStatus(str, enum.Enum):
    sent = "sent"
    reconciled = "reconciled"

    @property
    def label(self) -> str:
        return self.value.capitalize()


class RemittanceAdvice(TimestampMixin, db.Model):
    """What one payment run paid one supplier: which invoices, the credit notes and discounts behind the
    amount. ``lines`` is frozen when the run is confirmed as executed (and is what the PDF shows)."""

    __tablename__ = "remittance_advices"
    __label__ = "remittance advice"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(sa.ForeignKey("payment_runs.id"), index=True)
    buyer_company_id: Mapped[int] = mapped_column(sa.ForeignKey("companies.id"))
    supplier_company_id: Mapped[int] = mapped_column(sa.ForeignKey("companies.id"))
    reference: Mapped[str] = mapped_column(sa.String(40))
    currency: Mapped[str] = mapped_column(CURRENCY)
    amount: Mapped[Decimal] = mapped_column(MONEY)
    discount_total: Mapped[Decimal] = mapped_column(MONEY, default=Decimal(0))
    paid_on: Mapped[date] = mapped_column(sa.Date)
    status: Mapped[RemittanceStatus] = mapped_column(
        sa.Enum(RemittanceStatus, native_enum=False, length=16, validate_strings=True), default=RemittanceStatus.sent)
    lines: Mapped[list] = mapped_column(sa.JSON, default=list)
    reconciled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reconciled_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    pdf_file_id: Mapped[int | None] = mapped_column(sa.ForeignKey("stored_files.id"))
    pdf_job_id: Mapped[int | None] = mapped_column(sa.ForeignKey("job_records.id"))
    lock_version: Mapped[int] = mapped_column(default=1)

    buyer = relationship("Company", foreign_keys=[buyer_company_id], lazy="joined")
    supplier = relationship("Company", foreign_keys=[supplier_company_id], lazy="joined")
    run = relationship(PaymentRun)

    __mapper_args__ = {"version_id_col": lock_version}
    __table_args__ = (
        sa.UniqueConstraint("run_id", "supplier_company_id", name="uq_remittance_advices_run_supplier"),
        sa.Index("ix_remittance_advices_supplier_id", "supplier_company_id", "id"),
        sa.Index("ix_remittance_advices_buyer_id", "buyer_company_id", "id"),
        sa.CheckConstraint("amount >= 0 AND discount_total >= 0", name="amounts_nonneg"),
    )

    @classmethod
    def visible_to(cls, company_id):
        return sa.or_(cls.buyer_company_id == company_id, cls.supplier_company_id == company_id)
