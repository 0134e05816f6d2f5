"""Order documents (queue "documents"): the purchase order PDF and the delivery note PDF.

Both render from a snapshot dict frozen from the order at job time and store the bytes once
(portal.documents.store); a second run finds the file and does nothing.
"""
from __future__ import annotations

import sqlalchemy as sa

from portal.db import db, utcnow
from portal.documents.store import save_bytes
from portal.jobs.models import JobRecord
from portal.jobs.queue import PermanentJobError, set_progress, task
from portal.orders.models import PurchaseOrder, Shipment


def _str(v):
    return None if v is None else str(v)


def _party(company) -> dict:
    return {"name": company.legal_name, "display_name": company.display_name, "address": company.address_lines,
            "vat_number": company.vat_number or ""}


def po_snapshot(order: PurchaseOrder) -> dict:
    return {
        "document": "purchase_order",
        "po_number": order.po_number,
        "supplier_order_number": order.supplier_order_number or "",
        "currency": order.currency,
        "locale": "en_GB",
        "timezone": "Europe/Berlin",
        "issued_at": (order.placed_at or utcnow()).isoformat(),
        "delivery_date": _str(order.delivery_date),
        "delivery_address": (order.delivery_address or "").splitlines(),
        "payment_terms_days": order.payment_terms_days,
        "notes": order.notes or "",
        "buyer": _party(order.buyer),
        "supplier": _party(order.supplier),
        "created_by": order.created_by.name if order.created_by else "",
        "total_net": _str(order.total_net),
        "shipping_amount": _str(order.shipping_amount) if order.shipping_amount else None,
        "goods_net": _str(order.total_net - (order.shipping_amount or 0)),
        "lines": [{"position": ln.position, "sku": ln.sku or "", "part_number": ln.part_number or "",
                   "description": ln.description, "unit": ln.unit, "quantity": _str(ln.quantity),
                   "unit_price": _str(ln.unit_price), "line_total": _str(ln.line_total),
                   "delivery_date": _str(ln.delivery_date)} for ln in order.lines],
    }


def delivery_note_snapshot(shipment: Shipment) -> dict:
    order = shipment.order
    return {
        "document": "delivery_note",
        "number": shipment.number,
        "po_number": order.po_number,
        "supplier_order_number": order.supplier_order_number or "",
        "locale": "en_GB",
        "timezone": "Europe/Berlin",
        "currency": order.currency,
        "shipped_at": shipment.shipped_at.isoformat(),
        "carrier": shipment.carrier or "",
        "tracking": shipment.tracking or "",
        "delivery_address": (order.delivery_address or "").splitlines(),
        "buyer": _party(order.buyer),
        "supplier": _party(order.supplier),
        "lines": [{"position": sl.order_line.position, "sku": sl.order_line.sku or "",
                   "part_number": sl.order_line.part_number or "", "description": sl.order_line.description,
                   "unit": sl.order_line.unit, "ordered": _str(sl.order_line.quantity),
                   "quantity": _str(sl.quantity)} for sl in shipment.lines],
    }


def render(template_name: str, snapshot: dict) -> bytes:
    from portal.documents.render import render_pdf

    return render_pdf(template_name, snapshot)


@task()
def po_pdf_job(order_id: int) -> int | None:
    """Render and store the purchase order PDF once the order is placed. Idempotent."""
    order = db.session.get(PurchaseOrder, order_id)
    if order is None:
        raise PermanentJobError(f"Order {order_id} is gone.")
    if order.po_pdf_file_id:
        return order.po_pdf_file_id
    if not order.supplier_order_number:
        return None  # not placed (yet): nothing to send
    data = render("purchase_order.html", po_snapshot(order))
    f = save_bytes(data, filename=f"{order.po_number}.pdf", content_type="application/pdf",
                   owner_company_id=order.buyer_company_id, party_company_id=order.supplier_company_id)
    # A plain UPDATE: the PDF is not a business change, so open forms on the order stay valid (no version bump).
    db.session.execute(sa.update(PurchaseOrder).where(PurchaseOrder.id == order.id,
                                                      PurchaseOrder.po_pdf_file_id.is_(None))
                       .values(po_pdf_file_id=f.id).execution_options(synchronize_session=False))
    db.session.commit()
    return f.id


@task(tracked=True)
def delivery_note_job(shipment_id: int, record_id: int) -> int:
    shipment = db.session.get(Shipment, shipment_id)
    if shipment is None:
        raise PermanentJobError(f"Shipment {shipment_id} is gone.")
    rec = db.session.get(JobRecord, record_id)
    if shipment.delivery_note_file_id:
        if rec is not None and not rec.result_file_id:
            rec.result_file_id = shipment.delivery_note_file_id
            db.session.commit()
        return shipment.delivery_note_file_id
    set_progress(record_id, 10)
    snapshot = delivery_note_snapshot(shipment)
    set_progress(record_id, 30)
    data = render("delivery_note.html", snapshot)
    set_progress(record_id, 80)
    f = save_bytes(data, filename=f"{shipment.number}.pdf", content_type="application/pdf",
                   owner_company_id=shipment.supplier_company_id, party_company_id=shipment.buyer_company_id)
    shipment.delivery_note_file_id = f.id
    if rec is not None:
        rec.result_file_id = f.id
    db.session.commit()
    return f.id
