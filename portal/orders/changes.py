"""Change orders and supplier proposals on a sent order, decided per line.

Two origins, one machinery (``OrderChange`` with its ``OrderChangeLine`` rows, old -> new per field):

* the buyer's change order on an acknowledged (or partially shipped) order: quantity down or up (never below what
  shipped), another date, another price on a line that was not awarded, a new catalog line, cancelling the open
  quantity of a line. Before it reaches the supplier it goes through the buyer's approvers when its new total
  needs more approvals than the order had, then through the credit limit when it raises the total (an increase
  that does not fit puts the change, not the order, on credit hold for the supplier's accounts team). The
  supplier then accepts or rejects each line, with a reason.
* the supplier's proposals at acknowledgement (another quantity, date or price per line, or refusing a line):
  the buyer accepts or rejects each line. Rejecting never cancels the order: rejected lines keep their values
  and the order is acknowledged as it stands (the buyer may still cancel it explicitly, with a reason).

Accepted lines take effect together, make a new revision of the order (portal/orders/revisions.py) and move the
credit reservation by the change of the total (portal/credit/ledger.py, under the order's row lock). A decision
on a change that is no longer current (decided already, withdrawn, or the order moved to another revision) is a
Conflict with a sentence; two people deciding at once: the order row lock serialises them, the second finds it
decided.

Every public function is one unit of work (one commit); ``supplier_proposal`` only flushes (acknowledge's).
"""
from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm.attributes import flag_modified

from portal.accounts.models import Role, User
from portal.audit.services import english, record
from portal.credit import ledger
from portal.db import db, utcnow
from portal.errors import Conflict, Forbidden, InvalidTransition, NotFound, ValidationFailed
from portal.i18n import _l
from portal.errors import state_fig
from portal.locking import check_version, retry_on_conflict
from portal.money import ZERO, quantize
from portal.orders import approvals, revisions
from portal.notifications.messages import joined, money, msg
from portal.orders.change_plan import (MAX_NEW_LINES, Plan, _q, _reason, line_message, line_text,  # noqa: F401
                                       plan_buyer_change, total_if)
from portal.orders.core import (BUYER_ROLES, SUPPLIER_ROLES, _notify_buyer, _notify_supplier, _rollback_on_error,
                                check_fresh, commit, lock_order, move, numbers_text, open_quantity,
                                order_link, recompute_totals, require_buyer, require_supplier)
from portal.orders.guards import check_draft_lines
from portal.orders.models import (OPEN_CHANGE_STATUSES, ChangeKind, ChangeOrigin, ChangeStatus, LineAck,
                                  LineDecision, OrderChange, OrderChangeApproval, OrderChangeLine, OrderLine,
                                  PurchaseOrder)
from portal.orders.states import OPEN_FOR_CREDIT, OrderStatus

S = OrderStatus
CHANGEABLE = (S.acknowledged, S.partially_shipped)
FINAL = (S.cancelled, S.rejected, S.closed)


# --------------------------------------------------------------------------------------------- reading

def open_change(order_id: int) -> OrderChange | None:
    return db.session.scalar(sa.select(OrderChange).where(OrderChange.order_id == order_id,
                                                          OrderChange.status.in_(OPEN_CHANGE_STATUSES)))


def changes_for(order_id: int) -> list[OrderChange]:
    return list(db.session.scalars(sa.select(OrderChange).where(OrderChange.order_id == order_id)
                                   .order_by(OrderChange.number.desc())))


def sent_to_supplier(change: OrderChange) -> bool:
    """Has the supplier seen this change? A buyer's change is the buyer's alone while it waits for approval,
    and stays so if it never got past the approvers."""
    if change.origin == ChangeOrigin.supplier:
        return True
    if change.status == ChangeStatus.awaiting_approval:
        return False
    approved = sum(1 for a in change.approvals if a.decision == "approved")
    return approved >= change.approvals_required and not any(a.decision == "rejected" for a in change.approvals)


def visible_changes(order: PurchaseOrder, company_id: int) -> list[OrderChange]:
    rows = changes_for(order.id)
    if company_id == order.buyer_company_id:
        return rows
    return [c for c in rows if sent_to_supplier(c)]


