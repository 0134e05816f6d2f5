"""Purchase orders (from awards, catalogs and reorders), their lines, approvals, shipments and receipts."""
from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db import CURRENCY, MONEY, QUANTITY, TimestampMixin, UTCDateTime, db, utcnow
from portal.orders.states import SENT_STATES, OrderStatus


class OrderSource(str, enum.Enum):
    award = "award"
    catalog = "catalog"
    reorder = "reorder"
    api = "api"
    framework = "framework"  # a call-off against a framework agreement (portal.frameworks)


class LineAck(str, enum.Enum):
    pending = "pending"
    accepted = "accepted"
    changed = "changed"  # supplier proposed another quantity and/or date
    rejected = "rejected"


class PurchaseOrder(TimestampMixin, db.Model):
    __tablename__ = "purchase_orders"
    __label__ = "order"

    id: Mapped[int] = mapped_column(primary_key=True)
    buyer_company_id: Mapped[int] = mapped_column(sa.ForeignKey("companies.id"))
    supplier_company_id: Mapped[int] = mapped_column(sa.ForeignKey("companies.id"))
    po_number: Mapped[str] = mapped_column(sa.String(32))  # the buyer's number, PO-2026-00001
    supplier_order_number: Mapped[str | None] = mapped_column(sa.String(32))  # SO-2026-00001, when placed
    source: Mapped[OrderSource] = mapped_column(
        sa.Enum(OrderSource, native_enum=False, length=16, validate_strings=True))
    award_id: Mapped[int | None] = mapped_column(sa.ForeignKey("awards.id"), index=True)
    rfq_id: Mapped[int | None] = mapped_column(sa.ForeignKey("rfqs.id"))
    reorder_of_id: Mapped[int | None] = mapped_column(sa.ForeignKey("purchase_orders.id"))
    currency: Mapped[str] = mapped_column(CURRENCY)
    delivery_address: Mapped[str] = mapped_column(sa.Text, default="")
    delivery_date: Mapped[date | None] = mapped_column(sa.Date)
    payment_terms_days: Mapped[int] = mapped_column(default=30)
    notes: Mapped[str] = mapped_column(sa.Text, default="")
    status: Mapped[OrderStatus] = mapped_column(
        sa.Enum(OrderStatus, native_enum=False, length=24, validate_strings=True), default=OrderStatus.draft)
    # Freight as quoted (orders from awards); part of total_net, billed once on the order's first invoice.
    shipping_amount: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0"), server_default="0")
    total_net: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0"))
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    submitted_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # When the buyer sent the order to the supplier (it entered the credit check). None: the order is the buyer's
    # alone (a draft, awaiting approval, sent back by an approver, or cancelled before it was ever sent).
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    placed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancel_reason: Mapped[str | None] = mapped_column(sa.Text)
    reject_reason: Mapped[str | None] = mapped_column(sa.Text)
    po_pdf_file_id: Mapped[int | None] = mapped_column(sa.ForeignKey("stored_files.id"))
    # The buyer's own notes (never shown to the supplier nor printed); ``notes`` are the notes to the supplier.
    internal_notes: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    # The current revision of the order as sent (1 when placed; each change that takes effect adds one).
    revision: Mapped[int] = mapped_column(default=1, server_default="1")
    lock_version: Mapped[int] = mapped_column(default=1)

    buyer = relationship("Company", foreign_keys=[buyer_company_id], lazy="joined")
    supplier = relationship("Company", foreign_keys=[supplier_company_id], lazy="joined")
    created_by = relationship("User", foreign_keys=[created_by_id])
    lines: Mapped[list["OrderLine"]] = relationship(back_populates="order", order_by="OrderLine.position",
                                                    cascade="all, delete-orphan")
    approvals: Mapped[list["OrderApproval"]] = relationship(back_populates="order", order_by="OrderApproval.step",
                                                            cascade="all, delete-orphan")
    shipments: Mapped[list["Shipment"]] = relationship(back_populates="order", order_by="Shipment.id")

    __mapper_args__ = {"version_id_col": lock_version}
    __table_args__ = (
        sa.UniqueConstraint("buyer_company_id", "po_number", name="uq_purchase_orders_po_number"),
        sa.UniqueConstraint("supplier_company_id", "supplier_order_number", name="uq_purchase_orders_so_number"),
        sa.Index("ix_purchase_orders_buyer_id", "buyer_company_id", "id"),
        sa.Index("ix_purchase_orders_supplier_id", "supplier_company_id", "id"),
        sa.Index("ix_purchase_orders_buyer_status", "buyer_company_id", "status"),
        sa.Index("ix_purchase_orders_supplier_status_id", "supplier_company_id", "status", "id"),  # perf_0001
        # a company's trading partners by skip scan (portal.db.distinct_values; migration pairs_0001): the supplier
        # sees only sent orders
        sa.Index("ix_purchase_orders_supplier_buyer_sent", "supplier_company_id", "buyer_company_id",
                 postgresql_where=sa.text("sent_at IS NOT NULL"), sqlite_where=sa.text("sent_at IS NOT NULL")),
        sa.Index("ix_purchase_orders_buyer_supplier", "buyer_company_id", "supplier_company_id"),
        sa.CheckConstraint("total_net >= 0", name="total_nonneg"),
        sa.CheckConstraint("shipping_amount >= 0", name="shipping_nonneg"),
        sa.CheckConstraint("payment_terms_days >= 0", name="terms_nonneg"),
    )

    # What a supplier may see of a buyer's orders: the one rule, used by every supplier-side path (tenancy loaders,
    # lists, counts, tiles, analytics, credit, invoicing, notifications, API). A supplier sees an order once the
    # buyer has sent it, and from then on whatever becomes of it (cancelled or rejected included).
    @property
    def sent_to_supplier(self) -> bool:
        return self.sent_at is not None

    def visible_to_supplier(self, company_id) -> bool:
        return self.supplier_company_id == company_id and self.sent_to_supplier

    @classmethod
    def supplier_scope(cls, company_id):
        """SQL: the orders ``company_id`` may see as their supplier."""
        return sa.and_(cls.supplier_company_id == company_id, cls.sent_at.is_not(None))

    @classmethod
    def visible_to(cls, company_id):
        return sa.or_(cls.buyer_company_id == company_id, cls.supplier_scope(company_id))


