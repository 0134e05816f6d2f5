"""Invoices and credit notes (one table, two kinds and series), their lines and payments (dunning: portal.receivables)."""
from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db import CURRENCY, MONEY, QUANTITY, TimestampMixin, UTCDateTime, db, utcnow
from portal.invoices.states import InvoiceStatus


class DocumentKind(str, enum.Enum):
    invoice = "invoice"
    credit_note = "credit_note"


class CreditReason(str, enum.Enum):
    """Why a credit note was issued. It decides what the credited quantities mean for invoicing: goods returned
    or rejected at receipt (and any other credit) stay closed for good; only a credit note that corrects an
    invoicing mistake makes its quantities invoiceable again (see services.invoiceable_lines)."""

    returned = "returned"
    rejected_at_receipt = "rejected_at_receipt"
    invoicing_error = "invoicing_error"
    other = "other"

    @property
    def label(self) -> str:
        return CREDIT_REASON_LABELS[self]

    @property
    def reopens(self) -> bool:
        return self in REOPENING_REASONS


CREDIT_REASON_LABELS = {
    CreditReason.returned: "Goods returned",
    CreditReason.rejected_at_receipt: "Goods rejected at receipt",
    CreditReason.invoicing_error: "Invoicing mistake (wrong quantity or price)",
    CreditReason.other: "Other (price reduction, goodwill)",
}
REOPENING_REASONS = (CreditReason.invoicing_error,)
CREDIT_REASON_CHECK = ("(kind = 'invoice' AND credit_reason IS NULL) OR (kind = 'credit_note' AND credit_reason IN "
                       "('returned', 'rejected_at_receipt', 'invoicing_error', 'other'))")


class InvoicingMode(str, enum.Enum):
    per_shipment = "per_shipment"
    per_order = "per_order"


class InvoiceSettings(db.Model):
    """A supplier's invoicing settings (one row per supplier company)."""

    __tablename__ = "invoice_settings"

    supplier_company_id: Mapped[int] = mapped_column(sa.ForeignKey("companies.id"), primary_key=True)
    mode: Mapped[InvoicingMode] = mapped_column(
        sa.Enum(InvoicingMode, native_enum=False, length=16, validate_strings=True),
        default=InvoicingMode.per_shipment)
    auto_issue: Mapped[bool] = mapped_column(default=False)  # invoice automatically when a shipment is recorded
    default_tax_rate: Mapped[Decimal] = mapped_column(sa.Numeric(5, 2), default=Decimal("19.00"))
    # Dunning levels (portal.receivables): days after the due date of level 1 (reminder), 2 (first dunning), 3 (final)
    reminder_days: Mapped[str] = mapped_column(sa.String(50), default="3,14,30")
    logo_file_id: Mapped[int | None] = mapped_column(sa.ForeignKey("stored_files.id"))
    footer_note: Mapped[str] = mapped_column(sa.Text, default="")

    __table_args__ = (sa.CheckConstraint("default_tax_rate >= 0 AND default_tax_rate <= 100", name="tax_range"),)


# issued invoices still open and not yet approved for payment (the partial index of the buyer's dashboard tile)
TO_APPROVE = "kind = 'invoice' AND status IN ('issued', 'partially_paid') AND approved_for_payment_at IS NULL"


