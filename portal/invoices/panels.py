"""Dashboard panels for accounts people: what to invoice, what is overdue, what to approve."""
from __future__ import annotations

import sqlalchemy as sa
from flask import url_for

from portal.accounts.models import Role
from portal.db import db
from portal.invoices import services
from portal.invoices.models import DocumentKind, Invoice
from portal.invoices.states import InvoiceStatus


def _overdue(company_col, company_id):
    return db.session.execute(
        sa.select(Invoice.currency, sa.func.count(Invoice.id),
                  sa.func.sum(Invoice.total_gross - Invoice.paid_amount - Invoice.credited_amount))
        .where(company_col == company_id, services._overdue_clause()).group_by(Invoice.currency)).all()


def _amounts(rows) -> str:
    return ", ".join(services.amount_text(a or 0, c) for c, _, a in rows) or "nothing"


def panels(user) -> list[dict]:
    if not user.has_role(Role.accounts):
        return []
    out = []
    company = user.company
    if company.is_supplier:
        ships = services.uninvoiced_shipments(user.company_id, limit=5)
        out.append({"title": "Shipments to invoice", "count": len(ships), "count_label": "waiting",
                    "link": url_for("invoices.index"), "link_label": "Invoices",
                    "items": [(f"{s.number} · PO {s.order.po_number} · {s.order.buyer.display_name}",
                               url_for("invoices.new", shipment_id=s.id)) for s in ships],
                    "empty": "Every shipment is invoiced."})
        od = _overdue(Invoice.supplier_company_id, user.company_id)
        drafts = db.session.scalars(sa.select(Invoice).where(Invoice.supplier_company_id == user.company_id,
                                                             Invoice.status == InvoiceStatus.draft)
                                    .order_by(Invoice.id.desc()).limit(5)).all()
        out.append({"title": "Overdue receivables", "count": sum(n for _, n, _ in od), "count_label": "overdue",
                    "link": url_for("invoices.index", status="overdue"), "link_label": "Overdue invoices",
                    "items": [(f"Open: {_amounts(od)}", url_for("invoices.index", status="overdue"))] if od else [],
                    "empty": "Nothing overdue."})
        out.append({"title": "Draft invoices", "count": len(drafts), "count_label": "drafts",
                    "link": url_for("invoices.index", status="draft"), "link_label": "All drafts",
                    "items": [(f"Draft #{d.id} · {d.buyer.display_name} · {services.amount_text(d.total_gross, d.currency)}",
                               url_for("invoices.detail", inv_id=d.id)) for d in drafts],
                    "empty": "No drafts."})
    if company.is_buyer:
        to_check = db.session.scalars(
            sa.select(Invoice).where(Invoice.buyer_company_id == user.company_id,
                                     Invoice.kind == DocumentKind.invoice,
                                     Invoice.status.in_(services.OPEN_STATUSES),
                                     Invoice.approved_for_payment_at.is_(None))
            .order_by(Invoice.due_date).limit(5)).all()
        out.append({"title": "Invoices to check and approve", "count": len(to_check), "count_label": "to approve",
                    "link": url_for("invoices.index", status="open"), "link_label": "Open invoices",
                    "items": [(f"{i.number} · {i.supplier.display_name} · {services.amount_text(i.open_amount, i.currency)}"
                               f" · due {i.due_date.isoformat()}", url_for("invoices.detail", inv_id=i.id))
                              for i in to_check],
                    "empty": "Nothing waiting for approval."})
        od = _overdue(Invoice.buyer_company_id, user.company_id)
        out.append({"title": "Overdue payables", "count": sum(n for _, n, _ in od), "count_label": "overdue",
                    "link": url_for("invoices.index", status="overdue"), "link_label": "Overdue",
                    "items": [(f"Owed: {_amounts(od)}", url_for("invoices.index", status="overdue"))] if od else [],
                    "empty": "Nothing overdue."})
    return out
