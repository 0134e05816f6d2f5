"""Each side's own number on an order: the buyer's PO number and the supplier's order / delivery note numbers."""
from __future__ import annotations

from portal.db import utcnow
from portal.numbering import format_reference, next_number


def new_po_number(buyer_company_id: int) -> str:
    year = utcnow().year
    return format_reference("PO", year, next_number(buyer_company_id, "PO", year), 5)


def new_supplier_order_number(supplier_company_id: int) -> str:
    year = utcnow().year
    return format_reference("SO", year, next_number(supplier_company_id, "SO", year), 5)


def new_delivery_note_number(supplier_company_id: int) -> str:
    year = utcnow().year
    return format_reference("DN", year, next_number(supplier_company_id, "DN", year), 5)