@sa.event.listens_for(PurchaseOrder.status, "set")
def _stamp_sent(order, value, oldvalue, initiator):
    """Entering a state that only a sent order reaches (submitted: the credit check, and every state after it)
    records when the order was sent, once; wherever the status is set (services, credit check, demo, tests)."""
    try:
        status = OrderStatus(value)
    except ValueError:
        return
    if status in SENT_STATES and order.sent_at is None:
        order.sent_at = utcnow()


class OrderLine(db.Model):
    __tablename__ = "order_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(sa.ForeignKey("purchase_orders.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column()
    catalog_item_id: Mapped[int | None] = mapped_column(sa.ForeignKey("catalog_items.id"))
    award_line_id: Mapped[int | None] = mapped_column(sa.ForeignKey("award_lines.id"))
    sku: Mapped[str | None] = mapped_column(sa.String(64))
    part_number: Mapped[str | None] = mapped_column(sa.String(64))  # the buyer's part number
    description: Mapped[str] = mapped_column(sa.String(500))
    unit: Mapped[str] = mapped_column(sa.String(16), default="pcs")
    quantity: Mapped[Decimal] = mapped_column(QUANTITY)
    unit_price: Mapped[Decimal] = mapped_column(MONEY)
    line_total: Mapped[Decimal] = mapped_column(MONEY)
    moq: Mapped[Decimal | None] = mapped_column(QUANTITY)
    pack_size: Mapped[Decimal | None] = mapped_column(QUANTITY)
    delivery_date: Mapped[date | None] = mapped_column(sa.Date)
    # Supplier acknowledgement per line.
    ack: Mapped[LineAck] = mapped_column(sa.Enum(LineAck, native_enum=False, length=16, validate_strings=True),
                                         default=LineAck.pending)
    proposed_quantity: Mapped[Decimal | None] = mapped_column(QUANTITY)
    proposed_date: Mapped[date | None] = mapped_column(sa.Date)
    proposed_unit_price: Mapped[Decimal | None] = mapped_column(MONEY)
    ack_note: Mapped[str | None] = mapped_column(sa.String(500))
    # The buyer's cost reference (free text until cost centres exist); never shown to the supplier.
    cost_reference: Mapped[str] = mapped_column(sa.String(100), default="", server_default="")
    # Cost centre and GL account (portal.budgets): from the requisition line, else the defaults; editable on drafts.
    cost_centre_id: Mapped[int | None] = mapped_column(sa.ForeignKey("cost_centres.id"), index=True)
    gl_account_id: Mapped[int | None] = mapped_column(sa.ForeignKey("gl_accounts.id"))
    # Open quantity the buyer closed (short-close or a cancelled line): no longer owed, never shipped.
    short_closed_quantity: Mapped[Decimal] = mapped_column(QUANTITY, default=Decimal("0"), server_default="0")
    short_close_reason: Mapped[str | None] = mapped_column(sa.String(500))
    # Running totals kept by the shipment and receipt services (checked by constraints).
    shipped_quantity: Mapped[Decimal] = mapped_column(QUANTITY, default=Decimal("0"))
    accepted_quantity: Mapped[Decimal] = mapped_column(QUANTITY, default=Decimal("0"))
    rejected_quantity: Mapped[Decimal] = mapped_column(QUANTITY, default=Decimal("0"))

    order: Mapped[PurchaseOrder] = relationship(back_populates="lines")

    __table_args__ = (
        sa.UniqueConstraint("order_id", "position", name="uq_order_lines_position"),
        sa.CheckConstraint("quantity > 0", name="quantity_positive"),
        sa.CheckConstraint("unit_price >= 0", name="unit_price_nonneg"),
        sa.CheckConstraint("shipped_quantity >= 0 AND shipped_quantity <= quantity", name="shipped_within"),
        sa.CheckConstraint("short_closed_quantity >= 0 AND shipped_quantity + short_closed_quantity <= quantity",
                           name="short_closed_within"),
        sa.CheckConstraint("proposed_unit_price IS NULL OR proposed_unit_price >= 0", name="proposed_price_nonneg"),
        sa.CheckConstraint("accepted_quantity >= 0 AND rejected_quantity >= 0 AND "
                           "accepted_quantity + rejected_quantity <= shipped_quantity", name="received_within"),
    )


