"""Purchase orders: creation (catalog, reorder, award), submission, the credit hooks, acknowledgement,
cancellation and rejection. Approvals live in approvals.py; shipments and goods receipt in shipping.py.

Every public function here is one unit of work: it validates, changes, records audit and commits once
(the ``on_placed`` / ``on_credit_hold`` hooks are the exception: they only flush, inside the credit
engineer's transaction). Lifecycle moves go through ``portal.orders.states.check``.
"""
from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from portal.accounts.models import Company, Role, User
from portal.audit.services import record
from portal.credit import ledger
from portal.db import db, utcnow
from portal.events.services import emit
from portal.errors import Forbidden, InvalidTransition, NotFound, ValidationFailed
from portal.i18n import _l
from portal.errors import state_fig
from portal.locking import retry_on_conflict
from portal.money import ZERO, format_money, quantize, to_decimal
from portal.notifications.messages import day, joined, money, msg, number
from portal.orders.models import LineAck, OrderLine, OrderSource, PurchaseOrder
from portal.orders import approvals, changes, revisions
# The lifecycle's shared steps live in portal.orders.core (approvals and shipping use them too); importable
# from here as before.
from portal.orders.core import (BUYER_ROLES, CREDIT_JOB, SUPPLIER_ROLES, _notify_buyer,  # noqa: F401
                                _notify_supplier, _rollback_on_error, _stale, check_fresh,
                                commit, enqueue_credit_check, lock_order, mark_submitted, move, numbers_text,
                                order_link, parse_lock_version, recipients, require_buyer, require_supplier,
                                recompute_totals, lines_subtotal, open_quantity)
from portal.orders.numbers import new_po_number, new_supplier_order_number
from portal.orders.states import OrderStatus
from portal.tenancy import scoped

S = OrderStatus
DEFAULT_PAYMENT_TERMS_DAYS = 30
PO_PDF_JOB = "portal.orders.jobs.po_pdf_job"
SHIPPED_STATES = {S.partially_shipped, S.shipped, S.received, S.closed}


# ---------------------------------------------------------------------------------------------------
# Small helpers (flush only)
# ---------------------------------------------------------------------------------------------------

def payment_terms_for(supplier_company_id: int, buyer_company_id: int) -> int:
    from portal.credit.models import CreditAccount

    days = db.session.scalar(sa.select(CreditAccount.payment_terms_days).where(
        CreditAccount.supplier_company_id == supplier_company_id,
        CreditAccount.buyer_company_id == buyer_company_id))
    return DEFAULT_PAYMENT_TERMS_DAYS if days is None else days


def _release_credit(order: PurchaseOrder) -> None:
    ledger.release_reservation(order)


# ---------------------------------------------------------------------------------------------------
# Creation
# ---------------------------------------------------------------------------------------------------

def _address_text(company: Company) -> str:
    return "\n".join([company.legal_name, *company.address_lines])


def _build_lines(order: PurchaseOrder, lines: list[dict]) -> None:
    if not lines:
        raise ValidationFailed(_l("An order needs at least one line."))
    errors = {}
    for i, spec in enumerate(lines, 1):
        try:
            qty = to_decimal(spec.get("quantity"), f"Line {i} quantity")
            price = to_decimal(spec.get("unit_price"), f"Line {i} unit price")
        except ValidationFailed as exc:
            errors[f"line-{i}"] = exc.message
            continue
        if qty <= 0:
            errors[f"line-{i}"] = f"Line {i}: the quantity must be more than 0."
            continue
        if price < 0:
            errors[f"line-{i}"] = f"Line {i}: the unit price cannot be negative."
            continue
        description = (spec.get("description") or "").strip()
        if not description:
            errors[f"line-{i}"] = f"Line {i}: a description is required."
            continue
        order.lines.append(OrderLine(
            position=i, catalog_item_id=spec.get("catalog_item_id"), award_line_id=spec.get("award_line_id"),
            sku=spec.get("sku"), part_number=spec.get("part_number"), description=description[:500],
            unit=spec.get("unit") or "pcs", quantity=qty, unit_price=price,
            line_total=quantize(qty * price, order.currency), moq=spec.get("moq"),
            pack_size=spec.get("pack_size"), delivery_date=spec.get("delivery_date")))
    if errors:
        raise ValidationFailed(" ".join(errors.values()), errors=errors)
    recompute_totals(order)


