"""Purchase requisitions: what an employee asks procurement to buy, on which cost centre, and why."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db import CURRENCY, MONEY, QUANTITY, TimestampMixin, UTCDateTime, db, utcnow
from portal.requisitions.states import RequisitionStatus


class Requisition(TimestampMixin, db.Model):
    __tablename__ = "requisitions"
    __label__ = "requisition"

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(sa.ForeignKey("companies.id"))
    number: Mapped[str] = mapped_column(sa.String(32))  # REQ-2026-0001, per company and year
    requester_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    title: Mapped[str] = mapped_column(sa.String(200))
    justification: Mapped[str] = mapped_column(sa.Text, default="")
    suggested_supplier_id: Mapped[int | None] = mapped_column(sa.ForeignKey("companies.id"))
    suggested_supplier_text: Mapped[str] = mapped_column(sa.String(200), default="")
    currency: Mapped[str] = mapped_column(CURRENCY)
    status: Mapped[RequisitionStatus] = mapped_column(
        sa.Enum(RequisitionStatus, native_enum=False, length=16, validate_strings=True),
        default=RequisitionStatus.draft)
    total_estimated: Mapped[Decimal] = mapped_column(MONEY, default=Decimal(0))
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The day the approval committed the amount (the budget period it counts in).
    approved_on: Mapped[date | None] = mapped_column(sa.Date)
    decision_note: Mapped[str | None] = mapped_column(sa.Text)  # why rejected or cancelled
    lock_version: Mapped[int] = mapped_column(default=1)

    requester = relationship("User", foreign_keys=[requester_id], lazy="joined")
    suggested_supplier = relationship("Company", foreign_keys=[suggested_supplier_id])
    lines: Mapped[list[RequisitionLine]] = relationship(
        back_populates="requisition", order_by="RequisitionLine.position", cascade="all, delete-orphan")
    approvals: Mapped[list[RequisitionApproval]] = relationship(
        back_populates="requisition", order_by="RequisitionApproval.step", cascade="all, delete-orphan")
    attachments: Mapped[list[RequisitionAttachment]] = relationship(
        back_populates="requisition", order_by="RequisitionAttachment.id", cascade="all, delete-orphan")

    __mapper_args__ = {"version_id_col": lock_version}
    __table_args__ = (
        sa.UniqueConstraint("company_id", "number", name="uq_requisitions_number"),
        sa.Index("ix_requisitions_company_status_id", "company_id", "status", "id"),
        sa.CheckConstraint("total_estimated >= 0", name="total_nonneg"),
    )

    @classmethod
    def visible_to(cls, company_id):
        return cls.company_id == company_id


class RequisitionLine(db.Model):
    __tablename__ = "requisition_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    requisition_id: Mapped[int] = mapped_column(sa.ForeignKey("requisitions.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column()
    catalog_item_id: Mapped[int | None] = mapped_column(sa.ForeignKey("catalog_items.id"))
    description: Mapped[str] = mapped_column(sa.String(500))
    quantity: Mapped[Decimal] = mapped_column(QUANTITY)
    unit: Mapped[str] = mapped_column(sa.String(16), default="pcs")
    estimated_price: Mapped[Decimal] = mapped_column(MONEY)  # per unit, in the requisition's currency
    line_total: Mapped[Decimal] = mapped_column(MONEY)
    needed_by: Mapped[date | None] = mapped_column(sa.Date)
    cost_centre_id: Mapped[int | None] = mapped_column(sa.ForeignKey("cost_centres.id"), index=True)
    gl_account_id: Mapped[int | None] = mapped_column(sa.ForeignKey("gl_accounts.id"))
    # Where procurement took the line: the RFQ line it became, the purchase-order line it is ordered on.
    rfq_line_id: Mapped[int | None] = mapped_column(sa.ForeignKey("rfq_lines.id"), index=True)
    order_line_id: Mapped[int | None] = mapped_column(sa.ForeignKey("order_lines.id"), index=True)

    requisition: Mapped[Requisition] = relationship(back_populates="lines")
    cost_centre = relationship("CostCentre", lazy="joined")
    gl_account = relationship("GlAccount", lazy="joined")
    catalog_item = relationship("CatalogItem")
    order_line = relationship("OrderLine")

    __table_args__ = (
        sa.UniqueConstraint("requisition_id", "position", name="uq_requisition_lines_position"),
        sa.CheckConstraint("quantity > 0", name="quantity_positive"),
        sa.CheckConstraint("estimated_price >= 0", name="price_nonneg"),
    )


class RequisitionApproval(db.Model):
    """One decision: ``kind`` owner (a cost-centre owner's) or amount (an approver's, by the amount rules)."""

    __tablename__ = "requisition_approvals"

    id: Mapped[int] = mapped_column(primary_key=True)
    requisition_id: Mapped[int] = mapped_column(sa.ForeignKey("requisitions.id", ondelete="CASCADE"))
    step: Mapped[int] = mapped_column()
    kind: Mapped[str] = mapped_column(sa.String(8))
    approver_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    decision: Mapped[str] = mapped_column(sa.String(10))
    over_budget: Mapped[bool] = mapped_column(default=False)  # the owner approved beyond the budget
    comment: Mapped[str] = mapped_column(sa.Text, default="")
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    requisition: Mapped[Requisition] = relationship(back_populates="approvals")
    approver = relationship("User", lazy="joined")

    __table_args__ = (
        sa.UniqueConstraint("requisition_id", "step", name="uq_requisition_approvals_step"),
        sa.CheckConstraint("decision IN ('approved', 'rejected')", name="decision_known"),
        sa.CheckConstraint("kind IN ('owner', 'amount')", name="kind_known"),
    )


class RequisitionAttachment(db.Model):
    __tablename__ = "requisition_attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    requisition_id: Mapped[int] = mapped_column(sa.ForeignKey("requisitions.id", ondelete="CASCADE"), index=True)
    file_id: Mapped[int] = mapped_column(sa.ForeignKey("stored_files.id"))
    filename: Mapped[str] = mapped_column(sa.String(200))
    uploaded_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    requisition: Mapped[Requisition] = relationship(back_populates="attachments")
    file = relationship("StoredFile")


from portal.budgets import hooks as _hooks  # noqa: F401 - registers the flush hook with the models
