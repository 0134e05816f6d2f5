"""The credit ledger: a buyer's exposure at a supplier, the reservations behind it, and the row locks that keep
it true under concurrency. Orders, invoices and credit all call this module; it imports only models (and the
database, money and locking helpers), never another domain's services.

Exposure of a buyer at a supplier (in one currency) = unpaid invoices + reserved amounts of placed,
not-yet-invoiced orders. A reservation is made when an order passes its credit check (or a hold is released),
follows the order's total when the buyer accepts changes, shrinks as parts are invoiced, is converted when the
order is fully invoiced and released when it is cancelled or rejected.

Lock order — every path takes the row locks it needs in this order, and only in this order:

    1. the RFQ row, then its quote rows                                      (sourcing)
    2. the purchase order                                            ``lock_order``
       or (accounts payable, never together with an order) a payment run or a remittance advice
       (its change orders and revisions are written only under the order's lock: no lock of their own)
    3. the invoice (or the invoice a credit note corrects)           ``lock_invoice``
       (several invoices at once: in id order); then its dispute row (portal.payables)
       (the dunning sweep, portal.receivables.dunning, takes only this lock, one invoice per transaction)
    4. the pair's credit account, then its reservation rows          ``lock_pair_account``
    5. the document counter (PO, SO, DN, INV, CRN numbers)           ``portal.numbering.next_number``
    (a requisition's approval, never with an order: the requisition row, then its budget rows in id order)
    (sending an order — its submit, or the approval that completes its round — after the order row: the budget
     rows of its cost centres in id order, portal/budgets/orders.py; nothing else is locked in between)
    6. a webhook endpoint, then its delivery rows                    ``portal.webhooks.services``
       (events and new deliveries are written just before a business transaction commits, after its other
       locks; the delivery job holds the endpoint lock only to claim and to record, never during the request)

A path may skip steps but never go back up: an invoice path locks the order before the invoice even when it
only reads the order, because inserting a row that references the order takes a KEY SHARE lock on it, and two
such transactions that then ask for FOR UPDATE deadlock. Where PostgreSQL still reports a deadlock or a
serialization failure, ``portal.locking.retry_on_conflict`` re-runs the unit of work from re-read rows.
"""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import lazyload

from portal.credit.models import CreditAccount, CreditReservation, ReservationStatus
from portal.db import db, utcnow
from portal.invoices.models import DocumentKind, Invoice
from portal.invoices.states import InvoiceStatus
from portal.locking import lock_row
from portal.money import ZERO, quantize
from portal.orders.models import OrderLine, PurchaseOrder
from portal.i18n import _l

OPEN_STATUSES = (InvoiceStatus.issued, InvoiceStatus.partially_paid)


# --------------------------------------------------------------------------------------------- locks (in order)

def lock_order(order_id: int, *, where=(), with_lines: bool = False) -> PurchaseOrder:
    """Step 2: SELECT ... FOR UPDATE the purchase order and re-read it (NotFound when missing or not visible
    through ``where``). ``with_lines`` re-reads its lines too (quantities shipped are counted from them)."""
    order = lock_row(PurchaseOrder, order_id, where=where, not_found=_l("No such order."))
    if with_lines:
        db.session.scalars(sa.select(OrderLine).where(OrderLine.order_id == order.id)
                           .execution_options(populate_existing=True)).all()
    return order


def lock_invoice(invoice_id: int) -> Invoice:
    """Step 3: SELECT ... FOR UPDATE the invoice and re-read it."""
    return lock_row(Invoice, invoice_id, not_found=_l("No such invoice."))