def changes_awaiting_approval(user: User) -> list[OrderChange]:
    """Change orders of the user's company waiting for approval, oldest first (for the approval queue)."""
    return list(db.session.scalars(
        sa.select(OrderChange).join(PurchaseOrder, PurchaseOrder.id == OrderChange.order_id)
        .where(PurchaseOrder.buyer_company_id == user.company_id,
               OrderChange.status == ChangeStatus.awaiting_approval)
        .order_by(OrderChange.proposed_at, OrderChange.id)))


def get_change(order: PurchaseOrder, change_id) -> OrderChange:
    """A change of ``order`` (already loaded through tenancy), else NotFound."""
    try:
        cid = int(change_id)
    except (TypeError, ValueError):
        raise NotFound(_l("No such change."))
    change = db.session.get(OrderChange, cid) if 0 < cid <= 2**31 - 1 else None
    if change is None or change.order_id != order.id:
        raise NotFound(_l("No such change."))
    return change


# --------------------------------------------------------------------------------------------- buyer: propose

def _require_changeable(order: PurchaseOrder) -> None:
    if order.status in FINAL:
        raise InvalidTransition(_l("This order is %(state)s; it can no longer be changed."),
                                state=state_fig(order.status))
    if order.status not in CHANGEABLE:
        raise InvalidTransition(_l("An order can be changed once the supplier has acknowledged it; this order is "
                                   "%(state)s."), state=state_fig(order.status))
    current = open_change(order.id)
    if current is not None:
        raise Conflict(_l("Change %(number)s on this order is still open (%(state)s); it must be decided or "
                          "withdrawn before another change."),
                       number=current.number, state=state_fig(current.status))


def preview(order: PurchaseOrder, actor: User, lines: dict, new_lines: list | None = None) -> Plan:
    """The change as it would be sent (old → new, the new total); nothing saved. Raises like ``propose``."""
    require_buyer(order, actor)
    if order.status in FINAL or order.status not in CHANGEABLE:
        _require_changeable(order)
    plan = plan_buyer_change(order, lines, new_lines)
    required_now = approvals.required_for_total(order, order.total_net)
    required_new = approvals.required_for_total(order, plan.new_total)
    if required_new > required_now:
        plan.notes.append(f"The new total needs {required_new} approval{'s' if required_new > 1 else ''} under "
                          "your rules: the change goes to your approvers before the supplier sees it.")
    return plan


def _next_number(order: PurchaseOrder) -> int:
    return (db.session.scalar(sa.select(sa.func.max(OrderChange.number)).where(OrderChange.order_id == order.id))
            or 0) + 1


@retry_on_conflict
@_rollback_on_error
def propose(order: PurchaseOrder, actor: User, expected_lock_version, lines: dict, new_lines: list | None = None,
            reason: str = "") -> OrderChange:
    """The buyer sends a change order: to the approvers first when its new total needs more approvals, then
    past the credit limit when it raises the total, then to the supplier."""
    order = lock_order(order, actor)
    require_buyer(order, actor)
    check_fresh(order, expected_lock_version)
    _require_changeable(order)
    plan = plan_buyer_change(order, lines, new_lines)
    check_draft_lines(order, {cl.order_line_id: cl.new_quantity for cl in plan.lines
                              if cl.order_line_id is not None and cl.new_quantity is not None},
                      set(), any(cl.order_line_id is None for cl in plan.lines), apply=False)
    change = OrderChange(order_id=order.id, number=_next_number(order), origin=ChangeOrigin.buyer,
                         status=ChangeStatus.proposed, base_revision=order.revision or 1,
                         reason=_reason(reason, 2000), currency=order.currency, old_total=order.total_net,
                         new_total=plan.new_total, proposed_by_id=actor.id, proposed_at=utcnow())
    change.lines = plan.lines
    db.session.add(change)
    db.session.flush()
    summary = joined([line_message(cl, order.currency) for cl in change.lines])
    totals = _totals(change.old_total, change.new_total, order.currency)
    required_now = approvals.required_for_total(order, order.total_net)
    required_new = approvals.required_for_total(order, change.new_total)
    _touch(order)
    if required_new > required_now:
        change.status = ChangeStatus.awaiting_approval
        change.approvals_required = required_new
        record("order", order.id, "change_awaiting_approval", actor=actor, company_id=actor.company_id,
               detail=msg(_l("Change %(number)s: %(summary)s. %(totals)s Needs %(n)s approval(s)."),
                          number=change.number, summary=summary, totals=totals, n=required_new),
               visible_to_company_id=order.buyer_company_id)
        _notify_approvers(order, change, actor)
    else:
        record("order", order.id, "change_proposed", actor=actor, company_id=actor.company_id,
               detail=msg(_l("Change %(number)s: %(summary)s. %(totals)s"), number=change.number, summary=summary,
                          totals=totals))
        _credit_step(order, change)
    commit()
    return change


