"""Dashboard panels for accounts people: what to invoice, what is overdue, what to approve."""
from __future__ import annotations

import sqlalchemy as sa
from flask import url_for

from babel.dates import format_date

from portal.accounts.models import Role
from portal.db import db
from portal.invoices import services
from portal.invoices.models import DocumentKind, Invoice
from portal.invoices.states import InvoiceStatus
from portal.money import format_money


def _overdue(company_col, company_id):
    return db.session.execute(
        sa.select(Invoice.currency, sa.func.count(Invoice.id),
                  sa.func.sum(Invoice.total_gross - Invoice.paid_amount - Invoice.credited_amount))
        .where(company_col == company_id, services._overdue_clause()).group_by(Invoice.currency)).all()


def _amounts(rows, locale: str) -> str:
    return ", ".join(format_money(a or 0, c, locale) for c, _, a in rows) or "nothing"


def _first(where, limit=5) -> tuple[int, list[Invoice]]:
    """(how many invoices match, the first ``limit`` of them by due date): the count is never capped."""
    count = db.session.scalar(sa.select(sa.func.count(Invoice.id)).where(*where)) or 0
    rows = db.session.scalars(sa.select(Invoice).where(*where).order_by(Invoice.due_date, Invoice.id.desc())
                              .limit(limit)).all() if count else []
    return count, rows


def panels(user) -> list[dict]:
    if not user.has_role(Role.accounts):
        return []
    out = []
    company = user.company
    locale = user.locale or "en_GB"
    if company.is_supplier:
        ships = services.uninvoiced_shipments(user.company_id, limit=5)
        ships_count = services.uninvoiced_shipments_count(user.company_id) if len(ships) == 5 else len(ships)
        out.append({"title": "Shipments to invoice", "count": ships_count, "count_label": "waiting",
                    "link": url_for("invoices.index"), "link_label": "Invoices",
                    "items": [(f"{s.number} · PO {s.order.po_number} · {s.order.buyer.display_name}",
                               url_for("invoices.new", shipment_id=s.id)) for s in ships],
                    "empty": "Every shipment is invoiced."})
        od = _overdue(Invoice.supplier_company_id, user.company_id)
        drafts_count, drafts = _first([Invoice.supplier_company_id == user.company_id,
                                       Invoice.status == InvoiceStatus.draft])
        out.append({"title": "Overdue receivables", "count": sum(n for _, n, _ in od), "count_label": "overdue",
                    "link": url_for("invoices.index", status="overdue"), "link_label": "Overdue invoices",
                    "items": [(f"Open: {_amounts(od, locale)}", url_for("invoices.index", status="overdue"))] if od else [],
                    "empty": "Nothing overdue."})
        out.append({"title": "Draft invoices", "count": drafts_count, "count_label": "drafts",
                    "link": url_for("invoices.index", status="draft"), "link_label": "All drafts",
                    "items": [(f"Draft #{d.id} · {d.buyer.display_name} · {format_money(d.total_gross, d.currency, locale)}",
                               url_for("invoices.detail", inv_id=d.id)) for d in drafts],
                    "empty": "No drafts."})
    if company.is_buyer:
        check_count, to_check = _first([Invoice.buyer_company_id == user.company_id,
                                        Invoice.kind == DocumentKind.invoice,
                                        Invoice.status.in_(services.OPEN_STATUSES),
                                        Invoice.approved_for_payment_at.is_(None)])
        out.append({"title": "Invoices to check and approve", "count": check_count, "count_label": "to approve",
                    "link": url_for("invoices.index", status="open"), "link_label": "Open invoices",
                    "items": [(f"{i.number} · {i.supplier.display_name} · {format_money(i.open_amount, i.currency, locale)}"
                               f" · due {format_date(i.due_date, 'medium', locale=locale)}", url_for("invoices.detail", inv_id=i.id))
                              for i in to_check],
                    "empty": "Nothing waiting for approval."})
        od = _overdue(Invoice.buyer_company_id, user.company_id)
        out.append({"title": "Overdue payables", "count": sum(n for _, n, _ in od), "count_label": "overdue",
                    "link": url_for("invoices.index", status="overdue"), "link_label": "Overdue",
                    "items": [(f"Owed: {_amounts(od, locale)}", url_for("invoices.index", status="overdue"))] if od else [],
                    "empty": "Nothing overdue."})
    return out
