"""Emit events into the change feed (and to the webhook endpoints that want them); list and purge them.

``emit`` is called by a service after its business change, in the same transaction: the event rows (the outbox)
are written just before that transaction commits and delivery jobs are enqueued after it. A rolled-back change
leaves no event behind.
"""
from __future__ import annotations

import logging
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Session

from portal.db import db, utcnow
from portal.events.models import Event

log = logging.getLogger(__name__)

# Every type the portal emits (the webhook endpoint form offers these; "*" means all of them).
EVENT_TYPES = {
    "rfq.published": "An RFQ was published to its invited suppliers",
    "rfq.cancelled": "An RFQ was cancelled",
    "quote.submitted": "A supplier submitted (or revised) a quote",
    "award.made": "The buyer awarded an RFQ",
    "order.submitted": "A purchase order was sent to the supplier",
    "order.placed": "A purchase order passed the credit check and was placed",
    "order.credit_hold": "A purchase order is on credit hold",
    "order.changed": "A purchase order changed state (acknowledged, cancelled, rejected, closed …)",
    "shipment.created": "The supplier recorded a shipment",
    "shipment.received": "The buyer received a shipment",
    "invoice.issued": "An invoice or credit note was issued",
    "invoice.payment_recorded": "A part payment was recorded on an invoice",
    "invoice.paid": "An invoice was paid in full",
    "invoice.approved": "The buyer approved an invoice for payment",
    "dispute.opened": "The buyer disputed an invoice",
    "requisition.submitted": "A requisition was submitted for approval",
    "requisition.approved": "A requisition was approved",
    "requisition.rejected": "A requisition was rejected",
    "requisition.ordered": "Every line of a requisition is on a sent purchase order",
    "framework_agreement.created": "A framework agreement was made from an award",
    "framework_agreement.called_off": "The buyer called off against a framework agreement (a draft order)",
    "framework_agreement.expiring": "A framework agreement ends within 30 days",
    "framework_agreement.expired": "A framework agreement ended",
    "supplier_status.changed": "A buyer approved or blocked a supplier",
    "supplier_invitation.accepted": "An invited supplier registered on the portal",
    "certificate.expiring": "A supplier's qualification certificate expires within 30 days",
}


PENDING_KEY = "portal_pending_events"


def emit(company_ids, type: str, resource) -> None:  # noqa: A002 - the event's type
    """Record that ``type`` happened to ``resource``, for each of ``company_ids`` (one event each, with that
    company's view of the resource). Call it after the business change, inside the service's transaction.

    The event rows are written in the same transaction, just before it commits, so their snapshots show the
    resource as committed (fields the service sets after this call included); webhook delivery jobs are enqueued
    after the commit. A rolled-back change (or savepoint) leaves no event behind."""
    if type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {type}")
    if isinstance(company_ids, int):
        company_ids = [company_ids]
    ids = []
    for cid in company_ids:
        if cid is not None and cid not in ids:
            ids.append(cid)
    if not ids:
        return
    db.session.info.setdefault(PENDING_KEY, []).append(
        {"company_ids": ids, "type": type, "resource": resource,
         "txn": db.session().get_nested_transaction()})


def write_pending(session) -> list[Event]:
    """Turn the emitted events of this transaction into rows and delivery rows (flushes first: a flush hook may
    emit too, e.g. a requisition following its order)."""
    from portal.events.snapshots import build, same_for_every_company
    from portal.webhooks.services import enabled_endpoints, schedule_deliveries

    session.flush()
    pending = session.info.pop(PENDING_KEY, None)
    if not pending:
        return []
    events = []
    now = utcnow()
    for item in pending:
        resource = item["resource"]
        shared = None  # (rtype, snapshot) built once when every party sees the same document (an order: 2 parties)
        for cid in item["company_ids"]:
            if shared is not None:
                rtype, snapshot = shared[0], dict(shared[1])
            else:
                try:
                    rtype, snapshot = build(resource, cid)
                    if same_for_every_company(resource):
                        shared = (rtype, snapshot)
                except Exception:  # noqa: BLE001 - a snapshot must never cost the business change its commit
                    log.exception("event %s: no snapshot of %r", item["type"], resource)
                    rtype, snapshot = type(resource).__name__.lower(), {"id": resource.id}
            ev = Event(company_id=cid, type=item["type"], resource_type=rtype, resource_id=resource.id,
                       data=snapshot, created_at=now)
            session.add(ev)
            events.append(ev)
    session.flush()
    endpoints = enabled_endpoints({ev.company_id for ev in events})  # one SELECT for all of them, not one per event
    for ev in events:
        schedule_deliveries(ev, endpoints=endpoints.get(ev.company_id, []))
    return events


@sa.event.listens_for(Session, "before_commit")
def _write_before_commit(session):
    if not session.info.get(PENDING_KEY) and (session.new or session.dirty or session.deleted):
        session.flush()  # flush hooks may emit (portal.budgets.hooks: requisition.ordered)
    if session.info.get(PENDING_KEY):
        write_pending(session)


@sa.event.listens_for(Session, "after_soft_rollback")
def _forget_on_rollback(session, previous_transaction):
    pending = session.info.get(PENDING_KEY)
    if not pending:
        return
    if previous_transaction.parent is None:
        session.info.pop(PENDING_KEY, None)
        return

    def inside(txn) -> bool:
        while txn is not None:
            if txn is previous_transaction:
                return True
            txn = txn.parent
        return False

    session.info[PENDING_KEY] = [item for item in pending if not inside(item.get("txn"))]


def list_events(company_id: int, *, after: int = 0, limit: int = 100, types=None,
                resource_type: str | None = None, resource_id: int | None = None) -> list[Event]:
    stmt = sa.select(Event).where(Event.company_id == company_id, Event.id > after)
    if types:
        stmt = stmt.where(Event.type.in_(list(types)))
    if resource_type:
        stmt = stmt.where(Event.resource_type == resource_type)
    if resource_id is not None:
        stmt = stmt.where(Event.resource_id == resource_id)
    return list(db.session.scalars(stmt.order_by(Event.id).limit(limit)))


def retention_days() -> int:
    return max(30, int(current_app.config.get("EVENT_RETENTION_DAYS", 90)))


def purge_expired(now=None) -> int:
    """Delete events older than the retention (at least 30 days) with their deliveries. Commits."""
    from portal.webhooks.models import WebhookAttempt, WebhookDelivery

    cutoff = (now or utcnow()) - timedelta(days=retention_days())
    old = sa.select(Event.id).where(Event.created_at < cutoff)
    deliveries = sa.select(WebhookDelivery.id).where(WebhookDelivery.event_id.in_(old))
    db.session.execute(sa.delete(WebhookAttempt).where(WebhookAttempt.delivery_id.in_(deliveries)))
    db.session.execute(sa.delete(WebhookDelivery).where(WebhookDelivery.event_id.in_(old)))
    n = db.session.execute(sa.delete(Event).where(Event.created_at < cutoff)).rowcount or 0
    db.session.commit()
    return n
