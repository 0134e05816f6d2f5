"""E-invoicing settings per company: the default format of the invoices it receives or sends, and the routing id
(BT-10 buyer reference, e.g. a German Leitweg-ID) that its suppliers must quote."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import db

FORMATS = ("facturx", "cii", "ubl")
FORMAT_LABELS = {"facturx": "Factur-X / ZUGFeRD PDF (EN 16931)", "cii": "CII XML (UN/CEFACT, XRechnung syntax)",
                 "ubl": "UBL XML (Peppol BIS Billing 3.0)"}
MEDIA_TYPES = {"facturx": "application/pdf", "cii": "application/xml", "ubl": "application/xml"}


class EInvoiceSettings(db.Model):
    __tablename__ = "einvoice_settings"

    company_id: Mapped[int] = mapped_column(sa.ForeignKey("companies.id"), primary_key=True)
    default_format: Mapped[str] = mapped_column(sa.String(8), default="facturx")
    routing_id: Mapped[str] = mapped_column(sa.String(64), default="")

    __table_args__ = (sa.CheckConstraint("default_format IN ('facturx', 'cii', 'ubl')", name="format_known"),)


def settings_of(company_id: int) -> EInvoiceSettings | None:
    return db.session.get(EInvoiceSettings, company_id)


def routing_id(company_id: int) -> str:
    s = settings_of(company_id)
    return (s.routing_id or "") if s else ""


def preferred_format(buyer_id: int, supplier_id: int) -> str:
    """The buyer's preference wins when it has one; else the supplier's; else Factur-X."""
    for cid in (buyer_id, supplier_id):
        s = settings_of(cid)
        if s is not None and s.default_format in FORMATS:
            return s.default_format
    return "facturx"
