"""Short-close: the buyer closes the open (unshipped) quantity of a whole order or of single lines, with a reason.

The closed quantity is kept per line (``short_closed_quantity``): it is owed no more, never shipped, and no longer
counts in the order's total. The credit reservation shrinks by the closed value; when nothing is left to ship the
order moves on to shipped, and when everything shipped is also invoiced the reservation is converted (invoicing
asks ``portal.invoices.quantities`` as always: it bills what shipped). The supplier is told; the order gets a new
revision with its PDF.
"""
from __future__ import annotations

from decimal import Decimal

from portal.accounts.models import User
from portal.audit.services import english, record
from portal.credit import ledger
from portal.errors import Conflict, InvalidTransition, ValidationFailed
from portal.i18n import _l
from portal.errors import state_fig
from portal.locking import retry_on_conflict
from portal.money import ZERO, format_money
from portal.notifications.messages import joined, money, msg, quantity
from portal.orders import revisions
from portal.orders.core import (_notify_supplier, _rollback_on_error, check_fresh, commit, lock_order, move,
                                numbers_text, open_quantity, recompute_totals, require_buyer)
from portal.orders.models import PurchaseOrder
from portal.orders.states import OPEN_FOR_CREDIT, OrderStatus

S = OrderStatus
CLOSABLE = (S.acknowledged, S.partially_shipped)


def closable_lines(order: PurchaseOrder) -> list:
    return [ln for ln in order.lines if open_quantity(ln) > 0]


@retry_on_conflict
@_rollback_on_error
def short_close(order: PurchaseOrder, actor: User, expected_lock_version, reason: str,
                line_ids=None) -> PurchaseOrder:
    """Close the open quantity of ``line_ids`` (every line with something open, if None)."""
    from portal.orders.changes import open_change

    order = lock_order(order, actor)
    require_buyer(order, actor)
    check_fresh(order, expected_lock_version)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_l("Give a reason for closing the open quantities."),
                               errors={"reason": _l("A reason is required.")})
    if len(reason) > 500:
        raise ValidationFailed(_l("The reason is too long (500 characters at most)."),
                               errors={"reason": _l("500 characters at most.")})
    if order.status in (S.cancelled, S.rejected, S.closed):
        raise InvalidTransition(_l("This order is %(state)s; nothing more can be done with it."),
                                state=state_fig(order.status))
    if order.status not in CLOSABLE:
        raise InvalidTransition(_l("Open quantities can be closed once the supplier has acknowledged the order; "
                                   "this order is %(state)s."),
                                state=state_fig(order.status))
    pending = open_change(order.id)
    if pending is not None:
        raise Conflict(_l("Change %(number)s on this order is still open; it must be decided or withdrawn before "
                          "open quantities are closed."), number=pending.number)
    by_id = {ln.id: ln for ln in order.lines}
    if line_ids is None:
        chosen = closable_lines(order)
    else:
        chosen = []
        for raw in line_ids:
            try:
                line = by_id.get(int(raw))
            except (TypeError, ValueError):
                line = None
            if line is None:
                raise ValidationFailed(_l("A line of another order was chosen; reload the page."))
            if open_quantity(line) <= 0:
                raise ValidationFailed(_l("Line %(position)s: nothing is open on this line."), position=line.position,
                                       errors={f"line-{line.id}": _l("Nothing open.")})
            if line not in chosen:
                chosen.append(line)
    if not chosen:
        raise ValidationFailed(_l("Choose at least one line with an open quantity."),
                               errors={"lines": _l("Nothing chosen.")})
    if all(open_quantity(ln) <= 0 or ln in chosen for ln in order.lines) \
            and not any((ln.shipped_quantity or ZERO) > 0 for ln in order.lines):
        raise InvalidTransition(_l("Nothing has shipped on this order yet: cancel the order instead."))
    revisions.first_revision(order)
    old_total = order.total_net
    parts = []
    for line in sorted(chosen, key=lambda ln: ln.position):
        left = open_quantity(line)
        line.short_closed_quantity = (line.short_closed_quantity or ZERO) + left
        line.short_close_reason = reason
        parts.append(msg(_l("line %(position)s: %(quantity)s %(unit)s closed"), position=line.position,
                         quantity=quantity(left), unit=line.unit))
    recompute_totals(order)
    delta = order.total_net - old_total
    text = "; ".join(english(p) for p in parts)  # the revision's summary and the supplier's notice (English)
    totals = f"Total {format_money(old_total, order.currency)} → {format_money(order.total_net, order.currency)}."
    detail = msg(_l("Short-closed (%(reason)s): %(lines)s. Total %(old)s → %(new)s."), reason=reason,
                 lines=joined(parts), old=money(old_total, order.currency, symbol=True),
                 new=money(order.total_net, order.currency, symbol=True))
    if order.status in OPEN_FOR_CREDIT and delta:
        ledger.adjust_reservation_by(order, delta)
    if all(open_quantity(ln) == 0 for ln in order.lines) and order.status == S.partially_shipped:
        move(order, S.shipped, actor, "short_closed", detail)
        _follow_invoicing(order)
    else:
        record("order", order.id, "short_closed", actor=actor, company_id=actor.company_id,
               detail=detail)
        from sqlalchemy.orm.attributes import flag_modified

        flag_modified(order, "status")
    revisions.new_revision(order, f"Short-closed: {text} ({reason}). {totals}", proposed_by=actor,
                           accepted_by=actor)
    first = msg(_l("Line %(position)s: %(quantity)s %(unit)s closed"), **parts[0].params)  # the sentence's start
    _notify_supplier(order, msg(_l("%(buyer)s closed open quantities of order %(order)s (now %(revision)s)"),
                                buyer=order.buyer.display_name, order=numbers_text(order),
                                revision=revisions.revision_label(order)),
                     msg(_l("%(lines)s. Reason: %(reason)s. Nothing more is owed on these lines."),
                         lines=joined([first, *parts[1:]]), reason=reason))
    commit()
    return order


def _follow_invoicing(order: PurchaseOrder) -> None:
    """Nothing is left to ship: if everything shipped is invoiced too, the reservation is converted now (the
    last invoice came before the short-close, so no later invoice will do it)."""
    from portal.invoices.quantities import fully_invoiced

    if fully_invoiced(order):
        ledger.convert_reservation(order)


def closed_value(order: PurchaseOrder) -> Decimal:
    return sum(((ln.short_closed_quantity or ZERO) * ln.unit_price for ln in order.lines), ZERO)