class ApprovalRule(db.Model):
    """Orders whose total (in the rule's currency, the company currency) exceeds ``threshold`` need
    ``approvals_required`` approvals, in sequence. The rule with the highest threshold below the total applies."""

    __tablename__ = "approval_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    buyer_company_id: Mapped[int] = mapped_column(sa.ForeignKey("companies.id"), index=True)
    threshold: Mapped[Decimal] = mapped_column(MONEY)
    currency: Mapped[str] = mapped_column(CURRENCY)
    approvals_required: Mapped[int] = mapped_column(default=1)

    __table_args__ = (
        sa.UniqueConstraint("buyer_company_id", "threshold", name="uq_approval_rules_threshold"),
        sa.CheckConstraint("threshold >= 0", name="threshold_nonneg"),
        sa.CheckConstraint("approvals_required BETWEEN 1 AND 5", name="approvals_range"),
    )

    @classmethod
    def visible_to(cls, company_id):
        return cls.buyer_company_id == company_id


class OrderApproval(db.Model):
    __tablename__ = "order_approvals"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(sa.ForeignKey("purchase_orders.id", ondelete="CASCADE"))
    step: Mapped[int] = mapped_column()
    approver_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    decision: Mapped[str] = mapped_column(sa.String(10))  # approved | rejected
    comment: Mapped[str] = mapped_column(sa.Text, default="")
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    order: Mapped[PurchaseOrder] = relationship(back_populates="approvals")
    approver = relationship("User")

    __table_args__ = (
        sa.UniqueConstraint("order_id", "step", name="uq_order_approvals_step"),
        sa.CheckConstraint("decision IN ('approved', 'rejected')", name="decision_known"),
    )