@_rollback_on_error
def create_draft_order(actor: User, supplier_company_id: int, lines: list[dict], *, source="catalog",
                       reorder_of_id=None, delivery_date: date | None = None, notes: str = "",
                       currency: str | None = None) -> PurchaseOrder:
    """A draft order from already validated and priced lines (catalog, CSV, reorder, API)."""
    order = build_draft_order(actor, supplier_company_id, lines, source=source, reorder_of_id=reorder_of_id,
                              delivery_date=delivery_date, notes=notes, currency=currency)
    commit()
    return order


def build_draft_order(actor: User, supplier_company_id: int, lines: list[dict], *, source="catalog",
                      reorder_of_id=None, delivery_date: date | None = None, notes: str = "",
                      currency: str | None = None) -> PurchaseOrder:
    """``create_draft_order`` without the commit: for a unit of work that makes orders among other things
    (requisitions turned into orders). Flushes only."""
    buyer = actor.company
    if not buyer.is_buyer:
        raise Forbidden(_l("Only a buying company can place orders."))
    if not actor.has_role(*BUYER_ROLES):
        raise Forbidden(_l("Your role does not allow creating orders."))
    supplier = db.session.get(Company, supplier_company_id)
    if supplier is None or not supplier.is_supplier or supplier.id == buyer.id:
        raise ValidationFailed(_l("Choose a supplier."))
    if reorder_of_id is not None:
        original = db.session.scalar(scoped(PurchaseOrder, buyer.id).where(PurchaseOrder.id == reorder_of_id,
                                                                            PurchaseOrder.buyer_company_id == buyer.id))
        if original is None:
            raise NotFound(_l("No such order to reorder."))
    if currency is None:
        currency = next((ln.get("currency") for ln in lines if ln.get("currency")), None) or buyer.default_currency
    order = PurchaseOrder(
        buyer_company_id=buyer.id, supplier_company_id=supplier.id, source=OrderSource(source),
        reorder_of_id=reorder_of_id, currency=currency, delivery_address=_address_text(buyer),
        delivery_date=delivery_date, payment_terms_days=payment_terms_for(supplier.id, buyer.id),
        notes=notes or "", status=S.draft, created_by_id=actor.id, total_net=ZERO)
    _build_lines(order, lines)
    order.po_number = new_po_number(buyer.id)
    db.session.add(order)
    db.session.flush()
    record("order", order.id, "created", actor=actor, company_id=buyer.id, to_state=S.draft,
           detail=msg(_l("%(number)s: %(n)s line(s) from %(source)s"), number=order.po_number, n=len(order.lines),
                      source=msg(SOURCE_WORDS[OrderSource(source)])))
    return order