def _totals(old, new, currency: str):
    """ "Total €730.00 → €681.25." as a message (worded for the reader)."""
    return msg(_l("Total %(old)s → %(new)s."), old=money(old, currency, symbol=True),
               new=money(new, currency, symbol=True))


def _touch(order: PurchaseOrder) -> None:
    """Bump the order's version: forms opened before this step are stale."""
    flag_modified(order, "status")


def _credit_step(order: PurchaseOrder, change: OrderChange) -> None:
    """An increase that does not fit the credit limit puts the change (not the order) on credit hold; else the
    change goes to the supplier. Flush only (the order is locked; the pair's account is locked here, step 4)."""
    fits, why = ledger.fits_limit(order, change.new_total - change.old_total)
    if fits:
        change.status = ChangeStatus.proposed
        _notify_supplier(order, msg(_l("%(buyer)s proposes change %(number)s to order %(order)s rev. %(revision)s"),
                                    buyer=order.buyer.display_name, number=change.number, order=numbers_text(order),
                                    revision=order.revision),
                         msg(_l("%(lines)s. New total %(total)s. Accept or reject each line."),
                             lines=joined([line_message(cl, order.currency) for cl in change.lines]),
                             total=money(change.new_total, order.currency)))
        return
    change.status = ChangeStatus.credit_hold
    record("order", order.id, "change_credit_hold", company_id=order.supplier_company_id,
           detail=msg(_l("Change %(number)s is on credit hold: %(why)s."), number=change.number, why=why))
    from portal.notifications.services import notify_company

    title = msg(_l("Change %(number)s to order %(order)s is on credit hold"), number=change.number,
                order=numbers_text(order))
    notify_company(order.supplier_company_id, (Role.accounts, Role.admin), kind="order", title=title,
                   body=msg(_l("It would raise the order to %(total)s: %(why)s. Release or refuse it on the order "
                               "page."), total=money(change.new_total, order.currency), why=why),
                   link=order_link(order))
    _notify_buyer(order, title, msg(_l("The accounts team of %(supplier)s decides: %(why)s."),
                                    supplier=order.supplier.display_name, why=why))


# --------------------------------------------------------------------------------------------- approvals

def _approvers(order: PurchaseOrder, change: OrderChange) -> list[User]:
    from portal.notifications.services import company_users

    return [u for u in company_users(order.buyer_company_id, Role.approver) if u.id != change.proposed_by_id]


def _notify_approvers(order: PurchaseOrder, change: OrderChange, actor: User) -> None:
    from portal.notifications.services import notify

    notify(_approvers(order, change), kind="approval",
           title=msg(_l("Change %(number)s to order %(order)s needs your approval"), number=change.number,
                     order=numbers_text(order)),
           body=msg(_l("%(name)s proposes to change %(po)s from %(old)s to %(new)s."), name=actor.name,
                    po=order.po_number, old=money(change.old_total, order.currency),
                    new=money(change.new_total, order.currency)), link=order_link(order))


def can_approve(change: OrderChange, user: User) -> str | None:
    """None when ``user`` may approve or reject the change now, else the sentence why not."""
    order = change.order
    if order.buyer_company_id != user.company_id:
        return "Only the buyer's approvers decide on this change."
    if not user.has_role(Role.approver):
        return "Only an approver can approve changes."
    if change.status != ChangeStatus.awaiting_approval:
        return f"This change is {change.status.label.lower()}, not awaiting approval."
    if user.id == change.proposed_by_id:
        return "You cannot approve a change you proposed."
    if any(a.approver_id == user.id for a in change.approvals):
        return "You have already approved this change; another approver must give the next approval."
    return None


def _lock_change(order: PurchaseOrder, change_id, expected_lock_version) -> OrderChange:
    """The change, re-read under the order's row lock (taken by the caller), its version compared."""
    change = get_change(order, change_id)
    db.session.refresh(change)
    check_version(expected_lock_version, change.lock_version,
                  lambda c: f"Change {c.number} changed since you opened the page (it is now "
                            f"{c.status.label.lower()}); reload and try again.", obj=change)
    return change