class ApprovalEscalation(db.Model):
    """An order that waited too long for approval was escalated to the buyer's admins: once per wait.

    ``waiting_since`` is the order's ``submitted_at`` of that wait (a rejected and resubmitted order waits anew);
    the unique constraint makes a doubled or concurrent sweep harmless without touching the order row.
    """

    __tablename__ = "approval_escalations"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(sa.ForeignKey("purchase_orders.id", ondelete="CASCADE"))
    waiting_since: Mapped[datetime] = mapped_column(UTCDateTime())
    escalated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (sa.UniqueConstraint("order_id", "waiting_since", name="uq_approval_escalations_wait"),)


class Shipment(db.Model):
    __tablename__ = "shipments"
    __label__ = "shipment"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(sa.ForeignKey("purchase_orders.id"), index=True)
    supplier_company_id: Mapped[int] = mapped_column(sa.ForeignKey("companies.id"))
    buyer_company_id: Mapped[int] = mapped_column(sa.ForeignKey("companies.id"))
    number: Mapped[str] = mapped_column(sa.String(32))  # delivery note number DN-2026-00001 (supplier series)
    carrier: Mapped[str] = mapped_column(sa.String(100), default="")
    tracking: Mapped[str] = mapped_column(sa.String(100), default="")
    shipped_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    delivery_note_file_id: Mapped[int | None] = mapped_column(sa.ForeignKey("stored_files.id"))
    received_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    received_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    # Kept by portal.invoices.quantities.keep() in the transaction that changes it: some line still has a
    # quantity to invoice. The supplier's "shipments to invoice" read it through ix_shipments_to_invoice.
    to_invoice: Mapped[bool] = mapped_column(default=False, server_default=sa.false())

    order: Mapped[PurchaseOrder] = relationship(back_populates="shipments")
    lines: Mapped[list["ShipmentLine"]] = relationship(back_populates="shipment", cascade="all, delete-orphan",
                                                       order_by="ShipmentLine.id")

    __table_args__ = (sa.UniqueConstraint("supplier_company_id", "number", name="uq_shipments_number"),
                      sa.Index("ix_shipments_to_invoice", "supplier_company_id", "to_invoice", "id"))

    @classmethod
    def visible_to(cls, company_id):
        return sa.or_(cls.supplier_company_id == company_id, cls.buyer_company_id == company_id)


class ShipmentLine(db.Model):
    __tablename__ = "shipment_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    shipment_id: Mapped[int] = mapped_column(sa.ForeignKey("shipments.id", ondelete="CASCADE"), index=True)
    order_line_id: Mapped[int] = mapped_column(sa.ForeignKey("order_lines.id"), index=True)
    quantity: Mapped[Decimal] = mapped_column(QUANTITY)
    accepted_quantity: Mapped[Decimal | None] = mapped_column(QUANTITY)  # set at goods receipt
    rejected_quantity: Mapped[Decimal | None] = mapped_column(QUANTITY)
    rejection_reason: Mapped[str | None] = mapped_column(sa.String(500))
    # Net quantity invoiced against this line (portal.invoices.quantities: the rule's "invoiced", per-order
    # invoices' oldest-first share included), kept by quantities.keep() under the order's row lock.
    invoiced_quantity: Mapped[Decimal] = mapped_column(QUANTITY, default=Decimal(0), server_default="0")

    shipment: Mapped[Shipment] = relationship(back_populates="lines")
    order_line = relationship("OrderLine")

    __table_args__ = (
        sa.CheckConstraint("quantity > 0", name="quantity_positive"),
        sa.CheckConstraint("(accepted_quantity IS NULL AND rejected_quantity IS NULL) OR "
                           "(accepted_quantity >= 0 AND rejected_quantity >= 0 AND "
                           "accepted_quantity + rejected_quantity <= quantity)", name="receipt_within"),
    )


