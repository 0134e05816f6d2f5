"""What a supplier learns about the outcome of an RFQ it quoted on: how it closed, which lines it won, the
order.

Rules (tests in tests/quotes/test_supplier_outcome.py):
- an RFQ closed before its deadline is "Closed early on <date>", never "the deadline passed" with a future
  date;
- per RFQ line: won (the awarded quantity, unit price and line total — the supplier's own figures) or "Not
  awarded to you"; whether another supplier won the line, who, and at what price is never said;
- the resulting purchase order is shown (linked) only once the buyer has SENT it (it left draft /
  awaiting_approval, the states in which an order is the buyer's alone); before that: "Order in preparation by
  the buyer".
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa

from portal.db import db, utcnow
from portal.rfq.models import Rfq, RfqLine
from portal.rfq.states import RfqStatus

WON = "won"
NOT_AWARDED = "not_awarded"
NOT_AWARDED_TEXT = "Not awarded to you"
IN_PREPARATION_TEXT = "Order in preparation by the buyer"


@dataclass
class LineOutcome:
    line: RfqLine
    result: str  # WON | NOT_AWARDED
    quantity: Decimal | None = None
    unit_price: Decimal | None = None
    line_total: Decimal | None = None


@dataclass
class Outcome:
    rfq: Rfq
    closed_at: datetime | None
    closed_early: bool
    awarded: bool
    lines: list[LineOutcome] = field(default_factory=list)
    orders: list = field(default_factory=list)  # purchase orders the buyer has sent to this supplier
    order_in_preparation: bool = False

    @property
    def won(self) -> list[LineOutcome]:
        return [lo for lo in self.lines if lo.result == WON]

    @property
    def won_total(self) -> Decimal:
        return sum((lo.line_total for lo in self.won), Decimal(0))


def closed_early(rfq: Rfq) -> bool:
    """Closed by the buyer before the deadline (the deadline may still be in the future)."""
    return rfq.closed_at is not None and rfq.closed_at < rfq.deadline


def lock_reason(rfq: Rfq) -> str:
    """Why quotes are locked, as a key the pages and messages turn into words: cancelled | closed_early |
    deadline_passed | status (another state)."""
    if rfq.status == RfqStatus.cancelled:
        return "cancelled"
    if rfq.status in (RfqStatus.closed, RfqStatus.awarded) and closed_early(rfq):
        return "closed_early"
    if rfq.deadline <= utcnow():
        return "deadline_passed"
    return "status"


def for_supplier(rfq: Rfq, supplier_company_id: int) -> Outcome | None:
    """The outcome for one supplier, or None while the RFQ is still open (or a draft)."""
    from portal.orders.models import PurchaseOrder
    from portal.quotes.models import Award, AwardLine

    if rfq.status not in (RfqStatus.closed, RfqStatus.awarded, RfqStatus.cancelled):
        return None
    out = Outcome(rfq=rfq, closed_at=rfq.closed_at, closed_early=closed_early(rfq),
                  awarded=rfq.status == RfqStatus.awarded)
    if not out.awarded:
        return out
    award = db.session.scalar(sa.select(Award).where(Award.rfq_id == rfq.id))
    if award is None:
        return out
    mine = {al.rfq_line_id: al for al in db.session.scalars(
        sa.select(AwardLine).where(AwardLine.award_id == award.id,
                                   AwardLine.supplier_company_id == supplier_company_id))}
    lines = db.session.scalars(sa.select(RfqLine).where(RfqLine.rfq_id == rfq.id).order_by(RfqLine.position))
    for ln in lines:
        al = mine.get(ln.id)
        if al is None:
            out.lines.append(LineOutcome(ln, NOT_AWARDED))
        else:
            out.lines.append(LineOutcome(ln, WON, al.quantity, al.unit_price, al.line_total))
    if mine:
        out.orders = list(db.session.scalars(
            sa.select(PurchaseOrder).where(PurchaseOrder.award_id == award.id,
                                           PurchaseOrder.supplier_scope(supplier_company_id))
            .order_by(PurchaseOrder.id)))
        out.order_in_preparation = not out.orders
    return out


def as_dict(outcome: Outcome | None, *, ts, money, plain, order_url=None) -> dict | None:
    """The outcome for the API (the caller passes its own timestamp / money / number formatters)."""
    if outcome is None:
        return None
    cur = outcome.rfq.currency
    return {
        "closed_at": ts(outcome.closed_at),
        "closed_early": outcome.closed_early,
        "awarded": outcome.awarded,
        "lines": [{"rfq_line_id": lo.line.id, "position": lo.line.position, "result": lo.result,
                   "quantity": plain(lo.quantity) if lo.result == WON else None,
                   "unit_price": money(lo.unit_price, cur) if lo.result == WON else None,
                   "line_total": money(lo.line_total, cur) if lo.result == WON else None}
                  for lo in outcome.lines],
        "orders": [{"id": o.id, "po_number": o.po_number, "status": o.status.value,
                    **({"url": order_url(o)} if order_url else {})} for o in outcome.orders],
        "order_in_preparation": outcome.order_in_preparation,
    }
