"""Revisions of a sent order: revision 1 is the order as placed; every change that takes effect afterwards (an
accepted supplier proposal or change order, a short-close) adds one. Each revision keeps a frozen snapshot of the
order (what the PDF is rendered from, on the documents queue), what changed, who proposed and who accepted, when.
Earlier revisions and their PDFs stay downloadable.

Everything here only flushes, inside the caller's unit of work (the order already locked).
"""
from __future__ import annotations

import sqlalchemy as sa

from portal.db import db, utcnow
from portal.orders.models import OrderRevision, PurchaseOrder
from portal.documents.language import recipient_settings

REVISION_PDF_JOB = "portal.orders.jobs.revision_pdf_job"


def _str(v):
    return None if v is None else str(v)


def _party(company) -> dict:
    return {"name": company.legal_name, "display_name": company.display_name, "address": company.address_lines,
            "vat_number": company.vat_number or ""}


def po_snapshot(order: PurchaseOrder, *, revision: int | None = None) -> dict:
    """The order as the supplier receives it (no internal notes, no cost references): plain values only."""
    revision = order.revision if revision is None else revision
    return {
        "document": "purchase_order",
        "po_number": order.po_number,
        "revision": revision,
        "revised_at": utcnow().isoformat() if revision > 1 else None,
        "supplier_order_number": order.supplier_order_number or "",
        "currency": order.currency,
        "timezone": "Europe/Berlin",
        **recipient_settings(order.supplier),  # a purchase order speaks the supplier's language
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
                   "short_closed": _str(ln.short_closed_quantity) if ln.short_closed_quantity else None,
                   "unit_price": _str(ln.unit_price), "line_total": _str(ln.line_total),
                   "delivery_date": _str(ln.delivery_date)} for ln in order.lines],
    }


def revisions_for(order_id: int) -> list[OrderRevision]:
    return list(db.session.scalars(sa.select(OrderRevision).where(OrderRevision.order_id == order_id)
                                   .order_by(OrderRevision.number)))


def get_revision(order: PurchaseOrder, number) -> OrderRevision | None:
    try:
        n = int(number)
    except (TypeError, ValueError):
        return None
    return db.session.scalar(sa.select(OrderRevision).where(OrderRevision.order_id == order.id,
                                                            OrderRevision.number == n))


def first_revision(order: PurchaseOrder, *, placing: bool = False) -> OrderRevision:
    """Revision 1 (the order as placed), made once; flush only. An order placed before revisions existed gets
    its revision 1 from its state before the first change, with the PDF it already has.

    ``placing``: the order is being placed for the first time (it had no ``placed_at``), so it has no revision
    yet: no look-up, and the row is left to the caller's flush (the credit check's one flush)."""
    rev = None if placing else get_revision(order, 1)
    if rev is not None:
        return rev
    order.revision = 1
    rev = OrderRevision(order_id=order.id, number=1, snapshot=po_snapshot(order, revision=1),
                        total_net=order.total_net, currency=order.currency, summary="Order placed.",
                        proposed_by_id=order.submitted_by_id or order.created_by_id,
                        created_at=order.placed_at or utcnow(), pdf_file_id=order.po_pdf_file_id)
    if order.po_pdf_file_id:
        from portal.documents.models import StoredFile

        f = db.session.get(StoredFile, order.po_pdf_file_id)
        rev.pdf_sha256 = f.sha256 if f else None
    db.session.add(rev)
    if not placing:
        db.session.flush()
    return rev


def new_revision(order: PurchaseOrder, summary: str, *, change_id=None, proposed_by=None,
                 accepted_by=None) -> OrderRevision:
    """The order's next revision, from its state now (call after the change took effect); its PDF is rendered
    by a job after commit. ``first_revision`` must have been made before the order changed."""
    from portal.jobs import enqueue_after_commit

    order.revision = (order.revision or 1) + 1
    rev = OrderRevision(order_id=order.id, number=order.revision, snapshot=po_snapshot(order),
                        total_net=order.total_net, currency=order.currency, summary=summary[:4000],
                        change_id=change_id, proposed_by_id=getattr(proposed_by, "id", proposed_by),
                        accepted_by_id=getattr(accepted_by, "id", accepted_by))
    db.session.add(rev)
    db.session.flush()
    enqueue_after_commit(REVISION_PDF_JOB, rev.id, queue="documents", job_id=f"po-revision-pdf-{rev.id}")
    return rev


def revision_label(order: PurchaseOrder) -> str:
    """"PO-2026-00037 rev. 2" (rev. 1 is just the number)."""
    return order.po_number + (f" rev. {order.revision}" if (order.revision or 1) > 1 else "")