# ---------------------------------------------------------------------------------------------------
# Change orders and revisions (portal/orders/changes.py, revisions.py)
# ---------------------------------------------------------------------------------------------------

class ChangeOrigin(str, enum.Enum):
    buyer = "buyer"        # a change order: the supplier decides per line
    supplier = "supplier"  # the supplier's proposals at acknowledgement: the buyer decides per line


class ChangeStatus(str, enum.Enum):
    awaiting_approval = "awaiting_approval"  # the new total crosses an approval rule: the buyer's approvers first
    credit_hold = "credit_hold"              # the increase does not fit the credit limit: the supplier's accounts
    proposed = "proposed"                    # waiting for the other party's decision per line
    decided = "decided"                      # every line decided; accepted lines took effect
    withdrawn = "withdrawn"                  # withdrawn by the buyer, refused by an approver or on the hold
    superseded = "superseded"                # the order moved on (cancelled, closed) before a decision

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


OPEN_CHANGE_STATUSES = (ChangeStatus.awaiting_approval, ChangeStatus.credit_hold, ChangeStatus.proposed)


class ChangeKind(str, enum.Enum):
    update = "update"  # quantity, date and/or price of an existing line
    add = "add"        # a new line
    cancel = "cancel"  # cancel the open quantity of a line


class LineDecision(str, enum.Enum):
    pending = "pending"
    accepted = "accepted"
    rejected = "rejected"


class OrderChange(TimestampMixin, db.Model):
    """A change to a sent order, proposed by one party and decided per line by the other."""

    __tablename__ = "order_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(sa.ForeignKey("purchase_orders.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column()  # 1, 2, ... per order
    origin: Mapped[ChangeOrigin] = mapped_column(
        sa.Enum(ChangeOrigin, native_enum=False, length=16, validate_strings=True))
    status: Mapped[ChangeStatus] = mapped_column(
        sa.Enum(ChangeStatus, native_enum=False, length=24, validate_strings=True))
    base_revision: Mapped[int] = mapped_column()  # the order's revision the change was proposed against
    delivery_date_old: Mapped[date | None] = mapped_column(sa.Date)
    delivery_date_new: Mapped[date | None] = mapped_column(sa.Date)
    reason: Mapped[str] = mapped_column(sa.Text, default="")
    currency: Mapped[str] = mapped_column(CURRENCY)
    old_total: Mapped[Decimal] = mapped_column(MONEY)
    new_total: Mapped[Decimal] = mapped_column(MONEY)  # if every line is accepted
    approvals_required: Mapped[int] = mapped_column(default=0)
    proposed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    proposed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revision_number: Mapped[int | None] = mapped_column()  # the revision it made, if any line took effect
    lock_version: Mapped[int] = mapped_column(default=1)

    order = relationship("PurchaseOrder")
    proposed_by = relationship("User", foreign_keys=[proposed_by_id])
    decided_by = relationship("User", foreign_keys=[decided_by_id])
    lines: Mapped[list["OrderChangeLine"]] = relationship(back_populates="change", order_by="OrderChangeLine.id",
                                                          cascade="all, delete-orphan")
    approvals: Mapped[list["OrderChangeApproval"]] = relationship(
        back_populates="change", order_by="OrderChangeApproval.step", cascade="all, delete-orphan")

    __mapper_args__ = {"version_id_col": lock_version}
    __table_args__ = (
        sa.UniqueConstraint("order_id", "number", name="uq_order_changes_number"),
        sa.CheckConstraint("old_total >= 0 AND new_total >= 0", name="totals_nonneg"),
        sa.CheckConstraint("approvals_required BETWEEN 0 AND 5", name="approvals_range"),
    )

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_CHANGE_STATUSES