class Invoice(TimestampMixin, db.Model):
    __tablename__ = "invoices"
    __label__ = "invoice"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[DocumentKind] = mapped_column(
        sa.Enum(DocumentKind, native_enum=False, length=16, validate_strings=True), default=DocumentKind.invoice)
    supplier_company_id: Mapped[int] = mapped_column(sa.ForeignKey("companies.id"))
    buyer_company_id: Mapped[int] = mapped_column(sa.ForeignKey("companies.id"))
    # Assigned only at issue: series INV (invoices) / CRN (credit notes), per supplier and year, gapless.
    # EXT: an e-invoice imported from the supplier's own system (portal.einvoice): ``number`` is the supplier's
    # own number (unique per supplier like every number), year and sequence stay empty.
    series: Mapped[str] = mapped_column(sa.String(8))
    year: Mapped[int | None] = mapped_column()
    sequence: Mapped[int | None] = mapped_column()
    number: Mapped[str | None] = mapped_column(sa.String(32))
    status: Mapped[InvoiceStatus] = mapped_column(
        sa.Enum(InvoiceStatus, native_enum=False, length=16, validate_strings=True), default=InvoiceStatus.draft)
    order_id: Mapped[int | None] = mapped_column(sa.ForeignKey("purchase_orders.id"), index=True)
    shipment_id: Mapped[int | None] = mapped_column(sa.ForeignKey("shipments.id"), index=True)
    corrects_invoice_id: Mapped[int | None] = mapped_column(sa.ForeignKey("invoices.id"), index=True)
    currency: Mapped[str] = mapped_column(CURRENCY)
    issue_date: Mapped[date | None] = mapped_column(sa.Date)
    supply_date: Mapped[date | None] = mapped_column(sa.Date)
    due_date: Mapped[date | None] = mapped_column(sa.Date)
    payment_terms_days: Mapped[int] = mapped_column(default=30)
    buyer_reference: Mapped[str] = mapped_column(sa.String(64), default="")  # the buyer's PO number
    reverse_charge: Mapped[bool] = mapped_column(default=False)
    total_net: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0"))
    total_tax: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0"))
    total_gross: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0"))
    paid_amount: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0"))
    credited_amount: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0"))
    notes: Mapped[str] = mapped_column(sa.Text, default="")
    # Credit notes only: why (printed on the document; decides whether the credited goods may be invoiced again).
    credit_reason: Mapped[CreditReason | None] = mapped_column(
        sa.Enum(CreditReason, native_enum=False, length=24, validate_strings=True))
    # Frozen at issue: parties, addresses, VAT numbers, bank details, lines, tax breakdown, totals.
    snapshot: Mapped[dict | None] = mapped_column(sa.JSON)
    pdf_file_id: Mapped[int | None] = mapped_column(sa.ForeignKey("stored_files.id"))
    pdf_job_id: Mapped[int | None] = mapped_column(sa.ForeignKey("job_records.id"))
    # The Factur-X PDF (PDF/A-3 with the CII XML), rendered on first request (portal.einvoice.jobs).
    facturx_file_id: Mapped[int | None] = mapped_column(sa.ForeignKey("stored_files.id"))
    # Imported e-invoices: the supplier's original file (Factur-X PDF, CII or UBL XML) with its SHA-256.
    source_file_id: Mapped[int | None] = mapped_column(sa.ForeignKey("stored_files.id"))
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    issued_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    issued_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The buyer's accounts team marks an invoice approved for payment after checking the match.
    approved_for_payment_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    approved_for_payment_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    # Set while the buyer disputes the invoice (portal.payables keeps the dispute and its history): a disputed
    # invoice is not due for payment, not in a payment run and not dunned.
    disputed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    lock_version: Mapped[int] = mapped_column(default=1)

    supplier = relationship("Company", foreign_keys=[supplier_company_id], lazy="joined")
    buyer = relationship("Company", foreign_keys=[buyer_company_id], lazy="joined")
    lines: Mapped[list["InvoiceLine"]] = relationship(back_populates="invoice", order_by="InvoiceLine.position",
                                                      cascade="all, delete-orphan")
    payments: Mapped[list["Payment"]] = relationship(back_populates="invoice", order_by="Payment.id")
    corrects = relationship("Invoice", remote_side=[id])

    __mapper_args__ = {"version_id_col": lock_version}
    __table_args__ = (
        sa.UniqueConstraint("supplier_company_id", "series", "year", "sequence", name="uq_invoices_sequence"),
        sa.UniqueConstraint("supplier_company_id", "number", name="uq_invoices_number"),
        sa.Index("ix_invoices_supplier_id", "supplier_company_id", "id"),
        sa.Index("ix_invoices_buyer_id", "buyer_company_id", "id"),
        sa.Index("ix_invoices_supplier_status_due", "supplier_company_id", "status", "due_date"),
        # the lists' status filter with their id order and keyset cursors (migration perf_0001)
        sa.Index("ix_invoices_buyer_status_id", "buyer_company_id", "status", "id"),
        sa.Index("ix_invoices_supplier_status_id", "supplier_company_id", "status", "id"),
        # the dashboards' bounded look-ups (migration perfpages_0001): the buyer's overdue invoices, and the invoices
        # waiting for the buyer's approval in due-date order
        sa.Index("ix_invoices_buyer_status_due", "buyer_company_id", "status", "due_date"),
        sa.Index("ix_invoices_buyer_to_approve", "buyer_company_id", "due_date", "id",
                 postgresql_where=sa.text(TO_APPROVE), sqlite_where=sa.text(TO_APPROVE)),
        # the trading partners of a company (filter lists), read by skip scan (portal.db.distinct_values;
        # migration pairs_0001)
        sa.Index("ix_invoices_supplier_buyer", "supplier_company_id", "buyer_company_id"),
        sa.Index("ix_invoices_buyer_supplier", "buyer_company_id", "supplier_company_id"),
        sa.CheckConstraint("total_net >= 0 AND total_tax >= 0 AND total_gross >= 0", name="totals_nonneg"),
        sa.CheckConstraint("paid_amount >= 0 AND credited_amount >= 0", name="paid_nonneg"),
        sa.CheckConstraint("paid_amount + credited_amount <= total_gross", name="not_overpaid"),
        sa.CheckConstraint("(number IS NULL) = (status = 'draft')", name="number_iff_issued"),
        sa.CheckConstraint("series IN ('INV', 'CRN', 'EXT')", name="series_known"),
        sa.CheckConstraint(CREDIT_REASON_CHECK, name="credit_reason_kind"),
    )

    @classmethod
    def visible_to(cls, company_id):
        """The supplier always; the buyer once issued (drafts are the supplier's business)."""
        return sa.or_(cls.supplier_company_id == company_id,
                      sa.and_(cls.buyer_company_id == company_id, cls.status != InvoiceStatus.draft))

    @property
    def open_amount(self) -> Decimal:
        return self.total_gross - self.paid_amount - self.credited_amount

    @property
    def is_disputed(self) -> bool:
        return self.disputed_at is not None

    @property
    def overdue(self) -> bool:
        return (self.kind == DocumentKind.invoice and self.status in (InvoiceStatus.issued,
                                                                      InvoiceStatus.partially_paid)
                and self.due_date is not None and self.due_date < utcnow().date() and self.open_amount > 0)