@retry_on_conflict
@_rollback_on_error
def decide_approval(order: PurchaseOrder, change_id, actor: User, expected_lock_version, decision: str,
                    comment: str = "") -> OrderChange:
    if decision not in ("approved", "rejected"):
        raise ValidationFailed(_l("Choose approve or reject."))
    order = lock_order(order, actor)
    change = _lock_change(order, change_id, expected_lock_version)
    why_not = can_approve(change, actor)
    if why_not:
        raise (Conflict if change.status != ChangeStatus.awaiting_approval else Forbidden)(why_not)
    comment = _reason(comment, 2000)
    if decision == "rejected" and not comment:
        raise ValidationFailed(_l("Say why you reject the change; the buyer sees your comment."),
                               errors={"comment": _l("A comment is required when rejecting.")})
    step = max((a.step for a in change.approvals), default=0) + 1
    change.approvals.append(OrderChangeApproval(step=step, approver_id=actor.id, decision=decision,
                                                comment=comment))
    flag_modified(change, "status")
    proposer = db.session.get(User, change.proposed_by_id) if change.proposed_by_id else None
    from portal.notifications.services import notify

    if decision == "rejected":
        change.status = ChangeStatus.withdrawn
        change.decided_at = utcnow()
        record("order", order.id, "change_not_approved", actor=actor, company_id=actor.company_id,
               detail=msg(_l("Change %(number)s: %(comment)s"), number=change.number, comment=comment),
               visible_to_company_id=order.buyer_company_id)
        notify([proposer] if proposer else [], kind="approval",
               title=msg(_l("Change %(number)s to order %(order)s was not approved"), number=change.number,
                         order=numbers_text(order)),
               body=msg("%(name)s: %(comment)s", name=actor.name, comment=comment), link=order_link(order))
    else:
        done = len([a for a in change.approvals if a.decision == "approved"])
        record("order", order.id, "change_approval", actor=actor, company_id=actor.company_id,
               detail=(msg(_l("Change %(number)s: approval %(done)s of %(required)s: %(comment)s"),
                           number=change.number, done=done, required=change.approvals_required, comment=comment)
                       if comment else msg(_l("Change %(number)s: approval %(done)s of %(required)s"),
                                           number=change.number, done=done, required=change.approvals_required)),
               visible_to_company_id=order.buyer_company_id)
        if done >= change.approvals_required:
            record("order", order.id, "change_proposed", actor=proposer, company_id=order.buyer_company_id,
                   detail=msg(_l("Change %(number)s: %(summary)s. %(totals)s"), number=change.number,
                              summary=joined([line_message(cl, order.currency) for cl in change.lines]),
                              totals=_totals(change.old_total, change.new_total, order.currency)))
            _credit_step(order, change)
            notify([proposer] if proposer else [], kind="approval",
                   title=msg(_l("Change %(number)s to order %(order)s is approved"), number=change.number,
                             order=numbers_text(order)),
                   body=msg(_l("It went to the supplier.")), link=order_link(order))
        else:
            notify([u for u in _approvers(order, change) if u.id != actor.id], kind="approval",
                   title=msg(_l("Change %(number)s to order %(order)s needs the next approval"),
                             number=change.number, order=numbers_text(order)),
                   body=msg(_l("%(name)s gave approval %(done)s of %(required)s."), name=actor.name, done=done,
                            required=change.approvals_required), link=order_link(order))
    _touch(order)
    commit()
    return change


# --------------------------------------------------------------------------------------------- credit hold