@_rollback_on_error
def create_orders_from_award(award_id: int, actor: User) -> list[PurchaseOrder]:
    """One draft purchase order per awarded supplier, at the awarded quantities and prices. Idempotent:
    the Award row is locked and ``orders_created_at`` checked, so a second call (or a double click) creates
    nothing new and returns the orders made the first time."""
    from portal.quotes.models import Award, AwardLine
    from portal.rfq.models import RfqLine

    award = db.session.scalar(sa.select(Award).where(Award.id == award_id).with_for_update(of=Award)
                              .execution_options(populate_existing=True))
    if award is None or award.buyer_company_id != actor.company_id:
        raise NotFound(_l("No such award."))
    if not actor.has_role(*BUYER_ROLES):
        raise Forbidden(_l("Your role does not allow creating orders."))
    if award.orders_created_at is not None:
        existing = list(db.session.scalars(sa.select(PurchaseOrder).where(PurchaseOrder.award_id == award.id)
                                           .order_by(PurchaseOrder.id)))
        db.session.rollback()
        return existing
    rfq = award.rfq
    buyer = actor.company
    award_lines = list(db.session.scalars(
        sa.select(AwardLine).join(RfqLine, RfqLine.id == AwardLine.rfq_line_id)
        .where(AwardLine.award_id == award.id).order_by(AwardLine.supplier_company_id, RfqLine.position)))
    if not award_lines:
        raise ValidationFailed(_l("This award has no awarded lines."))
    by_supplier: dict[int, list] = {}
    for al in award_lines:
        by_supplier.setdefault(al.supplier_company_id, []).append(al)
    orders = []
    for supplier_id, als in by_supplier.items():
        order = PurchaseOrder(
            buyer_company_id=buyer.id, supplier_company_id=supplier_id, source=OrderSource.award,
            award_id=award.id, rfq_id=rfq.id, currency=rfq.currency,
            delivery_address=rfq.delivery_address or _address_text(buyer), delivery_date=rfq.delivery_date,
            payment_terms_days=payment_terms_for(supplier_id, buyer.id),
            notes=f"From {rfq.reference}: {rfq.title}", status=S.draft, created_by_id=actor.id, total_net=ZERO)
        # The freight the supplier quoted in the version that won these lines (the award shows it in the
        # supplier's total, so the order carries it too).
        version = als[0].quote_line.version if als[0].quote_line else None
        order.shipping_amount = quantize(version.shipping_cost or ZERO, rfq.currency) if version else ZERO
        specs = []
        for al in als:
            rl = al.rfq_line
            ql = al.quote_line
            specs.append({"award_line_id": al.id, "part_number": rl.part_number, "description": rl.description,
                          "unit": rl.unit, "quantity": al.quantity, "unit_price": al.unit_price,
                          "moq": ql.moq if ql else None, "pack_size": ql.pack_size if ql else None,
                          "delivery_date": rfq.delivery_date})
        _build_lines(order, specs)
        order.po_number = new_po_number(buyer.id)
        db.session.add(order)
        db.session.flush()
        record("order", order.id, "created", actor=actor, company_id=buyer.id, to_state=S.draft,
               detail=msg(_l("%(number)s from the award of %(rfq)s"), number=order.po_number,
                          rfq=rfq.reference))
        orders.append(order)
    award.orders_created_at = utcnow()
    # The buyer's alone: draft orders, and the PO numbers of every awarded supplier (a supplier must not learn
    # who else won).
    record("rfq", rfq.id, "orders_created", actor=actor, company_id=buyer.id,
           detail=", ".join(o.po_number for o in orders), visible_to_company_id=buyer.id)
    commit()
    return orders


def awards_without_orders(company_id: int):
    from portal.quotes.models import Award

    return list(db.session.scalars(
        sa.select(Award).where(Award.buyer_company_id == company_id, Award.orders_created_at.is_(None))
        .options(selectinload(Award.rfq), selectinload(Award.lines))  # the page shows both of each award
        .order_by(Award.awarded_at.desc())))


# ---------------------------------------------------------------------------------------------------
# Submission and the credit hooks
# ---------------------------------------------------------------------------------------------------

@retry_on_conflict
@_rollback_on_error
def submit(order: PurchaseOrder, actor: User, expected_lock_version) -> PurchaseOrder:
    order = lock_order(order, actor)
    require_buyer(order, actor)
    check_fresh(order, expected_lock_version)
    if order.status != S.draft:
        raise InvalidTransition(_l("Only a draft can be submitted; this order is %(state)s."),
                                state=state_fig(order.status))
    if not order.lines:
        raise ValidationFailed(_l("Add at least one line before submitting."))
    order.submitted_by_id = actor.id
    order.submitted_at = utcnow()
    required = approvals.required_approvals(order)
    # The budget check when the order would be sent now (portal/budgets/orders.py; the order row is locked):
    # a blocking budget it exceeds holds it for the cost-centre owner's approval over budget.
    from portal.budgets.orders import check_send

    order.budget_held = None if required else check_send(order, actor, [])
    if required or order.budget_held:
        move(order, S.awaiting_approval, actor, "submitted", order.budget_held or
             f"Needs {required} approval{'s' if required > 1 else ''} "
             f"(total {format_money(order.total_net, order.currency)}).")
        if required:
            approvals.notify_approvers(order, actor)
    else:
        mark_submitted(order, actor, "submitted")
    commit()
    return order


