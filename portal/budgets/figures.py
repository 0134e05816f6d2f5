"""Budget figures, computed from the documents (never stored), in the company currency.

For a budget of cost centre C and period [start, end]:

* committed = approved requisition lines of C not yet on a sent purchase order (the requisition's approval day
  in the period) + the open amount of C's lines on sent purchase orders that are not cancelled, rejected or
  closed (the order's send day in the period): the line total less what approved invoices bill on the line;
* actual = the net of C's lines on invoices approved for payment (the invoice date in the period);
* available = amount − committed − actual.

An invoice waiting for approval still counts as committed (nothing falls between committed and actual); the
order's shipping charge has no cost centre.

Documents in another currency count converted with the company's exchange rate valid on the document's day (the
rate of the latest ``valid_from`` on or before the requisition's approval day, the order's send day, the invoice
date; portal/budgets/models.ExchangeRate): each document line's amount (for an order line: its open amount) times
the rate, rounded to the company currency's minor unit half up, line by line, inside the statement; the budget
sums the rounded lines. A document with no rate valid on its day is left out and named (``Figures.left_out``).
``figures_for`` answers any number of budgets in ONE statement; ``recompute`` is the from-scratch reading,
document by document, that the tests compare it with.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import sqlalchemy as sa

from portal.budgets.models import Budget, ExchangeRate
from portal.db import db
from portal.invoices.models import DocumentKind, Invoice, InvoiceLine
from portal.money import minor_unit, quantize
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
    # documents left out for want of an exchange rate valid on their day: currency -> {(kind, document id)}
    left_out: dict[str, set] = field(default_factory=dict)

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


def rate_on(company_id: int, currency_column, day_column):
    """The company's rate for ``currency_column`` valid on ``day_column`` (a correlated scalar subquery; NULL when
    none): the latest ``valid_from`` on or before the day."""
    return _rate_select(company_id, currency_column, day_column).scalar_subquery()


def _rate_select(company_id: int, currency, day):
    return (sa.select(ExchangeRate.rate)
            .where(ExchangeRate.company_id == company_id, ExchangeRate.currency == currency,
                   ExchangeRate.valid_from <= day)
            .order_by(ExchangeRate.valid_from.desc()).limit(1))


def converted(company_id: int, currency: str, amount, doc_currency, day):
    """``amount`` (a document line's, in ``doc_currency``) in the company currency: unchanged in the company
    currency, else times the rate valid on ``day`` rounded to the currency's minor unit (NULL without a rate)."""
    return sa.case((doc_currency == currency, amount),
                   else_=sa.func.round(amount * rate_on(company_id, doc_currency, day), minor_unit(currency)))


def rate_valid(company_id: int, currency: str, day: date) -> Decimal | None:
    """The company's rate for ``currency`` valid on ``day`` (one statement), None when there is none."""
    rate = db.session.scalar(_rate_select(company_id, currency, day))
    return None if rate is None else Decimal(str(rate))


def rate_ranges(company_id: int):
    """The company's rates as day ranges (a CTE: currency, rate, from, up to excluding; the last one open): a
    document joins the one range its day falls in — a hash join on the currency instead of a look-up per line."""
    frm = ExchangeRate.valid_from
    return (sa.select(ExchangeRate.currency.label("cur"), ExchangeRate.rate.label("rate"), frm.label("frm"),
                      sa.func.lead(frm).over(partition_by=ExchangeRate.currency, order_by=frm).label("upto"))
            .where(ExchangeRate.company_id == company_id).cte("rates"))


def in_range(rates, doc_currency, day):
    return sa.and_(rates.c.cur == doc_currency, rates.c.frm <= day, sa.or_(rates.c.upto.is_(None), rates.c.upto > day))


def converted_by(rates, currency: str, amount, doc_currency):
    return sa.case((doc_currency == currency, amount),
                   else_=sa.func.round(amount * rates.c.rate, minor_unit(currency)))


def _document_rows(company_id: int, currency: str):
    """(kind, document id, cost centre, day, amount in the company currency or NULL, the document's currency) of
    every document line that counts against a budget."""
    rates = rate_ranges(company_id)
    live_order = sa.and_(PurchaseOrder.sent_at.is_not(None), PurchaseOrder.status.not_in(DEAD_ORDERS))
    on_sent = (sa.select(OrderLine.id).join(PurchaseOrder, PurchaseOrder.id == OrderLine.order_id)
               .where(OrderLine.id == RequisitionLine.order_line_id, live_order).exists())
    req = (sa.select(sa.literal("req").label("kind"), Requisition.id.label("doc"),
                     RequisitionLine.cost_centre_id.label("cc"), Requisition.approved_on.label("day"),
                     converted_by(rates, currency, RequisitionLine.line_total, Requisition.currency).label("amount"),
                     Requisition.currency.label("cur"))
           .select_from(RequisitionLine)
           .join(Requisition, Requisition.id == RequisitionLine.requisition_id)
           .outerjoin(rates, in_range(rates, Requisition.currency, Requisition.approved_on))
           .where(Requisition.company_id == company_id, Requisition.status.in_(COMMITTING),
                  RequisitionLine.cost_centre_id.is_not(None), ~on_sent))
    billed = (sa.select(InvoiceLine.order_line_id.label("olid"), sa.func.sum(InvoiceLine.net_amount).label("net"))
              .join(Invoice, Invoice.id == InvoiceLine.invoice_id)
              .where(Invoice.buyer_company_id == company_id, Invoice.kind == DocumentKind.invoice,
                     Invoice.approved_for_payment_at.is_not(None), InvoiceLine.order_line_id.is_not(None))
              .group_by(InvoiceLine.order_line_id).subquery())
    open_amount = OrderLine.line_total - sa.func.coalesce(billed.c.net, 0)
    sent_day = _utc_day(PurchaseOrder.sent_at)
    po = (sa.select(sa.literal("po"), PurchaseOrder.id, OrderLine.cost_centre_id, sent_day,
                    converted_by(rates, currency, sa.case((open_amount > 0, open_amount), else_=sa.literal(0)),
                                  PurchaseOrder.currency),
                    PurchaseOrder.currency)
          .select_from(OrderLine)
          .join(PurchaseOrder, PurchaseOrder.id == OrderLine.order_id)
          .outerjoin(billed, billed.c.olid == OrderLine.id)
          .outerjoin(rates, in_range(rates, PurchaseOrder.currency, sent_day))
          .where(PurchaseOrder.buyer_company_id == company_id, live_order, OrderLine.cost_centre_id.is_not(None)))
    act = (sa.select(sa.literal("act"), Invoice.id, InvoiceLine.cost_centre_id, Invoice.issue_date,
                     converted_by(rates, currency, InvoiceLine.net_amount, Invoice.currency), Invoice.currency)
           .select_from(InvoiceLine)
           .join(Invoice, Invoice.id == InvoiceLine.invoice_id)
           .outerjoin(rates, in_range(rates, Invoice.currency, Invoice.issue_date))
           .where(Invoice.buyer_company_id == company_id, Invoice.kind == DocumentKind.invoice,
                  Invoice.approved_for_payment_at.is_not(None), InvoiceLine.cost_centre_id.is_not(None)))
    return sa.union_all(req, po, act).subquery("docs")


def figures_for(company_id: int, currency: str, budgets: list[Budget]) -> dict[int, Figures]:
    """Figures of ``budgets`` (the company's, in ``currency``, the company currency): one statement. Converted
    lines collapse into one sum per budget and kind; a document without a rate comes back as one row per budget
    it would count in (its currency and id), so the page can name what is left out."""
    out = {b.id: Figures(amount=b.amount, currency=b.currency) for b in budgets}
    if not budgets:
        return out
    docs = _document_rows(company_id, currency)
    missing = sa.case((docs.c.amount.is_(None), docs.c.cur))
    missing_doc = sa.case((docs.c.amount.is_(None), docs.c.doc))
    stmt = (sa.select(Budget.id, docs.c.kind, missing, missing_doc, sa.func.sum(docs.c.amount))
            .join(docs, sa.and_(docs.c.cc == Budget.cost_centre_id, docs.c.day >= Budget.period_start,
                                docs.c.day <= Budget.period_end))
            .where(Budget.id.in_(list(out)))
            .group_by(Budget.id, docs.c.kind, missing, missing_doc))
    for budget_id, kind, missing_cur, doc_id, total in db.session.execute(stmt):
        fig = out[budget_id]
        if missing_cur is not None:
            fig.left_out.setdefault(missing_cur, set()).add((kind, doc_id))
            continue
        total = quantize(Decimal(str(total or 0)), currency)  # sums of rounded lines: exact (SQLite sums floats)
        if kind == "req":
            fig.committed_requisitions = total
        elif kind == "po":
            fig.committed_orders = total
        else:
            fig.actual = total
    return out


def left_out(figures) -> dict[str, int]:
    """For a page: per currency, how many documents its budgets leave out for want of a rate (each counted once,
    however many budgets it touches)."""
    docs: dict[str, set] = {}
    for fig in figures:
        for cur, keys in fig.left_out.items():
            docs.setdefault(cur, set()).update(keys)
    return {cur: len(keys) for cur, keys in sorted(docs.items())}


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
    currency: str = ""   # of the rows' amounts: the company's, or the requisition's when it is not counted
    counted: bool = True  # False: another currency without a rate valid on the day (counts in no budget)
    rate: Decimal | None = None  # another currency: the rate its lines are converted with, rounded per line

    @property
    def exceeded(self) -> list[Impact]:
        return [r for r in self.rows if r.exceeds]


def impact(req: Requisition, day: date, *, lock: bool = False) -> ImpactSummary:
    """The requisition's amount per cost centre against the budget that covers ``day``. ``lock``: take the budget
    rows FOR UPDATE (in id order) before reading the figures — the approval's protection against a concurrent
    approval spending the same money (lock order: the requisition row, then its budget rows)."""
    from portal.accounts.models import Company

    company_currency = db.session.get(Company, req.company_id).default_currency
    summary = ImpactSummary(currency=company_currency, counted=req.currency == company_currency)
    if not summary.counted and any(line.cost_centre_id is not None for line in req.lines):
        summary.rate = rate_valid(req.company_id, req.currency, day)  # as the figures will count it once approved
        summary.counted = summary.rate is not None
        summary.currency = company_currency if summary.counted else req.currency
    per_cc: dict[int, Decimal] = {}
    centres = {}
    for line in req.lines:
        if line.cost_centre_id is None:
            continue
        amount = line.line_total if summary.rate is None else quantize(line.line_total * summary.rate,
                                                                        company_currency)
        per_cc[line.cost_centre_id] = per_cc.get(line.cost_centre_id, ZERO) + amount
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
    currency = company_currency
    usable = [b for b in budgets.values() if b.currency == currency] if summary.counted else []
    figs = figures_for(req.company_id, currency, usable)
    for cc_id in sorted(per_cc, key=lambda c: centres[c].code):
        b = budgets.get(cc_id)
        fig = figs.get(b.id) if b is not None else None
        summary.rows.append(Impact(cost_centre=centres[cc_id], amount=per_cc[cc_id], budget=b, figures=fig))
    return summary


# --------------------------------------------------------------------------------------------- from scratch

def recompute(company_id: int, currency: str, budgets: list[Budget]) -> dict[int, tuple]:
    """The same figures read document by document in Python (for the tests; never used by a page)."""
    def day_of(dt):
        return dt.astimezone(__import__("datetime").timezone.utc).date()

    rates: dict[str, list] = {}
    for r in db.session.scalars(sa.select(ExchangeRate).where(ExchangeRate.company_id == company_id)):
        rates.setdefault(r.currency, []).append((r.valid_from, Decimal(r.rate)))

    def convert(amount, doc_currency, day):
        if doc_currency == currency:
            return amount
        valid = [(frm, rate) for frm, rate in rates.get(doc_currency, []) if day is not None and frm <= day]
        return quantize(amount * max(valid)[1], currency) if valid else None

    entries: list[tuple[str, int, date, Decimal]] = []

    def add(kind, cc, day, amount, doc_currency):
        value = convert(amount, doc_currency, day)
        if value is not None:
            entries.append((kind, cc, day, value))

    for req in db.session.scalars(sa.select(Requisition).where(Requisition.company_id == company_id)):
        if req.status not in COMMITTING:
            continue
        for line in req.lines:
            ol = line.order_line
            if line.cost_centre_id is None:
                continue
            if ol is not None and ol.order.sent_at is not None and ol.order.status not in DEAD_ORDERS:
                continue
            add("req", line.cost_centre_id, req.approved_on, line.line_total, req.currency)
    approved = [inv for inv in db.session.scalars(sa.select(Invoice).where(Invoice.buyer_company_id == company_id))
                if inv.kind == DocumentKind.invoice and inv.approved_for_payment_at is not None]
    billed: dict[int, Decimal] = {}
    for inv in approved:
        for il in inv.lines:
            if il.order_line_id:
                billed[il.order_line_id] = billed.get(il.order_line_id, ZERO) + il.net_amount
            if il.cost_centre_id is not None:
                add("act", il.cost_centre_id, inv.issue_date, il.net_amount, inv.currency)
    for order in db.session.scalars(sa.select(PurchaseOrder).where(PurchaseOrder.buyer_company_id == company_id)):
        if order.sent_at is None or order.status in DEAD_ORDERS:
            continue
        for ol in order.lines:
            if ol.cost_centre_id is None:
                continue
            add("po", ol.cost_centre_id, day_of(order.sent_at), max(ol.line_total - billed.get(ol.id, ZERO), ZERO),
                order.currency)
    out = {}
    for b in budgets:
        sums = {"req": ZERO, "po": ZERO, "act": ZERO}
        for kind, cc, day, amount in entries:
            if cc == b.cost_centre_id and day is not None and b.period_start <= day <= b.period_end:
                sums[kind] += amount
        out[b.id] = (sums["req"], sums["po"], sums["act"])
    return out