@retry_on_conflict
@_rollback_on_error
def decide_credit_hold(order: PurchaseOrder, change_id, actor: User, expected_lock_version, release: bool,
                       comment: str = "") -> OrderChange:
    """The supplier's accounts team releases a change on credit hold (it goes to the supplier's sales for the
    decision per line) or refuses it (withdrawn; the order stays as it is)."""
    order = lock_order(order, actor)
    require_supplier(order, actor, roles=(Role.accounts, Role.admin))
    change = _lock_change(order, change_id, expected_lock_version)
    if change.status != ChangeStatus.credit_hold:
        raise Conflict(_l("Change %(number)s is %(state)s, not on credit hold."),
                       number=change.number, state=state_fig(change.status))
    comment = _reason(comment, 2000)
    if not release and not comment:
        raise ValidationFailed(_l("Say why you refuse the change; the buyer sees your comment."),
                               errors={"comment": _l("A comment is required.")})
    if release:
        change.status = ChangeStatus.proposed
        record("order", order.id, "change_hold_released", actor=actor, company_id=actor.company_id,
               detail=(msg(_l("Change %(number)s: %(comment)s"), number=change.number, comment=comment) if comment
                       else msg(_l("Change %(number)s"), number=change.number)))
        _notify_supplier(order, msg(_l("Change %(number)s to order %(order)s was released from credit hold"),
                                    number=change.number, order=numbers_text(order)),
                         msg(_l("Accept or reject each line on the order page.")))
    else:
        change.status = ChangeStatus.withdrawn
        change.decided_at = utcnow()
        change.decided_by_id = actor.id
        record("order", order.id, "change_hold_refused", actor=actor, company_id=actor.company_id,
               detail=msg(_l("Change %(number)s: %(comment)s"), number=change.number, comment=comment))
    _notify_buyer(order, msg(_l("Change %(number)s to order %(order)s was released from credit hold") if release
                             else _l("Change %(number)s to order %(order)s was refused on credit grounds"),
                             number=change.number, order=numbers_text(order)), comment)
    _touch(order)
    commit()
    return change


@retry_on_conflict
@_rollback_on_error
def withdraw(order: PurchaseOrder, change_id, actor: User, expected_lock_version) -> OrderChange:
    """The buyer withdraws an open change order of theirs (nothing of it takes effect)."""
    order = lock_order(order, actor)
    require_buyer(order, actor)
    change = _lock_change(order, change_id, expected_lock_version)
    if change.origin != ChangeOrigin.buyer:
        raise Forbidden(_l("The supplier's proposals are accepted or rejected, not withdrawn."))
    if not change.is_open:
        raise Conflict(_l("Change %(number)s is %(state)s; it can no longer be withdrawn."),
                       number=change.number, state=state_fig(change.status))
    was_sent = change.status == ChangeStatus.proposed
    change.status = ChangeStatus.withdrawn
    change.decided_at = utcnow()
    record("order", order.id, "change_withdrawn", actor=actor, company_id=actor.company_id,
           detail=msg(_l("Change %(number)s withdrawn."), number=change.number))
    if was_sent:
        _notify_supplier(order, msg(_l("%(buyer)s withdrew change %(number)s to order %(order)s"),
                                    buyer=order.buyer.display_name, number=change.number, order=numbers_text(order)))
    _touch(order)
    commit()
    return change


def supersede_open_changes(order: PurchaseOrder, why: str) -> None:
    """The order moved on (cancelled, rejected): its open changes can no longer take effect. Flush only."""
    for change in db.session.scalars(sa.select(OrderChange).where(OrderChange.order_id == order.id,
                                                                  OrderChange.status.in_(OPEN_CHANGE_STATUSES))):
        change.status = ChangeStatus.superseded
        change.decided_at = utcnow()
        change.reason = (change.reason + f" [{why}]").strip()[:2000]
    db.session.flush()


# --------------------------------------------------------------------------------------------- supplier proposals

def supplier_proposal(order: PurchaseOrder, actor: User, plan) -> OrderChange:
    """The supplier's acknowledgement proposed changes (``plan``: [(line, ack, qty, date, price, note)]): record
    them as a change the buyer decides per line. Flush only (inside acknowledge's unit of work)."""
    supersede_open_changes(order, "replaced by a new acknowledgement")
    change = OrderChange(order_id=order.id, number=_next_number(order), origin=ChangeOrigin.supplier,
                         status=ChangeStatus.proposed, base_revision=order.revision or 1, reason="",
                         currency=order.currency, old_total=order.total_net, new_total=order.total_net,
                         proposed_by_id=actor.id, proposed_at=utcnow())
    for line, ack, qty, new_date, price, note in plan:
        if ack == LineAck.accepted:
            continue
        common = dict(order_line_id=line.id, position=line.position, sku=line.sku, description=line.description,
                      unit=line.unit, old_quantity=line.quantity,
                      old_date=line.delivery_date or order.delivery_date,
                      old_unit_price=line.unit_price, reason=note or "")
        if ack == LineAck.rejected:
            change.lines.append(OrderChangeLine(kind=ChangeKind.cancel, new_quantity=line.quantity, **common))
        else:
            change.lines.append(OrderChangeLine(kind=ChangeKind.update, new_quantity=qty, new_date=new_date,
                                                new_unit_price=price, **common))
    db.session.add(change)
    db.session.flush()
    change.new_total = _supplier_total(order, change)
    db.session.flush()
    return change