def on_placed(order: PurchaseOrder, actor: User | None = None, detail: str | None = None) -> None:
    """Flush-only hook, called inside the credit check's transaction when the order becomes placed.

    ``actor``/``detail``: who placed it and why, for the history (a hold released by hand is no passed check)."""
    from portal.jobs import enqueue_after_commit

    detail = detail or msg(_l("Credit check passed."))
    # Nothing is flushed in between (issue 20): the number, the recipients and the lines are read first, and the
    # order's UPDATE, revision 1, the audit rows, the notices and their mails go out in the caller's one flush
    # (one INSERT per table), instead of ~10 flushes, each a round trip and a unit-of-work pass.
    first_time = order.placed_at is None  # never placed before: no revision 1 to look for
    with db.session.no_autoflush:
        if order.status != S.placed:
            move(order, S.placed, actor, "placed", detail)
        else:
            record("order", order.id, "placed", actor=actor, to_state=S.placed, detail=detail)
        if not order.supplier_order_number:
            order.supplier_order_number = new_supplier_order_number(order.supplier_company_id)
        order.placed_at = order.placed_at or utcnow()
        buyer_side, supplier_side = recipients(order)
        revisions.first_revision(order, placing=first_time)
        _notify_buyer(order, msg(_l("Order %(order)s placed"), order=numbers_text(order)),
                      msg(_l("%(supplier)s received your purchase order %(po)s (their order %(their)s)."),
                          supplier=order.supplier.display_name, po=order.po_number,
                          their=order.supplier_order_number), people=buyer_side)
        _notify_supplier(order, msg(_l("New order %(order)s from %(buyer)s"), order=numbers_text(order),
                                    buyer=order.buyer.display_name),
                         msg(_l("Purchase order %(po)s (%(total)s) is waiting for your acknowledgement as %(their)s."),
                             po=order.po_number, total=money(order.total_net, order.currency),
                             their=order.supplier_order_number), people=supplier_side)
    enqueue_after_commit(PO_PDF_JOB, order.id, queue="documents", job_id=f"po-pdf-{order.id}")
    emit([order.buyer_company_id, order.supplier_company_id], "order.placed", order)


def on_credit_hold(order: PurchaseOrder) -> None:
    """Flush-only hook, called inside the credit check's transaction when the order goes on credit hold."""
    if order.status != S.credit_hold:
        move(order, S.credit_hold, None, "credit_hold", msg(_l("Credit check put the order on hold.")))
    else:
        record("order", order.id, "credit_hold", to_state=S.credit_hold,
               detail=msg(_l("Credit check put the order on hold.")))
    db.session.flush()
    _notify_buyer(order, msg(_l("Order %(order)s is on credit hold"), order=numbers_text(order)),
                  msg(_l("The credit check of %(supplier)s held the order; their accounts team decides."),
                      supplier=order.supplier.display_name))
    from portal.notifications.services import company_users, notify

    # Only the accounts team can release a hold: they are asked to decide; sales people are told who decides.
    deciders = company_users(order.supplier_company_id, Role.accounts)
    title = msg(_l("Order %(order)s from %(buyer)s is on credit hold"), order=numbers_text(order),
                buyer=order.buyer.display_name)
    notify(deciders, kind="order", title=title, body=msg(_l("Release or reject it on the order page.")),
           link=order_link(order))
    notify([u for u in company_users(order.supplier_company_id, Role.sales) if u not in deciders], kind="order",
           title=title, body=msg(_l("Your accounts team decides whether the order goes ahead; you are told when it "
                                    "does.")), link=order_link(order))
    emit([order.buyer_company_id, order.supplier_company_id], "order.credit_hold", order)


# ---------------------------------------------------------------------------------------------------
# Cancellation (buyer) and rejection (supplier)
# ---------------------------------------------------------------------------------------------------

