"""Shipments (supplier), goods receipt and closing (buyer)."""
from __future__ import annotations

from decimal import Decimal

from portal.accounts.models import Role, User
from portal.db import db, utcnow
from portal.events.services import emit
from portal.errors import InvalidTransition, NotFound, ValidationFailed
from portal.i18n import _l
from portal.errors import state_fig
from portal.locking import retry_on_conflict
from portal.money import ZERO, format_quantity, to_decimal
from portal.notifications.messages import joined, msg, quantity
from portal.orders.models import LineAck, PurchaseOrder, Shipment, ShipmentLine
from portal.orders.numbers import new_delivery_note_number
from portal.orders.core import (_notify_buyer, _notify_supplier, _rollback_on_error, check_fresh, commit,
                                lock_order, move, numbers_text, require_buyer, require_supplier)
from portal.orders.services import open_quantity
from portal.orders.states import OrderStatus

S = OrderStatus
SHIPPABLE = {S.acknowledged, S.partially_shipped}
DELIVERY_NOTE_JOB = "portal.orders.jobs.delivery_note_job"


def _q(d: Decimal) -> str:
    return format_quantity(d)


@retry_on_conflict
@_rollback_on_error
def record_shipment(order: PurchaseOrder, actor: User, expected_lock_version, quantities: dict,
                    carrier: str = "", tracking: str = "") -> Shipment:
    """Ship some or all of the open quantities. ``quantities`` maps order line id -> quantity text
    (blank = not in this shipment). Starts the delivery note PDF job."""
    from portal.jobs import start_tracked

    order = lock_order(order, actor)
    require_supplier(order, actor)
    check_fresh(order, expected_lock_version)
    if order.status in (S.cancelled, S.rejected, S.closed):
        raise InvalidTransition(_l("This order is %(state)s; nothing more can be done with it."),
                                state=state_fig(order.status))
    if order.status not in SHIPPABLE:
        raise InvalidTransition(_l("Goods can be shipped once the order is acknowledged; this order is %(state)s."),
                                state=state_fig(order.status))
    errors: dict[str, str] = {}
    planned = []
    for line in order.lines:
        text = quantities.get(line.id, quantities.get(str(line.id)))
        text = "" if text is None else str(text).strip()
        if text == "":
            continue
        label = f"Line {line.position}"
        try:
            qty = to_decimal(text, f"{label} quantity")
        except ValidationFailed as exc:
            errors[f"line-{line.id}"] = exc.message
            continue
        if qty < 0:
            errors[f"line-{line.id}"] = f"{label}: the quantity cannot be negative."
            continue
        if qty == 0:
            continue
        remaining = open_quantity(line)
        if qty > remaining:
            if line.ack == LineAck.rejected:
                errors[f"line-{line.id}"] = f"{label} was rejected at acknowledgement; nothing to ship."
            else:
                errors[f"line-{line.id}"] = (
                    f"{label}: only {_q(remaining)} {line.unit} remain to ship (ordered {_q(line.quantity)}, "
                    f"already shipped {_q(line.shipped_quantity)}).")
            continue
        planned.append((line, qty))
    if errors:
        raise ValidationFailed(" ".join(errors.values()), errors=errors)
    if not planned:
        raise ValidationFailed(_l("Enter a quantity above 0 for at least one line."))
    carrier, tracking = (carrier or "").strip()[:100], (tracking or "").strip()[:100]
    shipment = Shipment(order_id=order.id, supplier_company_id=order.supplier_company_id,
                        buyer_company_id=order.buyer_company_id,
                        number=new_delivery_note_number(order.supplier_company_id), carrier=carrier,
                        tracking=tracking, shipped_at=utcnow(), created_by_id=actor.id)
    for line, qty in planned:
        shipment.lines.append(ShipmentLine(order_line_id=line.id, quantity=qty))
        line.shipped_quantity = (line.shipped_quantity or ZERO) + qty
    db.session.add(shipment)
    db.session.flush()
    _keep_invoice_quantities(order)
    complete = all(open_quantity(line) == 0 for line in order.lines)
    target = S.shipped if complete else S.partially_shipped
    how = ([msg(_l(" via %(carrier)s"), carrier=carrier)] if carrier else []) + (
        [msg(_l(", tracking %(tracking)s"), tracking=tracking)] if tracking else [])
    move(order, target, actor, "shipped", msg(
        "%(number)s: %(lines)s%(how)s", number=shipment.number, how=joined(how, ""),
        lines=joined([msg(_l("line %(position)s × %(quantity)s"), position=ln.position, quantity=quantity(q))
                      for ln, q in planned], ", ")))
    start_tracked(DELIVERY_NOTE_JOB, shipment.id, kind="delivery-note", title=f"Delivery note {shipment.number}",
                  company_id=order.supplier_company_id, user_id=actor.id, queue="documents",
                  job_id=f"delivery-note-{shipment.id}")
    # Invoicing decides (its settings: auto-issue per shipment or per order); the job is idempotent.
    from portal.jobs import enqueue_after_commit

    enqueue_after_commit("portal.invoices.jobs.on_shipment_recorded", shipment.id, queue="default",
                         job_id=f"invoice-auto-{shipment.id}")
    sent = ([msg(_l(" via %(carrier)s"), carrier=carrier)] if carrier else []) + (
        [msg(_l(" (tracking %(tracking)s)"), tracking=tracking)] if tracking else [])
    _notify_buyer(order, msg(_l("Shipment %(number)s for order %(order)s"), number=shipment.number,
                             order=numbers_text(order)),
                  msg(_l("%(supplier)s shipped the rest of your order%(how)s. Record the goods receipt when it "
                         "arrives.") if complete else
                      _l("%(supplier)s shipped part of your order%(how)s. Record the goods receipt when it arrives."),
                      supplier=order.supplier.display_name, how=joined(sent, "")))
    emit([order.buyer_company_id, order.supplier_company_id], "shipment.created", shipment)
    commit()
    return shipment


