"""The order lifecycle's shared steps: loading under the row lock, the stale-form check, one lifecycle move, the
commit, the notifications to either side and the move to ``submitted``. services, approvals and shipping all
use these; this module imports no other service module, so none of them import each other in a circle.
"""
from __future__ import annotations

import functools
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm.attributes import flag_modified
from sqlalchemy.orm.exc import StaleDataError

from portal import locking
from portal.accounts.models import Role, User
from portal.audit.services import record
from portal.credit import ledger
from portal.db import db
from portal.events.services import emit
from portal.errors import Conflict, Forbidden, InvalidTransition, NotFound
from portal.i18n import _l
from portal.errors import state_fig
from portal.money import ZERO, quantize
from portal.notifications.messages import Message
from portal.orders.models import LineAck, OrderLine, PurchaseOrder
from portal.orders.states import OrderStatus, check

S = OrderStatus
BUYER_ROLES = (Role.procurement, Role.admin)
SUPPLIER_ROLES = (Role.sales, Role.admin)
CREDIT_JOB = "portal.credit.jobs.credit_check_job"


def order_link(order: PurchaseOrder) -> str:
    return f"/orders/{order.id}"


def numbers_text(order: PurchaseOrder) -> str:
    """Both sides' numbers, as every notification shows them."""
    if order.supplier_order_number:
        return f"{order.po_number} / {order.supplier_order_number}"
    return order.po_number


def require_buyer(order: PurchaseOrder, actor: User, roles=BUYER_ROLES) -> None:
    if actor.company_id != order.buyer_company_id:
        if actor.company_id == order.supplier_company_id:
            raise Forbidden(_l("Only the buyer can do this."))
        raise NotFound(_l("No such order."))
    if not actor.has_role(*roles):
        raise Forbidden(_l("Your role does not allow this."))


def require_supplier(order: PurchaseOrder, actor: User, roles=SUPPLIER_ROLES) -> None:
    if not order.visible_to_supplier(actor.company_id):
        if actor.company_id == order.buyer_company_id:
            raise Forbidden(_l("Only the supplier can do this."))
        raise NotFound(_l("No such order."))
    if not actor.has_role(*roles):
        raise Forbidden(_l("Your role does not allow this."))