def _reason(text: str | None, what: str) -> str:
    reason = (text or "").strip()
    if not reason:
        raise ValidationFailed(_l("Give a reason for the %(what)s."), what=what,
                               errors={"reason": _l("A reason is required.")})
    if len(reason) > 2000:
        raise ValidationFailed(_l("The reason is too long (2,000 characters at most)."),
                               errors={"reason": _l("2,000 characters at most.")})
    return reason


@retry_on_conflict
@_rollback_on_error
def cancel(order: PurchaseOrder, actor: User, expected_lock_version, reason: str) -> PurchaseOrder:
    order = lock_order(order, actor)
    require_buyer(order, actor)
    check_fresh(order, expected_lock_version)
    reason = _reason(reason, "cancellation")
    if order.status in SHIPPED_STATES:
        raise InvalidTransition(_l("Goods have already shipped on this order; it can no longer be cancelled."))
    was_with_supplier = order.sent_to_supplier
    move(order, S.cancelled, actor, "cancelled", reason)
    order.cancel_reason = reason
    changes.supersede_open_changes(order, "the order was cancelled")
    _release_credit(order)
    if was_with_supplier:
        _notify_supplier(order, msg(_l("Order %(order)s was cancelled by %(buyer)s"), order=numbers_text(order),
                                    buyer=order.buyer.display_name), msg(_l("Reason: %(reason)s"), reason=reason))
    commit()
    return order


@retry_on_conflict
@_rollback_on_error
def reject(order: PurchaseOrder, actor: User, expected_lock_version, reason: str) -> PurchaseOrder:
    """The supplier declines a placed order."""
    order = lock_order(order, actor)
    require_supplier(order, actor)
    check_fresh(order, expected_lock_version)
    reason = _reason(reason, "rejection")
    if order.status != S.placed:
        raise InvalidTransition(_l("Only a placed order can be rejected; this one is %(state)s."),
                                state=state_fig(order.status))
    _do_reject(order, actor, reason)
    commit()
    return order


def _do_reject(order: PurchaseOrder, actor, reason: str) -> None:
    move(order, S.rejected, actor, "rejected", reason)
    order.reject_reason = reason
    changes.supersede_open_changes(order, "the order was rejected")
    _release_credit(order)
    _notify_buyer(order, msg(_l("Order %(order)s was rejected by %(supplier)s"), order=numbers_text(order),
                             supplier=order.supplier.display_name), msg(_l("Reason: %(reason)s"), reason=reason))


# ---------------------------------------------------------------------------------------------------
# Acknowledgement (supplier) and the buyer's answer to proposed changes
# ---------------------------------------------------------------------------------------------------

ACK_ACTIONS = ("accept", "change", "reject")


def _parse_date(text, label) -> date | None:
    text = (text or "").strip() if not isinstance(text, date) else text
    if not text:
        return None
    if isinstance(text, date):
        return text
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationFailed(_l("%(label)s: %(text)s is not a date (use YYYY-MM-DD)."), label=label, text=repr(text))