class OrderChangeLine(db.Model):
    """One line of a change: old -> new per field, and the other party's decision with its reason."""

    __tablename__ = "order_change_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    change_id: Mapped[int] = mapped_column(sa.ForeignKey("order_changes.id", ondelete="CASCADE"), index=True)
    # None: a new line (until it is accepted and made)
    order_line_id: Mapped[int | None] = mapped_column(sa.ForeignKey("order_lines.id"))
    kind: Mapped[ChangeKind] = mapped_column(sa.Enum(ChangeKind, native_enum=False, length=16, validate_strings=True))
    position: Mapped[int] = mapped_column()  # the order line's position (a new line: the position it will take)
    catalog_item_id: Mapped[int | None] = mapped_column(sa.ForeignKey("catalog_items.id"))
    sku: Mapped[str | None] = mapped_column(sa.String(64))
    description: Mapped[str] = mapped_column(sa.String(500), default="")
    unit: Mapped[str] = mapped_column(sa.String(16), default="pcs")
    old_quantity: Mapped[Decimal | None] = mapped_column(QUANTITY)
    new_quantity: Mapped[Decimal | None] = mapped_column(QUANTITY)
    old_date: Mapped[date | None] = mapped_column(sa.Date)
    new_date: Mapped[date | None] = mapped_column(sa.Date)
    old_unit_price: Mapped[Decimal | None] = mapped_column(MONEY)
    new_unit_price: Mapped[Decimal | None] = mapped_column(MONEY)
    reason: Mapped[str] = mapped_column(sa.String(500), default="")  # why the proposer asks
    decision: Mapped[LineDecision] = mapped_column(
        sa.Enum(LineDecision, native_enum=False, length=16, validate_strings=True), default=LineDecision.pending)
    decision_reason: Mapped[str | None] = mapped_column(sa.String(500))

    change: Mapped[OrderChange] = relationship(back_populates="lines")
    order_line = relationship("OrderLine")

    __table_args__ = (
        sa.CheckConstraint("new_quantity IS NULL OR new_quantity >= 0", name="new_quantity_nonneg"),
        sa.CheckConstraint("new_unit_price IS NULL OR new_unit_price >= 0", name="new_price_nonneg"),
    )


class OrderChangeApproval(db.Model):
    __tablename__ = "order_change_approvals"

    id: Mapped[int] = mapped_column(primary_key=True)
    change_id: Mapped[int] = mapped_column(sa.ForeignKey("order_changes.id", ondelete="CASCADE"))
    step: Mapped[int] = mapped_column()
    approver_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    decision: Mapped[str] = mapped_column(sa.String(10))
    comment: Mapped[str] = mapped_column(sa.Text, default="")
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    change: Mapped[OrderChange] = relationship(back_populates="approvals")
    approver = relationship("User")

    __table_args__ = (
        sa.UniqueConstraint("change_id", "step", name="uq_order_change_approvals_step"),
        sa.CheckConstraint("decision IN ('approved', 'rejected')", name="decision_known"),
    )


class OrderRevision(db.Model):
    """The order as it stood after each change that took effect: a frozen snapshot, its PDF (with the hash),
    what changed, who proposed and who accepted, when. Revision 1 is the order as placed."""

    __tablename__ = "order_revisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(sa.ForeignKey("purchase_orders.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column()
    snapshot: Mapped[dict] = mapped_column(sa.JSON)
    total_net: Mapped[Decimal] = mapped_column(MONEY)
    currency: Mapped[str] = mapped_column(CURRENCY)
    summary: Mapped[str] = mapped_column(sa.Text, default="")
    change_id: Mapped[int | None] = mapped_column(sa.ForeignKey("order_changes.id"))
    proposed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    accepted_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    pdf_file_id: Mapped[int | None] = mapped_column(sa.ForeignKey("stored_files.id"))
    pdf_sha256: Mapped[str | None] = mapped_column(sa.String(64))

    proposed_by = relationship("User", foreign_keys=[proposed_by_id])
    accepted_by = relationship("User", foreign_keys=[accepted_by_id])

    __table_args__ = (
        sa.UniqueConstraint("order_id", "number", name="uq_order_revisions_number"),
        sa.CheckConstraint("number >= 1", name="number_positive"),
    )
