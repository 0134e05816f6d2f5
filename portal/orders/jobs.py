"""Order documents (queue "documents"): the purchase order PDF and the delivery note PDF.

Both render from a snapshot dict frozen from the order at job time and store the bytes once
(portal.documents.store); a second run finds the file and does nothing.
"""
from __future__ import annotations

import sqlalchemy as sa

from portal.db import db
from portal.documents.store import save_bytes
from portal.jobs.models import JobRecord
from portal.jobs.queue import PermanentJobError, set_progress, task
from portal.orders.models import OrderRevision, PurchaseOrder, Shipment
from portal.documents.language import recipient_settings


def _str(v):
    return None if v is None else str(v)


def _party(company) -> dict:
    return {"name": company.legal_name, "display_name": company.display_name, "address": company.address_lines,
            "vat_number": company.vat_number or ""}


def po_snapshot(order: PurchaseOrder) -> dict:
    from portal.orders.revisions import po_snapshot as snapshot

    return snapshot(order)


def delivery_note_snapshot(shipment: Shipment) -> dict:
    order = shipment.order
    return {
        "document": "delivery_note",
        "number": shipment.number,
        "po_number": order.po_number,
        "supplier_order_number": order.supplier_order_number or "",
        "timezone": "Europe/Berlin",
        **recipient_settings(order.buyer),  # the delivery note goes to the buyer with the goods
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
    """Render and store the purchase order PDF once the order is placed. Idempotent. An order with revisions
    gets the PDF of every revision that has none yet (revision 1 on placing; any a lost job left behind); its
    current PDF is the current revision's."""
    order = db.session.get(PurchaseOrder, order_id)
    if order is None:
        raise PermanentJobError(f"Order {order_id} is gone.")
    if not order.supplier_order_number:
        return None  # not placed (yet): nothing to send
    missing = list(db.session.scalars(sa.select(OrderRevision).where(OrderRevision.order_id == order.id,
                                                                     OrderRevision.pdf_file_id.is_(None))
                                      .order_by(OrderRevision.number)))
    for rev in missing:
        _render_revision(rev)
    db.session.expire_all()
    order = db.session.get(PurchaseOrder, order_id)
    if order.po_pdf_file_id:
        return order.po_pdf_file_id
    data = render("purchase_order.html", po_snapshot(order))
    f = save_bytes(data, filename=f"{order.po_number}.pdf", content_type="application/pdf",
                   owner_company_id=order.buyer_company_id, party_company_id=order.supplier_company_id)
    # A plain UPDATE: the PDF is not a business change, so open forms on the order stay valid (no version bump).
    db.session.execute(sa.update(PurchaseOrder).where(PurchaseOrder.id == order.id,
                                                      PurchaseOrder.po_pdf_file_id.is_(None))
                       .values(po_pdf_file_id=f.id).execution_options(synchronize_session=False))
    db.session.commit()
    return f.id


def _render_revision(rev: OrderRevision) -> int:
    order = db.session.get(PurchaseOrder, rev.order_id)
    if rev.pdf_file_id:
        return rev.pdf_file_id
    data = render("purchase_order.html", rev.snapshot)
    name = order.po_number + (f"-rev{rev.number}" if rev.number > 1 else "")
    f = save_bytes(data, filename=f"{name}.pdf", content_type="application/pdf",
                   owner_company_id=order.buyer_company_id, party_company_id=order.supplier_company_id)
    # Plain UPDATEs: a PDF is not a business change (open forms on the order stay valid, no version bump).
    db.session.execute(sa.update(OrderRevision).where(OrderRevision.id == rev.id, OrderRevision.pdf_file_id.is_(None))
                       .values(pdf_file_id=f.id, pdf_sha256=f.sha256).execution_options(synchronize_session=False))
    db.session.execute(sa.update(PurchaseOrder).where(PurchaseOrder.id == order.id,
                                                      PurchaseOrder.revision == rev.number)
                       .values(po_pdf_file_id=f.id).execution_options(synchronize_session=False))
    db.session.commit()
    return f.id


@task()
def revision_pdf_job(revision_id: int) -> int:
    """Render and store the PDF of one revision of a purchase order, from its frozen snapshot. Idempotent;
    the order's current PDF follows its current revision."""
    rev = db.session.get(OrderRevision, revision_id)
    if rev is None:
        raise PermanentJobError(f"Order revision {revision_id} is gone.")
    return _render_revision(rev)


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