def load_shipment(order: PurchaseOrder, shipment_id) -> Shipment:
    try:
        sid = int(shipment_id)
    except (TypeError, ValueError):
        raise NotFound(_l("No such shipment."))
    shipment = next((s for s in order.shipments if s.id == sid), None)
    if shipment is None:
        raise NotFound(_l("No such shipment."))
    return shipment


@retry_on_conflict
@_rollback_on_error
def receive(order: PurchaseOrder, shipment_id, actor: User, expected_lock_version, entries: dict) -> Shipment:
    """Goods receipt for one shipment: ``entries`` maps shipment line id -> {"accepted", "rejected", "reason"}
    (text as typed; blank accepted = everything shipped that was not rejected)."""
    order = lock_order(order, actor)
    require_buyer(order, actor)
    check_fresh(order, expected_lock_version)
    shipment = load_shipment(order, shipment_id)
    if order.status in (S.cancelled, S.rejected, S.closed):
        raise InvalidTransition(_l("This order is %(state)s; nothing more can be done with it."),
                                state=state_fig(order.status))
    if shipment.received_at is not None:
        raise InvalidTransition(_l("Shipment %(number)s was already received."), number=shipment.number)
    errors: dict[str, str] = {}
    plan = []
    for sl in shipment.lines:
        e = entries.get(sl.id) or entries.get(str(sl.id)) or {}
        label = f"Line {sl.order_line.position}"
        try:
            rej_text = str(e.get("rejected") or "").strip()
            rejected = to_decimal(rej_text, f"{label} rejected quantity") if rej_text else ZERO
            acc_text = str(e.get("accepted") or "").strip()
            accepted = to_decimal(acc_text, f"{label} accepted quantity") if acc_text else sl.quantity - rejected
        except ValidationFailed as exc:
            errors[f"sl-{sl.id}"] = exc.message
            continue
        reason = (e.get("reason") or "").strip()[:500]
        if accepted < 0 or rejected < 0:
            errors[f"sl-{sl.id}"] = f"{label}: quantities cannot be negative."
            continue
        if accepted + rejected > sl.quantity:
            errors[f"sl-{sl.id}"] = (f"{label}: you can receive at most the {_q(sl.quantity)} "
                                     f"{sl.order_line.unit} shipped (accepted + rejected).")
            continue
        if rejected > 0 and not reason:
            errors[f"sl-{sl.id}"] = f"{label}: give a reason for the rejected quantity."
            continue
        plan.append((sl, accepted, rejected, reason or None))
    if errors:
        raise ValidationFailed(" ".join(errors.values()), errors=errors)
    for sl, accepted, rejected, reason in plan:
        sl.accepted_quantity, sl.rejected_quantity, sl.rejection_reason = accepted, rejected, reason
        ol = sl.order_line
        ol.accepted_quantity = (ol.accepted_quantity or ZERO) + accepted
        ol.rejected_quantity = (ol.rejected_quantity or ZERO) + rejected
    shipment.received_at = utcnow()
    shipment.received_by_id = actor.id
    db.session.flush()
    if any(r for _, _, r, _ in plan):
        _keep_invoice_quantities(order)  # rejected goods are not invoiced: the kept open quantities shrink
    detail = msg("%(number)s: %(lines)s", number=shipment.number, lines=joined([
        msg(_l("line %(position)s accepted %(accepted)s, rejected %(rejected)s (%(why)s)"),
            position=sl.order_line.position, accepted=quantity(a), rejected=quantity(r), why=why) if r else
        msg(_l("line %(position)s accepted %(accepted)s"), position=sl.order_line.position, accepted=quantity(a))
        for sl, a, r, why in plan], ", "))
    all_received = all(s.received_at is not None for s in order.shipments)
    if order.status == S.shipped and all_received:
        move(order, S.received, actor, "received", detail)
    else:
        from portal.audit.services import record
        from sqlalchemy.orm.attributes import flag_modified

        record("order", order.id, "goods_receipt", actor=actor, company_id=actor.company_id, detail=detail)
        flag_modified(order, "status")  # forms opened before this receipt are stale
    if any(r for _, _, r, _ in plan):
        _rejected_leave_the_ledger(order)
        _notify_supplier(order, msg(_l("Goods rejected on %(number)s (order %(order)s)"), number=shipment.number,
                                    order=numbers_text(order)), detail)
    emit([order.buyer_company_id, order.supplier_company_id], "shipment.received", shipment)
    commit()
    return shipment