class InvoiceLine(db.Model):
    __tablename__ = "invoice_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(sa.ForeignKey("invoices.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column()
    order_line_id: Mapped[int | None] = mapped_column(sa.ForeignKey("order_lines.id"), index=True)
    shipment_line_id: Mapped[int | None] = mapped_column(sa.ForeignKey("shipment_lines.id"))
    # A charge that is not goods: "shipping" is the order's freight (see PurchaseOrder.shipping_amount).
    charge: Mapped[str | None] = mapped_column(sa.String(16))
    sku: Mapped[str | None] = mapped_column(sa.String(64))
    description: Mapped[str] = mapped_column(sa.String(500))
    quantity: Mapped[Decimal] = mapped_column(QUANTITY)
    unit: Mapped[str] = mapped_column(sa.String(16), default="pcs")
    unit_price: Mapped[Decimal] = mapped_column(MONEY)
    discount_percent: Mapped[Decimal] = mapped_column(sa.Numeric(5, 2), default=Decimal("0"))
    tax_rate: Mapped[Decimal] = mapped_column(sa.Numeric(5, 2))
    net_amount: Mapped[Decimal] = mapped_column(MONEY)  # quantity × unit price × (1 − discount), rounded
    # Cost centre and GL account (portal.budgets): copied from the order line when the line is made.
    cost_centre_id: Mapped[int | None] = mapped_column(sa.ForeignKey("cost_centres.id"), index=True)
    gl_account_id: Mapped[int | None] = mapped_column(sa.ForeignKey("gl_accounts.id"))

    invoice: Mapped[Invoice] = relationship(back_populates="lines")

    __table_args__ = (
        sa.UniqueConstraint("invoice_id", "position", name="uq_invoice_lines_position"),
        sa.CheckConstraint("quantity > 0", name="quantity_positive"),
        sa.CheckConstraint("unit_price >= 0", name="unit_price_nonneg"),
        sa.CheckConstraint("discount_percent >= 0 AND discount_percent <= 100", name="discount_range"),
        sa.CheckConstraint("tax_rate >= 0 AND tax_rate <= 100", name="tax_range"),
        sa.CheckConstraint("charge IS NULL OR charge = 'shipping'", name="charge_kind"),
    )


class Payment(db.Model):
    __tablename__ = "payments"

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(sa.ForeignKey("invoices.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(MONEY)
    currency: Mapped[str] = mapped_column(CURRENCY)
    paid_on: Mapped[date] = mapped_column(sa.Date)
    reference: Mapped[str] = mapped_column(sa.String(100), default="")
    recorded_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    invoice: Mapped[Invoice] = relationship(back_populates="payments")
    recorded_by = relationship("User")

    __table_args__ = (sa.CheckConstraint("amount > 0", name="amount_positive"),)

