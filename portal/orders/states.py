"""The purchase-order lifecycle: one enum, one transition table.

draft -> awaiting_approval (when the buyer's rules require) -> submitted (the credit check job runs)
      -> placed | credit_hold -> acknowledged (or change_proposed -> buyer accepts -> acknowledged)
      -> partially_shipped -> shipped -> received -> closed
cancelled: by the buyer, before anything shipped, with a reason. rejected: by the supplier (or the supplier's
accounts team from credit hold), with a reason.
"""
from __future__ import annotations

import enum

from portal.errors import InvalidTransition
from portal.i18n import _l
from portal.errors import state_fig


class OrderStatus(str, enum.Enum):
    draft = "draft"
    awaiting_approval = "awaiting_approval"
    submitted = "submitted"
    placed = "placed"
    credit_hold = "credit_hold"
    change_proposed = "change_proposed"
    acknowledged = "acknowledged"
    partially_shipped = "partially_shipped"
    shipped = "shipped"
    received = "received"
    closed = "closed"
    cancelled = "cancelled"
    rejected = "rejected"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


S = OrderStatus
TRANSITIONS: dict[OrderStatus, set[OrderStatus]] = {
    S.draft: {S.awaiting_approval, S.submitted, S.cancelled},
    S.awaiting_approval: {S.submitted, S.draft, S.cancelled},  # draft = an approver rejected it
    S.submitted: {S.placed, S.credit_hold, S.cancelled},
    S.credit_hold: {S.placed, S.rejected, S.cancelled},
    S.placed: {S.acknowledged, S.change_proposed, S.rejected, S.cancelled},
    S.change_proposed: {S.acknowledged, S.cancelled},
    S.acknowledged: {S.partially_shipped, S.shipped, S.cancelled},
    S.partially_shipped: {S.partially_shipped, S.shipped},
    S.shipped: {S.received},
    S.received: {S.closed},
    S.closed: set(),
    S.cancelled: set(),
    S.rejected: set(),
}

# States an order reaches only after the buyer sent it to the supplier (from the credit check on). Whether the
# supplier may see an order is NOT a matter of its state (a draft cancelled by the buyer is cancelled too) but of
# PurchaseOrder.sent_at: see PurchaseOrder.supplier_scope / visible_to_supplier, the one rule.
SENT_STATES = {s for s in OrderStatus} - {S.draft, S.awaiting_approval, S.cancelled}
# States that hold a credit reservation's worth of exposure (placed, not yet invoiced).
OPEN_FOR_CREDIT = {S.placed, S.change_proposed, S.acknowledged, S.partially_shipped, S.shipped, S.received}


def check(current: OrderStatus, target: OrderStatus) -> None:
    if target not in TRANSITIONS[current]:
        raise InvalidTransition(
            _l("An order that is %(state)s cannot become %(state2)s."),
            state=state_fig(current), state2=state_fig(target))