@retry_on_conflict
@_rollback_on_error
def acknowledge(order: PurchaseOrder, actor: User, expected_lock_version, decisions: dict) -> PurchaseOrder:
    """Per line: accept, propose another quantity and/or date (with a note), or reject the line.

    ``decisions`` maps line id -> {"action", "quantity", "date", "price", "note"} (text as typed). No change ->
    acknowledged; proposals or rejected lines -> change_proposed, recorded as a change the buyer decides per
    line (portal/orders/changes.py); every line rejected -> the order is rejected.
    """
    order = lock_order(order, actor)
    require_supplier(order, actor)
    check_fresh(order, expected_lock_version)
    if order.status != S.placed:
        raise InvalidTransition(_l("Only a placed order can be acknowledged; this one is %(state)s."),
                                state=state_fig(order.status))
    errors: dict[str, str] = {}
    plan = []
    for line in order.lines:
        d = decisions.get(line.id) or decisions.get(str(line.id)) or {}
        action = (d.get("action") or "accept").strip()
        note = (d.get("note") or "").strip()[:500]
        label = f"Line {line.position}"
        if action not in ACK_ACTIONS:
            errors[f"line-{line.id}"] = f"{label}: choose accept, propose a change or reject."
            continue
        if action == "accept":
            plan.append((line, LineAck.accepted, None, None, None, note or None))
            continue
        if action == "reject":
            if not note:
                errors[f"line-{line.id}"] = f"{label}: give a reason for rejecting the line."
                continue
            plan.append((line, LineAck.rejected, None, None, None, note))
            continue
        # change
        try:
            qty_text = (str(d.get("quantity") or "")).strip()
            qty = to_decimal(qty_text, f"{label} quantity") if qty_text else None
            new_date = _parse_date(d.get("date"), f"{label} date")
            price_text = (str(d.get("price") or "")).strip()
            price = to_decimal(price_text, f"{label} price") if price_text else None
        except ValidationFailed as exc:
            errors[f"line-{line.id}"] = exc.message
            continue
        if qty is not None and qty <= 0:
            errors[f"line-{line.id}"] = (f"{label}: a proposed quantity must be more than 0 "
                                         "(reject the line instead).")
            continue
        if price is not None and price < 0:
            errors[f"line-{line.id}"] = f"{label}: a proposed price cannot be negative."
            continue
        qty_changed = qty is not None and qty != line.quantity
        date_changed = new_date is not None and new_date != (line.delivery_date or order.delivery_date)
        price_changed = price is not None and price != line.unit_price
        if not qty_changed and not date_changed and not price_changed:
            errors[f"line-{line.id}"] = f"{label}: propose a different quantity, date or price, or accept the line."
            continue
        if not note:
            errors[f"line-{line.id}"] = f"{label}: add a note explaining the proposed change."
            continue
        plan.append((line, LineAck.changed, qty if qty_changed else None, new_date if date_changed else None,
                     price if price_changed else None, note))
    if errors:
        raise ValidationFailed(" ".join(errors.values()), errors=errors)
    for line, ack, qty, new_date, price, note in plan:
        line.ack, line.proposed_quantity, line.proposed_date, line.ack_note = ack, qty, new_date, note
        line.proposed_unit_price = price
    if all(p[1] == LineAck.rejected for p in plan):
        _do_reject(order, actor, "The supplier rejected every line: "
                   + "; ".join(f"line {p[0].position}: {p[5]}" for p in plan))
        commit()
        return order
    if not order.supplier_order_number:
        order.supplier_order_number = new_supplier_order_number(order.supplier_company_id)
    if all(p[1] == LineAck.accepted for p in plan):
        move(order, S.acknowledged, actor, "acknowledged", msg(_l("All lines accepted.")))
        order.acknowledged_at = utcnow()
        _notify_buyer(order, msg(_l("Order %(order)s acknowledged by %(supplier)s"), order=numbers_text(order),
                                 supplier=order.supplier.display_name))
    else:
        proposed = [_change_text(p[0]) for p in plan if p[1] != LineAck.accepted]
        change = changes.supplier_proposal(order, actor, plan)
        move(order, S.change_proposed, actor, "change_proposed",
             msg(_l("%(changes)s. Total %(old)s → %(new)s if all are accepted"), changes=joined(proposed),
                 old=money(order.total_net, order.currency), new=money(change.new_total, order.currency)))
        _notify_buyer(order, msg(_l("%(supplier)s proposes changes to order %(order)s"),
                                 supplier=order.supplier.display_name, order=numbers_text(order)),
                      msg(_l("%(changes)s. Total %(old)s → %(new)s if all are accepted. Accept or reject the changes "
                             "on the order page."), changes=joined(proposed),
                          old=money(order.total_net, order.currency), new=money(change.new_total, order.currency)))
    commit()
    return order


# How an order came to be, inside its "created" history sentence.
SOURCE_WORDS = {OrderSource.award: _l("award"), OrderSource.catalog: _l("catalog"), OrderSource.reorder: _l("reorder"),
                OrderSource.api: _l("api"), OrderSource.framework: _l("framework")}