def lock_pair_account(supplier_id: int, buyer_id: int) -> CreditAccount | None:
    """Step 4: get-or-create the pair's account row (a copy of the default) and lock it until the transaction ends.

    Returns None when the supplier has neither an account for this buyer nor a default (nothing to lock; such
    orders always go on hold). On SQLite the INSERT takes the database write lock, which serialises as well.
    """
    def locked():
        return db.session.scalar(
            sa.select(CreditAccount)
            .where(CreditAccount.supplier_company_id == supplier_id, CreditAccount.buyer_company_id == buyer_id)
            .options(lazyload(CreditAccount.buyer))
            .with_for_update(of=CreditAccount)
            .execution_options(populate_existing=True))

    account = locked()  # the pair's row usually exists: one statement (the credit check's hot path)
    if account is not None:
        return account
    default = default_account(supplier_id)
    if default is not None:
        dialect = db.session.get_bind().dialect.name
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        now = utcnow()
        db.session.execute(
            insert(CreditAccount).values(
                supplier_company_id=supplier_id, buyer_company_id=buyer_id, limit_amount=default.limit_amount,
                currency=default.currency, payment_terms_days=default.payment_terms_days,
                block_on_overdue=default.block_on_overdue, created_at=now, updated_at=now)
            .on_conflict_do_nothing(index_elements=["supplier_company_id", "buyer_company_id"]))
    return locked()


# --------------------------------------------------------------------------------------------- accounts (reads)

def default_account(supplier_id: int) -> CreditAccount | None:
    return db.session.scalar(sa.select(CreditAccount).where(CreditAccount.supplier_company_id == supplier_id,
                                                            CreditAccount.buyer_company_id.is_(None)))


def pair_account(supplier_id: int, buyer_id: int) -> CreditAccount | None:
    return db.session.scalar(sa.select(CreditAccount).where(CreditAccount.supplier_company_id == supplier_id,
                                                            CreditAccount.buyer_company_id == buyer_id))


def effective_account(supplier_id: int, buyer_id: int) -> CreditAccount | None:
    """The buyer's own account at the supplier, else the supplier's default (read only)."""
    return pair_account(supplier_id, buyer_id) or default_account(supplier_id)


# --------------------------------------------------------------------------------------------- exposure

def unpaid_invoices_total(supplier_id: int, buyer_id: int, currency: str) -> Decimal:
    """Open amount of the buyer's issued, unpaid invoices at the supplier in ``currency``."""
    v = db.session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(Invoice.total_gross - Invoice.paid_amount
                                               - Invoice.credited_amount), 0))
        .where(Invoice.supplier_company_id == supplier_id, Invoice.buyer_company_id == buyer_id,
               Invoice.currency == currency, Invoice.kind == DocumentKind.invoice,
               Invoice.status.in_(OPEN_STATUSES)))
    return Decimal(v or 0)


def unpaid_invoices_totals(*where) -> dict[tuple[int, int, str], Decimal]:
    """``unpaid_invoices_total`` of many (supplier, buyer, currency) at once (a list page): one grouped statement
    over the invoices ``where`` selects; a key that is missing is zero."""
    rows = db.session.execute(
        sa.select(Invoice.supplier_company_id, Invoice.buyer_company_id, Invoice.currency,
                  sa.func.sum(Invoice.total_gross - Invoice.paid_amount - Invoice.credited_amount))
        .where(Invoice.kind == DocumentKind.invoice, Invoice.status.in_(OPEN_STATUSES), *where)
        .group_by(Invoice.supplier_company_id, Invoice.buyer_company_id, Invoice.currency))
    return {(s, b, cur): Decimal(v or 0) for s, b, cur, v in rows}


def overdue_clause(today: date | None = None):
    """Issued invoices past their due date with something still open."""
    today = today or utcnow().date()
    return sa.and_(Invoice.kind == DocumentKind.invoice, Invoice.status.in_(OPEN_STATUSES),
                   Invoice.due_date < today,
                   Invoice.total_gross - Invoice.paid_amount - Invoice.credited_amount > 0)


def overdue_invoices_count(supplier_id: int, buyer_id: int) -> int:
    """Invoices of the buyer at the supplier past their due date and unpaid."""
    return int(db.session.scalar(
        sa.select(sa.func.count(Invoice.id)).where(Invoice.supplier_company_id == supplier_id,
                                                   Invoice.buyer_company_id == buyer_id, overdue_clause())) or 0)


