"""Supplier catalogs: items buyers can order in bulk without an RFQ, with tier prices and buyer-specific prices."""
from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db import CURRENCY, MONEY, QUANTITY, TimestampMixin, db


class CatalogItem(TimestampMixin, db.Model):
    __tablename__ = "catalog_items"
    __label__ = "catalog item"

    id: Mapped[int] = mapped_column(primary_key=True)
    supplier_company_id: Mapped[int] = mapped_column(sa.ForeignKey("companies.id"))
    sku: Mapped[str] = mapped_column(sa.String(64))
    name: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    category: Mapped[str] = mapped_column(sa.String(100), default="")
    unit: Mapped[str] = mapped_column(sa.String(16), default="pcs")
    pack_size: Mapped[Decimal | None] = mapped_column(QUANTITY)
    moq: Mapped[Decimal | None] = mapped_column(QUANTITY)
    unit_price: Mapped[Decimal] = mapped_column(MONEY)
    # [{"min_quantity": "500", "unit_price": "0.95"}, ...] decimal strings, ascending (same shape as quotes).
    price_breaks: Mapped[list] = mapped_column(sa.JSON, default=list)
    currency: Mapped[str] = mapped_column(CURRENCY)
    active: Mapped[bool] = mapped_column(default=True)

    supplier = relationship("Company", lazy="joined")
    buyer_prices: Mapped[list["CatalogBuyerPrice"]] = relationship(back_populates="item",
                                                                   cascade="all, delete-orphan")

    __table_args__ = (
        sa.UniqueConstraint("supplier_company_id", "sku", name="uq_catalog_items_supplier_sku"),
        sa.Index("ix_catalog_items_supplier_active", "supplier_company_id", "active", "sku"),
        sa.CheckConstraint("unit_price >= 0", name="unit_price_nonneg"),
        sa.CheckConstraint("moq IS NULL OR moq > 0", name="moq_positive"),
        sa.CheckConstraint("pack_size IS NULL OR pack_size > 0", name="pack_size_positive"),
    )

    @classmethod
    def visible_to(cls, company_id):
        """The supplier sees all its items; every other company sees active items (the public catalog)."""
        return sa.or_(cls.supplier_company_id == company_id, cls.active.is_(True))


class CatalogBuyerPrice(db.Model):
    """A price agreed with one buyer, replacing the list price (and its breaks) for that buyer."""

    __tablename__ = "catalog_buyer_prices"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(sa.ForeignKey("catalog_items.id", ondelete="CASCADE"))
    buyer_company_id: Mapped[int] = mapped_column(sa.ForeignKey("companies.id"), index=True)
    unit_price: Mapped[Decimal] = mapped_column(MONEY)
    price_breaks: Mapped[list] = mapped_column(sa.JSON, default=list)

    item: Mapped[CatalogItem] = relationship(back_populates="buyer_prices")
    buyer = relationship("Company")

    __table_args__ = (
        sa.UniqueConstraint("item_id", "buyer_company_id", name="uq_catalog_buyer_prices_pair"),
        sa.CheckConstraint("unit_price >= 0", name="unit_price_nonneg"),
    )
