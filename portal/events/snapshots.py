"""The resource as the event's company may see it, as plain JSON (money as {amount, currency} strings).

Snapshots are built without a request (events are also emitted by jobs), so they carry ids and API paths, never
absolute URLs. A buyer's snapshot of a quote carries no prices: sealed bids stay sealed in the feed too.
"""
from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

from portal.money import quantize


def _v(value):
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value != value.to_integral() else str(value.quantize(Decimal(1)))
    return value


def _money(amount, currency):
    if amount is None:
        return None
    return {"amount": str(quantize(Decimal(amount), currency)), "currency": currency}


def _pick(obj, *names) -> dict:
    return {n: _v(getattr(obj, n, None)) for n in names}


def rfq(obj, company_id: int) -> dict:
    d = _pick(obj, "id", "reference", "title", "status", "currency", "deadline", "sealed", "amendment_no",
              "buyer_company_id", "published_at", "closed_at", "awarded_at", "updated_at")
    d["path"] = f"/api/v1/rfqs/{obj.id}"
    return d


def quote(obj, company_id: int) -> dict:
    d = _pick(obj, "id", "rfq_id", "supplier_company_id", "status", "submitted_at", "updated_at",
              "lock_version")
    if company_id == obj.supplier_company_id:
        version = getattr(obj, "current_version", None)
        if version is not None:
            d["version"] = version.number
    d["path"] = f"/api/v1/quotes/{obj.id}"
    return d


def award(obj, company_id: int) -> dict:
    d = _pick(obj, "id", "rfq_id", "buyer_company_id", "mode", "awarded_at")
    lines = [ln for ln in obj.lines if company_id in (obj.buyer_company_id, ln.supplier_company_id)]
    currency = obj.rfq.currency if getattr(obj, "rfq", None) is not None else None
    d["lines"] = [{"rfq_line_id": ln.rfq_line_id, "quote_id": ln.quote_id,
                   "supplier_company_id": ln.supplier_company_id, "quantity": _v(ln.quantity),
                   "unit_price": _money(ln.unit_price, currency) if currency else _v(ln.unit_price),
                   "line_total": _money(ln.line_total, currency) if currency else _v(ln.line_total)}
                  for ln in lines]
    d["path"] = f"/api/v1/rfqs/{obj.rfq_id}/award"
    return d


def order(obj, company_id: int) -> dict:
    d = _pick(obj, "id", "po_number", "supplier_order_number", "status", "buyer_company_id", "supplier_company_id",
              "rfq_id", "award_id", "delivery_date", "payment_terms_days", "sent_at", "placed_at",
              "acknowledged_at", "updated_at", "lock_version")
    d["total_net"] = _money(obj.total_net, obj.currency)
    d["shipping"] = _money(obj.shipping_amount, obj.currency)
    d["lines"] = [{"id": ln.id, "position": ln.position, "sku": ln.sku, "description": ln.description,
                   "quantity": _v(ln.quantity), "unit": ln.unit, "unit_price": _money(ln.unit_price, obj.currency),
                   "line_total": _money(ln.line_total, obj.currency), "ack": _v(ln.ack),
                   "shipped_quantity": _v(ln.shipped_quantity)} for ln in obj.lines]
    d["path"] = f"/api/v1/orders/{obj.id}"
    return d


def shipment(obj, company_id: int) -> dict:
    d = _pick(obj, "id", "order_id", "number", "carrier", "tracking", "shipped_at", "received_at",
              "buyer_company_id", "supplier_company_id")
    d["lines"] = [{"order_line_id": ln.order_line_id, "quantity": _v(ln.quantity)} for ln in obj.lines]
    d["path"] = f"/api/v1/orders/{obj.order_id}"
    return d


def invoice(obj, company_id: int) -> dict:
    d = _pick(obj, "id", "kind", "number", "status", "supplier_company_id", "buyer_company_id", "order_id",
              "shipment_id", "corrects_invoice_id", "issue_date", "due_date", "buyer_reference", "disputed_at",
              "updated_at", "lock_version")
    cur = obj.currency
    for name in ("total_net", "total_tax", "total_gross", "paid_amount", "credited_amount"):
        d[name] = _money(getattr(obj, name), cur)
    d["open_amount"] = _money(Decimal(obj.total_gross or 0) - Decimal(obj.paid_amount or 0)
                              - Decimal(obj.credited_amount or 0), cur)
    d["path"] = f"/api/v1/invoices/{obj.id}"
    return d


def requisition(obj, company_id: int) -> dict:
    d = _pick(obj, "id", "number", "title", "status", "company_id", "requester_id", "currency", "submitted_at",
              "approved_at", "decision_note", "updated_at", "lock_version")
    d["total_estimated"] = _money(obj.total_estimated, obj.currency)
    d["path"] = f"/api/v1/requisitions/{obj.id}"
    return d


def framework_agreement(obj, company_id: int) -> dict:
    d = _pick(obj, "id", "reference", "title", "status", "buyer_company_id", "supplier_company_id", "award_id",
              "rfq_id", "currency", "valid_from", "valid_until", "allow_exceed", "updated_at", "lock_version")
    d["max_value"] = _money(obj.max_value, obj.currency)
    d["path"] = f"/api/v1/framework-agreements/{obj.id}"
    return d


def supplier_relation(obj, company_id: int) -> dict:
    d = _pick(obj, "buyer_company_id", "supplier_company_id", "status", "reason", "updated_at")
    d["id"] = obj.id
    d["path"] = f"/api/v1/supplier-statuses/{obj.id}"
    return d


def supplier_invitation(obj, company_id: int) -> dict:
    d = _pick(obj, "id", "buyer_company_id", "supplier_company_id", "rfq_id", "email", "company_name",
              "accepted_at")
    d["path"] = f"/api/v1/supplier-invitations/{obj.id}"
    return d


def certificate(obj, company_id: int) -> dict:
    d = _pick(obj, "id", "supplier_company_id", "cert_type", "number", "issuer", "valid_until")
    d["path"] = f"/api/v1/qualification-documents/{obj.id}"
    return d


def generic(obj, company_id: int) -> dict:
    return {"id": getattr(obj, "id", None)}


BUILDERS = {"Rfq": ("rfq", rfq), "Quote": ("quote", quote), "Award": ("award", award),
            "PurchaseOrder": ("order", order), "Shipment": ("shipment", shipment), "Invoice": ("invoice", invoice),
            "Requisition": ("requisition", requisition),
            "FrameworkAgreement": ("framework_agreement", framework_agreement),
            "SupplierRelation": ("supplier_relation", supplier_relation),
            "SupplierInvitation": ("supplier_invitation", supplier_invitation),
            "QualificationDocument": ("qualification_document", certificate)}


# Builders whose snapshot differs by the company that sees it (sealed prices, own lines only); the others show
# both parties the same document, so one event per party can share one snapshot (portal/events/services.py).
PER_COMPANY = frozenset({quote, award})


def build(resource, company_id: int) -> tuple[str, dict]:
    """(resource_type, snapshot) of an ORM object, as the given company may see it."""
    name = type(resource).__name__
    rtype, fn = BUILDERS.get(name, (name.lower(), generic))
    return rtype, fn(resource, company_id)


def same_for_every_company(resource) -> bool:
    """True when ``build(resource, c)`` is the same for every company ``c`` (built once per event, not per party)."""
    _rtype, fn = BUILDERS.get(type(resource).__name__, (None, generic))
    return fn not in PER_COMPANY