def _supplier_total(order: PurchaseOrder, change: OrderChange, accepted_ids=None) -> Decimal:
    """The supplier's proposals: a refused line (kind cancel) counts for nothing if accepted."""
    lines = list(change.lines)
    if accepted_ids is None:
        accepted_ids = {cl.id for cl in lines}
    total = ZERO
    by_line = {cl.order_line_id: cl for cl in lines}
    for line in order.lines:
        cl = by_line.get(line.id)
        qty, price = line.quantity - (line.short_closed_quantity or ZERO), line.unit_price
        if cl is not None and cl.id in accepted_ids:
            if cl.kind == ChangeKind.cancel:
                qty = ZERO
            else:
                qty = (cl.new_quantity if cl.new_quantity is not None else line.quantity) \
                    - (line.short_closed_quantity or ZERO)
                price = cl.new_unit_price if cl.new_unit_price is not None else price
        total += quantize(qty * price, order.currency)
    return total + quantize(order.shipping_amount or ZERO, order.currency)


def _legacy_supplier_change(order: PurchaseOrder) -> OrderChange:
    """An order in change_proposed from before change records existed: its proposals, from the lines."""
    plan = [(ln, ln.ack, ln.proposed_quantity, ln.proposed_date, ln.proposed_unit_price, ln.ack_note)
            for ln in order.lines]
    actor = db.session.get(User, order.created_by_id)
    change = supplier_proposal(order, actor, plan)
    change.proposed_by_id = None
    return change


def result_total(order: PurchaseOrder, change: OrderChange, accepted_ids) -> Decimal:
    """The order's total if exactly the change lines in ``accepted_ids`` are accepted (the preview of a
    decision)."""
    if change.origin == ChangeOrigin.supplier:
        return _supplier_total(order, change, set(accepted_ids))
    return total_if(order, list(change.lines), set(accepted_ids))


# --------------------------------------------------------------------------------------------- decisions

def _parse_decisions(change: OrderChange, decisions: dict) -> tuple[dict, dict]:
    """{change line id: (LineDecision, reason)} for every line of the change, or ValidationFailed."""
    errors, out = {}, {}
    decisions = decisions or {}
    known = {str(cl.id) for cl in change.lines}
    for key in decisions:
        if str(key) not in known:
            errors[f"cl-{key}"] = "A decision on a line of another change was sent; reload the page."
    for cl in change.lines:
        d = decisions.get(cl.id) or decisions.get(str(cl.id)) or {}
        choice = str(d.get("decision") or "").strip().lower()
        reason = _reason(d.get("reason"))
        label = f"Line {cl.position}"
        if choice in ("accept", "accepted"):
            out[cl.id] = (LineDecision.accepted, reason)
        elif choice in ("reject", "rejected"):
            if not reason:
                errors[f"cl-{cl.id}"] = f"{label}: give a reason for rejecting."
                continue
            out[cl.id] = (LineDecision.rejected, reason)
        else:
            errors[f"cl-{cl.id}"] = f"{label}: accept or reject the change."
    return out, errors


def _apply_line(order: PurchaseOrder, change: OrderChange, cl: OrderChangeLine, reason: str) -> None:
    """Make one accepted change line take effect (the order locked). A line that shipped since the change was
    proposed may no longer allow it: Conflict, nothing saved."""
    if cl.kind == ChangeKind.add:
        position = max((ln.position for ln in order.lines), default=0) + 1
        line = OrderLine(position=position, catalog_item_id=cl.catalog_item_id, sku=cl.sku,
                         description=cl.description, unit=cl.unit, quantity=cl.new_quantity,
                         unit_price=cl.new_unit_price, line_total=ZERO, delivery_date=cl.new_date,
                         ack=LineAck.accepted)
        order.lines.append(line)
        db.session.flush()
        cl.order_line_id = line.id
        cl.position = position
        return
    line = next((ln for ln in order.lines if ln.id == cl.order_line_id), None)
    if line is None:
        raise Conflict(_l("Line %(position)s is no longer on the order; reload the page."), position=cl.position)
    shipped = line.shipped_quantity or ZERO
    closed = line.short_closed_quantity or ZERO
    if cl.kind == ChangeKind.cancel:
        if change.origin == ChangeOrigin.supplier:
            line.ack = LineAck.rejected  # the supplier refused the line and the buyer agreed: nothing owed
            line.proposed_quantity = line.proposed_date = line.proposed_unit_price = None
            return
        left = line.quantity - shipped - closed
        if left <= 0:
            raise Conflict(_l("Line %(position)s has nothing open any more (it shipped since the change was "
                              "proposed); reload the page."), position=cl.position)
        line.short_closed_quantity = closed + left
        line.short_close_reason = (cl.reason or reason or "Cancelled by a change order")[:500]
        return
    if cl.new_quantity is not None:
        if cl.new_quantity < shipped + closed:
            raise Conflict(_l("Line %(position)s: %(q)s %(unit)s shipped since the change was proposed; the "
                              "quantity can no longer be %(q2)s. Reject the line or reload."),
                           position=cl.position, q=_q(shipped), unit=line.unit, q2=_q(cl.new_quantity))
        line.quantity = cl.new_quantity
    if cl.new_date is not None:
        line.delivery_date = cl.new_date
    if cl.new_unit_price is not None:
        line.unit_price = cl.new_unit_price
    if change.origin == ChangeOrigin.supplier:
        line.ack = LineAck.accepted
        line.proposed_quantity = line.proposed_date = line.proposed_unit_price = None