def _keep_invoice_quantities(order: PurchaseOrder) -> None:
    """The shipment lines' kept invoiced quantity and the shipments' "to invoice" flag (portal.invoices
    .quantities.keep), in this transaction, under the order's row lock taken above."""
    from portal.invoices.quantities import keep

    keep(order)


def _rejected_leave_the_ledger(order: PurchaseOrder) -> None:
    """Rejected goods will not be billed: when nothing is left to invoice, the credit reservation is closed
    (no invoice follows that would close it)."""
    from portal.credit import ledger
    from portal.invoices.quantities import fully_invoiced

    ledger.rejected_at_receipt(order, fully=fully_invoiced(order))


@retry_on_conflict
@_rollback_on_error
def close(order: PurchaseOrder, actor: User, expected_lock_version) -> PurchaseOrder:
    order = lock_order(order, actor)
    require_buyer(order, actor, roles=(Role.procurement, Role.admin, Role.accounts))
    check_fresh(order, expected_lock_version)
    if order.status != S.received:
        if order.status in (S.cancelled, S.rejected, S.closed):
            raise InvalidTransition(_l("This order is %(state)s; nothing more can be done with it."),
                                    state=state_fig(order.status))
        raise InvalidTransition(_l("Only a received order can be closed; this one is %(state)s."),
                                state=state_fig(order.status))
    move(order, S.closed, actor, "closed")
    commit()
    return order