def pair_figures(supplier_id: int, buyer_id: int, currency: str) -> tuple[Decimal, Decimal, int]:
    """(unpaid invoices, reserved orders, overdue invoices) of the pair in one statement: the same three figures
    as ``unpaid_invoices_total``, ``reserved_total`` and ``overdue_invoices_count`` (the credit check reads them
    under the pair's lock, one round trip instead of three)."""
    unpaid = (sa.select(sa.func.coalesce(sa.func.sum(Invoice.total_gross - Invoice.paid_amount
                                                     - Invoice.credited_amount), 0))
              .where(Invoice.supplier_company_id == supplier_id, Invoice.buyer_company_id == buyer_id,
                     Invoice.currency == currency, Invoice.kind == DocumentKind.invoice,
                     Invoice.status.in_(OPEN_STATUSES)).scalar_subquery())
    reserved = (sa.select(sa.func.coalesce(sa.func.sum(CreditReservation.amount), 0))
                .where(CreditReservation.supplier_company_id == supplier_id,
                       CreditReservation.buyer_company_id == buyer_id, CreditReservation.currency == currency,
                       CreditReservation.status == ReservationStatus.reserved).scalar_subquery())
    overdue = (sa.select(sa.func.count(Invoice.id))
               .where(Invoice.supplier_company_id == supplier_id, Invoice.buyer_company_id == buyer_id,
                      overdue_clause()).scalar_subquery())
    u, r, o = db.session.execute(sa.select(unpaid, reserved, overdue)).one()
    return Decimal(u or 0), Decimal(r or 0), int(o or 0)


def reserved_total(supplier_id: int, buyer_id: int, currency: str) -> Decimal:
    value = db.session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(CreditReservation.amount), 0))
        .where(CreditReservation.supplier_company_id == supplier_id,
               CreditReservation.buyer_company_id == buyer_id,
               CreditReservation.currency == currency,
               CreditReservation.status == ReservationStatus.reserved))
    return Decimal(value or 0)


def reserved_totals(*where) -> dict[tuple[int, int, str], Decimal]:
    """``reserved_total`` of many (supplier, buyer, currency) at once (a list page), like
    unpaid_invoices_totals."""
    rows = db.session.execute(
        sa.select(CreditReservation.supplier_company_id, CreditReservation.buyer_company_id,
                  CreditReservation.currency, sa.func.sum(CreditReservation.amount))
        .where(CreditReservation.status == ReservationStatus.reserved, *where)
        .group_by(CreditReservation.supplier_company_id, CreditReservation.buyer_company_id,
                  CreditReservation.currency))
    return {(s, b, cur): Decimal(v or 0) for s, b, cur, v in rows}


def exposure(supplier_id: int, buyer_id: int, currency: str) -> Decimal:
    """Unpaid invoices + reserved orders of the buyer at the supplier."""
    return unpaid_invoices_total(supplier_id, buyer_id, currency) + reserved_total(supplier_id, buyer_id, currency)


# --------------------------------------------------------------------------------------------- reservations
# All flush only, inside the caller's unit of work, with the order already locked (step 2).

def _open_reservation(order: PurchaseOrder) -> CreditReservation | None:
    return db.session.scalar(sa.select(CreditReservation).where(CreditReservation.order_id == order.id,
                                                                CreditReservation.status == ReservationStatus.reserved))


def reserve(order: PurchaseOrder) -> CreditReservation:
    """The order passed its credit check (or its hold was released): its net total counts as exposure.

    An order never placed before (no ``placed_at``: a reservation is only ever made when an order is placed) has
    no reservation row, so there is nothing to look up; the new row goes out with the caller's flush."""
    res = None
    if order.placed_at is not None:
        res = db.session.scalar(sa.select(CreditReservation).where(CreditReservation.order_id == order.id))
    if res is None:
        res = CreditReservation(order_id=order.id, supplier_company_id=order.supplier_company_id,
                                buyer_company_id=order.buyer_company_id)
        db.session.add(res)
    res.amount = quantize(Decimal(order.total_net), order.currency)
    res.currency = order.currency
    res.status = ReservationStatus.reserved
    res.closed_at = None
    return res