def _revert_line(order: PurchaseOrder, change: OrderChange, cl: OrderChangeLine) -> None:
    """A rejected line keeps its previous values; a supplier's rejected proposal leaves the line accepted as
    ordered."""
    if change.origin != ChangeOrigin.supplier or cl.order_line_id is None:
        return
    line = next((ln for ln in order.lines if ln.id == cl.order_line_id), None)
    if line is not None:
        line.ack = LineAck.accepted
        line.proposed_quantity = line.proposed_date = line.proposed_unit_price = None


def _decide(order: PurchaseOrder, change: OrderChange, actor: User, decisions: dict) -> OrderChange:
    """Flush-only core of a decision: the order locked, the change current. See ``decide``."""
    if change.status != ChangeStatus.proposed:
        who = f" by {change.decided_by.name}" if change.decided_by else ""
        raise Conflict(_l("Change %(number)s is already %(state)s%(who)s; reload the page."),
                       number=change.number, state=state_fig(change.status), who=who)
    if change.base_revision != (order.revision or 1):
        raise Conflict(_l("Change %(number)s was made for revision %(base_revision)s; the order is now on revision "
                          "%(revision)s. It is no longer current: reload the page."),
                       number=change.number, base_revision=change.base_revision, revision=order.revision)
    if order.status in FINAL:
        raise InvalidTransition(_l("This order is %(state)s; nothing more can be done with it."),
                                state=state_fig(order.status))
    parsed, errors = _parse_decisions(change, decisions)
    if errors:
        raise ValidationFailed(" ".join(errors.values()), errors=errors)
    accepted = [cl for cl in change.lines if parsed[cl.id][0] == LineDecision.accepted]
    old_total = order.total_net
    if accepted:
        revisions.first_revision(order)
    for cl in change.lines:
        decision, reason = parsed[cl.id]
        cl.decision, cl.decision_reason = decision, reason or None
        if decision == LineDecision.accepted:
            _apply_line(order, change, cl, reason)
        else:
            _revert_line(order, change, cl)
    recompute_totals(order)
    db.session.flush()
    delta = order.total_net - old_total
    if delta and order.status in OPEN_FOR_CREDIT:
        ledger.adjust_reservation_by(order, delta)
    change.status = ChangeStatus.decided
    change.decided_by_id = actor.id
    change.decided_at = utcnow()
    done = joined([msg(_l("accepted %(line)s"), line=line_message(cl, order.currency))
                   if cl.decision == LineDecision.accepted else
                   msg(_l("rejected %(line)s — %(reason)s"), line=line_message(cl, order.currency),
                       reason=cl.decision_reason or "") for cl in change.lines])
    totals = _totals(old_total, order.total_net, order.currency)
    if accepted:
        kind = "supplier proposal" if change.origin == ChangeOrigin.supplier else "change order"
        summary = f"Change {change.number} ({kind}): " \
                  + "; ".join(line_text(cl, order.currency) for cl in accepted) + f". {english(totals)}"
        rev = revisions.new_revision(order, summary, change_id=change.id, proposed_by=change.proposed_by_id,
                                     accepted_by=actor)
        change.revision_number = rev.number
    if change.origin == ChangeOrigin.supplier:
        if order.status == S.change_proposed:
            move(order, S.acknowledged, actor, "changes_decided",
                 msg(_l("Change %(number)s: %(done)s. %(totals)s"), number=change.number, done=done, totals=totals))
            order.acknowledged_at = utcnow()
        else:
            record("order", order.id, "changes_decided", actor=actor, company_id=actor.company_id,
                   detail=msg(_l("Change %(number)s: %(done)s. %(totals)s"), number=change.number, done=done,
                              totals=totals))
    else:
        if order.status == S.partially_shipped and all(open_quantity(ln) == 0 for ln in order.lines):
            move(order, S.shipped, actor, "change_decided",
                 msg(_l("Change %(number)s: %(done)s. %(totals)s Nothing is left to ship."), number=change.number,
                     done=done, totals=totals))
        else:
            record("order", order.id, "change_decided", actor=actor, company_id=actor.company_id,
                   detail=msg(_l("Change %(number)s: %(done)s. %(totals)s"), number=change.number, done=done,
                              totals=totals))
            _touch(order)
    return change