def _change_text(line: OrderLine):
    """A line's proposal as a message (worded for the reader; ``english()`` gives the stored text)."""
    if line.ack == LineAck.rejected:
        return msg(_l("line %(position)s rejected (%(note)s)"), position=line.position, note=line.ack_note or "")
    parts = []
    if line.proposed_quantity is not None:
        parts.append(msg(_l("quantity %(old)s -> %(new)s"), old=number(line.quantity),
                         new=number(line.proposed_quantity)))
    if line.proposed_date is not None:
        parts.append(msg(_l("date -> %(date)s"), date=day(line.proposed_date)))
    if line.proposed_unit_price is not None:
        parts.append(msg(_l("price %(old)s -> %(new)s"), old=number(line.unit_price),
                         new=number(line.proposed_unit_price)))
    if line.ack_note:
        return msg(_l("line %(position)s: %(changes)s (%(note)s)"), position=line.position,
                   changes=joined(parts, ", "), note=line.ack_note)
    return msg(_l("line %(position)s: %(changes)s"), position=line.position, changes=joined(parts, ", "))


@retry_on_conflict
@_rollback_on_error
def accept_changes(order: PurchaseOrder, actor: User, expected_lock_version) -> PurchaseOrder:
    """The buyer accepts every proposal of the supplier at once (per line: portal.orders.changes.decide)."""
    order = lock_order(order, actor)
    require_buyer(order, actor)
    check_fresh(order, expected_lock_version)
    changes.decide_all(order, actor, accept=True)
    commit()
    return order


REJECTED_CHANGES_REASON = "Buyer rejected the supplier's changes"


@retry_on_conflict
@_rollback_on_error
def reject_changes(order: PurchaseOrder, actor: User, expected_lock_version, reason: str = "") -> PurchaseOrder:
    """The buyer rejects every proposal of the supplier: the lines keep their values and the order is
    acknowledged as it stands. It is never cancelled by this (``cancel`` does that, with a reason)."""
    order = lock_order(order, actor)
    require_buyer(order, actor)
    check_fresh(order, expected_lock_version)
    changes.decide_all(order, actor, accept=False, reason=(reason or "").strip()[:500] or REJECTED_CHANGES_REASON)
    commit()
    return order


# ---------------------------------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------------------------------

PAGE_SIZE = 50


def list_filter(company: Company, *, status: str | None = None, q: str | None = None):
    """The where-clause of the order list for one company (the buyer side uses the composite index
    ix_purchase_orders_buyer_id, the supplier side ix_purchase_orders_supplier_id)."""
    P = PurchaseOrder
    as_supplier = P.supplier_scope(company.id)
    if company.is_buyer and company.is_supplier:
        where = [sa.or_(P.buyer_company_id == company.id, as_supplier)]
    elif company.is_supplier:
        where = [as_supplier]
    else:
        where = [P.buyer_company_id == company.id]
    if status:
        try:
            where.append(P.status == OrderStatus(status))
        except ValueError:
            pass
    if q:
        term = q.strip().upper()
        if term:
            where.append(sa.or_(P.po_number.contains(term, autoescape=True),
                                P.supplier_order_number.contains(term, autoescape=True)))
    return where


def list_orders_keyset(company: Company, *, status=None, q=None, after=None, before=None,
                       page_size: int = PAGE_SIZE):
    """One page of the order list by cursor (portal/paging.py): one statement at any depth, no count."""
    from portal.paging import keyset_page

    return keyset_page(sa.select(PurchaseOrder).where(*list_filter(company, status=status, q=q)), PurchaseOrder.id,
                       after=after, before=before, size=page_size)


def list_orders(company: Company, *, status=None, q=None, page: int = 1, page_size: int = PAGE_SIZE):
    """(orders, total, pages) — newest first by id (stable), two queries whatever the page."""
    where = list_filter(company, status=status, q=q)
    total = db.session.scalar(sa.select(sa.func.count(PurchaseOrder.id)).where(*where)) or 0
    pages = max(1, -(-total // page_size))
    page = min(max(1, page), pages)
    orders = list(db.session.scalars(
        sa.select(PurchaseOrder).where(*where).order_by(PurchaseOrder.id.desc())
        .limit(page_size).offset((page - 1) * page_size)).unique())
    return orders, total, page, pages
