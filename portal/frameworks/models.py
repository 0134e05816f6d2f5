"""Framework agreements (agreed prices per item for a validity period, optional caps) and their call-offs.

Consumption is never stored as a running total: it is the sum of the call-off lines whose purchase order is
still alive (not cancelled nor rejected), computed under the agreement's row lock when a call-off is placed.
"""
from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db import CURRENCY, MONEY, QUANTITY, UTCDateTime, db, utcnow


class AgreementStatus(str, enum.Enum):
    active = "active"
    expired = "expired"

    @property
    def label(self) -> str:
        return self.value.capitalize()


class FrameworkAgreement(db.Model):
    __tablename__ = "framework_agreements"
    __label__ = "framework agreement"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(sa.String(32))
    buyer_company_id: Mapped[int] = mapped_column(sa.ForeignKey("companies.id"), index=True)
    supplier_company_id: Mapped[int] = mapped_column(sa.ForeignKey("companies.id"), index=True)
    award_id: Mapped[int | None] = mapped_column(sa.ForeignKey("awards.id"))
    rfq_id: Mapped[int | None] = mapped_column(sa.ForeignKey("rfqs.id"))
    title: Mapped[str] = mapped_column(sa.String(200))
    currency: Mapped[str] = mapped_column(CURRENCY)
    valid_from: Mapped[date] = mapped_column(sa.Date)
    valid_until: Mapped[date] = mapped_column(sa.Date)
    max_value: Mapped[Decimal | None] = mapped_column(MONEY)  # optional cap on the total value called off
    allow_exceed: Mapped[bool] = mapped_column(default=False)  # call-offs beyond 100 % are allowed (warned)
    status: Mapped[AgreementStatus] = mapped_column(
        sa.Enum(AgreementStatus, native_enum=False, length=16, validate_strings=True), default=AgreementStatus.active)
    expiry_notice_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Touched by every change and call-off (the API's updated_since).
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    lock_version: Mapped[int] = mapped_column(default=1)

    buyer = relationship("Company", foreign_keys=[buyer_company_id], lazy="joined")
    supplier = relationship("Company", foreign_keys=[supplier_company_id], lazy="joined")
    lines: Mapped[list["FrameworkLine"]] = relationship(back_populates="agreement", order_by="FrameworkLine.position",
                                                        cascade="all, delete-orphan")
    call_offs: Mapped[list["CallOff"]] = relationship(back_populates="agreement", order_by="CallOff.id",
                                                      cascade="all, delete-orphan")

    __mapper_args__ = {"version_id_col": lock_version}
    __table_args__ = (
        sa.CheckConstraint("valid_until >= valid_from", name="validity_order"),
        sa.CheckConstraint("max_value IS NULL OR max_value > 0", name="max_value_positive"),
        sa.UniqueConstraint("buyer_company_id", "reference", name="uq_framework_agreements_reference"),
    )

    @classmethod
    def visible_to(cls, company_id):
        return sa.or_(cls.buyer_company_id == company_id, cls.supplier_company_id == company_id)


class FrameworkLine(db.Model):
    __tablename__ = "framework_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_id: Mapped[int] = mapped_column(sa.ForeignKey("framework_agreements.id", ondelete="CASCADE"),
                                              index=True)
    award_line_id: Mapped[int | None] = mapped_column(sa.ForeignKey("award_lines.id"))
    position: Mapped[int] = mapped_column()
    part_number: Mapped[str | None] = mapped_column(sa.String(64))
    description: Mapped[str] = mapped_column(sa.String(500))
    unit: Mapped[str] = mapped_column(sa.String(16), default="pcs")
    unit_price: Mapped[Decimal] = mapped_column(MONEY)
    max_quantity: Mapped[Decimal | None] = mapped_column(QUANTITY)  # optional agreed total quantity

    agreement: Mapped[FrameworkAgreement] = relationship(back_populates="lines")

    __table_args__ = (
        sa.CheckConstraint("unit_price >= 0", name="unit_price_nonneg"),
        sa.CheckConstraint("max_quantity IS NULL OR max_quantity > 0", name="max_quantity_positive"),
    )


class CallOff(db.Model):
    __tablename__ = "framework_call_offs"

    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_id: Mapped[int] = mapped_column(sa.ForeignKey("framework_agreements.id", ondelete="CASCADE"),
                                              index=True)
    order_id: Mapped[int] = mapped_column(sa.ForeignKey("purchase_orders.id", ondelete="CASCADE"), unique=True)
    value: Mapped[Decimal] = mapped_column(MONEY)
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    agreement: Mapped[FrameworkAgreement] = relationship(back_populates="call_offs")
    order = relationship("PurchaseOrder", lazy="joined")
    lines: Mapped[list["CallOffLine"]] = relationship(back_populates="call_off", cascade="all, delete-orphan")


class CallOffLine(db.Model):
    """A purchase-order line called off against an agreement line (the PO line's link to the agreement)."""

    __tablename__ = "framework_call_off_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_off_id: Mapped[int] = mapped_column(sa.ForeignKey("framework_call_offs.id", ondelete="CASCADE"), index=True)
    framework_line_id: Mapped[int] = mapped_column(sa.ForeignKey("framework_lines.id", ondelete="CASCADE"),
                                                   index=True)
    order_line_id: Mapped[int | None] = mapped_column(sa.ForeignKey("order_lines.id", ondelete="SET NULL"),
                                                      unique=True)
    quantity: Mapped[Decimal] = mapped_column(QUANTITY)
    value: Mapped[Decimal] = mapped_column(MONEY)

    call_off: Mapped[CallOff] = relationship(back_populates="lines")
    framework_line: Mapped[FrameworkLine] = relationship()

    __table_args__ = (sa.CheckConstraint("quantity > 0", name="quantity_positive"),)