def _notify_decided(order: PurchaseOrder, change: OrderChange, actor: User) -> None:
    accepted = sum(1 for cl in change.lines if cl.decision == LineDecision.accepted)
    rejected = len(change.lines) - accepted
    label = revisions.revision_label(order)
    title = msg(_l("%(company)s decided change %(number)s to order %(order)s: %(accepted)s accepted, %(rejected)s "
                   "rejected"), company=actor.company.display_name, number=change.number, order=numbers_text(order),
                accepted=accepted, rejected=rejected)
    body = (msg(_l("The order is now %(revision)s, total %(total)s."), revision=label,
                total=money(order.total_net, order.currency)) if accepted
            else msg(_l("Nothing changed; the order stays %(revision)s."), revision=label))
    reasons = [msg(_l("line %(position)s: %(reason)s"), position=cl.position, reason=cl.decision_reason)
               for cl in change.lines if cl.decision == LineDecision.rejected]
    if reasons:
        body = msg(_l("%(outcome)s Rejected: %(reasons)s."), outcome=body, reasons=joined(reasons))
    if change.origin == ChangeOrigin.supplier:
        _notify_supplier(order, title, body)
    else:
        proposer = db.session.get(User, change.proposed_by_id) if change.proposed_by_id else None
        _notify_buyer(order, title, body, extra_users=[proposer] if proposer else [])


@retry_on_conflict
@_rollback_on_error
def decide(order: PurchaseOrder, change_id, actor: User, expected_lock_version, decisions: dict) -> OrderChange:
    """The other party accepts or rejects each line of a change (``decisions``: change line id ->
    {"decision": "accept"|"reject", "reason"}; a rejection needs a reason). Accepted lines take effect and make
    a new revision; rejected lines keep their previous values. Rejecting never cancels the order."""
    order = lock_order(order, actor)
    change = _lock_change(order, change_id, expected_lock_version)
    if change.origin == ChangeOrigin.buyer:
        require_supplier(order, actor)
    else:
        require_buyer(order, actor)
    _decide(order, change, actor, decisions)
    _notify_decided(order, change, actor)
    commit()
    return change


def supplier_change_for(order: PurchaseOrder) -> OrderChange:
    """The open supplier proposal of an order in change_proposed (made from the lines for older orders)."""
    change = open_change(order.id)
    if change is None or change.origin != ChangeOrigin.supplier:
        change = _legacy_supplier_change(order)
    return change


def decide_all(order: PurchaseOrder, actor: User, accept: bool, reason: str = "") -> OrderChange:
    """Flush only: the buyer accepts (or rejects) every proposal of the supplier's open change at once (the
    order locked and checked fresh by the caller)."""
    require_buyer(order, actor)
    if order.status != S.change_proposed:
        verb = "accept" if accept else "reject"
        raise InvalidTransition(_l("There are no proposed changes to %(verb)s; this order is %(state)s."),
                                verb=verb, state=state_fig(order.status))
    change = supplier_change_for(order)
    choice = "accept" if accept else "reject"
    decisions = {cl.id: {"decision": choice, "reason": reason or ("" if accept else "Rejected by the buyer")}
                 for cl in change.lines}
    _decide(order, change, actor, decisions)
    _notify_decided(order, change, actor)
    return change


def decision_roles(change: OrderChange) -> tuple:
    return SUPPLIER_ROLES if change.origin == ChangeOrigin.buyer else BUYER_ROLES
