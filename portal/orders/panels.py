"""Dashboard panels for orders: what needs the person's attention, per role."""
from __future__ import annotations

import sqlalchemy as sa
from flask import url_for
from sqlalchemy.orm import selectinload

from portal.accounts.models import Role
from portal.dashboard.counting import capped_count
from portal.db import db
from portal.orders.models import PurchaseOrder, Shipment
from portal.orders.states import OrderStatus
from flask_babel import gettext

S = OrderStatus


def _panel(title, orders_count, items, link, link_label, empty, role, label="orders"):
    return {"title": title, "count": orders_count, "count_label": label, "link": link, "link_label": link_label,
            "items": items, "empty": empty, "role": role}


def _orders(where, limit=5):
    """(count capped at CAP + 1, first ``limit`` orders) for one condition: two small, bounded queries."""
    count = capped_count(sa.select(PurchaseOrder.id).where(*where))
    rows = db.session.scalars(sa.select(PurchaseOrder).where(*where).order_by(PurchaseOrder.id.desc())
                              .limit(limit)).unique().all() if count else []
    return count, rows


def _items(rows, party="supplier"):
    return [(f"{o.po_number}{' / ' + o.supplier_order_number if o.supplier_order_number else ''} — "
             f"{getattr(o, party).display_name}", url_for("orders.detail", order_id=o.id)) for o in rows]


def panels(user) -> list[dict]:
    out = []
    company = user.company
    P = PurchaseOrder
    if company.is_buyer and user.has_role(Role.procurement, Role.admin):
        mine = P.buyer_company_id == company.id
        for title, status, empty in (
                (gettext("Drafts to submit"), S.draft, gettext("No drafts.")),
                (gettext("Orders awaiting approval"), S.awaiting_approval, gettext("Nothing waiting for approval.")),
                (gettext("Change proposals to decide"), S.change_proposed, gettext("No supplier changes to decide."))):
            n, rows = _orders([mine, P.status == status])
            out.append(_panel(title, n, _items(rows), url_for("orders.index", status=status.value), gettext("Show all"),
                              empty, "procurement"))
        to_receive = [Shipment.buyer_company_id == company.id, Shipment.received_at.is_(None)]
        n = capped_count(sa.select(Shipment.id).where(*to_receive))
        ships = db.session.scalars(sa.select(Shipment).options(selectinload(Shipment.order)).where(*to_receive)
                                   .order_by(Shipment.id).limit(5)).all() if n else []
        out.append(_panel(gettext("Shipments to receive"), n,
                          [(gettext("%(number)s for %(po_number)s", number=s.number, po_number=s.order.po_number),
                            url_for("orders.receive", order_id=s.order_id, shipment_id=s.id)) for s in ships],
                          url_for("orders.index", status="partially_shipped"), gettext("Orders in delivery"),
                          gettext("Nothing on its way."), "procurement", label="shipments"))
    if company.is_buyer and user.has_role(Role.approver):
        from portal.orders.approvals import can_decide, queue_for

        queue = [o for o in queue_for(user) if can_decide(o, user) is None]  # an admin's queue shows all
        out.append(_panel(gettext("Approvals waiting for me"), len(queue), _items(queue[:5]),
                          url_for("orders.approval_queue"), gettext("Approval queue"), gettext("Nothing to approve."), "approver"))
    if company.is_supplier and user.has_role(Role.sales, Role.admin):
        theirs = P.supplier_scope(company.id)
        for title, statuses, empty in (
                (gettext("Placed orders to acknowledge"), [S.placed], gettext("No orders waiting for acknowledgement.")),
                (gettext("Acknowledged orders to ship"), [S.acknowledged, S.partially_shipped], gettext("Nothing to ship."))):
            n, rows = _orders([theirs, P.status.in_(statuses)])
            out.append(_panel(title, n, _items(rows, "buyer"), url_for("orders.index", status=statuses[0].value),
                              gettext("Show all"), empty, "sales"))
        out.append(_change_orders_panel(company))
    return out


def _change_orders_panel(company) -> dict:
    """The buyers' change orders waiting for this supplier's decision per line."""
    from portal.orders.models import ChangeOrigin, ChangeStatus, OrderChange

    where = [OrderChange.origin == ChangeOrigin.buyer, OrderChange.status == ChangeStatus.proposed,
             PurchaseOrder.supplier_scope(company.id)]
    stmt = sa.select(OrderChange).join(PurchaseOrder, PurchaseOrder.id == OrderChange.order_id).where(*where)
    n = capped_count(stmt.with_only_columns(OrderChange.id))
    rows = db.session.scalars(stmt.order_by(OrderChange.id).limit(5)).all() if n else []
    items = [(gettext("%(po_number)s change %(number)s — %(buyer)s", po_number=c.order.po_number, number=c.number,
                      buyer=c.order.buyer.display_name),
              url_for("order_changes.change_detail", order_id=c.order_id, change_id=c.id)) for c in rows]
    return _panel(gettext("Change orders to decide"), n, items, url_for("orders.index", status="acknowledged"),
                  gettext("Acknowledged orders"), gettext("No change orders waiting."), "sales", label="changes")
