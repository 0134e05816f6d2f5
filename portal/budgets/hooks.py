"""Cost centre and GL account on new order and invoice lines, and the requisition's status following its orders.

One session hook (before each flush), so every path that makes lines (catalog orders, awards, reorders, the API,
invoices by shipment or by order, imported e-invoices) fills them the same way without each service knowing:

* a new purchase-order line without a cost centre takes the requisition line's (an RFQ line made from a
  requisition line, awarded: the award line's RFQ line leads to it; the requisition line then links the order
  line), else the default of the catalog item's category, else the default of the person who made the order;
* a new invoice line takes its order line's cost centre and GL account;
* when a purchase order's status changes, the requisitions whose lines are on it follow: ``ordered`` once every
  line is on a sent, live order; ``received`` once every such order is received (or closed); back to ``sourcing``
  when an order they were on is cancelled.
"""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import get_history

from portal.budgets.models import CostDefault
from portal.invoices.models import InvoiceLine
from portal.orders.models import OrderLine, PurchaseOrder
from portal.orders.states import OrderStatus
from portal.requisitions.models import Requisition, RequisitionLine
from portal.requisitions.states import RequisitionStatus

R = RequisitionStatus
RECEIVED_ORDERS = (OrderStatus.received, OrderStatus.closed)
DEAD_ORDERS = (OrderStatus.cancelled, OrderStatus.rejected)


@sa.event.listens_for(Session, "before_flush")
def _before_flush(session, flush_context, instances):
    new_order_lines = [o for o in session.new if isinstance(o, OrderLine)]
    new_invoice_lines = [o for o in session.new if isinstance(o, InvoiceLine)]
    moved = [o for o in session.dirty if isinstance(o, PurchaseOrder) and get_history(o, "status").added]
    if not (new_order_lines or new_invoice_lines or moved):
        return
    with session.no_autoflush:
        if new_order_lines:
            _fill_order_lines(session, new_order_lines)
        for line in new_invoice_lines:
            if line.cost_centre_id is None and line.order_line_id:
                ol = session.get(OrderLine, line.order_line_id)
                if ol is not None:
                    line.cost_centre_id, line.gl_account_id = ol.cost_centre_id, ol.gl_account_id
        for order in moved:
            follow_order(session, order)


def _fill_order_lines(session, lines) -> None:
    award_ids = [ln.award_line_id for ln in lines if ln.award_line_id and ln.cost_centre_id is None]
    by_award: dict[int, RequisitionLine] = {}
    if award_ids:
        from portal.quotes.models import AwardLine

        for award_line_id, req_line in session.execute(
                sa.select(AwardLine.id, RequisitionLine)
                .join(RequisitionLine, RequisitionLine.rfq_line_id == AwardLine.rfq_line_id)
                .where(AwardLine.id.in_(award_ids))):
            by_award.setdefault(award_line_id, req_line)
    defaults: dict[int, list[CostDefault]] = {}
    for line in lines:
        req_line = by_award.get(line.award_line_id) if line.award_line_id else None
        if req_line is not None:
            line.cost_centre_id = line.cost_centre_id or req_line.cost_centre_id
            line.gl_account_id = line.gl_account_id or req_line.gl_account_id
            if req_line.order_line_id is None:
                req_line.order_line = line
            continue
        if line.cost_centre_id is not None and line.gl_account_id is not None:
            continue
        order = line.order if line.order is not None else (
            session.get(PurchaseOrder, line.order_id) if line.order_id else None)
        if order is None:
            continue
        company_id = order.buyer_company_id
        if company_id not in defaults:
            defaults[company_id] = list(session.scalars(sa.select(CostDefault)
                                                        .where(CostDefault.company_id == company_id)))
        rows = defaults[company_id]
        if not rows:
            continue
        category = None
        if line.catalog_item_id:
            from portal.catalog.models import CatalogItem

            item = session.get(CatalogItem, line.catalog_item_id)
            category = item.category if item is not None else None
        from portal.budgets.services import default_for

        cc, gl = default_for(company_id, category=category, user_id=order.created_by_id, rows=rows)
        line.cost_centre_id = line.cost_centre_id or cc
        line.gl_account_id = line.gl_account_id or gl


def follow_order(session, order: PurchaseOrder) -> None:
    """Move the requisitions with lines on ``order`` to the status their orders give them."""
    if order.id is None:
        return
    req_ids = list(session.scalars(
        sa.select(RequisitionLine.requisition_id).join(OrderLine, OrderLine.id == RequisitionLine.order_line_id)
        .where(OrderLine.order_id == order.id).distinct()))
    for req_id in req_ids:
        req = session.get(Requisition, req_id)
        if req is None or req.status not in (R.approved, R.sourcing, R.ordered):
            continue
        orders = []
        all_sent = True
        for line in req.lines:
            ol = line.order_line
            o = ol.order if ol is not None else None
            if o is None or o.sent_at is None or o.status in DEAD_ORDERS:
                all_sent = False
                break
            orders.append(o)
        if all_sent and all(o.status in RECEIVED_ORDERS for o in orders):
            target = R.received
        elif all_sent:
            target = R.ordered
        else:
            target = R.sourcing if req.status == R.ordered else req.status
        if target != req.status:
            from portal.audit.services import record

            record("requisition", req.id, "status", company_id=req.company_id, from_state=req.status,
                   to_state=target, detail=f"{req.number}: follows {order.po_number} ({order.status.value})")
            req.status = target
            if target == R.ordered:
                from portal.events.services import emit

                emit(req.company_id, "requisition.ordered", req)