def _close_reservation(order: PurchaseOrder, status: ReservationStatus) -> CreditReservation | None:
    res = _open_reservation(order)
    if res is None:
        return None
    res.status = status
    res.closed_at = utcnow()
    db.session.flush()
    return res


def release_reservation(order: PurchaseOrder) -> CreditReservation | None:
    """The order was cancelled or rejected: its amount no longer counts."""
    return _close_reservation(order, ReservationStatus.released)


def convert_reservation(order: PurchaseOrder) -> CreditReservation | None:
    """The order was invoiced: the exposure now sits in unpaid invoices."""
    return _close_reservation(order, ReservationStatus.converted)


def adjust_reservation(order: PurchaseOrder) -> CreditReservation | None:
    """The order's total changed after placement (the buyer accepted the supplier's changes): the reservation
    follows it, so exposure stays the ledger's truth."""
    res = _open_reservation(order)
    if res is None:
        return None
    res.amount = order.total_net
    db.session.flush()
    return res


def adjust_reservation_by(order: PurchaseOrder, delta: Decimal) -> CreditReservation | None:
    """A change to a placed order took effect (change order, accepted proposals, short-close): the open
    reservation moves by the change of the order's total (never below zero), so what was already invoiced and
    consumed stays consumed."""
    res = _open_reservation(order)
    if res is None:
        return None
    res.amount = max(quantize(Decimal(res.amount) + Decimal(delta), order.currency), ZERO)
    db.session.flush()
    return res


def fits_limit(order: PurchaseOrder, increase: Decimal) -> tuple[bool, str]:
    """Would ``increase`` more exposure for the order's pair still fit the credit limit? Locks the pair's
    account (step 4: call with the order locked). (True, "") or (False, the sentence why not)."""
    increase = Decimal(increase)
    if increase <= 0:
        return True, ""
    account = lock_pair_account(order.supplier_company_id, order.buyer_company_id)
    if account is None:
        return False, "the supplier has set no credit limit for this buyer, so an increase needs their approval"
    if account.currency != order.currency:
        return False, (f"the credit limit is kept in {account.currency} and the order is in {order.currency}; "
                       "amounts are not converted")
    current = exposure(order.supplier_company_id, order.buyer_company_id, order.currency)
    limit = Decimal(account.limit_amount)
    if current + increase > limit:
        return False, (f"the increase of {quantize(increase, order.currency)} {order.currency} would bring the "
                       f"exposure to {quantize(current + increase, order.currency)} {order.currency}, over the "
                       f"limit of {quantize(limit, order.currency)} {order.currency}")
    return True, ""


def consume_reservation(order: PurchaseOrder, amount: Decimal) -> CreditReservation | None:
    """Part of the order was invoiced: that part of its exposure now sits in unpaid invoices, so the
    reservation shrinks by it (never below zero) instead of counting twice."""
    res = _open_reservation(order)
    if res is None:
        return None
    res.amount = max(Decimal(res.amount) - Decimal(amount), ZERO)
    db.session.flush()
    return res


def rejected_at_receipt(order: PurchaseOrder, *, fully: bool) -> CreditReservation | None:
    """Goods were rejected at receipt and will not be billed. When that leaves nothing to invoice, the
    reservation is closed (what was billed sits in unpaid invoices); until then it stays as it is (the order's
    remaining value is still expected, and the rejected part is released when the order is complete)."""
    return convert_reservation(order) if fully else _open_reservation(order)


def invoiced(order: PurchaseOrder, amount: Decimal, *, fully: bool) -> CreditReservation | None:
    """An invoice of ``amount`` (net) was issued for the order: convert the reservation when the order is now
    fully invoiced, else consume that part of it."""
    return convert_reservation(order) if fully else consume_reservation(order, amount)