def parse_lock_version(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def lock_order(order_or_id, actor: User | None = None) -> PurchaseOrder:
    """Reload the order with a row lock (SELECT ... FOR UPDATE), fresh from the database (portal.locking).

    With ``actor`` the load is scoped to what the actor's company may see (another company's order: NotFound).
    The purchase order is the first lock of every order path (the lock order: portal/credit/ledger.py).
    """
    order_id = getattr(order_or_id, "id", order_or_id)
    db.session.expire_all()
    where = () if actor is None else (PurchaseOrder.visible_to(actor.company_id),)
    return ledger.lock_order(order_id, where=where)


def _stale(order: PurchaseOrder) -> str:
    return (f"This order changed since you opened the page (it is now {order.status.label.lower()}); "
            "reload and try again.")


def check_fresh(order: PurchaseOrder, expected_lock_version) -> None:
    """Refuse a stale form: the order changed since the page that posted it was loaded. The order must be
    locked by ``lock_order`` in this transaction: the version is compared on the locked, re-read row."""
    locking.check_fresh(order, expected_lock_version, _stale)


def move(order: PurchaseOrder, target: OrderStatus, actor, action: str, detail: str = "") -> None:
    """One lifecycle move: the transition table, the new status and the audit event."""
    current = order.status
    if current == S.cancelled or current == S.rejected or current == S.closed:
        raise InvalidTransition(_l("This order is %(state)s; nothing more can be done with it."),
                                state=state_fig(current))
    check(current, target)
    order.status = target
    if current == target:  # e.g. a second partial shipment: the row must still change, so that forms opened
        flag_modified(order, "status")  # before this move are stale (the version is compared under the lock)
    record("order", order.id, action, actor=actor, company_id=getattr(actor, "company_id", None),
           from_state=current, to_state=target, detail=detail)
    if target not in (S.placed, S.credit_hold):  # those two have events of their own (services.on_placed …)
        emit([order.buyer_company_id, order.supplier_company_id if order.sent_at else None],
             "order.submitted" if target == S.submitted else "order.changed", order)


def commit() -> None:
    """Commit the unit of work; a concurrent change to the order (optimistic version) is a Conflict."""
    try:
        db.session.commit()
    except StaleDataError as exc:
        db.session.rollback()
        raise Conflict(_l("This order changed since you opened the page; reload and try again.")) from exc
    except sa.exc.IntegrityError as exc:
        db.session.rollback()
        raise Conflict(_l("Someone else changed this order at the same moment; reload and try again.")) from exc


def _rollback_on_error(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except Exception:
            db.session.rollback()
            raise

    return wrapper


def enqueue_credit_check(order: PurchaseOrder) -> None:
    from portal.jobs import enqueue_after_commit

    enqueue_after_commit(CREDIT_JOB, order.id, queue="credit", job_id=f"credit-check-{order.id}")


def mark_submitted(order: PurchaseOrder, actor, action: str, detail: str = "") -> None:
    """-> submitted and the credit check queued after commit (flush only)."""
    move(order, S.submitted, actor, action, detail)
    enqueue_credit_check(order)


def recipients(order: PurchaseOrder) -> tuple[list[User], list[User]]:
    """Who hears of the order, in one SELECT: (the buyer's active procurement people and the order's creator if
    active; the supplier's active sales people, none while the order was never sent). Roles are filtered in SQL
    and not loaded. The creator is then in the session, so ``order.created_by`` costs no statement."""
    from sqlalchemy.orm import lazyload

    from portal.accounts.models import UserRole

    def having(company_id, role):
        return sa.and_(User.company_id == company_id,
                       User.id.in_(sa.select(UserRole.user_id).where(UserRole.role == role)))

    who = [having(order.buyer_company_id, Role.procurement), User.id == order.created_by_id]
    to_supplier = order.sent_to_supplier
    if to_supplier:
        who.append(having(order.supplier_company_id, Role.sales))
    buyer_side, supplier_side = [], []
    for user in db.session.scalars(sa.select(User).where(User.active.is_(True), sa.or_(*who))
                                   .order_by(User.id).options(lazyload(User.role_rows))):
        if user.company_id == order.supplier_company_id and user.id != order.created_by_id:
            supplier_side.append(user)
        elif user.company_id == order.buyer_company_id or user.id == order.created_by_id:
            buyer_side.append(user)
    return buyer_side, supplier_side


def _notify_buyer(order: PurchaseOrder, title: str | Message, body: str | Message = "", extra_users=(),
                  people=None) -> None:
    """``title``/``body``: a ``msg(...)`` worded for each reader (or plain text, shown as stored). ``people``: the
    buyer's side from ``recipients`` when the caller has it (no SELECT here then)."""
    from portal.notifications.services import company_users, notify

    if people is None:
        people = list(company_users(order.buyer_company_id, Role.procurement))
        creator = db.session.get(User, order.created_by_id)
        if creator is not None and creator.active:
            people.append(creator)
    people = [*people, *extra_users]
    notify(people, kind="order", title=title, body=body, link=order_link(order))


def _notify_supplier(order: PurchaseOrder, title: str | Message, body: str | Message = "", people=None) -> None:
    """``title``/``body``: as for ``_notify_buyer``. ``people``: the supplier's side from ``recipients`` when the
    caller has it (no SELECT here then)."""
    from portal.notifications.services import notify, notify_company

    if not order.sent_to_supplier:  # an order never sent is the buyer's alone: nothing to tell the supplier
        return
    if people is not None:
        notify(people, kind="order", title=title, body=body, link=order_link(order))
        return
    notify_company(order.supplier_company_id, (Role.sales,), kind="order", title=title, body=body,
                   link=order_link(order))


# ---------------------------------------------------------------------------------------------------
# Quantities and totals (flush only)
# ---------------------------------------------------------------------------------------------------

def billable_quantity(line: OrderLine) -> Decimal:
    """What the order still stands for on a line: the quantity less what the buyer closed (short-close or a
    cancelled line); a line the supplier rejected at acknowledgement stands for nothing."""
    if line.ack == LineAck.rejected:
        return ZERO
    return line.quantity - (line.short_closed_quantity or ZERO)


def recompute_totals(order: PurchaseOrder) -> None:
    total = ZERO
    for line in order.lines:
        line.line_total = quantize(billable_quantity(line) * line.unit_price, order.currency)
        total += line.line_total
    order.total_net = total + quantize(order.shipping_amount or ZERO, order.currency)


def lines_subtotal(order: PurchaseOrder) -> Decimal:
    """The goods: the net total without the shipping charge."""
    return order.total_net - quantize(order.shipping_amount or ZERO, order.currency)


def open_quantity(line: OrderLine) -> Decimal:
    """What the supplier still owes on a line (a line the supplier rejected owes nothing, a closed quantity
    is owed no more)."""
    if line.ack == LineAck.rejected:
        return ZERO
    return max(line.quantity - (line.shipped_quantity or ZERO) - (line.short_closed_quantity or ZERO), ZERO)
