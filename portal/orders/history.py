"""An order's history as each side may read it.

The buyer reads every event. The supplier reads the order's history from the moment it was sent (the first move
into a state only a sent order reaches): what happened before — drafts, approval rounds, approvers' comments —
is the buyer's alone, like the unsent order itself (see PurchaseOrder.supplier_scope).
"""
from __future__ import annotations

from types import SimpleNamespace

from portal.audit.services import trail
from portal.orders.models import PurchaseOrder
from portal.orders.states import SENT_STATES, OrderStatus

_SENT = {s.value for s in SENT_STATES}


def order_trail(order: PurchaseOrder, viewer_company_id: int) -> list:
    events = trail("order", order.id, viewer_company_id)
    if viewer_company_id == order.buyer_company_id:
        return events
    if not order.visible_to_supplier(viewer_company_id):
        return []
    first = next((i for i, ev in enumerate(events) if ev.to_state in _SENT), None)
    if first is None:  # sent, but no trace of the sending (data made without the services): from sent_at on
        return [ev for ev in events if ev.at >= order.sent_at]
    sending = events[first]
    if sending.from_state == OrderStatus.awaiting_approval.value:
        # The last approval sent it: the supplier learns that it was sent, not what the approver wrote.
        sending = SimpleNamespace(at=sending.at, action="submitted", actor=sending.actor, actor_id=sending.actor_id,
                                  from_state=None, to_state=sending.to_state, detail="")
    return [sending, *events[first + 1:]]
