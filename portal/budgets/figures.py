"""Budget figures, computed from the documents (never stored), in the company currency.

For a budget of cost centre C and period [start, end]:

* committed = approved requisition lines of C not yet on a sent purchase order (the requisition's approval day
  in the period) + the open amount of C's lines on sent purchase orders that are not cancelled, rejected or
  closed (the order's send day in the period): the line total less what approved invoices bill on the line;
* actual = the net of C's lines on invoices approved for payment (the invoice date in the period);
* available = amount − committed − actual.

An invoice waiting for approval still counts as committed (nothing falls between committed and actual); the
order's shipping charge has no cost centre. Documents in another currency than the company's are not converted
(the portal has no exchange rates) and are left out. ``figures_for`` answers any number of budgets in ONE
statement; ``recompute`` is the from-scratch reading, document by document, that the tests compare it with.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import sqlalchemy as sa

from portal.budgets.models import Budget
from portal.db import db
from portal.invoices.models import DocumentKind, Invoice, InvoiceLine
from portal.orders.models import OrderLine, PurchaseOrder
from portal.orders.states import OrderStatus
from portal.requisitions.models import Requisition, RequisitionLine
from portal.requisitions.states import COMMITTING

ZERO = Decimal(0)
DEAD_ORDERS = (OrderStatus.cancelled, OrderStatus.rejected, OrderStatus.closed)


@dataclass
class Figures:
    amount: Decimal
    currency: str
    committed_requisitions: Decimal = ZERO
    committed_orders: Decimal = ZERO
    actual: Decimal = ZERO

    @property
    def committed(self) -> Decimal:
        return self.committed_requisitions + self.committed_orders

    @property
    def available(self) -> Decimal:
        return self.amount - self.committed - self.actual

    @property
    def used_percent(self) -> int:
        if self.amount <= 0:
            return 100 if (self.committed + self.actual) > 0 else 0
        return int(((self.committed + self.actual) * 100 / self.amount).to_integral_value())

    def as_tuple(self) -> tuple:
        return (self.committed_requisitions, self.committed_orders, self.actual)


def _utc_day(column):
    if db.session.get_bind().dialect.name == "postgresql":
        return sa.cast(sa.func.timezone("UTC", column), sa.Date)
    return sa.func.date(column)


def _document_rows(company_id: int, currency: str):
    """(kind, cost centre, day, amount) of every document line that counts against a budget."""
    live_order = sa.and_(PurchaseOrder.sent_at.is_not(None), PurchaseOrder.status.not_in(DEAD_ORDERS))
    on_sent = (sa.select(OrderLine.id).join(PurchaseOrder, PurchaseOrder.id == OrderLine.order_id)
               .where(OrderLine.id == RequisitionLine.order_line_id, live_order).exists())
    req = (sa.select(sa.literal("req").label("kind"), RequisitionLine.cost_centre_id.label("cc"),
                     Requisition.approved_on.label("day"), RequisitionLine.line_total.label("amount"))
           .join(Requisition, Requisition.id == RequisitionLine.requisition_id)
           .where(Requisition.company_id == company_id, Requisition.status.in_(COMMITTING),
                  Requisition.currency == currency, RequisitionLine.cost_centre_id.is_not(None), ~on_sent))
    billed = (sa.select(InvoiceLine.order_line_id.label("olid"), sa.func.sum(InvoiceLine.net_amount).label("net"))
              .join(Invoice, Invoice.id == InvoiceLine.invoice_id)
              .where(Invoice.buyer_company_id == company_id, Invoice.kind == DocumentKind.invoice,
                     Invoice.approved_for_payment_at.is_not(None), InvoiceLine.order_line_id.is_not(None))
              .group_by(InvoiceLine.order_line_id).subquery())
    open_amount = OrderLine.line_total - sa.func.coalesce(billed.c.net, 0)
    po = (sa.select(sa.literal("po"), OrderLine.cost_centre_id, _utc_day(PurchaseOrder.sent_at),
                    sa.case((open_amount > 0, open_amount), else_=sa.literal(0)))
          .join(PurchaseOrder, PurchaseOrder.id == OrderLine.order_id)
          .outerjoin(billed, billed.c.olid == OrderLine.id)
          .where(PurchaseOrder.buyer_company_id == company_id, PurchaseOrder.currency == currency, live_order,
                 OrderLine.cost_centre_id.is_not(None)))
    act = (sa.select(sa.literal("act"), InvoiceLine.cost_centre_id, Invoice.issue_date, InvoiceLine.net_amount)
           .join(Invoice, Invoice.id == InvoiceLine.invoice_id)
           .where(Invoice.buyer_company_id == company_id, Invoice.kind == DocumentKind.invoice,
                  Invoice.approved_for_payment_at.is_not(None), Invoice.currency == currency,
                  InvoiceLine.cost_centre_id.is_not(None)))
    return sa.union_all(req, po, act).subquery("docs")


def figures_for(company_id: int, currency: str, budgets: list[Budget]) -> dict[int, Figures]:
    """Figures of ``budgets`` (the company's, in ``currency``, the company currency): one statement."""
    out = {b.id: Figures(amount=b.amount, currency=b.currency) for b in budgets}
    if not budgets:
        return out
    docs = _document_rows(company_id, currency)
    stmt = (sa.select(Budget.id, docs.c.kind, sa.func.sum(docs.c.amount))
            .join(docs, sa.and_(docs.c.cc == Budget.cost_centre_id, docs.c.day >= Budget.period_start,
                                docs.c.day <= Budget.period_end))
            .where(Budget.id.in_(list(out)))
            .group_by(Budget.id, docs.c.kind))
    for budget_id, kind, total in db.session.execute(stmt):
        fig = out[budget_id]
        total = Decimal(str(total or 0))
        if kind == "req":
            fig.committed_requisitions = total
        elif kind == "po":
            fig.committed_orders = total
        else:
            fig.actual = total
    return out


def budget_on(company_id: int, cost_centre_id: int, day: date, *, for_update: bool = False) -> Budget | None:
    stmt = sa.select(Budget).where(Budget.company_id == company_id, Budget.cost_centre_id == cost_centre_id,
                                   Budget.period_start <= day, Budget.period_end >= day)
    if for_update:
        stmt = stmt.with_for_update(of=Budget).execution_options(populate_existing=True)
    return db.session.scalar(stmt)


@dataclass
class Impact:
    """What approving a requisition does to one cost centre's budget today."""

    cost_centre: object
    amount: Decimal  # the requisition's lines on this cost centre
    budget: Budget | None = None
    figures: Figures | None = None
    owner_override: bool = False

    @property
    def available_after(self) -> Decimal | None:
        return None if self.figures is None else self.figures.available - self.amount

    @property
    def exceeds(self) -> bool:
        return self.figures is not None and self.available_after < 0


@dataclass
class ImpactSummary:
    rows: list[Impact] = field(default_factory=list)

    @property
    def exceeded(self) -> list[Impact]:
        return [r for r in self.rows if r.exceeds]


def impact(req: Requisition, day: date, *, lock: bool = False) -> ImpactSummary:
    """The requisition's amount per cost centre against the budget that covers ``day``. ``lock``: take the budget
    rows FOR UPDATE (in id order) before reading the figures — the approval's protection against a concurrent
    approval spending the same money (lock order: the requisition row, then its budget rows)."""
    per_cc: dict[int, Decimal] = {}
    centres = {}
    for line in req.lines:
        if line.cost_centre_id is None:
            continue
        per_cc[line.cost_centre_id] = per_cc.get(line.cost_centre_id, ZERO) + line.line_total
        centres[line.cost_centre_id] = line.cost_centre
    budgets = {}
    for cc_id in sorted(per_cc):
        b = budget_on(req.company_id, cc_id, day)
        if b is not None:
            budgets[cc_id] = b
    if lock and budgets:
        ids = sorted(b.id for b in budgets.values())
        locked = {b.id: b for b in db.session.scalars(
            sa.select(Budget).where(Budget.id.in_(ids)).order_by(Budget.id).with_for_update(of=Budget)
            .execution_options(populate_existing=True))}
        budgets = {cc: locked[b.id] for cc, b in budgets.items() if b.id in locked}
    currency = req.currency
    usable = [b for b in budgets.values() if b.currency == currency]
    figs = figures_for(req.company_id, currency, usable)
    rows = []
    for cc_id in sorted(per_cc, key=lambda c: centres[c].code):
        b = budgets.get(cc_id)
        fig = figs.get(b.id) if b is not None and b.currency == currency else None
        rows.append(Impact(cost_centre=centres[cc_id], amount=per_cc[cc_id], budget=b, figures=fig))
    return ImpactSummary(rows=rows)


# --------------------------------------------------------------------------------------------- from scratch

def recompute(company_id: int, currency: str, budgets: list[Budget]) -> dict[int, tuple]:
    """The same figures read document by document in Python (for the tests; never used by a page)."""
    def day_of(dt):
        return dt.astimezone(__import__("datetime").timezone.utc).date()

    entries: list[tuple[str, int, date, Decimal]] = []
    for req in db.session.scalars(sa.select(Requisition).where(Requisition.company_id == company_id)):
        if req.status not in COMMITTING or req.currency != currency:
            continue
        for line in req.lines:
            ol = line.order_line
            if line.cost_centre_id is None:
                continue
            if ol is not None and ol.order.sent_at is not None and ol.order.status not in DEAD_ORDERS:
                continue
            entries.append(("req", line.cost_centre_id, req.approved_on, line.line_total))
    approved = [inv for inv in db.session.scalars(sa.select(Invoice).where(Invoice.buyer_company_id == company_id))
                if inv.kind == DocumentKind.invoice and inv.approved_for_payment_at is not None]
    billed: dict[int, Decimal] = {}
    for inv in approved:
        for il in inv.lines:
            if il.order_line_id:
                billed[il.order_line_id] = billed.get(il.order_line_id, ZERO) + il.net_amount
            if il.cost_centre_id is not None and inv.currency == currency:
                entries.append(("act", il.cost_centre_id, inv.issue_date, il.net_amount))
    for order in db.session.scalars(sa.select(PurchaseOrder).where(PurchaseOrder.buyer_company_id == company_id)):
        if order.sent_at is None or order.status in DEAD_ORDERS or order.currency != currency:
            continue
        for ol in order.lines:
            if ol.cost_centre_id is None:
                continue
            entries.append(("po", ol.cost_centre_id, day_of(order.sent_at),
                            max(ol.line_total - billed.get(ol.id, ZERO), ZERO)))
    out = {}
    for b in budgets:
        sums = {"req": ZERO, "po": ZERO, "act": ZERO}
        for kind, cc, day, amount in entries:
            if cc == b.cost_centre_id and day is not None and b.period_start <= day <= b.period_end:
                sums[kind] += amount
        out[b.id] = (sums["req"], sums["po"], sums["act"])
    return out
